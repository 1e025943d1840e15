/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of ports/pipe: zero-copy swaps, backpressure, partial reads, garbage. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "csb.h"
#include "pipe.h"
#include "vport.h"
#include "worker.h"

/* The client's side of one ring, done in-process as libvale does it. */
static struct kring *tx0(struct pipe *p, unsigned e)
{
	return pipe_tx_kring(p, e, 0);
}

static struct kring *rx0(struct pipe *p, unsigned e)
{
	return pipe_rx_kring(p, e, 0);
}

/* Queue up to n frames of 60 bytes carrying seq0, seq0 + 1, ...; returns how
 * many fitted. Each filled buffer index goes to idx[] when given. */
static uint32_t send(struct pipe *p, unsigned e, uint32_t n, uint32_t seq0, uint32_t *idx)
{
	struct kring *k = tx0(p, e);
	struct netmap_ring *r = k->ring;
	uint32_t i;

	csb_appl_update_tail(r, k->csb);
	for (i = 0; i < n && nm_ring_space(r); i++) {
		struct netmap_slot *s = &r->slot[r->cur];
		uint32_t seq = seq0 + i;

		memcpy(mem_buf(pipe_mem(p), s->buf_idx), &seq, sizeof(seq));
		s->len = 60;
		s->flags = 0;
		if (idx)
			idx[i] = s->buf_idx;
		r->head = r->cur = nm_ring_next(r, r->cur);
	}
	csb_appl_publish(r, k->csb);
	return i;
}

/* Read up to max frames; release only `release` of them (the rest stay for
 * the next call). Returns how many were available, up to max. */
static uint32_t recv(struct pipe *p, unsigned e, uint32_t max, uint32_t release, uint32_t *seq,
		     uint32_t *idx)
{
	struct kring *k = rx0(p, e);
	struct netmap_ring *r = k->ring;
	uint32_t i, j = r->head;

	csb_appl_update_tail(r, k->csb);
	for (i = 0; i < max && j != r->tail; i++, j = nm_ring_next(r, j)) {
		struct netmap_slot *s = &r->slot[j];

		assert_true(s->buf_idx >= 2 && s->buf_idx < mem_params(pipe_mem(p))->buf_num);
		assert_true(s->flags & NS_BUF_CHANGED);
		assert_int_equal(s->len, 60);
		if (seq)
			memcpy(&seq[i], mem_buf(pipe_mem(p), s->buf_idx), sizeof(seq[i]));
		if (idx)
			idx[i] = s->buf_idx;
	}
	for (uint32_t n = 0; n < release && n < i; n++)
		r->head = nm_ring_next(r, r->head);
	r->cur = r->head;
	csb_appl_publish(r, k->csb);
	return i;
}

static struct pipe *make(uint32_t slots)
{
	struct vport_params vp = {.tx_slots = slots, .rx_slots = slots};
	struct pipe *p = pipe_create("vale0:p{1", &vp);

	assert_non_null(p);
	return p;
}

/* The reader gets the very buffers the writer filled, in order, both ways. */
static void test_zero_copy(void **state)
{
	struct pipe *p = make(64);
	uint32_t sent[10], got[10], seq[10];
	(void)state;

	assert_string_equal(pipe_if(p, 0)->ni_name, "vale0:p{1");
	assert_string_equal(pipe_if(p, 1)->ni_name, "vale0:p}1");
	for (unsigned e = 0; e < 2; e++) {
		assert_int_equal(send(p, e, 10, 100 * e, sent), 10);
		/* Source ring 0 is end 0's TX, source ring 1 end 1's. */
		assert_int_equal(pipe_forward(p, e), 10);
		assert_int_equal(recv(p, !e, 10, 10, seq, got), 10);
		for (uint32_t i = 0; i < 10; i++) {
			assert_int_equal(got[i], sent[i]);
			assert_int_equal(seq[i], 100 * e + i);
		}
		/* The TX slots got the reader's old buffers, marked as changed. */
		struct netmap_ring *r = tx0(p, e)->ring;
		csb_appl_update_tail(r, tx0(p, e)->csb);
		for (uint32_t i = 0; i < 10; i++) {
			assert_true(r->slot[i].flags & NS_BUF_CHANGED);
			for (uint32_t j = 0; j < 10; j++)
				assert_int_not_equal(r->slot[i].buf_idx, sent[j]);
		}
		assert_int_equal(nm_ring_space(r), 63); /* all returned at once */
	}
	pipe_destroy(p);
	pipe_destroy(NULL);
}

/* A full reader holds the writer back; nothing is dropped. */
static void test_backpressure(void **state)
{
	struct pipe *p = make(8);
	uint32_t seq[8], next = 0;
	(void)state;

	assert_int_equal(send(p, 0, 7, 0, NULL), 7);
	assert_int_equal(pipe_forward(p, 0), 7);
	assert_int_equal(send(p, 0, 7, 7, NULL), 7);
	assert_int_equal(pipe_forward(p, 0), 0); /* the reader's ring is full */
	assert_int_equal(pipe_forward(p, 0), 0);
	/* The reader frees 3: exactly 3 more move. */
	assert_int_equal(recv(p, 1, 3, 3, seq, NULL), 3);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(seq[i], next++);
	assert_int_equal(pipe_forward(p, 0), 3);
	while (next < 14) {
		uint32_t n = recv(p, 1, 8, 8, seq, NULL);
		for (uint32_t i = 0; i < n; i++)
			assert_int_equal(seq[i], next++);
		pipe_forward(p, 0);
	}
	assert_int_equal(rx0(p, 1)->stats.drops, 0);
	assert_int_equal(rx0(p, 1)->stats.packets, 14);
	assert_int_equal(tx0(p, 0)->stats.packets, 14);
	pipe_destroy(p);
}

/* The reader releases fewer than it got and finds the rest next time. */
static void test_partial_read(void **state)
{
	struct pipe *p = make(32);
	uint32_t seq[32];
	(void)state;

	assert_int_equal(send(p, 0, 5, 0, NULL), 5);
	assert_int_equal(pipe_forward(p, 0), 5);
	assert_int_equal(recv(p, 1, 5, 2, seq, NULL), 5); /* sees 5, keeps 3 */
	assert_int_equal(send(p, 0, 2, 5, NULL), 2);
	assert_int_equal(pipe_forward(p, 0), 2);
	assert_int_equal(recv(p, 1, 32, 32, seq, NULL), 5);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(seq[i], 2 + i);
	assert_int_equal(recv(p, 1, 32, 32, seq, NULL), 0);
	pipe_destroy(p);
}

/* NS_MOREFRAG chains reach the reader whole. */
static void test_fragments(void **state)
{
	struct pipe *p = make(8);
	struct netmap_ring *r = tx0(p, 0)->ring;
	(void)state;

	assert_int_equal(send(p, 0, 5, 0, NULL), 5);
	assert_int_equal(pipe_forward(p, 0), 5); /* reader: 5 of 7 used */
	/* A 3-slot chain: only 2 slots of room. */
	assert_int_equal(send(p, 0, 3, 5, NULL), 3);
	r->slot[5].flags = r->slot[6].flags = NS_MOREFRAG;
	assert_int_equal(pipe_forward(p, 0), 0);
	assert_int_equal(recv(p, 1, 1, 1, NULL, NULL), 1);
	assert_int_equal(pipe_forward(p, 0), 3);
	pipe_destroy(p);
}

/* One end's garbage reinitialises that end only, and no bad index crosses. */
static void test_garbage(void **state)
{
	struct pipe *p = make(16);
	struct kring *t = tx0(p, 0), *rr = rx0(p, 1);
	uint32_t seq[16], idx[16], spares = pipe_spares_left(p);
	(void)state;

	/* A head past the ring: end 0's TX is reinitialised, nothing moves. */
	__atomic_store_n(&t->csb->atok.head, 1000, __ATOMIC_RELEASE);
	assert_int_equal(pipe_forward(p, 0), 0);
	assert_int_equal(t->stats.reinits, 1);
	assert_int_equal(rr->stats.reinits, 0);
	assert_int_equal(t->ring->head, t->hwcur);

	/* A bad buffer index on TX: dropped, repaired from the spares. */
	assert_int_equal(send(p, 0, 3, 0, NULL), 3);
	t->ring->slot[(t->hwcur + 1) % 16].buf_idx = 0xfffffff0;
	assert_int_equal(pipe_forward(p, 0), 3);
	assert_int_equal(t->stats.bad_slots, 1);
	assert_int_equal(t->stats.reinits, 2);
	assert_int_equal(pipe_spares_left(p), spares - 1);
	assert_int_equal(recv(p, 1, 16, 16, seq, idx), 2);
	assert_int_equal(seq[0], 0);
	assert_int_equal(seq[1], 2);
	assert_int_equal(rr->stats.reinits, 0);

	/* The reader scribbles a free RX slot: its ring is reinitialised and
	 * the writer still gets a valid buffer back. */
	rr->ring->slot[rr->hwtail].buf_idx = 1;
	assert_int_equal(send(p, 0, 1, 7, idx), 1);
	assert_int_equal(pipe_forward(p, 0), 1);
	assert_int_equal(rr->stats.reinits, 1);
	assert_int_equal(t->stats.reinits, 2);
	for (uint32_t i = 0; i < 16; i++) {
		uint32_t b = t->ring->slot[i].buf_idx;
		assert_true(b >= 2 && b < t->buf_num);
	}
	assert_int_equal(recv(p, 1, 16, 16, seq, NULL), 1);
	assert_int_equal(seq[0], 7);
	/* The other direction never noticed. */
	assert_int_equal(tx0(p, 1)->stats.reinits, 0);
	assert_int_equal(rx0(p, 0)->stats.reinits, 0);
	pipe_destroy(p);
}

/* A worker serves the pipe: kicks, room, notifications, every frame in order. */
static uint32_t fwd(void *arg, uint32_t ring, struct bdg_scratch *scratch)
{
	(void)scratch;
	return pipe_forward(arg, ring);
}

/*
 * Nothing to read: sleep until the reader's RX ring (end 1) fills or the
 * writer's TX ring (end 0) gets slots back, as vale_poll does for both
 * directions: arm, fence, re-check, sleep.
 */
static void wait_both(struct pipe *p)
{
	struct kring *t = tx0(p, 0), *r = rx0(p, 1);
	struct pollfd pfd[2] = {{.fd = pipe_notify_fd(p, 0), .events = POLLIN},
				{.fd = pipe_notify_fd(p, 1), .events = POLLIN}};
	uint64_t v;

	__atomic_store_n(&t->csb->atok.appl_need_kick, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&r->csb->atok.appl_need_kick, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->csb->ktoa.hwtail, __ATOMIC_ACQUIRE) == r->ring->head &&
	    __atomic_load_n(&t->csb->ktoa.hwtail, __ATOMIC_ACQUIRE) == t->ring->tail)
		assert_int_not_equal(poll(pfd, 2, 5000), 0); /* a lost wakeup fails */
	__atomic_store_n(&t->csb->atok.appl_need_kick, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&r->csb->atok.appl_need_kick, 0, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		if (read(pfd[i].fd, &v, sizeof(v)) < 0)
			assert_int_equal(errno, EAGAIN);
}

static void test_worker(void **state)
{
	struct worker_params wp = {.cpu = -1, .poll_us = 0, .name = "t-pipe"};
	struct worker *w = worker_create(&wp);
	struct pipe *p = make(64);
	struct worker_ring ring[2];
	struct worker_src s = {.key = p,
			       .forward = fwd,
			       .arg = p,
			       .kick_fd = {pipe_kick_fd(p, 0), pipe_kick_fd(p, 1)},
			       .n_rings = pipe_src_count(p),
			       .ring = ring};
	const uint32_t total = 200000;
	uint32_t sent = 0, next = 0, seq[64];
	uint64_t one = 1;
	(void)state;

	assert_non_null(w);
	for (uint32_t i = 0; i < s.n_rings; i++)
		ring[i] = (struct worker_ring){.idx = i,
					       .src = pipe_src_kring(p, i),
					       .room = pipe_dst_kring(p, i),
					       .notify_fd = pipe_notify_fd(p, pipe_src_end(p, i))};
	assert_int_equal(worker_add_src(w, &s), 0);
	assert_int_equal(worker_add_src(w, &s), -EEXIST);
	while (next < total) {
		uint32_t n = sent < total ? send(p, 0, total - sent, sent, NULL) : 0;

		sent += n;
		if (n && csb_switch_wants_kick(tx0(p, 0)->csb))
			assert_int_equal(write(pipe_kick_fd(p, 0), &one, sizeof(one)), 8);
		n = recv(p, 1, 64, 64, seq, NULL);
		for (uint32_t i = 0; i < n; i++)
			assert_int_equal(seq[i], next++);
		/* Room for a stalled writer: the worker may sleep on it. */
		if (n && csb_switch_wants_kick(rx0(p, 1)->csb))
			assert_int_equal(write(pipe_kick_fd(p, 1), &one, sizeof(one)), 8);
		if (!n)
			wait_both(p);
	}
	/* The worker counts after it published: read once it let go. */
	worker_remove_src(w, p);
	assert_int_equal(rx0(p, 1)->stats.packets, total);
	worker_remove_src(w, p); /* not served: nothing happens */
	worker_destroy(w);
	pipe_destroy(p);
}

/* ---- monitors ------------------------------------------------------------- */

static struct vport *make_mon(uint32_t slots)
{
	struct vport_params vp = {.name = "m", .tx_slots = 2, .rx_slots = slots};
	struct vport *v = vport_create(&vp);

	assert_non_null(v);
	return v;
}

/* Read every frame the monitor has (up to max), releasing them: seq and
 * flags of each. */
static uint32_t mon_recv(struct vport *v, uint32_t max, uint32_t *seq, uint16_t *flags)
{
	struct kring *k = bdg_port_rx_kring(vport_port(v), 0);
	struct netmap_ring *r = k->ring;
	uint32_t i;

	csb_appl_update_tail(r, k->csb);
	for (i = 0; i < max && r->head != r->tail; i++) {
		struct netmap_slot *s = &r->slot[r->head];

		assert_int_equal(s->len, 60);
		memcpy(&seq[i], mem_buf(vport_mem(v), s->buf_idx), sizeof(seq[i]));
		flags[i] = s->flags;
		r->head = r->cur = nm_ring_next(r, r->head);
	}
	csb_appl_publish(r, k->csb);
	return i;
}

/* Copies of an end's TX (NS_TXMON) and of its peer's RX are exact, in order. */
static void test_monitor_copies(void **state)
{
	struct pipe *p = make(64);
	struct vport *t0 = make_mon(128), *r1 = make_mon(128), *rt0 = make_mon(128);
	uint32_t seq[128];
	uint16_t fl[128];
	(void)state;

	assert_int_equal(pipe_monitor_attach(p, 0, vport_port(t0), BDG_MON_TX), 0);
	assert_int_equal(pipe_monitor_attach(p, 1, vport_port(r1), BDG_MON_RX), 0);
	assert_int_equal(pipe_monitor_attach(p, 0, vport_port(rt0), BDG_MON_RX | BDG_MON_TX), 0);
	assert_int_equal(pipe_monitor_attach(p, 0, vport_port(rt0), BDG_MON_RX), -EBUSY);
	assert_int_equal(pipe_monitor_attach(p, 0, vport_port(rt0), 0), -EINVAL);
	for (uint32_t round = 0; round < 3; round++) {
		uint32_t base = round * 100;

		/* 0 -> 1: end 0's TX and end 1's RX; then 1 -> 0. */
		assert_int_equal(send(p, 0, 40, base, NULL), 40);
		assert_int_equal(pipe_forward(p, 0), 40);
		assert_int_equal(recv(p, 1, 64, 64, seq, NULL), 40);
		assert_int_equal(send(p, 1, 10, base + 50, NULL), 10);
		assert_int_equal(pipe_forward(p, 1), 10);
		assert_int_equal(recv(p, 0, 64, 64, seq, NULL), 10);

		assert_int_equal(mon_recv(t0, 128, seq, fl), 40);
		for (uint32_t i = 0; i < 40; i++) {
			assert_int_equal(seq[i], base + i);
			assert_int_equal(fl[i], NS_TXMON);
		}
		assert_int_equal(mon_recv(r1, 128, seq, fl), 40);
		for (uint32_t i = 0; i < 40; i++) {
			assert_int_equal(seq[i], base + i);
			assert_int_equal(fl[i], 0);
		}
		assert_int_equal(mon_recv(rt0, 128, seq, fl), 50);
		for (uint32_t i = 0; i < 50; i++) {
			assert_int_equal(seq[i], i < 40 ? base + i : base + 50 + i - 40);
			assert_int_equal(fl[i], i < 40 ? NS_TXMON : 0);
		}
	}
	/* Detached monitors get nothing more; the others carry on. */
	pipe_monitor_detach(p, vport_port(t0));
	pipe_monitor_detach(p, vport_port(t0)); /* not attached: nothing happens */
	pipe_monitor_detach(p, vport_port(rt0));
	assert_int_equal(send(p, 0, 5, 7, NULL), 5);
	assert_int_equal(pipe_forward(p, 0), 5);
	assert_int_equal(mon_recv(t0, 128, seq, fl), 0);
	assert_int_equal(mon_recv(rt0, 128, seq, fl), 0);
	assert_int_equal(mon_recv(r1, 128, seq, fl), 5);
	assert_int_equal(seq[4], 11);
	pipe_monitor_detach(p, vport_port(r1));
	pipe_destroy(p);
	vport_destroy(rt0);
	vport_destroy(r1);
	vport_destroy(t0);
}

/* A full monitor drops (counted on it) while the pipe moves everything. */
static void test_monitor_full(void **state)
{
	struct pipe *p = make(64);
	struct vport *m = make_mon(8); /* holds 7 */
	struct kring *mk = bdg_port_rx_kring(vport_port(m), 0);
	uint32_t seq[64], got[64];
	uint16_t fl[64];
	(void)state;

	assert_int_equal(pipe_monitor_attach(p, 1, vport_port(m), BDG_MON_RX), 0);
	assert_int_equal(send(p, 0, 60, 0, NULL), 60);
	assert_int_equal(pipe_forward(p, 0), 60);
	assert_int_equal(recv(p, 1, 64, 64, got, NULL), 60);
	for (uint32_t i = 0; i < 60; i++)
		assert_int_equal(got[i], i);
	assert_int_equal(mk->stats.drops, 53);
	/* Full and unread: the pipe still moves every packet, the monitor drops. */
	assert_int_equal(send(p, 0, 60, 60, NULL), 60);
	assert_int_equal(pipe_forward(p, 0), 60);
	assert_int_equal(recv(p, 1, 64, 64, got, NULL), 60);
	assert_int_equal(mk->stats.drops, 113);
	assert_int_equal(mon_recv(m, 64, seq, fl), 7);
	for (uint32_t i = 0; i < 7; i++)
		assert_int_equal(seq[i], i);
	/* Read: it gets copies again, the oldest that fit. */
	assert_int_equal(send(p, 0, 3, 500, NULL), 3);
	assert_int_equal(pipe_forward(p, 0), 3);
	assert_int_equal(mon_recv(m, 64, seq, fl), 3);
	assert_int_equal(seq[0], 500);
	assert_int_equal(seq[2], 502);
	pipe_destroy(p); /* with a monitor attached: the pipe lets it go */
	vport_destroy(m);
}

static void test_create_errors(void **state)
{
	struct vport_params vp = {.tx_slots = 1};
	(void)state;

	assert_null(pipe_create("x{1", &vp));
	assert_int_equal(errno, EINVAL);
	vp = (struct vport_params){.tx_rings = 2, .rx_rings = 3, .extra_bufs = 4};
	struct pipe *p = pipe_create("x{1", &vp);
	assert_non_null(p);
	/* End 1 mirrors end 0; one region for both. */
	assert_int_equal(pipe_params(p, 1)->tx_rings, 3);
	assert_int_equal(pipe_params(p, 1)->rx_rings, 2);
	assert_int_equal(pipe_src_count(p), 5);
	assert_true(pipe_dst_kring(p, 0) == pipe_rx_kring(p, 1, 0));
	assert_true(pipe_dst_kring(p, 2) == pipe_rx_kring(p, 0, 0));
	assert_int_not_equal(pipe_if(p, 0)->ni_bufs_head, 0);
	assert_int_not_equal(pipe_if(p, 1)->ni_bufs_head, 0);
	pipe_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_copy),    cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_partial_read), cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_garbage),      cmocka_unit_test(test_worker),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_monitor_copies), cmocka_unit_test(test_monitor_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
