/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of ring/kring: sync prologues (every case of the seed), reinit, leases. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csb.h"
#include "kring.h"

#define NSLOTS 16
#define BUF_SIZE 256
#define BUF_NUM 64

struct fixture {
	struct kring k;
	struct netmap_ring *ring;
	char *bufs;
};

static struct fixture *fixture_new(uint16_t dir)
{
	struct fixture *f = calloc(1, sizeof(*f));
	size_t rsz = vale_ring_size(NSLOTS);

	assert_non_null(f);
	/* One block, as in a region: the ring, then the buffers. */
	f->ring = aligned_alloc(NM_CACHE_ALIGN, rsz + (size_t)BUF_NUM * BUF_SIZE);
	assert_non_null(f->ring);
	memset(f->ring, 0, rsz);
	f->bufs = (char *)f->ring + rsz;
	assert_int_equal(kring_init(&f->k, f->ring, dir, 0, NSLOTS, f->bufs, BUF_SIZE, BUF_NUM), 0);
	for (uint32_t i = 0; i < NSLOTS; i++)
		f->ring->slot[i].buf_idx = 2 + i;
	return f;
}

static void fixture_free(struct fixture *f)
{
	kring_fini(&f->k);
	free(f->ring);
	free(f);
}

static int setup_tx(void **state)
{
	*state = fixture_new(NR_TX);
	return 0;
}

static int setup_rx(void **state)
{
	*state = fixture_new(NR_RX);
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

static void set_tx(struct kring *k, uint32_t rhead, uint32_t rtail)
{
	k->hwcur = k->rhead = k->rcur = rhead;
	k->hwtail = k->rtail = rtail;
}

static void test_init_positions(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->ring->num_slots, NSLOTS);
	assert_int_equal(f->ring->nr_buf_size, BUF_SIZE);
	assert_int_equal(f->ring->head, 0);
	assert_int_equal(f->ring->tail, NSLOTS - 1); /* TX: all free but one */
	assert_ptr_equal(NETMAP_BUF(f->ring, 2), f->bufs + 2 * BUF_SIZE);
	assert_ptr_equal(VALE_CSB(f->ring), f->k.csb);
	assert_int_equal(f->k.csb->ktoa.hwtail, NSLOTS - 1);
	assert_int_equal(nm_ring_space(f->ring), NSLOTS - 1);
}

static void test_bad_init(void **state)
{
	struct fixture *f = *state;
	struct kring k;

	assert_int_equal(kring_init(&k, f->ring, NR_TX, 0, 1, f->bufs, BUF_SIZE, BUF_NUM), -EINVAL);
	assert_int_equal(kring_init(&k, f->ring, NR_TX, 0, NSLOTS, f->bufs, BUF_SIZE, 2), -EINVAL);
	assert_int_equal(kring_init(&k, f->ring, 7, 0, NSLOTS, f->bufs, BUF_SIZE, BUF_NUM),
			 -EINVAL);
}

/*
 * txsync, rtail >= rhead:   0    A  rhead   B  rtail   C  n-1
 */
static void test_tx_prologue_straight(void **state)
{
	struct kring *k = &((struct fixture *)*state)->k;

	set_tx(k, 4, 10);
	assert_int_equal(kring_txsync_prologue(k, 2, 2), NSLOTS);   /* A */
	assert_int_equal(kring_txsync_prologue(k, 12, 12), NSLOTS); /* C */
	assert_int_equal(k->rhead, 4); /* a rejected call changes nothing */
	assert_int_equal(kring_txsync_prologue(k, 6, 5), NSLOTS);  /* B, cur < head */
	assert_int_equal(kring_txsync_prologue(k, 6, 11), NSLOTS); /* B, cur > rtail */
	assert_int_equal(kring_txsync_prologue(k, 6, 8), 6);	   /* B */
	assert_int_equal(k->rhead, 6);
	assert_int_equal(k->rcur, 8);
	/* head may not go back behind the previous rhead. */
	assert_int_equal(kring_txsync_prologue(k, 5, 5), NSLOTS);
	/* Boundaries: head == rhead and head == cur == rtail are valid. */
	assert_int_equal(kring_txsync_prologue(k, 6, 6), 6);
	assert_int_equal(kring_txsync_prologue(k, 10, 10), 10);
}

/*
 * txsync, rtail < rhead:   0    D  rtail   E  rhead   F  n-1
 */
static void test_tx_prologue_wrapped(void **state)
{
	struct kring *k = &((struct fixture *)*state)->k;

	set_tx(k, 12, 3);
	assert_int_equal(kring_txsync_prologue(k, 7, 7), NSLOTS);   /* E */
	assert_int_equal(kring_txsync_prologue(k, 1, 5), NSLOTS);   /* D, cur > rtail */
	assert_int_equal(kring_txsync_prologue(k, 2, 1), NSLOTS);   /* D, cur < head */
	assert_int_equal(kring_txsync_prologue(k, 14, 13), NSLOTS); /* F, cur in rtail..head */
	assert_int_equal(kring_txsync_prologue(k, 14, 5), NSLOTS);  /* F, cur in rtail..head */
	assert_int_equal(kring_txsync_prologue(k, 14, 1), 14);	    /* F, cur wrapped */
	set_tx(k, 12, 3);
	assert_int_equal(kring_txsync_prologue(k, 14, 15), 14); /* F */
	set_tx(k, 12, 3);
	assert_int_equal(kring_txsync_prologue(k, 1, 2), 1); /* D */
	assert_int_equal(k->rhead, 1);
	assert_int_equal(k->rcur, 2);
}

static void test_tx_prologue_kernel_sanity(void **state)
{
	struct kring *k = &((struct fixture *)*state)->k;

	set_tx(k, 4, 10);
	k->hwtail = NSLOTS; /* corrupted trusted state is caught too */
	assert_int_equal(kring_txsync_prologue(k, 6, 6), NSLOTS);
	set_tx(k, 4, 10);
	assert_int_equal(kring_txsync_prologue(k, NSLOTS + 3, 6), NSLOTS);
	assert_int_equal(kring_txsync_prologue(k, 6, UINT32_MAX), NSLOTS);
}

/*
 * rxsync, hwtail >= hwcur:   0    A  hwcur   B  hwtail   C  n-1
 */
static void test_rx_prologue_straight(void **state)
{
	struct kring *k = &((struct fixture *)*state)->k;

	k->hwcur = 4;
	k->hwtail = 10;
	assert_int_equal(kring_rxsync_prologue(k, 2, 2), NSLOTS);   /* A */
	assert_int_equal(kring_rxsync_prologue(k, 12, 12), NSLOTS); /* C */
	assert_int_equal(kring_rxsync_prologue(k, 6, 5), NSLOTS);   /* B, cur < head */
	assert_int_equal(kring_rxsync_prologue(k, 6, 11), NSLOTS);  /* B, cur > hwtail */
	assert_int_equal(kring_rxsync_prologue(k, 6, 8), 6);	    /* B */
	assert_int_equal(k->rhead, 6);
	assert_int_equal(k->rcur, 8);
	assert_int_equal(kring_rxsync_prologue(k, 4, 4), 4);	/* head == hwcur */
	assert_int_equal(kring_rxsync_prologue(k, 10, 10), 10); /* all consumed */
}

/*
 * rxsync, hwtail < hwcur:   0    D  hwtail   E  hwcur   F  n-1
 */
static void test_rx_prologue_wrapped(void **state)
{
	struct kring *k = &((struct fixture *)*state)->k;

	k->hwcur = 12;
	k->hwtail = 3;
	assert_int_equal(kring_rxsync_prologue(k, 7, 7), NSLOTS);   /* E */
	assert_int_equal(kring_rxsync_prologue(k, 1, 5), NSLOTS);   /* D, cur > hwtail */
	assert_int_equal(kring_rxsync_prologue(k, 2, 1), NSLOTS);   /* D, cur < head */
	assert_int_equal(kring_rxsync_prologue(k, 14, 13), NSLOTS); /* F, cur in hwtail..head */
	assert_int_equal(kring_rxsync_prologue(k, 14, 1), 14);	    /* F, cur wrapped */
	assert_int_equal(kring_rxsync_prologue(k, 14, 15), 14);	    /* F */
	assert_int_equal(kring_rxsync_prologue(k, 1, 2), 1);	    /* D */
	k->hwcur = NSLOTS;
	assert_int_equal(kring_rxsync_prologue(k, 1, 2), NSLOTS); /* kernel sanity */
}

static void test_reinit_sanitises(void **state)
{
	struct fixture *f = *state;
	struct kring *k = &f->k;
	struct netmap_slot *s = f->ring->slot;

	set_tx(k, 5, 3);
	s[0].buf_idx = 0;
	s[1].buf_idx = 1;
	s[2].buf_idx = BUF_NUM; /* one past the end */
	s[3].buf_idx = UINT32_MAX;
	s[4].len = BUF_SIZE + 1;
	s[5].len = BUF_SIZE; /* exactly a buffer: fine */
	s[6].buf_idx = BUF_NUM - 1;
	s[6].len = 60;
	f->ring->head = 99;
	f->ring->cur = 7;
	f->ring->tail = 12345;

	assert_int_equal(kring_reinit(k), 5);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(s[i].buf_idx, 0);
		assert_int_equal(s[i].len, 0);
	}
	assert_int_equal(s[4].buf_idx, 2 + 4);
	assert_int_equal(s[4].len, 0);
	assert_int_equal(s[5].len, BUF_SIZE);
	assert_int_equal(s[6].buf_idx, BUF_NUM - 1);
	assert_int_equal(s[6].len, 60);
	/* Positions come back to what the switch trusts. */
	assert_int_equal(f->ring->head, 5);
	assert_int_equal(f->ring->cur, 5);
	assert_int_equal(f->ring->tail, 3);
	assert_int_equal(k->csb->atok.head, 5);
	assert_int_equal(k->csb->ktoa.hwtail, 3);
	assert_int_equal(k->csb->ktoa.reinits, 1);
	assert_int_equal(k->stats.reinits, 1);
	/* A valid sync works after it. */
	assert_int_equal(kring_txsync_prologue(k, 7, 7), 7);
}

/* The switch's txsync through the CSB, as a client drives it. */
static void test_txsync_through_csb(void **state)
{
	struct fixture *f = *state;
	struct kring *k = &f->k;
	struct netmap_ring *r = f->ring;

	/* The client queues 5 slots. */
	r->head = r->cur = 5;
	csb_appl_publish(r, k->csb);
	assert_int_equal(kring_txsync_begin(k), 5);
	kring_txsync_done(k, 5);
	assert_int_equal(k->hwcur, 5);
	assert_int_equal(k->hwtail, 4);
	csb_appl_update_tail(r, k->csb);
	assert_int_equal(r->tail, 4);
	assert_int_equal(nm_ring_space(r), NSLOTS - 1);

	/* Garbage head: reinit, nothing to send, counted. */
	r->head = 3; /* behind hwcur */
	csb_appl_publish(r, k->csb);
	assert_int_equal(kring_txsync_begin(k), 0);
	assert_int_equal(k->stats.reinits, 1);
	assert_int_equal(r->head, 5);
	assert_int_equal(k->csb->atok.head, 5);

	/* A bad slot seen while forwarding reinitialises at the end of the sync. */
	r->slot[5].buf_idx = 100000;
	r->head = r->cur = 6;
	csb_appl_publish(r, k->csb);
	assert_int_equal(kring_txsync_begin(k), 1);
	k->need_reinit = true;
	kring_txsync_done(k, 6);
	assert_int_equal(k->stats.reinits, 2);
	assert_int_equal(r->slot[5].buf_idx, 0);
	assert_false(k->need_reinit);
}

static void test_rxsync_and_leases(void **state)
{
	struct fixture *f = *state;
	struct kring *k = &f->k;
	struct netmap_ring *r = f->ring;
	uint32_t start1, start2, id1, id2;

	kring_lock(k);
	assert_int_equal(kring_rx_space(k), NSLOTS - 1);
	id1 = kring_lease(k, 3, &start1);
	id2 = kring_lease(k, 2, &start2);
	assert_int_equal(start1, 0);
	assert_int_equal(start2, 3);
	assert_int_equal(kring_rx_space(k), NSLOTS - 1 - 5);
	/* The second lease finishes first: nothing is published yet. */
	assert_false(kring_lease_complete(k, id2, 5));
	assert_int_equal(k->hwtail, 0);
	assert_int_equal(k->csb->ktoa.hwtail, 0);
	/* The first one completes: both are published, in order. */
	assert_true(kring_lease_complete(k, id1, 3));
	assert_int_equal(k->hwtail, 5);
	assert_int_equal(k->csb->ktoa.hwtail, 5);
	kring_unlock(k);

	csb_appl_update_tail(r, k->csb);
	assert_int_equal(nm_ring_space(r), 5);
	/* The client consumes 4 slots and returns them. */
	r->head = r->cur = 4;
	csb_appl_publish(r, k->csb);
	kring_lock(k);
	assert_int_equal(kring_rxsync(k), 0);
	assert_int_equal(k->hwcur, 4);
	assert_int_equal(kring_rx_space(k), NSLOTS - 1 - 1);
	/* A head beyond hwtail is refused and reinitialised. */
	r->head = r->cur = 9;
	csb_appl_publish(r, k->csb);
	assert_int_equal(kring_rxsync(k), -EINVAL);
	assert_int_equal(k->hwcur, 4);
	assert_int_equal(r->head, 4);
	assert_int_equal(r->tail, 5);
	kring_unlock(k);
}

/* Leases wrap around the end of the ring and fill it to the last free slot. */
static void test_lease_wrap(void **state)
{
	struct kring *k = &((struct fixture *)*state)->k;
	uint32_t start, id;

	kring_lock(k);
	k->hwcur = k->hwtail = k->hwlease = 12;
	id = kring_lease(k, NSLOTS - 1, &start);
	assert_int_equal(start, 12);
	assert_int_equal(k->hwlease, 11);
	assert_int_equal(kring_rx_space(k), 0);
	assert_true(kring_lease_complete(k, id, 11));
	assert_int_equal(k->hwtail, 11);
	kring_unlock(k);
}

/* The release hook sees the returned slots before hwcur passes them, and
 * only on a valid rxsync that returned something. */
struct release_log {
	uint32_t calls, from, to, hwcur_then;
};

static void log_release(void *arg, struct kring *k, uint32_t from, uint32_t to)
{
	struct release_log *l = arg;

	l->calls++;
	l->from = from;
	l->to = to;
	l->hwcur_then = k->hwcur;
}

static void test_rxsync_release_hook(void **state)
{
	struct fixture *f = *state;
	struct kring *k = &f->k;
	struct netmap_ring *r = f->ring;
	struct release_log log = {0};
	uint32_t start, id;

	kring_lock(k);
	k->on_release = log_release;
	k->release_arg = &log;
	k->hwcur = k->hwtail = k->hwlease = 14; /* the returned run wraps */
	id = kring_lease(k, 5, &start);
	assert_true(kring_lease_complete(k, id, 3));
	kring_unlock(k);
	csb_appl_update_tail(r, k->csb);
	r->head = r->cur = 14;
	csb_appl_publish(r, k->csb);
	kring_lock(k);
	assert_int_equal(kring_rxsync(k), 0); /* nothing returned: no call */
	assert_int_equal(log.calls, 0);
	r->head = r->cur = 1;
	csb_appl_publish(r, k->csb);
	assert_int_equal(kring_rxsync(k), 0);
	assert_int_equal(log.calls, 1);
	assert_int_equal(log.from, 14);
	assert_int_equal(log.to, 1);
	assert_int_equal(log.hwcur_then, 14);
	assert_int_equal(k->hwcur, 1);
	r->head = r->cur = 5; /* beyond hwtail: reinit, no call */
	csb_appl_publish(r, k->csb);
	assert_int_equal(kring_rxsync(k), -EINVAL);
	assert_int_equal(log.calls, 1);
	kring_unlock(k);
}

/* Hooks go on a run of krings all or none; unhooking takes only the owner's. */
static void test_hook_release_rules(void **state)
{
	struct fixture *f = *state;
	struct kring *k = &f->k;
	int a, b;

	assert_int_equal(kring_hook_release(k, 1, log_release, &a), 0);
	assert_ptr_equal(k->release_arg, &a);
	assert_int_equal(kring_hook_release(k, 1, log_release, &b), -EBUSY);
	assert_ptr_equal(k->release_arg, &a);
	kring_unhook_release(k, 1, &b); /* not b's: stays */
	assert_ptr_equal(k->on_release, log_release);
	kring_unhook_release(k, 1, &a);
	assert_null(k->on_release);
	assert_null(k->release_arg);
}

/* A lease completed short of its end: the newest gives its unused slots
 * back; an older one publishes them as empty slots, so the leases after it
 * (which start at its end) still publish in order and nothing unwritten is
 * shown to the client. */
static void test_lease_short(void **state)
{
	struct fixture *f = *state;
	struct kring *k = &f->k;
	struct netmap_ring *r = f->ring;
	uint32_t start1, start2, id1, id2;

	for (uint32_t i = 0; i < NSLOTS; i++) {
		r->slot[i].len = 0xbeef;
		r->slot[i].flags = 0xcafe;
	}
	kring_lock(k);
	/* Newest and only: 5 leased, 3 used; the other 2 go back. */
	id1 = kring_lease(k, 5, &start1);
	assert_true(kring_lease_complete(k, id1, 3));
	assert_int_equal(k->hwtail, 3);
	assert_int_equal(k->hwlease, 3);
	assert_int_equal(kring_rx_space(k), NSLOTS - 1 - 3);
	assert_int_equal(r->slot[3].len, 0xbeef); /* not touched */
	/* Older: [3, 7) and [7, 9); the first uses 1 slot of its 4. */
	id1 = kring_lease(k, 4, &start1);
	id2 = kring_lease(k, 2, &start2);
	assert_int_equal(start2, 7);
	assert_false(kring_lease_complete(k, id2, 9));
	assert_true(kring_lease_complete(k, id1, 4));
	assert_int_equal(k->hwtail, 9);
	assert_int_equal(k->hwlease, 9);
	for (uint32_t i = 4; i < 7; i++) {
		assert_int_equal(r->slot[i].len, 0);
		assert_int_equal(r->slot[i].flags, 0);
	}
	assert_int_equal(r->slot[3].len, 0xbeef); /* the one it used */
	assert_int_equal(r->slot[7].len, 0xbeef); /* the next lease's */
	assert_int_equal(r->slot[9].len, 0xbeef); /* beyond every lease */
	kring_unlock(k);
}

/* A slot's len is 16 bits: with 65536-byte buffers the switch fills at most
 * 65535 bytes of each; smaller buffers are filled whole. */
static void test_slot_max(void **state)
{
	struct fixture *f = *state;
	struct kring k;

	assert_int_equal(f->k.slot_max, BUF_SIZE);
	assert_int_equal(kring_init(&k, f->ring, NR_RX, 0, NSLOTS, f->bufs, 65536, BUF_NUM), 0);
	assert_int_equal(k.slot_max, KRING_SLOT_LEN_MAX);
	assert_int_equal(k.buf_size, 65536);
	kring_fini(&k);
	assert_int_equal(kring_init(&k, f->ring, NR_RX, 0, NSLOTS, f->bufs, 65535, BUF_NUM), 0);
	assert_int_equal(k.slot_max, 65535);
	kring_fini(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_init_positions, setup_tx, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_init, setup_tx, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_prologue_straight, setup_tx, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_prologue_wrapped, setup_tx, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_prologue_kernel_sanity, setup_tx, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_prologue_straight, setup_rx, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_prologue_wrapped, setup_rx, teardown),
	    cmocka_unit_test_setup_teardown(test_reinit_sanitises, setup_tx, teardown),
	    cmocka_unit_test_setup_teardown(test_txsync_through_csb, setup_tx, teardown),
	    cmocka_unit_test_setup_teardown(test_rxsync_and_leases, setup_rx, teardown),
	    cmocka_unit_test_setup_teardown(test_lease_wrap, setup_rx, teardown),
	    cmocka_unit_test_setup_teardown(test_lease_short, setup_rx, teardown),
	    cmocka_unit_test_setup_teardown(test_slot_max, setup_rx, teardown),
	    cmocka_unit_test_setup_teardown(test_rxsync_release_hook, setup_rx, teardown),
	    cmocka_unit_test_setup_teardown(test_hook_release_rules, setup_rx, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
