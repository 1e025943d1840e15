/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the learning table (switch/fdb.c). */

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fdb.h"

/* A locally administered unicast MAC numbered n: 02:00:nn:nn:nn:nn. */
static void mac_of(uint32_t n, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x00;
	mac[2] = (uint8_t)(n >> 24);
	mac[3] = (uint8_t)(n >> 16);
	mac[4] = (uint8_t)(n >> 8);
	mac[5] = (uint8_t)n;
}

static struct fdb_stats stats(const struct fdb *t)
{
	struct fdb_stats s;

	fdb_get_stats(t, &s);
	return s;
}

static void test_create_params(void **state)
{
	struct fdb *t;

	(void)state;
	errno = 0;
	assert_null(fdb_create(0, 300));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(fdb_create(16, 0));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(fdb_create(1048577, 300));
	assert_int_equal(errno, EINVAL);

	/* Rounded up to whole buckets. */
	t = fdb_create(1, 7);
	assert_non_null(t);
	assert_int_equal(fdb_max_entries(t), FDB_WAYS);
	assert_int_equal(fdb_age(t), 7);
	assert_int_equal(fdb_set_age(t, 0), -EINVAL);
	assert_int_equal(fdb_age(t), 7);
	assert_int_equal(fdb_set_age(t, 60), 0);
	assert_int_equal(fdb_age(t), 60);
	fdb_destroy(t);

	t = fdb_create(1048576, FDB_AGE_DEFAULT);
	assert_non_null(t);
	assert_int_equal(fdb_max_entries(t), 1048576);
	fdb_destroy(t);

	fdb_destroy(NULL);
}

static void test_learn_lookup(void **state)
{
	struct fdb *t = fdb_create(FDB_MAX_ENTRIES_DEFAULT, FDB_AGE_DEFAULT);
	uint8_t a[6], b[6], zero[6] = {0};

	(void)state;
	assert_non_null(t);
	mac_of(1, a);
	mac_of(2, b);
	assert_int_equal(fdb_lookup(t, a), FDB_PORT_NONE);
	assert_int_equal(fdb_learn(t, a, 3, 100), 0);
	assert_int_equal(fdb_lookup(t, a), 3);
	assert_int_equal(fdb_lookup(t, b), FDB_PORT_NONE);

	/* A refresh is not a new entry. */
	assert_int_equal(fdb_learn(t, a, 3, 101), 0);
	assert_int_equal(stats(t).learned, 1);
	assert_int_equal(stats(t).entries, 1);

	/* Port 255 means "no port". */
	assert_int_equal(fdb_learn(t, b, FDB_PORT_NONE, 100), -EINVAL);
	assert_int_equal(fdb_lookup(t, b), FDB_PORT_NONE);

	/* The all-zero MAC on port 0 is an entry, not an empty way. */
	assert_int_equal(fdb_lookup(t, zero), FDB_PORT_NONE);
	assert_int_equal(fdb_learn(t, zero, 0, 100), 0);
	assert_int_equal(fdb_lookup(t, zero), 0);
	assert_int_equal(stats(t).entries, 2);
	fdb_destroy(t);
}

static void test_group_never_learned(void **state)
{
	struct fdb *t = fdb_create(64, 300);
	const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
	const uint8_t mcast6[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};

	(void)state;
	assert_non_null(t);
	assert_int_equal(fdb_learn(t, bcast, 1, 0), -EINVAL);
	assert_int_equal(fdb_learn(t, mcast, 1, 0), -EINVAL);
	assert_int_equal(fdb_learn(t, mcast6, 1, 0), -EINVAL);
	assert_int_equal(fdb_add_static(t, bcast, 1), -EINVAL);
	assert_int_equal(fdb_lookup(t, bcast), FDB_PORT_NONE);
	assert_int_equal(fdb_lookup(t, mcast), FDB_PORT_NONE);
	assert_int_equal(stats(t).entries, 0);
	assert_int_equal(stats(t).learned, 0);
	fdb_destroy(t);
}

static void test_move(void **state)
{
	struct fdb *t = fdb_create(64, 300);
	uint8_t a[6];

	(void)state;
	assert_non_null(t);
	mac_of(7, a);
	assert_int_equal(fdb_learn(t, a, 1, 10), 0);
	assert_int_equal(fdb_learn(t, a, 2, 11), 0);
	assert_int_equal(fdb_lookup(t, a), 2);
	assert_int_equal(stats(t).moved, 1);
	assert_int_equal(stats(t).learned, 1);
	assert_int_equal(stats(t).entries, 1);
	assert_int_equal(fdb_learn(t, a, 2, 12), 0);
	assert_int_equal(stats(t).moved, 1);
	fdb_destroy(t);
}

static void test_aging(void **state)
{
	const uint32_t age = 10;
	struct fdb *t = fdb_create(64, age);
	uint8_t a[6], b[6];

	(void)state;
	assert_non_null(t);
	mac_of(1, a);
	mac_of(2, b);
	assert_int_equal(fdb_learn(t, a, 1, 0), 0);
	assert_int_equal(fdb_expire(t, age - 1), 0);
	assert_int_equal(fdb_lookup(t, a), 1);
	/* Removed only when strictly older than the aging time. */
	assert_int_equal(fdb_expire(t, age), 0);
	assert_int_equal(fdb_lookup(t, a), 1);
	assert_int_equal(fdb_expire(t, age + 1), 1);
	assert_int_equal(fdb_lookup(t, a), FDB_PORT_NONE);
	assert_int_equal(stats(t).expired, 1);
	assert_int_equal(stats(t).entries, 0);

	/* A refresh resets the clock; a move too. */
	assert_int_equal(fdb_learn(t, a, 1, 100), 0);
	assert_int_equal(fdb_learn(t, b, 1, 100), 0);
	assert_int_equal(fdb_learn(t, a, 1, 108), 0);
	assert_int_equal(fdb_learn(t, b, 2, 108), 0);
	assert_int_equal(fdb_expire(t, 111), 0);
	assert_int_equal(fdb_lookup(t, a), 1);
	assert_int_equal(fdb_lookup(t, b), 2);
	assert_int_equal(fdb_expire(t, 119), 2);
	assert_int_equal(stats(t).expired, 3);

	/* A refresh with an older clock (another thread) does not go back. */
	assert_int_equal(fdb_learn(t, a, 1, 200), 0);
	assert_int_equal(fdb_learn(t, a, 1, 195), 0);
	assert_int_equal(fdb_expire(t, 209), 0);
	assert_int_equal(fdb_lookup(t, a), 1);

	/* A new aging time applies to the next expire. */
	assert_int_equal(fdb_set_age(t, 3), 0);
	assert_int_equal(fdb_expire(t, 204), 1);
	assert_int_equal(fdb_lookup(t, a), FDB_PORT_NONE);

	/* The clock may wrap. */
	assert_int_equal(fdb_learn(t, a, 1, UINT32_MAX - 1), 0);
	assert_int_equal(fdb_expire(t, 1), 0);
	assert_int_equal(fdb_expire(t, 2), 1);
	fdb_destroy(t);
}

static void test_static(void **state)
{
	struct fdb *t = fdb_create(64, 10);
	uint8_t s[6], d[6];

	(void)state;
	assert_non_null(t);
	mac_of(1, s);
	mac_of(2, d);
	assert_int_equal(fdb_add_static(t, s, 3), 0);
	assert_int_equal(fdb_lookup(t, s), 3);
	assert_int_equal(fdb_add_static(t, s, FDB_PORT_NONE), -EINVAL);

	/* Never moves. */
	assert_int_equal(fdb_learn(t, s, 4, 0), -EPERM);
	assert_int_equal(fdb_lookup(t, s), 3);
	assert_int_equal(stats(t).moved, 0);
	assert_int_equal(fdb_learn(t, s, 3, 0), 0);

	/* Never ages, survives flushes. */
	assert_int_equal(fdb_expire(t, 1000000), 0);
	assert_int_equal(fdb_flush(t), 0);
	assert_int_equal(fdb_flush_port(t, 3), 0);
	assert_int_equal(fdb_lookup(t, s), 3);

	/* Replacing: a static on another port, a dynamic made static. */
	assert_int_equal(fdb_add_static(t, s, 5), 0);
	assert_int_equal(fdb_lookup(t, s), 5);
	assert_int_equal(fdb_learn(t, d, 1, 0), 0);
	assert_int_equal(fdb_add_static(t, d, 6), 0);
	assert_int_equal(fdb_lookup(t, d), 6);
	assert_int_equal(stats(t).entries, 2);
	assert_int_equal(fdb_expire(t, 1000000), 0);

	/* fdb_del removes static and dynamic entries alike. */
	assert_int_equal(fdb_del(t, s), 0);
	assert_int_equal(fdb_lookup(t, s), FDB_PORT_NONE);
	assert_int_equal(fdb_del(t, s), -ENOENT);
	assert_int_equal(fdb_del(t, d), 0);
	assert_int_equal(stats(t).entries, 0);
	assert_int_equal(fdb_learn(t, d, 1, 0), 0);
	assert_int_equal(fdb_del(t, d), 0);
	assert_int_equal(fdb_lookup(t, d), FDB_PORT_NONE);
	fdb_destroy(t);
}

static void test_flush(void **state)
{
	struct fdb *t = fdb_create(256, 300);
	uint8_t mac[6];

	(void)state;
	assert_non_null(t);
	/* 1..10 on port 1, 11..20 on port 2, 21..22 static on port 1. */
	for (uint32_t n = 1; n <= 20; n++) {
		mac_of(n, mac);
		assert_int_equal(fdb_learn(t, mac, n <= 10 ? 1 : 2, 5), 0);
	}
	for (uint32_t n = 21; n <= 22; n++) {
		mac_of(n, mac);
		assert_int_equal(fdb_add_static(t, mac, 1), 0);
	}
	assert_int_equal(stats(t).entries, 22);

	assert_int_equal(fdb_flush_port(t, 1), 10);
	assert_int_equal(fdb_flush_port(t, 1), 0);
	assert_int_equal(fdb_flush_port(t, 9), 0);
	for (uint32_t n = 1; n <= 22; n++) {
		mac_of(n, mac);
		assert_int_equal(fdb_lookup(t, mac), n <= 10 ? FDB_PORT_NONE : n <= 20 ? 2 : 1);
	}
	assert_int_equal(stats(t).entries, 12);

	assert_int_equal(fdb_flush(t), 10);
	for (uint32_t n = 1; n <= 22; n++) {
		mac_of(n, mac);
		assert_int_equal(fdb_lookup(t, mac), n <= 20 ? FDB_PORT_NONE : 1);
	}
	assert_int_equal(stats(t).entries, 2);
	assert_int_equal(stats(t).expired, 0);
	fdb_destroy(t);
}

static void test_full(void **state)
{
	struct fdb *t = fdb_create(64, 10);
	const uint32_t tries = 200;
	uint32_t ok = 0, nospc = 0, max;
	uint8_t mac[6];
	bool resolved[200] = {false};
	bool was_full = false;
	struct fdb_stats st;

	(void)state;
	assert_non_null(t);
	max = fdb_max_entries(t);
	assert_int_equal(max, 64);
	for (uint32_t n = 0; n < tries; n++) {
		int rc;

		mac_of(n + 1, mac);
		rc = fdb_learn(t, mac, (uint8_t)(n % 8), 1);
		if (rc == -ENOSPC) {
			/* No statics here: only the limit refuses. */
			assert_int_equal(stats(t).entries, max);
			if (!was_full) {
				/* What is known when the table fills ... */
				for (uint32_t k = 0; k < n; k++) {
					mac_of(k + 1, mac);
					resolved[k] = fdb_lookup(t, mac) != FDB_PORT_NONE;
				}
				was_full = true;
			}
			nospc++;
		} else {
			assert_int_equal(rc, 0);
			ok++;
		}
	}
	assert_true(was_full);
	st = stats(t);
	assert_int_equal(st.entries, max);
	assert_int_equal(st.full, nospc);
	assert_int_equal(st.learned, ok);
	assert_int_equal(st.learned - st.evicted, max);
	/* ... still resolves, with its port: a full table evicts nothing. */
	for (uint32_t k = 0; k < tries; k++) {
		mac_of(k + 1, mac);
		if (resolved[k])
			assert_int_equal(fdb_lookup(t, mac), k % 8);
		else
			assert_int_equal(fdb_lookup(t, mac), FDB_PORT_NONE);
	}

	/* A known MAC still moves when the table is full. */
	for (uint32_t k = 0; k < tries; k++) {
		if (!resolved[k])
			continue;
		mac_of(k + 1, mac);
		assert_int_equal(fdb_learn(t, mac, 100, 2), 0);
		assert_int_equal(fdb_lookup(t, mac), 100);
		break;
	}
	assert_int_equal(stats(t).moved, 1);

	/* Aging makes room again. */
	assert_int_equal(fdb_expire(t, 100), max);
	mac_of(tries + 1, mac);
	assert_int_equal(fdb_learn(t, mac, 1, 100), 0);
	assert_int_equal(fdb_lookup(t, mac), 1);
	fdb_destroy(t);
}

/* A cheap PRNG for scattered MACs and random picks (state != 0). */
static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Find in ret_i the first of macs[0..n) that resolved before and does not now. */
static bool vanished(const struct fdb *t, uint8_t (*macs)[6], int n, const bool *before, int *ret_i)
{
	for (int i = 0; i < n; i++) {
		if (before[i] && fdb_lookup(t, macs[i]) == FDB_PORT_NONE) {
			*ret_i = i;
			return true;
		}
	}
	return false;
}

/*
 * The hash is private to fdb.c, so colliding MACs are found by behaviour:
 * learn scattered MACs into an 8-entry table (4 buckets) until one learn
 * evicts; its victim and the three still in the bucket are found by learning
 * each victim again. On success t holds no dynamic entry and out[0..4] share
 * a bucket of t. (Sequential MACs would not do: the hash spreads them evenly.)
 */
static struct fdb *find_colliders(uint8_t out[5][6])
{
	uint32_t seed = 0x2545f491;

	for (uint32_t attempt = 0; attempt < 100000; attempt++) {
		struct fdb *t = fdb_create(8, 1000);
		uint8_t macs[8][6];
		bool before[8];
		uint32_t n;
		int x = -1;

		assert_non_null(t);
		for (int i = 0; i < 8 && x < 0; i++) {
			uint64_t ev = stats(t).evicted;

			mac_of(xorshift(&seed), macs[i]);
			for (int k = 0; k < i; k++)
				before[k] = fdb_lookup(t, macs[k]) != FDB_PORT_NONE;
			assert_int_equal(fdb_learn(t, macs[i], 1, (uint32_t)i + 1), 0);
			if (stats(t).evicted != ev)
				x = i;
		}
		if (x < 0) {
			fdb_destroy(t);
			continue;
		}
		/* Bucket: macs[x] and three others; victim v is out. */
		memcpy(out[0], macs[x], 6);
		for (int k = 1; k < 5; k++) {
			int v = 0;

			assert_true(vanished(t, macs, x, before, &v));
			memcpy(out[k], macs[v], 6);
			if (k == 4)
				break;
			for (int j = 0; j < x; j++)
				before[j] = fdb_lookup(t, macs[j]) != FDB_PORT_NONE;
			/* Back in, at a newer time: the oldest other one goes. */
			assert_int_equal(fdb_learn(t, macs[v], 1, 100 + (uint32_t)k), 0);
		}
		n = stats(t).entries;
		assert_int_equal(fdb_flush(t), n);
		assert_int_equal(stats(t).entries, 0);
		return t;
	}
	fail_msg("no colliding MACs found");
	return NULL;
}

static void test_eviction(void **state)
{
	uint8_t c[5][6];
	struct fdb *t = find_colliders(c);
	struct fdb_stats st0;

	(void)state;
	/* Least recently seen dynamic entry goes; c[0] is refreshed. */
	st0 = stats(t);
	for (int i = 0; i < 4; i++)
		assert_int_equal(fdb_learn(t, c[i], (uint8_t)i, 10 + (uint32_t)i), 0);
	assert_int_equal(fdb_learn(t, c[0], 0, 14), 0);
	assert_int_equal(stats(t).evicted, st0.evicted);
	assert_int_equal(fdb_learn(t, c[4], 4, 15), 0);
	assert_int_equal(stats(t).evicted, st0.evicted + 1);
	assert_int_equal(stats(t).learned, st0.learned + 5);
	assert_int_equal(stats(t).entries, 4);
	assert_int_equal(fdb_lookup(t, c[1]), FDB_PORT_NONE);
	assert_int_equal(fdb_lookup(t, c[0]), 0);
	assert_int_equal(fdb_lookup(t, c[2]), 2);
	assert_int_equal(fdb_lookup(t, c[3]), 3);
	assert_int_equal(fdb_lookup(t, c[4]), 4);

	/* A static entry pushes out a dynamic one of a full bucket. */
	assert_int_equal(fdb_add_static(t, c[1], 11), 0);
	assert_int_equal(stats(t).evicted, st0.evicted + 2);
	assert_int_equal(fdb_lookup(t, c[1]), 11);
	assert_int_equal(fdb_lookup(t, c[2]), FDB_PORT_NONE); /* oldest */
	assert_int_equal(stats(t).entries, 4);

	/* A bucket of statics only: nothing is learned or added. */
	assert_int_equal(fdb_add_static(t, c[0], 10), 0);
	assert_int_equal(fdb_add_static(t, c[3], 13), 0);
	assert_int_equal(fdb_add_static(t, c[4], 14), 0);
	st0 = stats(t);
	assert_int_equal(fdb_learn(t, c[2], 2, 20), -ENOSPC);
	assert_int_equal(stats(t).full, st0.full + 1);
	assert_int_equal(stats(t).evicted, st0.evicted);
	assert_int_equal(fdb_add_static(t, c[2], 12), -ENOSPC);
	assert_int_equal(fdb_lookup(t, c[2]), FDB_PORT_NONE);
	for (int i = 0; i < 5; i++)
		if (i != 2)
			assert_int_equal(fdb_lookup(t, c[i]), 10 + i);
	assert_int_equal(fdb_del(t, c[4]), 0);
	assert_int_equal(fdb_learn(t, c[2], 2, 21), 0);
	assert_int_equal(fdb_lookup(t, c[2]), 2);
	fdb_destroy(t);
}

static const struct fdb_entry *find_entry(const struct fdb_entry *e, size_t n, const uint8_t mac[6])
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(e[i].mac, mac, 6))
			return &e[i];
	return NULL;
}

static void test_dump(void **state)
{
	struct fdb *t = fdb_create(64, 300);
	struct fdb_entry e[16];
	const struct fdb_entry *p;
	uint8_t a[6], b[6], c[6], d[6];

	(void)state;
	assert_non_null(t);
	mac_of(1, a);
	mac_of(2, b);
	mac_of(3, c);
	mac_of(4, d);
	assert_int_equal(fdb_dump(t, e, 16, 0), 0);
	assert_int_equal(fdb_learn(t, a, 1, 10), 0);
	assert_int_equal(fdb_learn(t, b, 2, 15), 0);
	assert_int_equal(fdb_add_static(t, c, 3), 0);
	assert_int_equal(fdb_learn(t, d, 4, 12), 0);
	assert_int_equal(fdb_del(t, d), 0);

	assert_int_equal(fdb_dump(t, e, 16, 20), 3);
	p = find_entry(e, 3, a);
	assert_non_null(p);
	assert_int_equal(p->port, 1);
	assert_false(p->is_static);
	assert_int_equal(p->age_s, 10);
	p = find_entry(e, 3, b);
	assert_non_null(p);
	assert_int_equal(p->port, 2);
	assert_false(p->is_static);
	assert_int_equal(p->age_s, 5);
	p = find_entry(e, 3, c);
	assert_non_null(p);
	assert_int_equal(p->port, 3);
	assert_true(p->is_static);
	assert_int_equal(p->age_s, 0);
	assert_null(find_entry(e, 3, d));

	/* Truncated to max; a clock behind the last-seen time reads 0. */
	assert_int_equal(fdb_dump(t, e, 2, 20), 2);
	assert_int_equal(fdb_dump(t, e, 0, 20), 0);
	assert_int_equal(fdb_dump(t, e, 16, 5), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(e[i].age_s, 0);
	fdb_destroy(t);
}

/*
 * Concurrency: two forwarding threads learn and look up overlapping MACs
 * (each on its own ports, so MACs keep moving) while the control thread
 * ages, flushes, dumps and adds/removes a static entry. Static entries must
 * resolve to their port at every moment.
 */
#define CT_ITERS 200000
#define CT_DYN 96
#define CT_STATIC 16
#define CT_STATIC_PORT 200

struct ct {
	struct fdb *t;
	uint32_t now;	 /* the shared clock, relaxed atomic */
	uint32_t done;	 /* threads finished, relaxed atomic */
	uint32_t errors; /* invariant violations seen by threads */
};

struct ct_thread {
	struct ct *ct;
	uint8_t port;
	uint32_t seed;
};

static void *ct_worker(void *arg)
{
	struct ct_thread *th = arg;
	struct ct *ct = th->ct;
	uint8_t mac[6];

	for (uint32_t it = 0; it < CT_ITERS; it++) {
		uint32_t n = xorshift(&th->seed) % (CT_DYN + CT_STATIC);
		uint32_t now = __atomic_load_n(&ct->now, __ATOMIC_RELAXED);
		uint8_t port = (uint8_t)(th->port + (it & 1));
		uint8_t got;
		int rc;

		mac_of(n, mac);
		rc = fdb_learn(ct->t, mac, port, now);
		if (n >= CT_DYN) {
			got = fdb_lookup(ct->t, mac);
			if (rc != -EPERM || got != CT_STATIC_PORT + n - CT_DYN)
				__atomic_fetch_add(&ct->errors, 1, __ATOMIC_RELAXED);
		} else if (rc != 0 && rc != -ENOSPC) {
			__atomic_fetch_add(&ct->errors, 1, __ATOMIC_RELAXED);
		}
		mac_of(xorshift(&th->seed) % (CT_DYN + CT_STATIC), mac);
		got = fdb_lookup(ct->t, mac);
		if (got != FDB_PORT_NONE && got > 3 && got < CT_STATIC_PORT)
			__atomic_fetch_add(&ct->errors, 1, __ATOMIC_RELAXED);
	}
	__atomic_fetch_add(&ct->done, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void test_concurrency(void **state)
{
	struct ct ct = {0};
	struct ct_thread th[2] = {{&ct, 0, 0x1234567}, {&ct, 2, 0x89abcde}};
	pthread_t tid[2];
	struct fdb_entry e[64];
	uint8_t mac[6], extra[6];
	uint32_t round = 0;
	size_t n, nstatic;

	(void)state;
	ct.t = fdb_create(48, 3);
	assert_non_null(ct.t);
	for (uint32_t i = 0; i < CT_STATIC; i++) {
		mac_of(CT_DYN + i, mac);
		assert_int_equal(fdb_add_static(ct.t, mac, (uint8_t)(CT_STATIC_PORT + i)), 0);
	}
	mac_of(1000, extra);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&tid[i], NULL, ct_worker, &th[i]), 0);

	while (__atomic_load_n(&ct.done, __ATOMIC_RELAXED) < 2) {
		uint32_t now = __atomic_add_fetch(&ct.now, 1, __ATOMIC_RELAXED);

		fdb_expire(ct.t, now);
		switch (round++ % 4) {
		case 0:
			fdb_flush_port(ct.t, (uint8_t)(round % 4));
			break;
		case 1:
			fdb_flush(ct.t);
			break;
		case 2:
			fdb_add_static(ct.t, extra, 250);
			break;
		case 3:
			fdb_del(ct.t, extra);
			break;
		}
		n = fdb_dump(ct.t, e, 64, now);
		nstatic = 0;
		for (size_t i = 0; i < n; i++)
			nstatic += e[i].is_static;
		/* The 16 statics never leave their way; "extra" may be there. */
		assert_true(nstatic == CT_STATIC || nstatic == CT_STATIC + 1);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(tid[i], NULL), 0);

	assert_int_equal(ct.errors, 0);
	for (uint32_t i = 0; i < CT_STATIC; i++) {
		mac_of(CT_DYN + i, mac);
		assert_int_equal(fdb_lookup(ct.t, mac), CT_STATIC_PORT + i);
	}
	/* The count kept under the lock matches what is in the table. */
	n = fdb_dump(ct.t, e, 64, ct.now);
	assert_int_equal(stats(ct.t).entries, n);
	assert_true(stats(ct.t).learned > 0);
	fdb_destroy(ct.t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_params),
	    cmocka_unit_test(test_learn_lookup),
	    cmocka_unit_test(test_group_never_learned),
	    cmocka_unit_test(test_move),
	    cmocka_unit_test(test_aging),
	    cmocka_unit_test(test_static),
	    cmocka_unit_test(test_flush),
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_eviction),
	    cmocka_unit_test(test_dump),
	    cmocka_unit_test(test_concurrency),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
