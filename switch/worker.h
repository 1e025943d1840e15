/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * worker - a forwarding thread of valed.
 *
 * A worker serves the TX rings of the sources assigned to it: it calls the
 * source's forward function (bdg_forward() for a bdg port, pipe_forward()
 * for a pipe) on each while there is work, busy-polls for poll_us more
 * without system calls, then sleeps in epoll on the ports' kick eventfds.
 * Before sleeping it arms ktoa.kern_need_kick on every ring it serves and
 * re-checks the rings (no lost wakeup: the handshake of ring/csb.h,
 * csb_switch_may_sleep); after waking it clears the flags. A lossless source that
 * stalled on a full destination is retried on a timer rather than waiting
 * for a kick (the destination's client may kick another worker):
 * WORKER_STALL_RETRY_US, then
 * twice as late after each retry that moved nothing, up to
 * WORKER_STALL_RETRY_MAX_US, so a receiver that never drains costs a few
 * hundred wake-ups a second, and one that drains is seen within 1 ms.
 *
 * After bdg_forward() reclaimed TX slots of a port whose client set
 * atok.appl_need_kick on that ring, the worker writes the port's notify
 * eventfd (csb_notify_appl). (RX-side notification is the port's bdg notify callback.)
 *
 * A source other than a bdg port (worker_add_src) describes itself: a
 * forward callback, its TX rings, and per ring an optional "room" ring whose
 * client frees space the source waits for (a pipe's peer RX ring). A stalled
 * ring is retried when its room ring's head moves: the worker sets
 * kern_need_kick on room rings too before sleeping, so the reader's rxsync
 * kicks it. Up to two kick fds per source (a pipe has one per end).
 *
 * Polling mode (netmap's VALE_POLLING): a worker created with a cpu >= 0 is
 * pinned there; with poll_us == WORKER_POLL_FOREVER it never sleeps.
 *
 * Threads: create/destroy/add/remove are called by the control thread only.
 * worker_remove() returns only after the worker has stopped touching the
 * port, so the caller may then detach and destroy it.
 */
#ifndef VALE_SWITCH_WORKER_H
#define VALE_SWITCH_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "bdg.h"
#include "kring.h"

#define WORKER_POLL_US_DEFAULT 50
#define WORKER_POLL_FOREVER UINT32_MAX
#define WORKER_STALL_RETRY_US 100
#define WORKER_STALL_RETRY_MAX_US 1000

struct worker;

struct worker_params {
	int cpu;	  /* pin to this CPU, or -1 */
	uint32_t poll_us; /* busy-poll this long before sleeping */
	const char *name; /* thread name, e.g. "vale-fwd0" */
};

struct worker_stats {
	uint64_t batches; /* bdg_forward calls that moved something */
	uint64_t sleeps;  /* times it slept in epoll */
	uint64_t kicks;	  /* kick eventfds found readable */
	uint32_t ports;	  /* ports served now */
};

/* Start a worker thread. NULL + errno. */
struct worker *worker_create(const struct worker_params *p);

/* Stop and join the thread; it must serve no port. Accepts NULL. */
void worker_destroy(struct worker *w);

/*
 * Serve TX rings [first_tx, last_tx) of port p, which is attached to a
 * switch. kick_fd is polled for wakeups and notify_fd written for TX
 * reclaim; both stay owned by the caller. 0, -EEXIST, -ENOMEM.
 */
int worker_add(struct worker *w, struct bdg_port *p, uint32_t first_tx, uint32_t last_tx,
	       int kick_fd, int notify_fd);

/* Stop serving p; returns once the worker no longer touches it. */
void worker_remove(struct worker *w, struct bdg_port *p);

/* Move what ring `ring` of the source holds; return the slots consumed. Runs
 * on the worker thread; scratch is the worker's (bdg_forward needs it). */
typedef uint32_t (*worker_forward_fn)(void *arg, uint32_t ring, struct bdg_scratch *scratch);

struct worker_ring {
	uint32_t idx;	    /* passed to forward() */
	struct kring *src;  /* the TX ring whose client publishes work (head) */
	struct kring *room; /* NULL, or the ring whose client frees room for src */
	int notify_fd; /* written when src's slots were reclaimed and its client asked; -1: none */
};

struct worker_src {
	const void *key; /* identifies the source to worker_remove_src */
	worker_forward_fn forward;
	bool (*lossless)(void *arg); /* a full destination stalls (retry) if true; NULL: always */
	void *arg;		     /* for forward() and lossless() */
	int kick_fd[2];		     /* polled for wakeups, owned by the caller; -1: unused */
	uint32_t n_rings;
	const struct worker_ring *ring; /* [n_rings], copied */
};

/* Serve a source (control thread). 0, -EINVAL, -EEXIST (key served), -ENOMEM. */
int worker_add_src(struct worker *w, const struct worker_src *s);

/* Stop serving the source added with key; returns once it is no longer touched. */
void worker_remove_src(struct worker *w, const void *key);

void worker_get_stats(const struct worker *w, struct worker_stats *ret_stats);

#endif /* VALE_SWITCH_WORKER_H */
