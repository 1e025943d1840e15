/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vale/netmap_user.h - netmap's port API (libnetmap's nmport_*) over libvale,
 * so netmap programs run on valed by recompiling.
 *
 * Written from netmap's documented API (libnetmap.h, netmap(4)); the names
 * and field meanings are netmap's, the code is libvale's.
 *
 * Porting recipe
 * --------------
 *   1. #include <vale/netmap_user.h> instead of <net/netmap_user.h> and
 *      <libnetmap.h>; build with `pkg-config --cflags --libs vale`.
 *   2. nmport_open("valeX:Y[-N][/x]") and nmport_close() work as in
 *      libnetmap. Other portspecs (netmap:ethX, pipes, "@conf:..." options)
 *      fail with EINVAL and a sentence in vale_last_error(). The socket of
 *      valed is $VALE_SOCKET, else /run/vale/valed.sock.
 *   3. A netmap fd is a kernel object; d->fd here is libvale's notify
 *      eventfd, which the kernel knows nothing about. So:
 *        ioctl(d->fd, NIOCTXSYNC, NULL)  ->  nm_ioctl(d->fd, NIOCTXSYNC, NULL)
 *                                            (or nmport_txsync(d))
 *        ioctl(d->fd, NIOCRXSYNC, NULL)  ->  nm_ioctl(d->fd, NIOCRXSYNC, NULL)
 *                                            (or nmport_rxsync(d))
 *        poll(fds, n, timeout)           ->  nm_poll(fds, n, timeout)
 *      nm_ioctl() and nm_poll() map each fd back to its nmport_d and fall
 *      through to ioctl()/poll() for fds that are not ports, so a blind
 *      rename of every ioctl( and poll( call is safe. epoll/select on d->fd
 *      alone do not sync the rings nor arm the notification: wrap them with
 *      nm_poll(..., 0) or use the libvale calls (vale.h).
 *   4. Everything else is as in netmap: NETMAP_TXRING/NETMAP_RXRING/
 *      NETMAP_BUF, head/cur/tail, nm_ring_space(), NS_* flags, the ring
 *      ranges [first_*_ring, last_*_ring] (inclusive, as libnetmap).
 *
 * Later, an LD_PRELOAD shim (libvale-netmap.so) will run unmodified netmap
 * binaries by intercepting open("/dev/netmap"), ioctl(NIOCCTRL, NIOC*SYNC),
 * mmap() and poll(); this header is for programs you can rebuild.
 *
 * Threads: as libnetmap, one nmport_d is used by one thread at a time;
 * nmport_open/nmport_close/nm_ioctl/nm_poll may be called from any thread.
 */
#ifndef VALE_NETMAP_USER_H
#define VALE_NETMAP_USER_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include <vale/netmap.h>
#include <vale/vale.h>

#ifdef __cplusplus
extern "C" {
#endif

/* netmap's request numbers; only nm_ioctl() understands them here. */
#define NIOCTXSYNC _IO('i', 148)
#define NIOCRXSYNC _IO('i', 149)

/* nmreq_register.nr_mode */
enum {
	NR_REG_DEFAULT = 0,
	NR_REG_ALL_NIC = 1,
	NR_REG_SW = 2,
	NR_REG_NIC_SW = 3,
	NR_REG_ONE_NIC = 4,
};

/* nmreq_register.nr_flags: the one vale serves ("/x"). */
#define NR_EXCLUSIVE 0x800

#define NETMAP_REQ_REGISTER 1

/* The request header, as libnetmap keeps it in nmport_d (name only here). */
struct nmreq_header {
	uint16_t nr_version; /* NETMAP_API */
	uint16_t nr_reqtype; /* NETMAP_REQ_REGISTER */
	uint32_t nr_reserved;
	char nr_name[NETMAP_REQ_IFNAMSIZ]; /* the portspec's "valeX:Y" */
	uint64_t nr_options;		   /* always 0 */
	uint64_t nr_body;		   /* always 0 */
};

/* What the port was registered with, filled from valed's reply. */
struct nmreq_register {
	uint64_t nr_offset;   /* netmap_if offset in the region */
	uint64_t nr_memsize;  /* region size */
	uint32_t nr_tx_slots; /* slots per TX ring */
	uint32_t nr_rx_slots;
	uint16_t nr_tx_rings; /* rings of the port (not only this open's range) */
	uint16_t nr_rx_rings;
	uint16_t nr_host_tx_rings;
	uint16_t nr_host_rx_rings;
	uint16_t nr_mem_id; /* region id: equal ids share memory */
	uint16_t nr_ringid; /* the N of "-N" */
	uint32_t nr_mode;   /* NR_REG_ALL_NIC or NR_REG_ONE_NIC */
	uint32_t nr_extra_bufs;
	uint64_t nr_flags; /* NR_EXCLUSIVE */
};

/* A mapped region, as libnetmap's nmem_d. */
struct nmem_d {
	uint16_t mem_id;
	int refcount;
	void *mem;   /* base address of the mapping */
	size_t size; /* bytes mapped */
	int is_extmem;
	struct nmem_d *next; /* unused: one nmem_d per nmport_d */
	struct nmem_d *prev;
};

/* An open port, with libnetmap's field names. All fields are read-only. */
struct nmport_d {
	struct nmreq_header hdr;
	struct nmreq_register reg;
	struct nmem_d *mem; /* mem->mem, mem->size: the region */
	int register_done;  /* 1 once open */
	int mmap_done;	    /* 1 once open */

	/* As nm_open()'s nm_desc. */
	int fd; /* vale_fd(): pass it to nm_ioctl()/nm_poll() */
	struct netmap_if *nifp;
	uint16_t first_tx_ring; /* inclusive range; first > last when empty */
	uint16_t last_tx_ring;
	uint16_t first_rx_ring;
	uint16_t last_rx_ring;
	uint16_t cur_tx_ring; /* next ring nmport_inject tries */
	uint16_t cur_rx_ring;
	uint64_t memsize; /* nm_desc's name for reg.nr_memsize */

	struct vale_port *port; /* the libvale port behind it */
	struct nmem_d mem_desc; /* what mem points to */
};

/*
 * Open a port: "valeX:Y[-N][/x]". NULL + errno (and vale_last_error())
 * on failure, like vale_open().
 */
struct nmport_d *nmport_open(const char *portspec);

/* Close a port opened with nmport_open. Accepts NULL. */
void nmport_close(struct nmport_d *d);

/* Sync the TX (RX) rings of the range: 0, or -1 + errno. */
int nmport_txsync(struct nmport_d *d);
int nmport_rxsync(struct nmport_d *d);

/*
 * Copy one packet into the TX ring cur_tx_ring (or the next one with room),
 * over several slots chained with NS_MOREFRAG when it is larger than a
 * buffer, as libnetmap's nmport_inject. No sync: the packet leaves at the
 * next txsync or poll. Returns size when queued, 0 when no ring has room.
 */
int nmport_inject(struct nmport_d *d, const void *buf, size_t size);

/*
 * ioctl() that understands NIOCTXSYNC and NIOCRXSYNC on an nmport_d's fd.
 * Other fds go to ioctl(fd, req, arg) unchanged; any other request on a
 * port fd fails with ENOTTY. Returns 0, or -1 + errno.
 */
int nm_ioctl(int fd, unsigned long req, ...);

/*
 * poll() where the entries whose fd is an nmport_d's fd get netmap's
 * meaning (see vale_poll() in vale.h). Returns as poll().
 */
int nm_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* VALE_NETMAP_USER_H */
