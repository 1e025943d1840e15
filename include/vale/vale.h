/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vale.h - libvale, the client library of valed.
 *
 * Open a port of a running valed by its netmap-style name, map its rings and
 * exchange packets with netmap's ring semantics (include/vale/netmap.h):
 *
 *     struct vale_port *p = vale_open("vale0:a", NULL);
 *     struct netmap_ring *tx = NETMAP_TXRING(vale_nifp(p), 0);
 *     ... fill slots from tx->head, advance head and cur ...
 *     vale_txsync(p);                   // as ioctl(fd, NIOCTXSYNC)
 *     struct pollfd pfd = { vale_fd(p), POLLIN };
 *     vale_poll(p, &pfd, 1, -1);        // as poll() on a netmap fd
 *     vale_rxsync(p);                   // as ioctl(fd, NIOCRXSYNC)
 *     vale_close(p);
 *
 * Names: "valeX:Y" with netmap's suffixes: "-N" (ring N only), "/x"
 * (exclusive), "@..." is not supported. A port lives as long as some client
 * has it open, unless it was created persistent (valectl create).
 *
 * Syncs go through each ring's CSB: a txsync publishes head/cur and kicks
 * the switch only if it sleeps; ring->tail changes only inside a sync, as in
 * netmap. Errors: functions return NULL/-1 and set errno; vale_last_error()
 * gives the daemon's sentence for the last failure of this thread.
 *
 * Threads: one vale_port is used by one thread at a time, as a netmap fd.
 */
#ifndef VALE_VALE_H
#define VALE_VALE_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include <vale/netmap.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vale_port;

/* Options of vale_open; zero fields take the daemon's defaults. */
struct vale_open_params {
	const char *socket;  /* NULL: $VALE_SOCKET, else /run/vale/valed.sock */
	uint32_t tx_rings;   /* when the port is created by this open */
	uint32_t rx_rings;
	uint32_t tx_slots;
	uint32_t rx_slots;
	uint32_t buf_size;
	uint32_t extra_bufs; /* spare buffers from nifp->ni_bufs_head */
	bool lossless;       /* backpressure instead of drops at full destinations */
	bool exclusive;      /* as the "/x" suffix */
	bool tx_only;        /* TX rings only (netmap's NR_TX_RINGS_ONLY) */
	bool rx_only;        /* RX rings only (netmap's NR_RX_RINGS_ONLY) */
	bool no_tx_poll;     /* vale_poll(POLLIN) does not flush TX (NR_NO_TX_POLL) */
	uint16_t mem_id;     /* create the port in valed's shared region (nr_mem_id) */
};

/* Open a port. NULL + errno (ENOENT: no daemon; EBUSY: exclusive; ...). */
struct vale_port *vale_open(const char *name, const struct vale_open_params *params);

/* Unmap, close the eventfds and the control connection. Accepts NULL. */
void vale_close(struct vale_port *p);

/* The port's netmap_if, in this process's mapping of its region. */
struct netmap_if *vale_nifp(const struct vale_port *p);

/* The ring range this open covers: [first, last) in each direction. */
uint32_t vale_first_tx_ring(const struct vale_port *p);
uint32_t vale_last_tx_ring(const struct vale_port *p);
uint32_t vale_first_rx_ring(const struct vale_port *p);
uint32_t vale_last_rx_ring(const struct vale_port *p);

/* Region id, so two opens can tell whether they share memory. */
uint16_t vale_mem_id(const struct vale_port *p);

/* Sync every TX (RX) ring of the range: 0, or -1 + errno. */
int vale_txsync(struct vale_port *p);
int vale_rxsync(struct vale_port *p);

/*
 * The port's fd for vale_poll() (the notify eventfd). The switch writes it
 * only while a vale_poll() on the port sleeps (vale_poll arms it), so give
 * it to vale_poll(), not to plain poll()/epoll: they would neither sync the
 * rings nor arm the notification, and could sleep forever.
 */
int vale_fd(const struct vale_port *p);

/*
 * poll() with netmap meaning for the vale fds among fds[]: POLLIN when an RX
 * ring of the range has slots, POLLOUT when a TX ring has room; it syncs the
 * rings as netmap's poll does, arms notification before sleeping, and
 * passes other fds to poll() unchanged. As netmap's poll, a POLLIN wait also
 * flushes the TX rings (txsync) unless the port was opened no_tx_poll.
 * Returns as poll().
 */
int vale_poll(struct vale_port *p, struct pollfd *fds, unsigned int nfds, int timeout_ms);

/* The daemon's sentence for this thread's last failure ("" if none). */
const char *vale_last_error(void);

/*
 * Who refused this thread's last failure: valed's JSON-RPC error code
 * (negative: -32602 invalid params, -32000 operation failed, ...) when valed
 * answered the request with an error, whose errno is then in errno; 0 when
 * the failure was libvale's own, the connection's or the kernel's. So a
 * daemon's EPERM is told apart from a local one.
 */
int vale_last_error_code(void);

#ifdef __cplusplus
}
#endif

#endif /* VALE_VALE_H */
