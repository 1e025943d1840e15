/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of switch/worker: real forwarding threads and real eventfds,
 * with the clients' side of the rings played by test threads that follow the
 * notification protocol of vale/netmap.h (set the flag, full barrier,
 * re-check the ring, then sleep or kick). Waits are generous and nothing is
 * timed: the machine may be loaded.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bdg.h"
#include "csb.h"
#include "learn.h"
#include "vport.h"
#include "worker.h"

#define WAIT_MS 5000 /* "eventually" */
#define MAXHOST 4

/* ---- time ------------------------------------------------------------------ */

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(uint32_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Poll cond every millisecond for up to WAIT_MS; its final value. */
#define EVENTUALLY(cond)                                                                           \
	({                                                                                         \
		uint64_t end_ = clock_ms(CLOCK_MONOTONIC) + WAIT_MS;                               \
		bool ok_;                                                                          \
		while (!(ok_ = (cond)) && clock_ms(CLOCK_MONOTONIC) < end_)                        \
			sleep_ms(1);                                                               \
		ok_;                                                                               \
	})

/* ---- frames and the client's side of the rings ------------------------------- */

static const uint8_t MAC_BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static void mac_of(uint8_t mac[6], uint32_t host)
{
	static const uint8_t base[6] = {0x02, 0, 0, 0, 0, 0}; /* locally administered */

	memcpy(mac, base, 6);
	mac[5] = (uint8_t)host;
}

/* A 60-byte frame from host src to dst, carrying (src, seq) at offset 42. */
static void frame(uint8_t *f, const uint8_t dst[6], uint32_t src, uint32_t seq)
{
	memset(f, 0, 60);
	memcpy(f, dst, 6);
	mac_of(f + 6, src);
	f[12] = 0x08; /* IPv4; only the MACs matter to the learning bridge */
	memcpy(f + 42, &src, 4);
	memcpy(f + 46, &seq, 4);
}

static struct netmap_ring *txr(struct vport *v)
{
	return NETMAP_TXRING(vport_if(v), 0);
}

static struct netmap_ring *rxr(struct vport *v)
{
	return NETMAP_RXRING(vport_if(v), 0);
}

static void efd_write(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

/* Wait up to timeout_ms for fd to be readable, then consume it. */
static bool efd_wait(int fd, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	uint64_t v;
	int n;

	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	return n == 1 && read(fd, &v, sizeof(v)) == sizeof(v);
}

/* Queue up to n frames (seq, seq+1...) on TX ring 0, unpublished; how many fit. */
static uint32_t tx_queue(struct vport *v, const uint8_t dst[6], uint32_t src, uint32_t seq,
			 uint32_t n)
{
	struct netmap_ring *r = txr(v);
	uint32_t i;

	csb_appl_update_tail(r, VALE_CSB(r));
	for (i = 0; i < n && nm_ring_space(r); i++) {
		struct netmap_slot *slot = &r->slot[r->head];

		frame((uint8_t *)NETMAP_BUF(r, slot->buf_idx), dst, src, seq + i);
		slot->len = 60;
		slot->flags = 0;
		r->head = r->cur = nm_ring_next(r, r->head);
	}
	return i;
}

/* txsync as libvale does it: publish, then kick the switch if it sleeps. */
static void tx_sync(struct vport *v)
{
	struct netmap_ring *r = txr(v);

	csb_appl_publish(r, VALE_CSB(r));
	/* Our head store, a full barrier, then the flag load: the mirror of the
	 * worker's flag store, barrier, head load. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (csb_switch_wants_kick(VALE_CSB(r)))
		efd_write(vport_kick_fd(v));
}

/* Sleep on the notify fd until TX ring 0 has room; false on timeout. */
static bool tx_wait_room(struct vport *v)
{
	struct netmap_ring *r = txr(v);
	struct vale_csb *c = VALE_CSB(r);
	bool ok = true;

	__atomic_store_n(&c->atok.appl_need_kick, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	csb_appl_update_tail(r, c);
	if (!nm_ring_space(r))
		ok = efd_wait(vport_notify_fd(v), WAIT_MS);
	__atomic_store_n(&c->atok.appl_need_kick, 0, __ATOMIC_RELAXED);
	return ok;
}

/* Slots waiting on RX ring 0. */
static uint32_t rx_pending(struct vport *v)
{
	struct netmap_ring *r = rxr(v);

	csb_appl_update_tail(r, VALE_CSB(r));
	return nm_ring_space(r);
}

/* Give back every received slot unread. */
static void rx_discard(struct vport *v)
{
	struct netmap_ring *r = rxr(v);

	csb_appl_update_tail(r, VALE_CSB(r));
	r->head = r->cur = r->tail;
	csb_appl_publish(r, VALE_CSB(r));
}

static uint32_t tx_hwcur(struct vport *v)
{
	return __atomic_load_n(&VALE_CSB(txr(v))->ktoa.hwcur, __ATOMIC_ACQUIRE);
}

static uint32_t kern_need_kick(struct vport *v)
{
	return __atomic_load_n(&VALE_CSB(txr(v))->ktoa.kern_need_kick, __ATOMIC_RELAXED);
}

/* ---- sender and receiver threads ---------------------------------------------- */

struct sender {
	struct vport *v;
	uint8_t dst[6];
	uint32_t host;
	uint32_t n;
	bool failed;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	uint32_t sent = 0;

	while (sent < s->n) {
		uint32_t want = s->n - sent < 64 ? s->n - sent : 64;
		uint32_t q = tx_queue(s->v, s->dst, s->host, sent, want);

		if (q) {
			tx_sync(s->v);
			sent += q;
		} else if (!tx_wait_room(s->v)) {
			s->failed = true;
			break;
		}
	}
	return NULL;
}

struct receiver {
	struct vport *v;
	uint32_t expect;
	uint32_t got;
	uint32_t next[MAXHOST]; /* next sequence number per source host */
	uint32_t errors;
	bool failed;
};

/* Consume what RX ring 0 holds, checking each source's order. */
static uint32_t rx_take(struct receiver *m)
{
	struct netmap_ring *r = rxr(m->v);
	uint32_t n = 0;

	csb_appl_update_tail(r, VALE_CSB(r));
	while (!nm_ring_empty(r)) {
		const uint8_t *f = (const uint8_t *)NETMAP_BUF(r, r->slot[r->head].buf_idx);
		uint32_t host, seq;

		memcpy(&host, f + 42, 4);
		memcpy(&seq, f + 46, 4);
		if (host >= MAXHOST || seq != m->next[host])
			m->errors++;
		else
			m->next[host]++;
		r->head = r->cur = nm_ring_next(r, r->head);
		n++;
	}
	if (n)
		csb_appl_publish(r, VALE_CSB(r));
	m->got += n;
	return n;
}

/* Receive m->expect packets, sleeping in poll() on the notify fd when idle. */
static void *receiver_main(void *arg)
{
	struct receiver *m = arg;
	struct netmap_ring *r = rxr(m->v);
	struct vale_csb *c = VALE_CSB(r);

	while (m->got < m->expect) {
		if (rx_take(m))
			continue;
		__atomic_store_n(&c->atok.appl_need_kick, 1, __ATOMIC_RELAXED);
		/* Pairs with the SEQ_CST fence in vport's notify callback. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		csb_appl_update_tail(r, c);
		if (nm_ring_empty(r) && !efd_wait(vport_notify_fd(m->v), WAIT_MS)) {
			m->failed = true;
			break;
		}
		__atomic_store_n(&c->atok.appl_need_kick, 0, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* ---- fixture ------------------------------------------------------------------ */

struct rig {
	struct bdg *b;
	struct vport *v[4];
	uint32_t n_v;
	struct worker *w[2];
	uint32_t n_w;
};

/* A switch per test, named after it, so that a failed test (which leaks its
 * rig) does not make the next ones fail too. */
static void rig_init(struct rig *g, const char *name)
{
	memset(g, 0, sizeof(*g));
	g->b = bdg_create(name, &learn_ops, learn_create(1024, 300));
	assert_non_null(g->b);
}

static struct vport *rig_port(struct rig *g, const char *name, uint32_t tx_slots, uint32_t rx_slots,
			      bool lossless)
{
	struct vport_params p = {.name = name, .tx_slots = tx_slots, .rx_slots = rx_slots};
	struct vport *v = vport_create(&p);

	assert_non_null(v);
	assert_true(bdg_attach(g->b, vport_port(v)) >= 0);
	bdg_port_set_lossless(vport_port(v), lossless);
	g->v[g->n_v++] = v;
	return v;
}

static struct worker *rig_worker(struct rig *g, const char *name, uint32_t poll_us)
{
	struct worker_params p = {.cpu = -1, .poll_us = poll_us, .name = name};
	struct worker *w = worker_create(&p);

	assert_non_null(w);
	g->w[g->n_w++] = w;
	return w;
}

static void serve(struct worker *w, struct vport *v)
{
	assert_int_equal(worker_add(w, vport_port(v), 0, 1, vport_kick_fd(v), vport_notify_fd(v)),
			 0);
}

/* Stop serving and free v now (the rig forgets it). */
static void rig_drop_port(struct rig *g, struct vport *v)
{
	for (uint32_t i = 0; i < g->n_w; i++)
		worker_remove(g->w[i], vport_port(v));
	bdg_detach(vport_port(v));
	vport_destroy(v);
	for (uint32_t i = 0; i < g->n_v; i++)
		if (g->v[i] == v)
			g->v[i] = NULL;
}

static void rig_fini(struct rig *g)
{
	for (uint32_t i = 0; i < g->n_v; i++)
		if (g->v[i])
			rig_drop_port(g, g->v[i]);
	for (uint32_t i = 0; i < g->n_w; i++)
		worker_destroy(g->w[i]);
	assert_int_equal(bdg_destroy(g->b), 0);
}

static struct worker_stats stats_of(const struct worker *w)
{
	struct worker_stats st;

	worker_get_stats(w, &st);
	return st;
}

static uint64_t rx_drops(struct vport *v)
{
	struct bdg_port_stats st;

	bdg_port_get_stats(vport_port(v), &st);
	return st.rx_drops;
}

static bool read_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n > 0;
}

/*
 * True when the thread called name is blocked in the kernel. A worker blocks
 * only in epoll (commands aside), after its last re-check of the rings: from
 * then on, only a kick can make it forward.
 */
static bool thread_sleeps(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	bool sleeps = false;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[320], buf[512], *p;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if (e->d_name[0] == '.' || !read_text(path, buf, sizeof(buf)))
			continue;
		buf[strcspn(buf, "\n")] = '\0';
		if (strcmp(buf, name) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		if (read_text(path, buf, sizeof(buf)) && (p = strrchr(buf, ')')))
			sleeps = p[1] == ' ' && p[2] == 'S';
		break;
	}
	closedir(d);
	return sleeps;
}

/* ---- tests -------------------------------------------------------------------- */

/*
 * Slots published while the worker sleeps move only after the kick that the
 * protocol asks for; an idle worker stays asleep and uses no CPU.
 */
static void test_kick_wakes_sleeping_worker(void **state)
{
	struct rig g;
	struct vport *a, *b;
	struct worker *w;
	struct worker_stats s0, s1;
	uint8_t dst[6];
	bool idle = false;
	(void)state;

	rig_init(&g, "vale1");
	a = rig_port(&g, "a", 256, 256, false);
	b = rig_port(&g, "b", 256, 256, false);
	w = rig_worker(&g, "tw-kick", WORKER_POLL_US_DEFAULT);
	serve(w, a);
	serve(w, b);
	assert_int_equal(stats_of(w).ports, 2);

	assert_true(EVENTUALLY(kern_need_kick(a) && thread_sleeps("tw-kick")));
	mac_of(dst, 2);
	assert_int_equal(tx_queue(a, dst, 1, 0, 32), 32);
	csb_appl_publish(txr(a), VALE_CSB(txr(a))); /* no kick yet */
	sleep_ms(100);
	assert_int_equal(rx_pending(b), 0);
	assert_int_equal(tx_hwcur(a), 0);
	assert_int_equal(stats_of(w).batches, 0);
	assert_true(stats_of(w).sleeps >= 1);

	tx_sync(a); /* the worker asked for a kick: this one sends it */
	assert_true(EVENTUALLY(rx_pending(b) == 32));
	assert_true(stats_of(w).kicks >= 1);
	assert_true(stats_of(w).batches >= 1);

	/* Idle: no wake-up, no batch, (almost) no CPU for 200 ms. Retried a few
	 * times in case something else woke it once. */
	for (int i = 0; i < 5 && !idle; i++) {
		uint64_t cpu0;

		assert_true(EVENTUALLY(thread_sleeps("tw-kick")));
		s0 = stats_of(w);
		cpu0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
		sleep_ms(200);
		s1 = stats_of(w);
		idle = s1.batches == s0.batches && s1.sleeps == s0.sleeps &&
		       clock_ms(CLOCK_PROCESS_CPUTIME_ID) - cpu0 < 100;
	}
	assert_true(idle);
	rig_fini(&g);
}

/*
 * 100k packets in bursts from a lossless sender to a receiver that sleeps in
 * poll() on its notify fd: nothing lost, nothing reordered, nobody stuck.
 */
static void test_notify_wakes_receiver(void **state)
{
	struct rig g;
	struct vport *a, *b;
	struct sender s = {.host = 1, .n = 100000};
	struct receiver m = {.expect = 100000};
	pthread_t ts, tr;
	(void)state;

	rig_init(&g, "vale2");
	a = rig_port(&g, "a", 1024, 1024, true);
	b = rig_port(&g, "b", 1024, 8192, false);
	serve(rig_worker(&g, "tw-notify", WORKER_POLL_US_DEFAULT), a);
	serve(g.w[0], b);
	s.v = a;
	mac_of(s.dst, 2);
	m.v = b;
	assert_int_equal(pthread_create(&tr, NULL, receiver_main, &m), 0);
	assert_int_equal(pthread_create(&ts, NULL, sender_main, &s), 0);
	pthread_join(ts, NULL);
	pthread_join(tr, NULL);
	assert_false(s.failed);
	assert_false(m.failed);
	assert_int_equal(m.errors, 0);
	assert_int_equal(m.got, 100000);
	assert_int_equal(m.next[1], 100000);
	assert_int_equal(rx_drops(b), 0);
	rig_fini(&g);
}

/* A sender waiting for TX room is woken through its notify fd, and only if
 * it asked (atok.appl_need_kick). */
static void test_tx_reclaim_notify(void **state)
{
	struct rig g;
	struct vport *a, *b;
	struct worker *w;
	struct netmap_ring *r;
	uint8_t dst[6];
	(void)state;

	rig_init(&g, "vale3");
	a = rig_port(&g, "a", 64, 64, false);
	b = rig_port(&g, "b", 256, 256, false);
	w = rig_worker(&g, "tw-reclaim", WORKER_POLL_US_DEFAULT);
	serve(w, a);
	serve(w, b);
	r = txr(a);
	mac_of(dst, 2);

	/* Not asked: no notification. */
	assert_int_equal(tx_queue(a, dst, 1, 0, 10), 10);
	tx_sync(a);
	assert_true(EVENTUALLY(rx_pending(b) == 10));
	assert_true(EVENTUALLY(thread_sleeps("tw-reclaim")));
	assert_false(efd_wait(vport_notify_fd(a), 0));
	rx_discard(b);

	/* Asked, with a full ring and a sleeping worker: the kick makes room,
	 * and the notification says so. */
	assert_true(EVENTUALLY(kern_need_kick(a) && thread_sleeps("tw-reclaim")));
	assert_int_equal(tx_queue(a, dst, 1, 10, 100), 63);
	csb_appl_publish(r, VALE_CSB(r));
	__atomic_store_n(&VALE_CSB(r)->atok.appl_need_kick, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	csb_appl_update_tail(r, VALE_CSB(r));
	assert_int_equal(nm_ring_space(r), 0);
	assert_true(csb_switch_wants_kick(VALE_CSB(r)));
	efd_write(vport_kick_fd(a));
	assert_true(efd_wait(vport_notify_fd(a), WAIT_MS));
	csb_appl_update_tail(r, VALE_CSB(r));
	assert_int_equal(nm_ring_space(r), 63);
	assert_int_equal(rx_pending(b), 63);
	rig_fini(&g);
}

/*
 * After worker_remove the port's slots stay where they are, kick or not; a
 * port added again is looked at without a kick; and a port may be freed right
 * after worker_remove even while the worker was retrying it (ASan checks).
 */
static void test_remove(void **state)
{
	struct rig g;
	struct vport *a, *b;
	struct worker *w;
	uint8_t dst[6];
	(void)state;

	rig_init(&g, "vale4");
	a = rig_port(&g, "a", 1024, 64, false);
	b = rig_port(&g, "b", 64, 64, false);
	w = rig_worker(&g, "tw-remove", WORKER_POLL_US_DEFAULT);
	serve(w, a);
	serve(w, b);
	assert_int_equal(worker_add(w, vport_port(a), 0, 1, vport_kick_fd(a), vport_notify_fd(a)),
			 -EEXIST);
	assert_int_equal(worker_add(w, vport_port(a), 0, 2, vport_kick_fd(a), vport_notify_fd(a)),
			 -EINVAL);
	assert_int_equal(worker_add(w, vport_port(a), 1, 1, vport_kick_fd(a), vport_notify_fd(a)),
			 -EINVAL);

	worker_remove(w, vport_port(a));
	worker_remove(w, vport_port(a)); /* not served: nothing happens */
	assert_int_equal(stats_of(w).ports, 1);
	mac_of(dst, 2);
	assert_int_equal(tx_queue(a, dst, 1, 0, 10), 10);
	csb_appl_publish(txr(a), VALE_CSB(txr(a)));
	efd_write(vport_kick_fd(a));
	sleep_ms(100);
	assert_int_equal(rx_pending(b), 0);
	assert_int_equal(tx_hwcur(a), 0);

	serve(w, a);
	assert_true(EVENTUALLY(rx_pending(b) == 10));
	rx_discard(b);

	/* Keep the worker busy on a: lossless into a full ring, retried on its
	 * timer. Then remove a and free it at once. */
	bdg_port_set_lossless(vport_port(a), true);
	assert_int_equal(tx_queue(a, dst, 1, 10, 200), 200);
	tx_sync(a);
	assert_true(EVENTUALLY(rx_pending(b) == 63));
	rig_drop_port(&g, a);
	assert_int_equal(stats_of(w).ports, 1);
	sleep_ms(20);
	assert_int_equal(rx_pending(b), 63);
	rig_fini(&g);
}

/* A lossless source stalled on a full ring resumes when the ring drains,
 * with no kick from anybody; while it waits, the retries back off. */
static void test_lossless_stall_retry(void **state)
{
	struct rig g;
	struct vport *a, *b;
	struct receiver m = {.expect = 500};
	uint64_t kicks, sleeps;
	uint8_t dst[6];
	(void)state;

	rig_init(&g, "vale5");
	a = rig_port(&g, "a", 1024, 64, true);
	b = rig_port(&g, "b", 64, 64, false);
	serve(rig_worker(&g, "tw-stall", WORKER_POLL_US_DEFAULT), a);
	serve(g.w[0], b);
	m.v = b;
	mac_of(dst, 2);
	assert_int_equal(tx_queue(a, dst, 1, 0, 500), 500);
	tx_sync(a);
	assert_true(EVENTUALLY(rx_pending(b) == 63));
	sleep_ms(10);
	assert_int_equal(rx_pending(b), 63);
	assert_int_equal(tx_hwcur(a), 63);
	kicks = stats_of(g.w[0]).kicks;
	/* Stalled for 100 ms: retries back off to one a millisecond (a fixed
	 * 100 us retry would wake it about 1000 times). */
	sleeps = stats_of(g.w[0]).sleeps;
	sleep_ms(100);
	assert_true(stats_of(g.w[0]).sleeps - sleeps <= 120);

	/* Drain without kicking; the worker's retry timer does the rest. */
	assert_true(EVENTUALLY((rx_take(&m), m.got == 500)));
	assert_int_equal(m.errors, 0);
	assert_int_equal(m.next[1], 500);
	assert_int_equal(rx_drops(b), 0);
	assert_int_equal(stats_of(g.w[0]).kicks, kicks);
	rig_fini(&g);
}

/* Two workers, each serving one source, fill one destination ring. */
static void test_two_workers_one_destination(void **state)
{
	struct rig g;
	struct vport *a, *b, *c;
	struct sender sa = {.host = 1, .n = 20000}, sc = {.host = 3, .n = 20000};
	struct receiver m = {.expect = 40000};
	pthread_t ta, tc, tr;
	(void)state;

	rig_init(&g, "vale6");
	a = rig_port(&g, "a", 512, 512, true);
	b = rig_port(&g, "b", 64, 1024, false);
	c = rig_port(&g, "c", 512, 512, true);
	serve(rig_worker(&g, "tw-two0", WORKER_POLL_US_DEFAULT), a);
	serve(g.w[0], b);
	serve(rig_worker(&g, "tw-two1", WORKER_POLL_US_DEFAULT), c);

	/* Teach the switch where b is, so a and c send only to b. */
	assert_int_equal(tx_queue(b, MAC_BCAST, 2, 0, 1), 1);
	tx_sync(b);
	assert_true(EVENTUALLY(rx_pending(a) == 1 && rx_pending(c) == 1));
	rx_discard(a);
	rx_discard(c);

	sa.v = a;
	sc.v = c;
	mac_of(sa.dst, 2);
	mac_of(sc.dst, 2);
	m.v = b;
	assert_int_equal(pthread_create(&tr, NULL, receiver_main, &m), 0);
	assert_int_equal(pthread_create(&ta, NULL, sender_main, &sa), 0);
	assert_int_equal(pthread_create(&tc, NULL, sender_main, &sc), 0);
	pthread_join(ta, NULL);
	pthread_join(tc, NULL);
	pthread_join(tr, NULL);
	assert_false(sa.failed);
	assert_false(sc.failed);
	assert_false(m.failed);
	assert_int_equal(m.errors, 0);
	assert_int_equal(m.next[1], 20000);
	assert_int_equal(m.next[3], 20000);
	assert_int_equal(rx_drops(b), 0);
	assert_int_equal(rx_pending(a), 0);
	rig_fini(&g);
}

/* Create and destroy without ports; pinning; bad parameters. */
static void test_lifecycle(void **state)
{
	struct worker_params p = {.cpu = -1, .poll_us = WORKER_POLL_US_DEFAULT};
	struct worker *w;
	cpu_set_t set;
	int cpu = 0;
	(void)state;

	w = worker_create(&p);
	assert_non_null(w);
	assert_int_equal(stats_of(w).ports, 0);
	worker_destroy(w);
	worker_destroy(NULL);

	/* Pinned to a CPU we may use, with a name longer than a thread's. */
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	while (!CPU_ISSET(cpu, &set))
		cpu++;
	p.cpu = cpu;
	p.name = "vale-forwarder-with-a-long-name";
	w = worker_create(&p);
	assert_non_null(w);
	assert_true(EVENTUALLY(thread_sleeps("vale-forwarder-")));
	worker_destroy(w);

	p.cpu = CPU_SETSIZE;
	assert_null(worker_create(&p));
	assert_int_equal(errno, EINVAL);
}

/* Polling mode: never sleeps, needs no kick. */
static void test_polling_mode(void **state)
{
	struct rig g;
	struct vport *a, *b;
	struct worker *w;
	uint8_t dst[6];
	(void)state;

	rig_init(&g, "vale7");
	a = rig_port(&g, "a", 256, 256, false);
	b = rig_port(&g, "b", 256, 256, false);
	w = rig_worker(&g, "tw-poll", WORKER_POLL_FOREVER);
	serve(w, a);
	serve(w, b);
	mac_of(dst, 2);
	for (uint32_t i = 0; i < 5; i++) {
		assert_int_equal(tx_queue(a, dst, 1, 10 * i, 10), 10);
		csb_appl_publish(txr(a), VALE_CSB(txr(a))); /* never a kick */
		assert_true(EVENTUALLY(rx_pending(b) == 10 * (i + 1)));
	}
	assert_int_equal(stats_of(w).sleeps, 0);
	assert_int_equal(stats_of(w).kicks, 0);
	assert_int_equal(kern_need_kick(a), 0);
	rig_fini(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kick_wakes_sleeping_worker),
	    cmocka_unit_test(test_notify_wakes_receiver),
	    cmocka_unit_test(test_tx_reclaim_notify),
	    cmocka_unit_test(test_remove),
	    cmocka_unit_test(test_lossless_stall_retry),
	    cmocka_unit_test(test_two_workers_one_destination),
	    cmocka_unit_test(test_lifecycle),
	    cmocka_unit_test(test_polling_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
