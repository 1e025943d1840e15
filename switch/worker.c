/* SPDX-License-Identifier: BSD-2-Clause */
/* worker: a forwarding thread that busy-polls its TX rings, then sleeps on kicks. */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cpu.h"
#include "csb.h"

#define MAX_EVENTS 64
#define THREAD_NAMSIZ 16 /* pthread_setname_np's limit, NUL included */

/* One served TX ring. Touched by the worker thread only. */
struct wring {
	struct kring *kr;
	struct kring *room; /* NULL, or the ring whose client frees room for kr */
	uint32_t idx;	    /* ring index passed to forward() */
	uint32_t seen_head; /* atok.head when forward() last ran */
	uint32_t seen_room; /* room's atok.head when forward() last ran */
	int notify_fd;	    /* written on TX reclaim of kr */
	bool more;	    /* the last call moved slots and left some: call again */
	bool stalled;	    /* lossless: slots left behind a full destination */
	bool moved;	    /* slots consumed in this round (TX-reclaim check) */
};

/* One served source. Allocated by worker_add*, owned by the worker meanwhile. */
struct wport {
	const void *key;
	worker_forward_fn forward;
	bool (*lossless)(void *arg);
	void *arg;
	int kick_fd[2];
	uint32_t n_rings;
	struct wring ring[];
};

enum cmd_op { CMD_ADD, CMD_REMOVE, CMD_STOP };

/* A request from the control thread; lives on its stack until done. */
struct cmd {
	enum cmd_op op;
	const void *key;  /* REMOVE */
	struct wport *wp; /* ADD: the entry to serve; REMOVE: the entry removed */
	int result;
	bool done;
};

struct worker {
	pthread_t thread;
	char name[THREAD_NAMSIZ];
	uint32_t poll_us;
	int epfd;
	int cmd_fd; /* eventfd: wakes the worker for a command */
	struct bdg_scratch *scratch;

	/* Control thread -> worker: at most one command at a time. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct cmd *cmd; /* under lock */
	bool cmd_ready;	 /* cmd is set: lets the hot path check without the lock */

	/* The worker thread's own: no lock on the hot path. */
	struct wport **ports;
	uint32_t n_ports;
	uint32_t cap_ports;

	/* Written by the worker only (relaxed stores), read by worker_get_stats. */
	struct worker_stats stats;
};

static void count(uint64_t *c, uint64_t n)
{
	/* Single writer: a relaxed store is enough for readers to see a whole value. */
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	/* vDSO on Linux: no system call while busy-polling. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void efd_drain(int fd)
{
	uint64_t v;
	ssize_t n;

	/* EAGAIN: someone else drained it, or the wake was for another fd. */
	n = read(fd, &v, sizeof(v));
	(void)n;
}

/* ---- forwarding ----------------------------------------------------------- */

/* bdg ports as worker sources. */
static uint32_t bdg_src_forward(void *arg, uint32_t ring, struct bdg_scratch *scratch)
{
	return bdg_forward(arg, ring, scratch);
}

static bool bdg_src_lossless(void *arg)
{
	return bdg_port_lossless(arg);
}

/*
 * One forward() call on ring r when it may have work: new slots since the
 * last call (head moved), a batch cut short (more), or a lossless stall to
 * retry. A ring whose head has not moved since a call that consumed nothing
 * (an NS_MOREFRAG chain still open) is left alone, so it cannot keep the
 * worker from sleeping. Returns the slots consumed.
 */
static uint32_t forward_ring(struct worker *w, struct wport *wp, struct wring *r)
{
	struct kring *kr = r->kr;
	uint32_t head, queued, done;

	/* bdg_forward() reads head again itself (kring_csb_read). */
	head = csb_switch_head(kr->csb);
	if (head == r->seen_head && !r->more && !r->stalled)
		return 0;
	/* A head out of range is the client's garbage: forward() reinits. */
	queued = head < kr->num_slots ? kring_dist(kr, kr->hwcur, head) : 0;
	r->seen_head = head;
	if (r->room) /* only compared: the source reads it itself */
		r->seen_room = csb_switch_head(r->room->csb);
	done = wp->forward(wp->arg, r->idx, w->scratch);
	r->more = done > 0 && done < queued;
	r->stalled = done == 0 && queued > 0 && (!wp->lossless || wp->lossless(wp->arg));
	r->moved = done > 0;
	if (done)
		count(&w->stats.batches, 1);
	return done;
}

/*
 * TX reclaim: bdg_forward() returned slots to the client of wp (kring_
 * txsync_done stored ktoa.hwtail with release). A client waiting for TX
 * space sleeps with appl_need_kick set on that ring: wake it (the handshake
 * of ring/csb.h, csb_notify_appl).
 */
static void reclaim_notify(struct wport *wp)
{
	int woken = -1; /* rings of one port share their fd: write it once */

	for (uint32_t i = 0; i < wp->n_rings; i++) {
		struct wring *r = &wp->ring[i];

		if (r->moved && r->notify_fd >= 0 && r->notify_fd != woken &&
		    csb_notify_appl(r->kr->csb, r->notify_fd))
			woken = r->notify_fd;
		r->moved = false;
	}
}

/* One pass over every served ring. Returns the slots consumed; *ret_stalled
 * tells whether a lossless source still waits for room. */
static uint64_t forward_all(struct worker *w, bool *ret_stalled)
{
	uint64_t moved = 0;
	bool stalled = false;

	for (uint32_t p = 0; p < w->n_ports; p++) {
		struct wport *wp = w->ports[p];
		uint64_t port_moved = 0;

		for (uint32_t i = 0; i < wp->n_rings; i++) {
			port_moved += forward_ring(w, wp, &wp->ring[i]);
			stalled |= wp->ring[i].stalled;
		}
		if (port_moved)
			reclaim_notify(wp);
		moved += port_moved;
	}
	*ret_stalled = stalled;
	return moved;
}

/* ---- sleeping --------------------------------------------------------------- */

/*
 * Before sleeping: ask the clients of every served ring (and room ring) for
 * a kick, and re-check each ring after its flag is armed
 * (csb_switch_may_sleep). True if one has work after all: new slots since
 * its last forward(), a batch cut short, or a stalled source whose room
 * ring's head moved.
 */
static bool arm_and_recheck(struct worker *w)
{
	for (uint32_t p = 0; p < w->n_ports; p++) {
		struct wport *wp = w->ports[p];

		for (uint32_t i = 0; i < wp->n_rings; i++) {
			struct wring *r = &wp->ring[i];

			if (!csb_switch_may_sleep(r->kr->csb, r->seen_head) || r->more)
				return true;
			/* A stalled source also waits for its room ring's client. */
			if (r->room && !csb_switch_may_sleep(r->room->csb, r->seen_room) &&
			    r->stalled)
				return true;
		}
	}
	return false;
}

/* Awake: clear the flags arm_and_recheck set (all of them: it may have
 * stopped half-way). */
static void disarm(struct worker *w)
{
	for (uint32_t p = 0; p < w->n_ports; p++) {
		struct wport *wp = w->ports[p];

		for (uint32_t i = 0; i < wp->n_rings; i++) {
			csb_switch_disarm(wp->ring[i].kr->csb);
			if (wp->ring[i].room)
				csb_switch_disarm(wp->ring[i].room->csb);
		}
	}
}

/* epoll_wait with a timeout in microseconds (< 0: forever). */
static int wait_events(int epfd, struct epoll_event *ev, int max, long timeout_us)
{
	struct timespec ts;
	int n;

	if (timeout_us < 0)
		return epoll_wait(epfd, ev, max, -1);
	ts.tv_sec = timeout_us / 1000000;
	ts.tv_nsec = (timeout_us % 1000000) * 1000;
	n = epoll_pwait2(epfd, ev, max, &ts, NULL);
	if (n < 0 && errno == ENOSYS) /* kernel before 5.11: millisecond resolution */
		n = epoll_wait(epfd, ev, max, (int)((timeout_us + 999) / 1000));
	return n;
}

/*
 * Sleep until a kick, a command, or (stall_us >= 0: a lossless source is
 * stalled) the retry timer. The wake-up handshake with the clients
 * (ring/csb.h): arm every ring's kern_need_kick and re-check it; a client
 * publishes head and reads the flag, so either we find the new head and do
 * not sleep, or the client finds the flag and writes the kick fd. A command
 * needs no fence: send_cmd() sets cmd_ready before it writes cmd_fd, which
 * epoll sees if the load below missed it.
 */
static void sleep_once(struct worker *w, long stall_us)
{
	struct epoll_event ev[MAX_EVENTS];
	int n;

	if (arm_and_recheck(w) || __atomic_load_n(&w->cmd_ready, __ATOMIC_ACQUIRE)) {
		disarm(w);
		return;
	}
	count(&w->stats.sleeps, 1);
	n = wait_events(w->epfd, ev, MAX_EVENTS, stall_us);
	disarm(w);
	for (int i = 0; i < n; i++) {
		struct wport *wp = ev[i].data.ptr;

		if (!wp) {
			efd_drain(w->cmd_fd);
			continue;
		}
		/* Which of its kick fds fired is not recorded: drain both. */
		for (int k = 0; k < 2; k++)
			if (wp->kick_fd[k] >= 0)
				efd_drain(wp->kick_fd[k]);
		count(&w->stats.kicks, 1);
	}
}

/* ---- commands ------------------------------------------------------------- */

static struct wport *find_port(const struct worker *w, const void *key, uint32_t *ret_i)
{
	for (uint32_t i = 0; i < w->n_ports; i++) {
		if (w->ports[i]->key == key) {
			if (ret_i)
				*ret_i = i;
			return w->ports[i];
		}
	}
	return NULL;
}

static int do_add(struct worker *w, struct wport *wp)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = wp};

	if (find_port(w, wp->key, NULL))
		return -EEXIST;
	if (w->n_ports == w->cap_ports) {
		uint32_t cap = w->cap_ports ? 2 * w->cap_ports : 8;
		struct wport **ports = realloc(w->ports, cap * sizeof(*ports));

		if (!ports)
			return -ENOMEM;
		w->ports = ports;
		w->cap_ports = cap;
	}
	for (int k = 0; k < 2; k++) {
		if (wp->kick_fd[k] >= 0 &&
		    epoll_ctl(w->epfd, EPOLL_CTL_ADD, wp->kick_fd[k], &ev) < 0) {
			int err = -errno;

			if (k == 1 && wp->kick_fd[0] >= 0)
				epoll_ctl(w->epfd, EPOLL_CTL_DEL, wp->kick_fd[0], NULL);
			return err;
		}
	}
	w->ports[w->n_ports++] = wp;
	__atomic_store_n(&w->stats.ports, w->n_ports, __ATOMIC_RELAXED);
	return 0;
}

/* Forget p; the removed entry goes back to the caller to free. Runs between
 * rounds, so no bdg_forward() on p is in progress, and none follows. */
static struct wport *do_remove(struct worker *w, const void *key)
{
	struct wport *wp;
	uint32_t i;

	wp = find_port(w, key, &i);
	if (!wp)
		return NULL;
	/* Cannot fail for an fd we registered; and no event for wp is pending:
	 * commands run after a round's events were handled. */
	for (int k = 0; k < 2; k++)
		if (wp->kick_fd[k] >= 0)
			epoll_ctl(w->epfd, EPOLL_CTL_DEL, wp->kick_fd[k], NULL);
	w->ports[i] = w->ports[--w->n_ports];
	__atomic_store_n(&w->stats.ports, w->n_ports, __ATOMIC_RELAXED);
	return wp;
}

/* Run the pending command. Returns false when asked to stop. */
static bool run_cmd(struct worker *w)
{
	struct cmd *c;
	bool go_on = true;

	pthread_mutex_lock(&w->lock);
	c = w->cmd;
	w->cmd = NULL;
	__atomic_store_n(&w->cmd_ready, false, __ATOMIC_RELAXED);
	if (c) {
		switch (c->op) {
		case CMD_ADD:
			c->result = do_add(w, c->wp);
			break;
		case CMD_REMOVE:
			c->wp = do_remove(w, c->key);
			c->result = 0;
			break;
		case CMD_STOP:
			c->result = 0;
			go_on = false;
			break;
		}
		c->done = true;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return go_on;
}

/* Hand c to the worker and wait for it to be done (control thread). */
static int send_cmd(struct worker *w, struct cmd *c)
{
	c->done = false;
	pthread_mutex_lock(&w->lock);
	while (w->cmd) /* one command at a time, should two callers ever race */
		pthread_cond_wait(&w->cond, &w->lock);
	w->cmd = c;
	/* Pairs with the acquire loads in the worker's loop and in sleep_once();
	 * the worker then takes the lock, which orders the rest. */
	__atomic_store_n(&w->cmd_ready, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&w->lock);
	/* Wakes the worker if it sleeps in epoll; a polling worker sees cmd_ready. */
	csb_wake(w->cmd_fd);
	pthread_mutex_lock(&w->lock);
	while (!c->done)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	return c->result;
}

/* ---- the thread ------------------------------------------------------------ */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const bool forever = w->poll_us == WORKER_POLL_FOREVER;
	const uint64_t poll_ns = forever ? 0 : (uint64_t)w->poll_us * 1000;
	uint64_t busy_at = now_ns(); /* when slots last moved */
	long stall_us = WORKER_STALL_RETRY_US;
	bool stalled = false;

	for (;;) {
		/* Pairs with the release store in send_cmd(). */
		if (__atomic_load_n(&w->cmd_ready, __ATOMIC_ACQUIRE) && !run_cmd(w))
			break;
		if (forward_all(w, &stalled)) {
			busy_at = now_ns();
			stall_us = WORKER_STALL_RETRY_US;
			continue;
		}
		if (forever || now_ns() - busy_at < poll_ns) {
			cpu_relax();
			continue;
		}
		/* A wake-up that moves nothing (a stall retry still blocked)
		 * does not restart the busy-poll window: back to sleep, a
		 * stall retry twice as late each time, up to the cap. */
		if (!stalled) {
			stall_us = WORKER_STALL_RETRY_US;
			sleep_once(w, -1);
			continue;
		}
		sleep_once(w, stall_us);
		if (stall_us < WORKER_STALL_RETRY_MAX_US)
			stall_us = stall_us * 2 < WORKER_STALL_RETRY_MAX_US
				       ? stall_us * 2
				       : WORKER_STALL_RETRY_MAX_US;
	}
	return NULL;
}

struct worker *worker_create(const struct worker_params *p)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	pthread_attr_t attr;
	struct worker *w;
	int err;

	if (p->cpu >= CPU_SETSIZE) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->poll_us = p->poll_us;
	snprintf(w->name, sizeof(w->name), "%s", p->name ? p->name : "vale-fwd");
	w->scratch = bdg_scratch_create();
	if (!w->scratch) {
		err = -errno;
		goto err_alloc;
	}
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0) {
		err = -errno;
		goto err_scratch;
	}
	w->cmd_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->cmd_fd < 0) {
		err = -errno;
		goto err_epoll;
	}
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->cmd_fd, &ev) < 0) {
		err = -errno;
		goto err_cmd_fd;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);

	err = -pthread_attr_init(&attr);
	if (err)
		goto err_sync;
	if (p->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET((size_t)p->cpu, &set);
		err = -pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		if (err)
			goto err_attr;
	}
	/* An affinity to a CPU we may not use fails here, with EINVAL. */
	err = -pthread_create(&w->thread, &attr, worker_main, w);
	if (err)
		goto err_attr;
	pthread_attr_destroy(&attr);
	/* The name is only for ps/top/perf and fits (truncated above): a
	 * failure would change nothing the caller could act on. */
	pthread_setname_np(w->thread, w->name);
	return w;

err_attr:
	pthread_attr_destroy(&attr);
err_sync:
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
err_cmd_fd:
	close(w->cmd_fd);
err_epoll:
	close(w->epfd);
err_scratch:
	bdg_scratch_destroy(w->scratch);
err_alloc:
	free(w);
	errno = -err;
	return NULL;
}

void worker_destroy(struct worker *w)
{
	struct cmd c = {.op = CMD_STOP};

	if (!w)
		return;
	send_cmd(w, &c);
	pthread_join(w->thread, NULL);
	/* The contract says no port is left; free any anyway (the fds are not ours). */
	for (uint32_t i = 0; i < w->n_ports; i++)
		free(w->ports[i]);
	free(w->ports);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	close(w->cmd_fd);
	close(w->epfd);
	bdg_scratch_destroy(w->scratch);
	free(w);
}

int worker_add_src(struct worker *w, const struct worker_src *s)
{
	struct cmd c = {.op = CMD_ADD};
	struct wport *wp;
	int err;

	if (!s->key || !s->forward || s->n_rings == 0 || !s->ring ||
	    (s->kick_fd[0] >= 0 && s->kick_fd[0] == s->kick_fd[1]))
		return -EINVAL;
	wp = calloc(1, sizeof(*wp) + s->n_rings * sizeof(wp->ring[0]));
	if (!wp)
		return -ENOMEM;
	wp->key = s->key;
	wp->forward = s->forward;
	wp->lossless = s->lossless;
	wp->arg = s->arg;
	wp->kick_fd[0] = s->kick_fd[0];
	wp->kick_fd[1] = s->kick_fd[1];
	wp->n_rings = s->n_rings;
	for (uint32_t i = 0; i < s->n_rings; i++) {
		struct wring *r = &wp->ring[i];

		r->kr = s->ring[i].src;
		r->room = s->ring[i].room;
		r->idx = s->ring[i].idx;
		r->notify_fd = s->ring[i].notify_fd;
		r->seen_head = r->kr->hwcur;
		/* Look at the ring once even if its client never kicks: it may
		 * have queued slots before the port was handed to us. */
		r->more = true;
	}
	c.wp = wp;
	err = send_cmd(w, &c);
	if (err)
		free(wp);
	return err;
}

int worker_add(struct worker *w, struct bdg_port *p, uint32_t first_tx, uint32_t last_tx,
	       int kick_fd, int notify_fd)
{
	struct worker_ring ring[BDG_MAXRINGS];
	struct worker_src s = {.key = p,
			       .forward = bdg_src_forward,
			       .lossless = bdg_src_lossless,
			       .arg = p,
			       .kick_fd = {kick_fd, -1},
			       .n_rings = last_tx - first_tx,
			       .ring = ring};

	if (!bdg_port_switch(p) || first_tx >= last_tx || last_tx > bdg_port_tx_rings(p))
		return -EINVAL;
	for (uint32_t i = 0; i < s.n_rings; i++)
		ring[i] = (struct worker_ring){.idx = first_tx + i,
					       .src = bdg_port_tx_kring(p, first_tx + i),
					       .notify_fd = notify_fd};
	return worker_add_src(w, &s);
}

void worker_remove_src(struct worker *w, const void *key)
{
	struct cmd c = {.op = CMD_REMOVE, .key = key};

	send_cmd(w, &c);
	free(c.wp);
}

void worker_remove(struct worker *w, struct bdg_port *p)
{
	worker_remove_src(w, p);
}

void worker_get_stats(const struct worker *w, struct worker_stats *ret_stats)
{
	struct worker_stats st;

	st.batches = __atomic_load_n(&w->stats.batches, __ATOMIC_RELAXED);
	st.sleeps = __atomic_load_n(&w->stats.sleeps, __ATOMIC_RELAXED);
	st.kicks = __atomic_load_n(&w->stats.kicks, __ATOMIC_RELAXED);
	st.ports = __atomic_load_n(&w->stats.ports, __ATOMIC_RELAXED);
	*ret_stats = st;
}
