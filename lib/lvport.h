/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lvport - a libvale port: its mapped region, its rings, their syncs and poll.
 *
 * vale.c fills a struct vale_port from valed's reply to port.register (the
 * control connection, the eventfds, the mapping) and calls lvport_layout()
 * to find and check the rings; everything after that (vale_txsync,
 * vale_rxsync, vale_poll and the accessors) lives in lvport.c and touches
 * only the shared memory and the eventfds, so the unit tests drive it over a
 * region they build themselves.
 *
 * Threads: a port is used by one thread at a time (vale.h).
 */
#ifndef VALE_LIB_LVPORT_H
#define VALE_LIB_LVPORT_H

#include <poll.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include <vale/netmap.h>
#include <vale/vale.h>

struct ctl_client;

/* One ring of the port, located and checked once at open. */
struct lvring {
	struct netmap_ring *ring;
	struct vale_csb *csb;
};

struct vale_port {
	struct ctl_client *ctl; /* the control connection (the "netmap fd"); NULL in tests */
	void *mem;		/* our mapping of the region */
	size_t mem_size;
	struct netmap_if *nifp;
	int kick_fd;   /* client -> switch eventfd */
	int notify_fd; /* switch -> client eventfd; vale_fd() */
	uint16_t mem_id;
	/* The range this open covers, [first, last) per direction. */
	uint32_t first_tx, last_tx;
	uint32_t first_rx, last_rx;
	bool no_tx_poll; /* vale_poll does not flush TX rings (netmap's NR_NO_TX_POLL) */
	/* Every hardware ring of the region, by ring id (the range indexes it). */
	struct lvring *tx;
	struct lvring *rx;
	uint32_t n_tx, n_rx;
};

/*
 * Locate the netmap_if at base + if_offset in a region of size bytes, check
 * its version and that every ring and CSB lies inside the region, and fill
 * p->nifp, p->tx, p->rx, p->n_tx, p->n_rx. The caller has set the ring
 * range (first_tx..last_rx), which is checked against the ring counts.
 * Returns 0, or -1 with errno (EPROTO: version or layout mismatch, EINVAL:
 * bad range, ENOMEM) and the sentence in vale_last_error().
 */
int lvport_layout(struct vale_port *p, void *base, size_t size, size_t if_offset);

/* Free what lvport_layout allocated (not the mapping). */
void lvport_layout_free(struct vale_port *p);

/*
 * poll() with netmap meaning: fds[i] belongs to port owner[i], or to no port
 * when owner[i] is NULL (then it is polled as is). The body of vale_poll()
 * and nm_poll(). Returns as poll().
 */
int lvport_poll(struct pollfd *fds, unsigned int nfds, struct vale_port *const *owner,
		int timeout_ms);

#endif /* VALE_LIB_LVPORT_H */
