/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fdb - the learning table of one switch: MAC address -> port.
 *
 * Design: a set-associative hash table, FDB_WAYS entries per bucket. Each
 * entry is one 64-bit word {mac:48, port:8, flags:8}, read and written with
 * atomic 64-bit operations, so lookups need no lock and never see a torn
 * entry. The last time an entry was seen is kept in a parallel array of
 * 32-bit seconds, updated with relaxed stores (a stale age is harmless).
 *
 * Learning (a source MAC seen on a port):
 *   - a known MAC on the same port refreshes its time (no lock);
 *   - a known MAC on another port moves there (counted in `moved`), unless
 *     the entry is static: static entries never move or age;
 *   - a new MAC takes a free way of its bucket; if the bucket is full, the
 *     least recently seen dynamic entry of the bucket is replaced (counted in
 *     `evicted`); if the table already holds max_entries, or the bucket holds
 *     only static entries, the MAC is not learned (counted in `full`) and
 *     packets to it are flooded, as for any unknown address.
 * Aging: fdb_expire() removes dynamic entries not seen for age_s seconds.
 * Time is passed in by the caller (monotonic seconds), so tests control it.
 *
 * Threads: fdb_lookup() and fdb_learn() may run on any number of forwarding
 * threads at once. Inserts, moves and removals take an internal spinlock.
 * The control calls (static entries, flush, expire, dump) may run on the
 * control thread concurrently with the data path.
 */
#ifndef VALE_SWITCH_FDB_H
#define VALE_SWITCH_FDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FDB_WAYS 4
#define FDB_PORT_NONE 0xff /* lookup miss; ports are 0..254 */
#define FDB_MAX_ENTRIES_DEFAULT 8192
#define FDB_AGE_DEFAULT 300 /* seconds, as the Linux bridge and VALE */

struct fdb;

struct fdb_entry {
	uint8_t mac[6];
	uint8_t port;
	bool is_static;
	uint32_t age_s; /* seconds since last seen (0 for static entries) */
};

struct fdb_stats {
	uint64_t learned; /* new entries */
	uint64_t moved;   /* a MAC that changed port */
	uint64_t evicted; /* entries replaced because their bucket was full */
	uint64_t expired; /* entries removed by aging */
	uint64_t full;    /* MACs not learned: table or bucket full */
	uint32_t entries; /* entries now */
};

/*
 * Create a table for up to max_entries entries (rounded up to the bucket
 * geometry; 1..1048576) aging after age_s seconds (>= 1). NULL + errno
 * EINVAL or ENOMEM.
 */
struct fdb *fdb_create(uint32_t max_entries, uint32_t age_s);
void fdb_destroy(struct fdb *t); /* accepts NULL */

/* The port that owns mac, or FDB_PORT_NONE. Lock-free. */
uint8_t fdb_lookup(const struct fdb *t, const uint8_t mac[6]);

/*
 * Learn that mac was seen on port at time now_s. Returns 0 when learned or
 * refreshed, -ENOSPC when the table or bucket is full, -EPERM when mac is a
 * static entry of another port (not moved). Callers on the data path ignore
 * the result: the counters record it. Group addresses (multicast bit set)
 * are never learned: -EINVAL.
 */
int fdb_learn(struct fdb *t, const uint8_t mac[6], uint8_t port, uint32_t now_s);

/* Add or replace a static entry: 0, -EINVAL (group address, port 255), -ENOSPC. */
int fdb_add_static(struct fdb *t, const uint8_t mac[6], uint8_t port);

/* Remove the entry for mac, static or not: 0 or -ENOENT. */
int fdb_del(struct fdb *t, const uint8_t mac[6]);

/* Remove every dynamic entry of port (port detach). Returns how many. */
uint32_t fdb_flush_port(struct fdb *t, uint8_t port);

/* Remove every dynamic entry. Returns how many. */
uint32_t fdb_flush(struct fdb *t);

/* Remove dynamic entries older than the aging time. Returns how many. */
uint32_t fdb_expire(struct fdb *t, uint32_t now_s);

/* Change the aging time (>= 1 s): 0 or -EINVAL. */
int fdb_set_age(struct fdb *t, uint32_t age_s);
uint32_t fdb_age(const struct fdb *t);
uint32_t fdb_max_entries(const struct fdb *t);

/* Copy up to max entries into out; returns how many were copied. */
size_t fdb_dump(const struct fdb *t, struct fdb_entry *out, size_t max, uint32_t now_s);

void fdb_get_stats(const struct fdb *t, struct fdb_stats *ret_stats);

/*
 * A number that changes whenever an entry is added, moved or removed (not
 * on a refresh). A caller that saw the same value before and after may
 * assume the table did not change in between. Lock-free.
 */
uint32_t fdb_generation(const struct fdb *t);

#endif /* VALE_SWITCH_FDB_H */
