/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the copy monitors of switch/bdg: RX and TX monitors see
 * exactly the packets of the port, in order; a full monitor drops on itself
 * and leaves the port's traffic alone; several monitors on one port; a
 * monitor detached while another thread forwards. Ports are real VALE port
 * regions; the test plays the clients' side of the rings.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bdg.h"
#include "frame.h"
#include "learn.h"
#include "ring_client.h"
#include "vport.h"

static uint32_t fixed_clock(void)
{
	return 1;
}

/* frame_make's frame of len bytes from host src to dst, (src, seq) at offset
 * 42, with a payload after it that differs per packet. */
static void frame(uint8_t *f, uint32_t len, const uint8_t dst[6], uint8_t src, uint32_t seq)
{
	frame_make(f, len, dst, src, seq);
	for (uint32_t i = 50; i < len; i++)
		f[i] = (uint8_t)(seq * 7 + i);
}

static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0, 1};
static const uint8_t MAC_B[6] = {0x02, 0, 0, 0, 0, 2};

/* ---- fixture: switch vale0 with ports a and b ------------------------ */

struct fx {
	struct bdg *b;
	struct vport *a, *bp;
	struct bdg_scratch *s;
};

static struct vport *port_new(const char *name, uint32_t slots)
{
	struct vport_params p = {.name = name, .tx_slots = slots, .rx_slots = slots};
	struct vport *v = vport_create(&p);

	assert_non_null(v);
	return v;
}

static void fx_init(struct fx *x, uint32_t slots)
{
	x->b = bdg_create("vale0", &learn_ops, learn_create(64, 300));
	assert_non_null(x->b);
	bdg_set_clock(x->b, fixed_clock);
	x->a = port_new("a", slots);
	x->bp = port_new("b", slots);
	assert_int_equal(bdg_attach(x->b, vport_port(x->a)), 0);
	assert_int_equal(bdg_attach(x->b, vport_port(x->bp)), 1);
	x->s = bdg_scratch_create();
	assert_non_null(x->s);
}

static void fx_fini(struct fx *x)
{
	bdg_detach(vport_port(x->a));
	bdg_detach(vport_port(x->bp));
	vport_destroy(x->a);
	vport_destroy(x->bp);
	assert_int_equal(bdg_destroy(x->b), 0);
	bdg_scratch_destroy(x->s);
}

/* A monitor of port v in the directions of flags. */
static struct vport *mon_new(struct vport *v, unsigned flags, uint32_t slots)
{
	struct vport *m = port_new("m", slots);

	assert_int_equal(bdg_monitor_attach(vport_port(v), vport_port(m), flags), 0);
	assert_ptr_equal(bdg_monitor_target(vport_port(m)), vport_port(v));
	return m;
}

static void mon_free(struct vport *m)
{
	bdg_monitor_detach(vport_port(m));
	assert_null(bdg_monitor_target(vport_port(m)));
	vport_destroy(m);
}

static uint32_t fwd(struct fx *x, struct vport *src)
{
	return bdg_forward(vport_port(src), 0, x->s);
}

/* Expect the next frame of m to be (dst, src, seq, len) with flags. */
static void expect_copy(struct vport *m, const uint8_t dst[6], uint8_t src, uint32_t seq,
			uint32_t len, uint16_t flags)
{
	uint8_t want[2048], got[2048];
	uint16_t fl = 0xffff;

	frame(want, len, dst, src, seq);
	assert_int_equal(client_recv(m, 0, got, &fl), len);
	assert_memory_equal(got, want, len);
	assert_int_equal(fl, flags);
}

/* ---- tests ---------------------------------------------------------------- */

/* Attach and detach rules. */
static void test_attach_rules(void **state)
{
	struct fx x;
	struct vport *m, *m2, *lone = port_new("lone", 64);
	(void)state;

	fx_init(&x, 64);
	m = port_new("m", 64);
	assert_int_equal(bdg_monitor_attach(vport_port(x.a), vport_port(m), 0), -EINVAL);
	assert_int_equal(bdg_monitor_attach(vport_port(x.a), vport_port(m), 4), -EINVAL);
	assert_int_equal(bdg_monitor_attach(vport_port(lone), vport_port(m), BDG_MON_RX), -ENOENT);
	assert_int_equal(bdg_monitor_attach(vport_port(x.a), vport_port(x.bp), BDG_MON_RX), -EBUSY);
	assert_int_equal(bdg_monitor_attach(vport_port(x.a), vport_port(m), BDG_MON_RX), 0);
	assert_int_equal(bdg_monitor_attach(vport_port(x.bp), vport_port(m), BDG_MON_RX), -EBUSY);
	/* A monitor cannot be monitored, nor attached to a switch. */
	m2 = port_new("m2", 64);
	assert_int_equal(bdg_monitor_attach(vport_port(m), vport_port(m2), BDG_MON_TX), -EINVAL);
	assert_int_equal(bdg_attach(x.b, vport_port(m)), -EBUSY);
	/* Detaching the port stops its monitors. */
	bdg_detach(vport_port(x.a));
	assert_null(bdg_monitor_target(vport_port(m)));
	assert_int_equal(bdg_attach(x.b, vport_port(x.a)), 0);
	mon_free(m);
	mon_free(m2); /* never attached: fine */
	vport_destroy(lone);
	fx_fini(&x);
}

/* An RX monitor of b and a TX monitor of a see exactly the frames, in order;
 * TX copies carry NS_TXMON; nothing flows back into the switch. */
static void test_rx_tx_copies(void **state)
{
	struct fx x;
	struct vport *mr, *mt;
	uint8_t f[2048], got[2048];
	(void)state;

	fx_init(&x, 256);
	mr = mon_new(x.bp, BDG_MON_RX, 256);
	mt = mon_new(x.a, BDG_MON_TX, 256);
	for (uint32_t seq = 0; seq < 100; seq++) {
		frame(f, 60 + seq * 13, MAC_B, 1, seq); /* 60..1347 bytes */
		assert_true(client_send(x.a, f, 60 + seq * 13));
		if (seq % 7 == 6)
			assert_true(fwd(&x, x.a) > 0);
	}
	while (fwd(&x, x.a))
		;
	for (uint32_t seq = 0; seq < 100; seq++) {
		frame(f, 60 + seq * 13, MAC_B, 1, seq);
		assert_int_equal(client_recv(x.bp, 0, got, NULL), 60 + seq * 13);
		assert_memory_equal(got, f, 60 + seq * 13);
		expect_copy(mr, MAC_B, 1, seq, 60 + seq * 13, 0);
		expect_copy(mt, MAC_B, 1, seq, 60 + seq * 13, NS_TXMON);
	}
	assert_int_equal(client_drain(mr, 0), 0);
	assert_int_equal(client_drain(mt, 0), 0);
	/* b answers a: the RX monitor of b does not see it, the TX one of a neither. */
	frame(f, 60, MAC_A, 2, 7);
	assert_true(client_send(x.bp, f, 60));
	fwd(&x, x.bp);
	assert_int_equal(client_drain(x.a, 0), 1);
	assert_int_equal(client_drain(mr, 0), 0);
	assert_int_equal(client_drain(mt, 0), 0);
	assert_int_equal(client_port_stats(mr).rx_packets, 100);
	assert_int_equal(client_port_stats(mt).rx_packets, 100);
	assert_int_equal(client_port_stats(mr).rx_drops + client_port_stats(mt).rx_drops, 0);
	assert_int_equal(client_port_stats(mr).tx_packets, 0);
	mon_free(mr);
	mon_free(mt);
	fx_fini(&x);
}

/* A TX monitor also sees what the switch drops (no destination); a bad
 * slot is not a packet and is not copied. */
static void test_tx_copies_unforwarded(void **state)
{
	struct fx x;
	struct vport *mt;
	uint8_t f[128];
	(void)state;

	fx_init(&x, 64);
	mt = mon_new(x.a, BDG_MON_TX, 64);
	/* Teach the switch where a is, then send to a's own MAC: dropped. */
	frame(f, 60, MAC_B, 1, 0);
	client_send(x.a, f, 60);
	fwd(&x, x.a);
	frame(f, 60, MAC_A, 1, 1);
	client_send(x.a, f, 60);
	frame(f, 10, MAC_A, 1, 2); /* a runt: dropped as bad */
	client_send(x.a, f, 10);
	frame(f, 60, MAC_B, 1, 3);
	client_send(x.a, f, 60);
	fwd(&x, x.a);
	assert_int_equal(client_drain(x.bp, 0), 2);
	expect_copy(mt, MAC_B, 1, 0, 60, NS_TXMON);
	expect_copy(mt, MAC_A, 1, 1, 60, NS_TXMON);
	expect_copy(mt, MAC_B, 1, 3, 60, NS_TXMON);
	assert_int_equal(client_drain(mt, 0), 0);
	mon_free(mt);
	fx_fini(&x);
}

/* A full monitor drops on itself; the port gets everything, even from a
 * lossless sender, which sees no backpressure. */
static void test_full_monitor_drops(void **state)
{
	struct fx x;
	struct vport *mr, *mt;
	uint8_t f[128];
	(void)state;

	fx_init(&x, 256);
	bdg_port_set_lossless(vport_port(x.a), true);
	mr = mon_new(x.bp, BDG_MON_RX, 8);
	mt = mon_new(x.a, BDG_MON_TX, 16);
	for (uint32_t seq = 0; seq < 200; seq++) {
		frame(f, 60, MAC_B, 1, seq);
		assert_true(client_send(x.a, f, 60));
	}
	assert_int_equal(fwd(&x, x.a), 200);
	assert_int_equal(client_drain(x.bp, 0), 200);
	assert_int_equal(client_port_stats(x.bp).rx_drops, 0);
	/* One slot always stays empty: 7 and 15 copies, the first ones. */
	for (uint32_t seq = 0; seq < 7; seq++)
		expect_copy(mr, MAC_B, 1, seq, 60, 0);
	assert_int_equal(client_drain(mr, 0), 0);
	assert_int_equal(client_drain(mt, 0), 15);
	assert_int_equal(client_port_stats(mr).rx_drops, 193);
	assert_int_equal(client_port_stats(mt).rx_drops, 185);
	/* Room again: the next batch is copied from where it starts. */
	frame(f, 60, MAC_B, 1, 1000);
	client_send(x.a, f, 60);
	fwd(&x, x.a);
	assert_int_equal(client_drain(x.bp, 0), 1);
	expect_copy(mr, MAC_B, 1, 1000, 60, 0);
	mon_free(mr);
	mon_free(mt);
	fx_fini(&x);
}

/* Two RX monitors and an RX+TX monitor on one port: each sees everything;
 * the RX+TX one gets both directions in the order they happened. */
static void test_several_monitors(void **state)
{
	struct fx x;
	struct vport *m1, *m2, *mrt;
	uint8_t f[128];
	(void)state;

	fx_init(&x, 128);
	m1 = mon_new(x.bp, BDG_MON_RX, 128);
	m2 = mon_new(x.bp, BDG_MON_RX, 128);
	mrt = mon_new(x.bp, BDG_MON_RX | BDG_MON_TX, 128);
	for (uint32_t seq = 0; seq < 20; seq++) {
		frame(f, 64, MAC_B, 1, seq);
		client_send(x.a, f, 64);
		fwd(&x, x.a);
		frame(f, 64, MAC_A, 2, 100 + seq);
		client_send(x.bp, f, 64);
		fwd(&x, x.bp);
	}
	assert_int_equal(client_drain(x.a, 0), 20);
	assert_int_equal(client_drain(x.bp, 0), 20);
	for (uint32_t seq = 0; seq < 20; seq++) {
		expect_copy(m1, MAC_B, 1, seq, 64, 0);
		expect_copy(m2, MAC_B, 1, seq, 64, 0);
		expect_copy(mrt, MAC_B, 1, seq, 64, 0);
		expect_copy(mrt, MAC_A, 2, 100 + seq, 64, NS_TXMON);
	}
	/* Dropping one leaves the others. */
	mon_free(m2);
	frame(f, 64, MAC_B, 1, 99);
	client_send(x.a, f, 64);
	fwd(&x, x.a);
	expect_copy(m1, MAC_B, 1, 99, 64, 0);
	expect_copy(mrt, MAC_B, 1, 99, 64, 0);
	mon_free(m1);
	mon_free(mrt);
	assert_int_equal(client_drain(x.bp, 0), 1);
	fx_fini(&x);
}

/* ---- detach under traffic ------------------------------------------------ */

struct traffic {
	struct fx *x;
	bool stop;     /* set by the main thread */
	uint32_t sent; /* frames queued */
	uint32_t received;
};

static void *traffic_run(void *arg)
{
	struct traffic *t = arg;
	uint8_t f[128];
	uint32_t seq = 0;

	while (!__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		for (uint32_t i = 0; i < 32; i++, seq++) {
			frame(f, 60, MAC_B, 1, seq);
			if (!client_send(t->x->a, f, 60))
				break;
			__atomic_fetch_add(&t->sent, 1, __ATOMIC_RELAXED);
		}
		while (fwd(t->x, t->x->a))
			;
		t->received += client_drain(t->x->bp, 0);
	}
	return NULL;
}

static void test_detach_under_traffic(void **state)
{
	struct fx x;
	struct traffic t = {.x = &x};
	pthread_t th;
	uint64_t copies = 0;
	(void)state;

	fx_init(&x, 256);
	assert_int_equal(pthread_create(&th, NULL, traffic_run, &t), 0);
	for (int i = 0; i < 300; i++) {
		struct vport *m = mon_new(i % 2 ? x.bp : x.a, i % 3 + 1, 64);
		uint32_t until = __atomic_load_n(&t.sent, __ATOMIC_RELAXED) + 200;

		/* Let some traffic pass while it watches. */
		while ((int32_t)(__atomic_load_n(&t.sent, __ATOMIC_RELAXED) - until) < 0)
			copies += client_drain(m, 0);
		mon_free(m);
	}
	__atomic_store_n(&t.stop, true, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	assert_true(t.sent > 0);
	assert_int_equal(t.received, t.sent);
	assert_int_equal(client_port_stats(x.bp).rx_drops, 0);
	assert_true(copies > 0);
	fx_fini(&x);
}

/* A zero-copy monitor of port v, in v's region. */
static struct vport *zmon_new(struct vport *v, unsigned flags)
{
	struct vport_params zp;
	struct vport *z;

	vport_zmon_params(vport_params(v), &zp);
	zp.shared_mem = vport_mem(v);
	z = vport_create(&zp);
	assert_non_null(z);
	assert_int_equal(bdg_monitor_attach(vport_port(v), vport_port(z), flags | BDG_MON_ZCOPY),
			 0);
	return z;
}

/* The buffer index of RX slot `at` positions after the client's head. */
static uint32_t rx_idx(struct vport *v, uint32_t at)
{
	struct netmap_ring *r = NETMAP_RXRING(vport_if(v), 0);
	return r->slot[(r->head + at) % r->num_slots].buf_idx;
}

/*
 * Zero-copy: a/zt takes a's TX buffers when bdg_forward returns them, b/zr
 * takes b's RX buffers when the switch takes back what b's client returned
 * (kring_rxsync): same buffers, same order, exact bytes; the ports get the
 * monitors' free buffers instead. Rules: one per direction (EBUSY), same
 * region only (EXDEV); a detach unhooks.
 */
static void test_zero_copy(void **state)
{
	struct fx x;
	struct vport *zt, *zr, *other;
	struct kring *brx;
	uint32_t tx_idx[20], got_idx[20];
	uint8_t f[2048], got[2048];
	(void)state;

	fx_init(&x, 64);
	zt = zmon_new(x.a, BDG_MON_TX);
	zr = zmon_new(x.bp, BDG_MON_RX);
	other = port_new("o", 64);
	assert_int_equal(
	    bdg_monitor_attach(vport_port(x.a), vport_port(other), BDG_MON_RX | BDG_MON_ZCOPY),
	    -EXDEV);
	assert_int_equal(
	    bdg_monitor_attach(vport_port(x.bp), vport_port(other), BDG_MON_RX | BDG_MON_ZCOPY),
	    -EBUSY);
	brx = bdg_port_rx_kring(vport_port(x.bp), 0);
	for (uint32_t round = 0; round < 10; round++) { /* wraps the 64-slot rings */
		struct netmap_ring *atx = NETMAP_TXRING(vport_if(x.a), 0);

		for (uint32_t k = 0; k < 20; k++) {
			tx_idx[k] = atx->slot[atx->head].buf_idx;
			frame(f, 60 + k * 50, MAC_B, 1, round * 20 + k);
			assert_true(client_send(x.a, f, 60 + k * 50));
		}
		assert_int_equal(fwd(&x, x.a), 20);
		for (uint32_t k = 0; k < 20; k++) {
			uint32_t idx = NETMAP_RXRING(vport_if(zt), 0)
					   ->slot[NETMAP_RXRING(vport_if(zt), 0)->head]
					   .buf_idx;

			expect_copy(zt, MAC_B, 1, round * 20 + k, 60 + k * 50,
				    NS_TXMON | NS_BUF_CHANGED);
			assert_int_equal(idx, tx_idx[k]);
		}
		for (uint32_t k = 0; k < 20; k++) {
			got_idx[k] = rx_idx(x.bp, 0);
			frame(f, 60 + k * 50, MAC_B, 1, round * 20 + k);
			assert_int_equal(client_recv(x.bp, 0, got, NULL), 60 + k * 50);
			assert_memory_equal(got, f, 60 + k * 50);
		}
		assert_int_equal(client_drain(zr, 0), 0); /* not taken back yet */
		assert_int_equal(kring_rxsync_locked(brx), 20);
		for (uint32_t k = 0; k < 20; k++) {
			assert_int_equal(rx_idx(zr, 0), got_idx[k]);
			expect_copy(zr, MAC_B, 1, round * 20 + k, 60 + k * 50, NS_BUF_CHANGED);
		}
	}
	assert_int_equal(client_port_stats(zr).rx_packets, 200);
	assert_int_equal(client_port_stats(zt).rx_packets, 200);
	mon_free(zr);
	assert_null(brx->on_release);
	mon_free(zt);
	vport_destroy(other);
	fx_fini(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_attach_rules),
	    cmocka_unit_test(test_rx_tx_copies),
	    cmocka_unit_test(test_tx_copies_unforwarded),
	    cmocka_unit_test(test_full_monitor_drops),
	    cmocka_unit_test(test_several_monitors),
	    cmocka_unit_test(test_detach_under_traffic),
	    cmocka_unit_test(test_zero_copy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
