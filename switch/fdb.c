/* SPDX-License-Identifier: BSD-2-Clause */
/* fdb - the learning table: a set-associative MAC -> port hash with lock-free lookup. */

#include "fdb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

/*
 * Entry word, 64 bits: bits 0..47 the MAC (byte 0 in bits 0..7, as loaded by
 * mac_key() below), bits 48..55 the port, bits 56..63 the flags. An empty way
 * is 0: the VALID flag keeps 00:00:00:00:00:00 on port 0 distinct from empty.
 */
#define MAC_MASK ((UINT64_C(1) << 48) - 1)
#define PORT_SHIFT 48
#define FLAG_SHIFT 56
#define F_VALID (UINT64_C(1) << FLAG_SHIFT)
#define F_STATIC (UINT64_C(2) << FLAG_SHIFT)
#define GROUP_BIT UINT64_C(1) /* bit 0 of byte 0 */

#define FDB_ENTRIES_LIMIT 1048576u
#define HASH_MUL UINT64_C(0x9e3779b97f4a7c15) /* 2^64 / golden ratio, odd */

/* One bucket is half a cache line, so a lookup touches exactly one line. */
struct bucket {
	uint64_t way[FDB_WAYS];
} __attribute__((aligned(32)));

_Static_assert(sizeof(struct bucket) == 32, "a bucket is 32 bytes");

struct fdb {
	/* Read-mostly: everything fdb_lookup() needs sits in this line. */
	struct bucket *buckets;
	uint32_t *seen; /* last-seen seconds, parallel to the ways */
	uint32_t shift; /* 64 - log2(nbuckets) */
	uint32_t nbuckets;
	uint32_t max_entries;
	uint32_t age_s; /* relaxed atomic: set by control, read by expire */
	uint32_t gen;   /* bumped (under lock) by every put and clear: fdb_generation() */

	/*
	 * Written by inserts, moves and removals. Kept off the read-mostly line
	 * so taking the lock does not invalidate the line every lookup reads.
	 */
	uint32_t lock __attribute__((aligned(64)));
	uint32_t entries; /* written under lock, read relaxed without it */
	uint64_t learned, moved, evicted, expired, full; /* relaxed atomics */
};

/*
 * Test-and-test-and-set spinlock. Hold times are a handful of loads and stores
 * on one bucket, so spinning beats sleeping; waiters spin on a plain load to
 * keep the line shared until the holder releases it.
 */
static void lock(struct fdb *t)
{
	for (;;) {
		/* Acquire: pairs with the release in unlock(), so the previous
		 * holder's entry and seen writes are visible to us. */
		if (!__atomic_exchange_n(&t->lock, 1, __ATOMIC_ACQUIRE))
			return;
		while (__atomic_load_n(&t->lock, __ATOMIC_RELAXED))
			cpu_relax();
	}
}

static void unlock(struct fdb *t)
{
	/* Release: pairs with the acquire exchange in lock(). */
	__atomic_store_n(&t->lock, 0, __ATOMIC_RELEASE);
}

static inline void count(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* The six MAC bytes as an integer, byte 0 lowest, in two loads. */
static inline uint64_t mac_key(const uint8_t mac[6])
{
	uint32_t lo;
	uint16_t hi;

	memcpy(&lo, mac, sizeof(lo));
	memcpy(&hi, mac + 4, sizeof(hi));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	lo = __builtin_bswap32(lo);
	hi = __builtin_bswap16(hi);
#endif
	return lo | (uint64_t)hi << 32;
}

static void key_mac(uint64_t key, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(key >> (8 * i));
}

/*
 * Fibonacci hashing: the top bits of the MAC, read as a 48-bit big-endian
 * number, times 2^64 / golden ratio. Read that way, the addresses that
 * hypervisors and vendors hand out in sequence (52:54:00:..:..:01, :02, ...)
 * are consecutive integers, which this multiplier spreads as evenly as any
 * can (the three-gap theorem); the little-endian key would put the varying
 * byte in bits 40..47, where it meets only 24 bits of the multiplier. The
 * multiplier is public, so chosen MACs can share a bucket and evict each
 * other: no worse than what a learning bridge already allows, since a port
 * can just as well send frames from its victim's MAC.
 */
static inline uint32_t bucket_of(const struct fdb *t, uint64_t key)
{
	return (uint32_t)(((__builtin_bswap64(key) >> 16) * HASH_MUL) >> t->shift);
}

static inline bool matches(uint64_t w, uint64_t key)
{
	return (w & (MAC_MASK | F_VALID)) == (key | F_VALID);
}

static inline uint8_t port_of(uint64_t w)
{
	return (uint8_t)(w >> PORT_SHIFT);
}

static inline uint64_t make(uint64_t key, uint8_t port, uint64_t flags)
{
	return key | (uint64_t)port << PORT_SHIFT | F_VALID | flags;
}

/* Seconds from a to b, negative when b is earlier (clocks of two threads). */
static inline int32_t elapsed(uint32_t a, uint32_t b)
{
	return (int32_t)(b - a);
}

static inline uint32_t load_seen(const struct fdb *t, uint32_t i)
{
	return __atomic_load_n(&t->seen[i], __ATOMIC_RELAXED);
}

/*
 * Publish w in way i with last-seen time now; caller holds the lock. The seen
 * word goes first, then the entry with release: pairs with the acquire load in
 * fdb_learn(), so a thread that sees the new entry reads its seen time and not
 * the previous occupant's (which would cost it a useless write).
 */
static void put(struct fdb *t, uint32_t i, uint64_t w, uint32_t now_s)
{
	uint64_t *way = &t->buckets[i / FDB_WAYS].way[i % FDB_WAYS];

	__atomic_store_n(&t->seen[i], now_s, __ATOMIC_RELAXED);
	__atomic_store_n(way, w, __ATOMIC_RELEASE);
	__atomic_store_n(&t->gen, t->gen + 1, __ATOMIC_RELEASE);
}

/* Empty way i; caller holds the lock. Nothing is published with an empty
 * way, so relaxed: a racing lookup sees the old entry or a miss. */
static void clear(struct fdb *t, uint32_t i)
{
	__atomic_store_n(&t->buckets[i / FDB_WAYS].way[i % FDB_WAYS], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&t->entries, t->entries - 1, __ATOMIC_RELAXED);
	__atomic_store_n(&t->gen, t->gen + 1, __ATOMIC_RELEASE);
}

uint32_t fdb_generation(const struct fdb *t)
{
	/* Acquire: pairs with the release stores in put() and clear(). */
	return __atomic_load_n(&t->gen, __ATOMIC_ACQUIRE);
}

static inline uint64_t load_way(const struct fdb *t, uint32_t i, int order)
{
	return __atomic_load_n(&t->buckets[i / FDB_WAYS].way[i % FDB_WAYS], order);
}

static uint32_t gen_base; /* see fdb_create */

struct fdb *fdb_create(uint32_t max_entries, uint32_t age_s)
{
	struct fdb *t;
	uint32_t nbuckets = 2, bits = 1;

	if (max_entries == 0 || max_entries > FDB_ENTRIES_LIMIT || age_s == 0) {
		errno = EINVAL;
		return NULL;
	}
	/* A whole number of buckets' worth of entries. */
	max_entries = (max_entries + FDB_WAYS - 1) / FDB_WAYS * FDB_WAYS;
	/*
	 * Twice the buckets the limit needs: a full table is ~50% loaded, so a
	 * bucket overflows (and evicts) only on a rare cluster of collisions,
	 * at the price of 24 bytes per allowed entry (two ways of 8 bytes
	 * plus their 4-byte seen words; 24 MiB at the 1M maximum). At least
	 * 2 buckets so the hash shift stays below 64.
	 */
	while (nbuckets < max_entries / FDB_WAYS * 2) {
		nbuckets <<= 1;
		bits++;
	}

	if (posix_memalign((void **)&t, 64, sizeof(*t)) != 0)
		goto err_table;
	memset(t, 0, sizeof(*t));
	if (posix_memalign((void **)&t->buckets, 64, (size_t)nbuckets * sizeof(struct bucket)) != 0)
		goto err_buckets;
	memset(t->buckets, 0, (size_t)nbuckets * sizeof(struct bucket));
	t->seen = calloc((size_t)nbuckets * FDB_WAYS, sizeof(*t->seen));
	if (!t->seen)
		goto err_seen;

	t->shift = 64 - bits;
	t->nbuckets = nbuckets;
	t->max_entries = max_entries;
	t->age_s = age_s;
	/* Generations of successive tables do not overlap, so a table created
	 * where a freed one was cannot be mistaken for it (learn.c's memo). */
	t->gen = __atomic_add_fetch(&gen_base, 1u << 20, __ATOMIC_RELAXED);
	return t;

err_seen:
	free(t->buckets);
err_buckets:
	free(t);
err_table:
	errno = ENOMEM;
	return NULL;
}

void fdb_destroy(struct fdb *t)
{
	if (!t)
		return;
	free(t->seen);
	free(t->buckets);
	free(t);
}

uint8_t fdb_lookup(const struct fdb *t, const uint8_t mac[6])
{
	uint64_t key = mac_key(mac);
	const struct bucket *b = &t->buckets[bucket_of(t, key)];

	for (int i = 0; i < FDB_WAYS; i++) {
		/* Relaxed: the port travels in the same word as the MAC, and
		 * nothing else is read on its behalf, so there is no data to
		 * order against. */
		uint64_t w = __atomic_load_n(&b->way[i], __ATOMIC_RELAXED);

		if (matches(w, key))
			return port_of(w);
	}
	return FDB_PORT_NONE;
}

/*
 * In the bucket starting at way base: the way holding key, a free way and the
 * least recently seen dynamic way (UINT32_MAX when none). Caller holds the
 * lock, so the ways cannot change under us (relaxed loads).
 */
struct scan {
	uint32_t match, free, victim;
};

static struct scan scan_bucket(const struct fdb *t, uint32_t base, uint64_t key)
{
	struct scan s = {UINT32_MAX, UINT32_MAX, UINT32_MAX};

	for (uint32_t i = base; i < base + FDB_WAYS; i++) {
		uint64_t w = load_way(t, i, __ATOMIC_RELAXED);

		if (!w) {
			if (s.free == UINT32_MAX)
				s.free = i;
		} else if (matches(w, key)) {
			s.match = i;
		} else if (!(w & F_STATIC)) {
			if (s.victim == UINT32_MAX ||
			    elapsed(load_seen(t, s.victim), load_seen(t, i)) < 0)
				s.victim = i;
		}
	}
	return s;
}

/* The locked part of fdb_learn(): new MACs and moves. */
static int __attribute__((noinline))
learn_locked(struct fdb *t, uint64_t key, uint32_t base, uint8_t port, uint32_t now_s, bool known)
{
	struct scan s;
	uint64_t w;
	int ret = 0;

	/*
	 * A flood of new source MACs against a full table would otherwise
	 * take the lock once per packet. The relaxed read may be stale;
	 * the decision is made again under the lock.
	 */
	if (!known && __atomic_load_n(&t->entries, __ATOMIC_RELAXED) >= t->max_entries) {
		count(&t->full);
		return -ENOSPC;
	}

	lock(t);
	/* Look again: another thread may have inserted or moved it meanwhile. */
	s = scan_bucket(t, base, key);
	if (s.match != UINT32_MAX) {
		w = load_way(t, s.match, __ATOMIC_RELAXED);
		if (port_of(w) == port) {
			if (!(w & F_STATIC) && elapsed(load_seen(t, s.match), now_s) > 0)
				__atomic_store_n(&t->seen[s.match], now_s, __ATOMIC_RELAXED);
		} else if (w & F_STATIC) {
			ret = -EPERM;
		} else {
			put(t, s.match, make(key, port, 0), now_s);
			count(&t->moved);
		}
	} else if (t->entries >= t->max_entries) {
		/*
		 * At the limit nothing new is learned, not even by eviction:
		 * the limit exists to keep a MAC flood from churning out the
		 * entries already known. Aging makes room again.
		 */
		count(&t->full);
		ret = -ENOSPC;
	} else if (s.free != UINT32_MAX) {
		put(t, s.free, make(key, port, 0), now_s);
		__atomic_store_n(&t->entries, t->entries + 1, __ATOMIC_RELAXED);
		count(&t->learned);
	} else if (s.victim != UINT32_MAX) {
		put(t, s.victim, make(key, port, 0), now_s);
		count(&t->evicted);
		count(&t->learned);
	} else {
		count(&t->full); /* the bucket holds only static entries */
		ret = -ENOSPC;
	}
	unlock(t);
	return ret;
}

int fdb_learn(struct fdb *t, const uint8_t mac[6], uint8_t port, uint32_t now_s)
{
	uint64_t key = mac_key(mac);
	uint32_t bkt = bucket_of(t, key);
	const struct bucket *b = &t->buckets[bkt];
	bool known = false;

	if ((key & GROUP_BIT) || port == FDB_PORT_NONE)
		return -EINVAL;

	for (int i = 0; i < FDB_WAYS; i++) {
		/* Acquire: pairs with the release store in put(), so the seen
		 * word read below is this entry's, not a previous occupant's. */
		uint64_t w = __atomic_load_n(&b->way[i], __ATOMIC_ACQUIRE);
		uint32_t *seen;

		if (!matches(w, key))
			continue;
		if (port_of(w) != port) {
			if (w & F_STATIC)
				return -EPERM;
			known = true; /* a move: under the lock */
			break;
		}
		if (w & F_STATIC)
			return 0;
		/*
		 * The refresh, once per packet: store only when the second
		 * changes, and never backwards (threads may pass slightly
		 * different clocks), so the seen line stays shared between
		 * forwarding threads instead of bouncing. If the entry is
		 * removed or replaced right now, the worst case is one stale
		 * time on the way's next occupant or an entry expired just
		 * after being seen, which the next packet learns again.
		 */
		seen = &t->seen[bkt * FDB_WAYS + (uint32_t)i];
		if (elapsed(__atomic_load_n(seen, __ATOMIC_RELAXED), now_s) > 0)
			__atomic_store_n(seen, now_s, __ATOMIC_RELAXED);
		return 0;
	}
	return learn_locked(t, key, bkt * FDB_WAYS, port, now_s, known);
}

int fdb_add_static(struct fdb *t, const uint8_t mac[6], uint8_t port)
{
	uint64_t key = mac_key(mac);
	uint32_t base = bucket_of(t, key) * FDB_WAYS;
	uint64_t w = make(key, port, F_STATIC);
	struct scan s;
	int ret = 0;

	if ((key & GROUP_BIT) || port == FDB_PORT_NONE)
		return -EINVAL;

	lock(t);
	s = scan_bucket(t, base, key);
	if (s.match != UINT32_MAX) {
		put(t, s.match, w, 0);
	} else if (s.free != UINT32_MAX && t->entries < t->max_entries) {
		put(t, s.free, w, 0);
		__atomic_store_n(&t->entries, t->entries + 1, __ATOMIC_RELAXED);
	} else if (s.victim != UINT32_MAX) {
		/* Configuration wins over learning: a dynamic entry makes room
		 * (it is learned again, elsewhere or later, if still in use). */
		put(t, s.victim, w, 0);
		count(&t->evicted);
	} else {
		ret = -ENOSPC;
	}
	unlock(t);
	return ret;
}

int fdb_del(struct fdb *t, const uint8_t mac[6])
{
	uint64_t key = mac_key(mac);
	uint32_t base = bucket_of(t, key) * FDB_WAYS;
	struct scan s;

	lock(t);
	s = scan_bucket(t, base, key);
	if (s.match != UINT32_MAX)
		clear(t, s.match);
	unlock(t);
	return s.match != UINT32_MAX ? 0 : -ENOENT;
}

/* Which dynamic entries a sweep removes. */
enum sweep_kind { SWEEP_ALL, SWEEP_PORT, SWEEP_AGED };

struct sweep {
	enum sweep_kind kind;
	uint8_t port;
	uint32_t now_s, age_s;
};

static bool doomed(const struct fdb *t, uint32_t i, uint64_t w, const struct sweep *sw)
{
	if (!w || (w & F_STATIC))
		return false;
	switch (sw->kind) {
	case SWEEP_ALL:
		return true;
	case SWEEP_PORT:
		return port_of(w) == sw->port;
	case SWEEP_AGED:
		/* Strictly older: with whole seconds an entry may be up to a
		 * second late to go, never early. */
		return elapsed(load_seen(t, i), sw->now_s) > (int64_t)sw->age_s;
	}
	return false;
}

/*
 * Remove the dynamic entries sw selects. The table is scanned without the
 * lock, which is taken only for a bucket with something to remove and only
 * for that bucket, so a sweep of a large table never holds off learning for
 * long. Candidates are checked again under the lock.
 */
static uint32_t sweep(struct fdb *t, const struct sweep *sw)
{
	uint32_t removed = 0;

	for (uint32_t base = 0; base < t->nbuckets * FDB_WAYS; base += FDB_WAYS) {
		bool any = false;

		for (uint32_t i = base; i < base + FDB_WAYS && !any; i++)
			any = doomed(t, i, load_way(t, i, __ATOMIC_RELAXED), sw);
		if (!any)
			continue;
		lock(t);
		for (uint32_t i = base; i < base + FDB_WAYS; i++) {
			if (doomed(t, i, load_way(t, i, __ATOMIC_RELAXED), sw)) {
				clear(t, i);
				removed++;
			}
		}
		unlock(t);
	}
	return removed;
}

uint32_t fdb_flush_port(struct fdb *t, uint8_t port)
{
	struct sweep sw = {.kind = SWEEP_PORT, .port = port};

	return sweep(t, &sw);
}

uint32_t fdb_flush(struct fdb *t)
{
	struct sweep sw = {.kind = SWEEP_ALL};

	return sweep(t, &sw);
}

uint32_t fdb_expire(struct fdb *t, uint32_t now_s)
{
	struct sweep sw = {
	    .kind = SWEEP_AGED,
	    .now_s = now_s,
	    .age_s = fdb_age(t),
	};
	uint32_t n = sweep(t, &sw);

	__atomic_fetch_add(&t->expired, n, __ATOMIC_RELAXED);
	return n;
}

int fdb_set_age(struct fdb *t, uint32_t age_s)
{
	if (age_s == 0)
		return -EINVAL;
	__atomic_store_n(&t->age_s, age_s, __ATOMIC_RELAXED);
	return 0;
}

uint32_t fdb_age(const struct fdb *t)
{
	return __atomic_load_n(&t->age_s, __ATOMIC_RELAXED);
}

uint32_t fdb_max_entries(const struct fdb *t)
{
	return t->max_entries;
}

size_t fdb_dump(const struct fdb *t, struct fdb_entry *out, size_t max, uint32_t now_s)
{
	size_t n = 0;

	/* Lock-free like a lookup: each entry is read whole, the table may
	 * change while we walk it, which is fine for a snapshot. */
	for (uint32_t i = 0; i < t->nbuckets * FDB_WAYS && n < max; i++) {
		/* Acquire: pairs with the release store in put(), so the age
		 * comes from this entry's seen time. */
		uint64_t w = load_way(t, i, __ATOMIC_ACQUIRE);
		int32_t age;

		if (!w)
			continue;
		key_mac(w & MAC_MASK, out[n].mac);
		out[n].port = port_of(w);
		out[n].is_static = w & F_STATIC;
		age = elapsed(load_seen(t, i), now_s);
		out[n].age_s = (w & F_STATIC) || age < 0 ? 0 : (uint32_t)age;
		n++;
	}
	return n;
}

void fdb_get_stats(const struct fdb *t, struct fdb_stats *ret_stats)
{
	ret_stats->learned = __atomic_load_n(&t->learned, __ATOMIC_RELAXED);
	ret_stats->moved = __atomic_load_n(&t->moved, __ATOMIC_RELAXED);
	ret_stats->evicted = __atomic_load_n(&t->evicted, __ATOMIC_RELAXED);
	ret_stats->expired = __atomic_load_n(&t->expired, __ATOMIC_RELAXED);
	ret_stats->full = __atomic_load_n(&t->full, __ATOMIC_RELAXED);
	ret_stats->entries = __atomic_load_n(&t->entries, __ATOMIC_RELAXED);
}
