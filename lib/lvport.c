/* SPDX-License-Identifier: BSD-2-Clause */
/* lvport: a port's rings in the mapped region, their CSB syncs and poll(). */
#include "lvport.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "csb.h"
#include "lverr.h"
#include "wire.h"

#define POLL_STACK_FDS 32
#define POLLIN_ANY (POLLIN | POLLRDNORM)
#define POLLOUT_ANY (POLLOUT | POLLWRNORM)

/* ---- layout ---------------------------------------------------------- */

/* Ring at ofs from the netmap_if (which is at if_offset): checked. */
static int ring_at(char *base, size_t size, size_t if_offset, ssize_t ofs, uint16_t dir,
		   struct lvring *ret)
{
	const char *what = dir == NR_TX ? "TX" : "RX";
	int64_t pos = (int64_t)if_offset + ofs;
	struct netmap_ring *ring;
	int64_t buf0;

	if (pos < 0 || (uint64_t)pos > size || size - (uint64_t)pos < sizeof(*ring) ||
	    pos % NM_CACHE_ALIGN != 0)
		return lverr_set(EPROTO,
				 "valed sent a bad layout: a %s ring at offset %lld is "
				 "outside the %zu-byte region or misaligned",
				 what, (long long)pos, size);
	ring = (struct netmap_ring *)(base + pos);
	if (ring->num_slots < 2 || ring->num_slots > (1u << 24) ||
	    size - (uint64_t)pos < vale_ring_size(ring->num_slots))
		return lverr_set(EPROTO,
				 "valed sent a bad layout: a %s ring with %u slots does "
				 "not fit in the region",
				 what, ring->num_slots);
	buf0 = pos + ring->buf_ofs;
	if (ring->dir != dir || ring->nr_buf_size == 0 || buf0 < 0 || (uint64_t)buf0 > size)
		return lverr_set(EPROTO,
				 "valed sent a bad layout: the %s ring header is "
				 "inconsistent (dir %u, buffer size %u)",
				 what, ring->dir, ring->nr_buf_size);
	ret->ring = ring;
	ret->csb = VALE_CSB(ring);
	return 0;
}

int lvport_layout(struct vale_port *p, void *base, size_t size, size_t if_offset)
{
	struct netmap_if *nifp;
	uint64_t nrings;
	uint32_t rx0;

	if (if_offset > size || size - if_offset < sizeof(*nifp) || if_offset % 8 != 0)
		return lverr_set(EPROTO,
				 "valed sent a bad layout: the netmap_if offset %zu is "
				 "outside the %zu-byte region",
				 if_offset, size);
	nifp = (struct netmap_if *)((char *)base + if_offset);
	if (nifp->ni_version != NETMAP_API)
		return lverr_set(EPROTO,
				 "ABI mismatch: valed's rings have version %u, this libvale "
				 "speaks %u; rebuild the application against valed's libvale",
				 nifp->ni_version, NETMAP_API);
	nrings = (uint64_t)nifp->ni_tx_rings + nifp->ni_host_tx_rings + nifp->ni_rx_rings +
		 nifp->ni_host_rx_rings;
	if (nrings > 4096 || size - if_offset < sizeof(*nifp) + nrings * sizeof(nifp->ring_ofs[0]))
		return lverr_set(EPROTO, "valed sent a bad layout: %llu rings do not fit",
				 (unsigned long long)nrings);
	if (p->first_tx > p->last_tx || p->last_tx > nifp->ni_tx_rings ||
	    p->first_rx > p->last_rx || p->last_rx > nifp->ni_rx_rings)
		return lverr_set(EPROTO,
				 "valed sent a bad ring range: TX [%u, %u) of %u, "
				 "RX [%u, %u) of %u",
				 p->first_tx, p->last_tx, nifp->ni_tx_rings, p->first_rx,
				 p->last_rx, nifp->ni_rx_rings);

	p->tx = calloc(nifp->ni_tx_rings + 1, sizeof(*p->tx));
	p->rx = calloc(nifp->ni_rx_rings + 1, sizeof(*p->rx));
	if (!p->tx || !p->rx) {
		lvport_layout_free(p);
		return lverr_set(ENOMEM, "out of memory for the ring table");
	}
	rx0 = nifp->ni_tx_rings + nifp->ni_host_tx_rings;
	for (uint32_t i = 0; i < nifp->ni_tx_rings; i++)
		if (ring_at(base, size, if_offset, nifp->ring_ofs[i], NR_TX, &p->tx[i]))
			goto err_ring;
	for (uint32_t i = 0; i < nifp->ni_rx_rings; i++)
		if (ring_at(base, size, if_offset, nifp->ring_ofs[rx0 + i], NR_RX, &p->rx[i]))
			goto err_ring;
	p->nifp = nifp;
	p->n_tx = nifp->ni_tx_rings;
	p->n_rx = nifp->ni_rx_rings;
	return 0;

err_ring:
	lvport_layout_free(p); /* errno and the sentence are ring_at's */
	return -1;
}

void lvport_layout_free(struct vale_port *p)
{
	free(p->tx);
	free(p->rx);
	p->tx = p->rx = NULL;
	p->n_tx = p->n_rx = 0;
	p->nifp = NULL;
}

/* ---- syncs ----------------------------------------------------------- */

/*
 * Copy head/cur of each ring of [first, last) whose values changed into its
 * CSB. Returns true if one changed: only then can the switch have new work.
 */
static bool publish(const struct lvring *r, uint32_t first, uint32_t last)
{
	bool any = false;

	for (uint32_t i = first; i < last; i++) {
		if (csb_appl_published(r[i].ring, r[i].csb))
			continue;
		csb_appl_publish(r[i].ring, r[i].csb);
		any = true;
	}
	return any;
}

static bool switch_wants_kick(const struct lvring *r, uint32_t first, uint32_t last)
{
	for (uint32_t i = first; i < last; i++)
		if (csb_switch_wants_kick(r[i].csb))
			return true;
	return false;
}

static void update_tails(const struct lvring *r, uint32_t first, uint32_t last)
{
	for (uint32_t i = first; i < last; i++)
		csb_appl_update_tail(r[i].ring, r[i].csb);
}

static int kick(struct vale_port *p)
{
	uint64_t one = 1;

	if (write(p->kick_fd, &one, sizeof(one)) == sizeof(one) || errno == EAGAIN)
		return 0; /* EAGAIN: the counter is saturated, the switch will look anyway */
	return lverr_set(errno, "cannot kick valed (kick eventfd %d): %s", p->kick_fd,
			 strerror(errno));
}

/*
 * One sync of rings [first, last): publish, kick if needed, take the tails.
 *
 * Ordering: csb_appl_publish() stores atok.head with release (pairs with the
 * switch's acquire in kring_csb_read). csb_switch_wants_kick() issues a full
 * fence before loading kern_need_kick; it pairs with the worker's fence
 * between arming kern_need_kick and re-checking the rings
 * (csb_switch_may_sleep): either the worker sees our new head, or we see
 * its flag and kick.
 */
static int sync_rings(struct vale_port *p, const struct lvring *r, uint32_t first, uint32_t last)
{
	int rc = 0;

	if (publish(r, first, last) && switch_wants_kick(r, first, last))
		rc = kick(p);
	update_tails(r, first, last); /* acquire: pairs with kring_sync_finalize's release */
	return rc;
}

int vale_txsync(struct vale_port *p)
{
	return sync_rings(p, p->tx, p->first_tx, p->last_tx);
}

int vale_rxsync(struct vale_port *p)
{
	int rc = sync_rings(p, p->rx, p->first_rx, p->last_rx);

	for (uint32_t i = p->first_rx; i < p->last_rx; i++) {
		struct netmap_ring *ring = p->rx[i].ring;

		if (ring->flags & NR_TIMESTAMP)
			gettimeofday(&ring->ts, NULL);
	}
	return rc;
}

/* ---- poll ------------------------------------------------------------ */

static bool rx_ready(const struct vale_port *p)
{
	for (uint32_t i = p->first_rx; i < p->last_rx; i++)
		if (!nm_ring_empty(p->rx[i].ring))
			return true;
	return false;
}

static bool tx_ready(const struct vale_port *p)
{
	for (uint32_t i = p->first_tx; i < p->last_tx; i++)
		if (!nm_ring_empty(p->tx[i].ring))
			return true;
	return false;
}

/* Readiness of one fd entry with netmap meaning; syncs first when sync. */
static short port_revents(struct vale_port *p, short events, bool sync)
{
	short rev = 0;

	if (events & POLLIN_ANY) {
		if (sync) {
			/* As netmap's poll: TX rings are flushed too, unless the
			 * port was opened with NR_NO_TX_POLL. */
			if (!(events & POLLOUT_ANY) && !p->no_tx_poll && p->first_tx < p->last_tx &&
			    vale_txsync(p))
				rev |= POLLERR;
			if (vale_rxsync(p))
				rev |= POLLERR;
		} else {
			update_tails(p->rx, p->first_rx, p->last_rx);
		}
		if (rx_ready(p))
			rev |= events & POLLIN_ANY;
	}
	if (events & POLLOUT_ANY) {
		if (sync) {
			if (vale_txsync(p))
				rev |= POLLERR;
		} else {
			update_tails(p->tx, p->first_tx, p->last_tx);
		}
		if (tx_ready(p))
			rev |= events & POLLOUT_ANY;
	}
	return rev;
}

static void set_need_kick(const struct lvring *r, uint32_t first, uint32_t last, bool on)
{
	for (uint32_t i = first; i < last; i++) {
		if (on)
			csb_appl_arm(r[i].csb);
		else
			csb_appl_disarm(r[i].csb);
	}
}

/* Ask (on) or stop asking (!on) the switch to notify the entry's port. */
static void arm(struct vale_port *p, short events, bool on)
{
	if (events & POLLIN_ANY)
		set_need_kick(p->rx, p->first_rx, p->last_rx, on);
	if (events & POLLOUT_ANY)
		set_need_kick(p->tx, p->first_tx, p->last_tx, on);
}

static void arm_all(struct pollfd *fds, unsigned int nfds, struct vale_port *const *owner, bool on)
{
	for (unsigned int i = 0; i < nfds; i++)
		if (owner[i])
			arm(owner[i], fds[i].events, on);
}

/* Recompute every port entry's revents; returns how many are ready. */
static int check_ports(struct pollfd *fds, unsigned int nfds, struct vale_port *const *owner,
		       bool sync)
{
	int n = 0;

	for (unsigned int i = 0; i < nfds; i++) {
		if (!owner[i])
			continue;
		fds[i].revents = port_revents(owner[i], fds[i].events, sync);
		n += fds[i].revents != 0;
	}
	return n;
}

/* Non-port entries, polled without waiting; returns how many are ready. */
static int check_others(struct pollfd *fds, unsigned int nfds, struct vale_port *const *owner,
			struct pollfd *tmp)
{
	unsigned int m = 0;
	int n = 0;

	for (unsigned int i = 0; i < nfds; i++)
		if (!owner[i])
			tmp[m++] = fds[i];
	if (m == 0 || poll(tmp, m, 0) <= 0) {
		for (unsigned int i = 0; i < nfds; i++)
			if (!owner[i])
				fds[i].revents = 0;
		return 0;
	}
	m = 0;
	for (unsigned int i = 0; i < nfds; i++) {
		if (owner[i])
			continue;
		fds[i].revents = tmp[m++].revents;
		n += fds[i].revents != 0;
	}
	return n;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What is left of timeout_ms at deadline: -1 (forever), or 0.. ms. */
static int remaining_ms(int timeout_ms, int64_t deadline)
{
	int64_t left;

	if (timeout_ms < 0)
		return -1;
	left = deadline - now_ms();
	return left > 0 ? (int)left : 0;
}

/*
 * Sleep in poll() on the ports' notify eventfds, their control sockets (for
 * hangup) and the other fds. Fills tmp[0..nfds + nports). Returns poll()'s
 * result; afterwards the notify counters are drained and the other entries'
 * revents copied back. Port entries whose daemon hung up get POLLHUP.
 */
static int sleep_poll(struct pollfd *fds, unsigned int nfds, struct vale_port *const *owner,
		      struct pollfd *tmp, int timeout_ms)
{
	unsigned int m = nfds;
	uint64_t cnt;
	int r;

	for (unsigned int i = 0; i < nfds; i++) {
		if (!owner[i]) {
			tmp[i] = fds[i];
			continue;
		}
		tmp[i] = (struct pollfd){.fd = owner[i]->notify_fd, .events = POLLIN};
		tmp[m++] = (struct pollfd){.fd = owner[i]->ctl ? ctl_client_fd(owner[i]->ctl) : -1};
	}
	r = poll(tmp, m, timeout_ms);
	if (r < 0)
		return r;
	m = nfds;
	for (unsigned int i = 0; i < nfds; i++) {
		if (!owner[i]) {
			fds[i].revents = tmp[i].revents;
			continue;
		}
		fds[i].revents = 0;
		/* Non-blocking (vale_open set O_NONBLOCK): a second entry of the
		 * same port finds the counter already drained. */
		if (tmp[i].revents & POLLIN)
			while (read(owner[i]->notify_fd, &cnt, sizeof(cnt)) < 0 && errno == EINTR)
				;
		if (tmp[m++].revents & (POLLHUP | POLLERR))
			fds[i].revents = POLLHUP;
	}
	return r;
}

int lvport_poll(struct pollfd *fds, unsigned int nfds, struct vale_port *const *owner,
		int timeout_ms)
{
	struct pollfd stack[POLL_STACK_FDS], *tmp = stack;
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	unsigned int nports = 0;
	int n, r, err;

	for (unsigned int i = 0; i < nfds; i++)
		nports += owner[i] != NULL;
	if (nports == 0)
		return poll(fds, nfds, timeout_ms);
	if (nfds + nports > POLL_STACK_FDS) {
		tmp = calloc(nfds + nports, sizeof(*tmp));
		if (!tmp)
			return lverr_set(ENOMEM, "out of memory for %u poll entries",
					 nfds + nports);
	}

	for (;;) {
		/* netmap's poll: sync, and report what is ready now. */
		n = check_ports(fds, nfds, owner, true);
		if (n > 0 || timeout_ms == 0) {
			n += check_others(fds, nfds, owner, tmp);
			break;
		}
		/*
		 * About to sleep: ask for a notification, then look again (no lost
		 * wakeup, ring/csb.h). csb_appl_arm's fence orders each
		 * appl_need_kick store before the hwtail loads of the re-check; it
		 * pairs with the switch's fence between publishing hwtail and
		 * reading appl_need_kick (csb_notify_appl).
		 */
		arm_all(fds, nfds, owner, true);
		n = check_ports(fds, nfds, owner, false);
		if (n > 0) {
			arm_all(fds, nfds, owner, false);
			n += check_others(fds, nfds, owner, tmp);
			break;
		}
		r = sleep_poll(fds, nfds, owner, tmp, remaining_ms(timeout_ms, deadline));
		arm_all(fds, nfds, owner, false);
		if (r < 0) {
			n = -1;
			break;
		}
		n = 0;
		for (unsigned int i = 0; i < nfds; i++) {
			if (owner[i] && !(fds[i].revents & POLLHUP))
				fds[i].revents = port_revents(owner[i], fds[i].events, false);
			n += fds[i].revents != 0;
		}
		/* A wakeup for the other direction, or a stale count: sleep again
		 * for what is left of the timeout, as poll() would. */
		if (n > 0 || (timeout_ms > 0 && now_ms() >= deadline))
			break;
	}
	err = errno;
	if (tmp != stack)
		free(tmp);
	errno = err;
	return n;
}

/* ---- accessors ------------------------------------------------------- */

struct netmap_if *vale_nifp(const struct vale_port *p)
{
	return p->nifp;
}

uint32_t vale_first_tx_ring(const struct vale_port *p)
{
	return p->first_tx;
}

uint32_t vale_last_tx_ring(const struct vale_port *p)
{
	return p->last_tx;
}

uint32_t vale_first_rx_ring(const struct vale_port *p)
{
	return p->first_rx;
}

uint32_t vale_last_rx_ring(const struct vale_port *p)
{
	return p->last_rx;
}

uint16_t vale_mem_id(const struct vale_port *p)
{
	return p->mem_id;
}

int vale_fd(const struct vale_port *p)
{
	return p->notify_fd;
}

int vale_poll(struct vale_port *p, struct pollfd *fds, unsigned int nfds, int timeout_ms)
{
	struct vale_port *stack[POLL_STACK_FDS] = {NULL}, **owner = stack;
	int n, err;

	if (nfds > POLL_STACK_FDS) {
		owner = calloc(nfds, sizeof(*owner));
		if (!owner)
			return lverr_set(ENOMEM, "out of memory for %u poll entries", nfds);
	}
	for (unsigned int i = 0; i < nfds; i++)
		owner[i] = p && fds[i].fd >= 0 && fds[i].fd == p->notify_fd ? p : NULL;
	n = lvport_poll(fds, nfds, owner, timeout_ms);
	err = errno;
	if (owner != stack)
		free(owner);
	errno = err;
	return n;
}
