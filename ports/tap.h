/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tap - the kernel side of tap and container ports: a tap interface, its
 * queue fds and frame I/O over them.
 *
 * tap_create() makes a tap interface (IFF_TAP | IFF_NO_PI), names it (or
 * lets the kernel pick "vale%d"), sets its MAC address and MTU and brings it
 * up. Frames the namespace sends out of the interface are read here; frames
 * written here are received by the namespace as if from a wire.
 *
 * Framing: with the virtio-net header (the default) every frame read or
 * written is preceded by TAP_VNET_HDR_LEN (12) bytes: the virtio-net header
 * in little endian (switch/offload.h parses it), the same header length as
 * vale's port header for taps. The offloads are switched on (TUNSETOFFLOAD
 * with CSUM, TSO4, TSO6, TSO_ECN), so the kernel may hand us a frame of up
 * to 64 KiB with a partial checksum (NEEDS_CSUM) and a TCP GSO type, and
 * accepts the same from us; reads therefore need TAP_READ_ROOM bytes.
 * Without the header (no_vnet_hdr) frames are bare Ethernet and no offload is
 * on, so frames stay within the MTU.
 *
 * Queues: with queues > 1 the interface is multi-queue (IFF_MULTI_QUEUE), one
 * fd per queue; the kernel spreads its outgoing flows over the queues by
 * flow hash, and a frame may be written to any queue.
 *
 * Lifetime: the interface is not persistent; it disappears when the last of
 * its fds is closed (tap_destroy, or the daemon's death), never left behind.
 *
 * Namespaces: with netns set, the interface is created inside the named
 * network namespace (/run/netns/NAME, as `ip netns add` makes it), from a
 * short-lived helper thread that setns()es there: the fds then belong to the
 * daemon while the interface lives in the namespace, and the caller's thread
 * never changes namespace. We create it there rather than create it here and
 * move it (RTM_NEWLINK with IFLA_NET_NS_FD) because the name is then chosen
 * and checked against the namespace it will live in, the interface never
 * appears in the daemon's namespace, and bringing it up has to happen inside
 * the namespace anyway (a move takes an interface down). A consequence: the
 * queue fds hold a reference to the namespace, so `ip netns del` removes the
 * name only; the namespace and the tap go when the port is destroyed.
 *
 * Threads: tap_create/tap_destroy on the control thread, with no thread
 * using the queues. For each queue, at most one thread reads and at most one
 * writes at a time (a forwarding worker serves a queue); different queues
 * need no coordination. tap_stats may be called from any thread at any time.
 */
#ifndef VALE_PORTS_TAP_H
#define VALE_PORTS_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "err.h"

#define TAP_VNET_HDR_LEN 12 /* virtio_net_hdr_mrg_rxbuf: the 10-byte header + num_buffers */
#define TAP_QUEUES_MAX 16
#define TAP_MTU_MIN 68
#define TAP_MTU_MAX 9000
#define TAP_MTU_DEFAULT 1500
/* Room for any frame a tap with offloads hands out: header, Ethernet, VLAN tag, 64 KiB. */
#define TAP_READ_ROOM (TAP_VNET_HDR_LEN + 14 + 4 + 65535)
#define TAP_IOV_MAX 64 /* most iovecs tap_readv/tap_writev take */

struct tap_params {
	const char *name;  /* interface name, < IFNAMSIZ (16) bytes; NULL/"" = "vale%d" */
	const char *netns; /* network namespace under /run/netns; NULL/"" = the daemon's */
	uint8_t mac[6];	   /* unicast MAC address, used when has_mac */
	bool has_mac;	   /* false: keep the random locally administered one */
	uint32_t mtu;	   /* TAP_MTU_MIN..TAP_MTU_MAX; 0 = TAP_MTU_DEFAULT */
	uint32_t queues;   /* 1..TAP_QUEUES_MAX; 0 = 1 */
	bool no_vnet_hdr;  /* bare frames, no offloads (default: virtio-net header + offloads) */
};

/*
 * Counters of a tap, summed over its queues. rx is what we read (the
 * namespace sent it), tx what we wrote. Bytes are frame bytes, without the
 * virtio-net header. Errors are frames lost: a read frame larger than the
 * caller's room, a failed read or write (-EAGAIN is no error, nothing was
 * lost).
 */
struct tap_stats {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t rx_errors;
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t tx_errors;
};

struct tap;

/*
 * Create the interface, with p's settings, up, and open its queues (fds
 * non-blocking and close-on-exec). NULL + errno, with a sentence for a
 * person in err:
 *   EINVAL        bad mtu, queues, netns name, MAC or interface name
 *   ENAMETOOLONG  name (or netns) too long
 *   ENOENT        the netns does not exist
 *   EEXIST        an interface of that name exists (in the namespace)
 *   EPERM         no CAP_NET_ADMIN (or CAP_SYS_ADMIN to enter a netns)
 *   ENOMEM, EMFILE, ENODEV (no /dev/net/tun)...
 */
struct tap *tap_create(const struct tap_params *p, char err[ERR_LEN]);

/* Close the queues, which removes the interface, and free. Accepts NULL. */
void tap_destroy(struct tap *t);

/* The interface name as created (a rename inside the namespace is not seen). */
const char *tap_name(const struct tap *t);
uint32_t tap_queues(const struct tap *t);
/* The MAC address the interface got (given or random). */
void tap_mac(const struct tap *t, uint8_t ret_mac[6]);
/* 0 or TAP_VNET_HDR_LEN: the bytes in front of each frame read or written. */
uint32_t tap_hdr_len(const struct tap *t);

/*
 * The fd of queue q (-EINVAL when q >= tap_queues()), non-blocking, owned by
 * the tap: poll it for EPOLLIN (a frame to read); it is always writable.
 */
int tap_fd(const struct tap *t, uint32_t q);

/*
 * Read one frame from queue q into iov (at most TAP_IOV_MAX entries, filled
 * in order): the header (tap_hdr_len bytes) then the Ethernet frame.
 * Returns its length, header included; -EAGAIN when none is waiting;
 * -EMSGSIZE when it did not fit (the frame is gone, counted in rx_errors);
 * -EINVAL for bad arguments; or another -errno from read (counted).
 */
ssize_t tap_readv(struct tap *t, uint32_t q, const struct iovec *iov, int iovcnt);
/* tap_readv into one buffer of room bytes (TAP_READ_ROOM fits every frame). */
ssize_t tap_read(struct tap *t, uint32_t q, uint8_t *buf, size_t room);

/*
 * Write one frame, gathered from iov (at most TAP_IOV_MAX entries): header
 * (tap_hdr_len bytes) then the Ethernet frame. Returns the length written;
 * -EAGAIN (not counted, retry later); -EINVAL for bad arguments (not
 * counted); or the -errno of a write the kernel refused (a bad header, a
 * frame too short, the interface down...), counted in tx_errors.
 */
ssize_t tap_writev(struct tap *t, uint32_t q, const struct iovec *iov, int iovcnt);
/* tap_writev of one buffer. */
ssize_t tap_write(struct tap *t, uint32_t q, const uint8_t *frame, size_t len);

/* The counters, summed over the queues; each is read atomically, not all at once. */
void tap_stats(const struct tap *t, struct tap_stats *ret_stats);

#endif /* VALE_PORTS_TAP_H */
