/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kring - the daemon's view of one shared ring.
 *
 * The shared ring (struct netmap_ring and its CSB) is written by an untrusted
 * client; the kring holds what the switch trusts: hwcur, hwtail and the last
 * validated head/cur/tail (rhead, rcur, rtail), as netmap's netmap_kring.
 *
 * A sync on the switch's side follows netmap's pattern:
 *
 *     read head/cur once from the CSB  ->  prologue (validate)  ->
 *     process slots  ->  finalize (publish hwcur/hwtail in the CSB)
 *
 * and a prologue failure reinitialises the ring (kring_reinit), counted.
 *
 * TX rings (client -> switch): the client owns [head, tail). The switch sends
 * [hwcur, rhead) and returns the slots at once: hwtail = hwcur - 1.
 * RX rings (switch -> client): the switch fills [hwtail, hwcur - 1) and moves
 * hwtail; the client returns slots by moving head, which becomes hwcur at the
 * next rxsync.
 *
 * Leases (RX rings only): several forwarding threads may fill one RX ring at
 * once. Under the ring lock a thread reserves a run of slots starting at
 * hwlease (kring_lease), copies into them without the lock, then completes
 * the lease under the lock again (kring_lease_complete). hwtail advances only
 * over completed leases, in the order they were taken, so the client never
 * sees a slot that is still being written.
 *
 * Ordering with the client (C11 acquire/release):
 *   - the client stores atok.head with release after writing the slots;
 *     kring_csb_read() loads it with acquire;
 *   - kring_sync_finalize() stores ktoa.hwtail/hwcur with release after
 *     writing RX slots; the client loads them with acquire (ring/csb.h).
 *
 * Threads: a TX kring belongs to one forwarding thread. An RX kring may be
 * used by several: kring_lock() protects hwcur, hwlease, hwtail and the
 * lease list; kring_rxsync() and the lease calls require it held.
 */
#ifndef VALE_RING_KRING_H
#define VALE_RING_KRING_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <vale/netmap.h>

struct kring_stats {
	uint64_t packets;   /* packets through this ring */
	uint64_t bytes;	    /* bytes through this ring */
	uint64_t drops;	    /* RX: packets dropped because the ring was full */
	uint64_t reinits;   /* prologue failures and sanitised slots */
	uint64_t bad_slots; /* slots with an invalid buf_idx or len, dropped */
};

struct kring {
	struct netmap_ring *ring; /* shared with the client */
	struct vale_csb *csb;	  /* shared with the client */
	char *buf0;		  /* the daemon's address of buffer 0 */
	uint32_t num_slots;
	uint32_t buf_size;
	/* Most bytes the switch puts in one slot: buf_size, but a slot's len
	 * is 16 bits, so at most KRING_SLOT_LEN_MAX (65536-byte buffers). */
	uint32_t slot_max;
	uint32_t buf_num; /* valid buffer indices are below this */
	uint16_t dir;	  /* NR_TX or NR_RX */
	uint16_t ringid;

	/* Trusted state (see the header comment). */
	uint32_t hwcur;
	uint32_t hwtail;
	uint32_t rhead;
	uint32_t rcur;
	uint32_t rtail;
	bool need_reinit; /* a bad slot was seen: reinit at the next sync */
	/*
	 * Who holds this ring's buffers in its region's owner record
	 * (ring/mem.h): owners is the record (mem_owners), owner the holder.
	 * A zero-copy monitor moves buffers between rings of two owners and
	 * the record with them. kring_init leaves MEM_OWNER_CREATOR (0) and no
	 * record; an adapter whose rings share a region with others sets both.
	 */
	uint16_t *owners;
	uint16_t owner;
	/*
	 * RX: called by kring_rxsync (lock held) with the slots [hwcur, head)
	 * the client just returned, before hwcur moves past them, so their
	 * buffers are still the packets the client read. A zero-copy monitor
	 * (switch/bdg.h) takes them here. Set and cleared under the lock.
	 */
	void (*on_release)(void *arg, struct kring *k, uint32_t from, uint32_t to);
	void *release_arg;
	/*
	 * Daemon-private copies of the slots' flags, for code that needs a
	 * slot's flags twice (a first pass to find whole packets, a second to
	 * move them): it reads the shared flags once into slot_flags[i] and
	 * uses the copy. Entry i belongs to whoever owns slot i at the moment:
	 * the thread that forwards a TX ring, the holder of an RX ring's lease
	 * over the slot, or the holder of the ring lock for the slots a client
	 * returned; so no two threads use one entry at once.
	 */
	uint16_t *slot_flags;

	/* Leases (RX). */
	pthread_mutex_t lock;
	uint32_t hwlease;     /* next slot to lease */
	uint32_t *leases;     /* per lease: its end; | KRING_LEASE_BUSY while outstanding */
	uint32_t lease_first; /* oldest outstanding lease id */
	uint32_t lease_next;  /* next lease id */

	struct kring_stats stats;
};

/* A slot's len is 16 bits: no slot carries more, whatever the buffer size. */
#define KRING_SLOT_LEN_MAX 65535u
/* In leases[]: the lease is outstanding; the other bits hold its end. */
#define KRING_LEASE_BUSY 0x80000000u

/*
 * Set up a kring over ring, which must be mapped in the same region as
 * buffer 0 (buf0), and write the ring's fixed fields (buf_ofs, num_slots,
 * nr_buf_size, ringid, dir) and initial positions: a TX ring starts with all
 * slots owned by the client (tail = n - 1), an RX ring empty. The slots'
 * buf_idx are the caller's to fill. Returns 0, -EINVAL (num_slots < 2 or
 * buf_num <= 2) or -ENOMEM.
 */
int kring_init(struct kring *k, struct netmap_ring *ring, uint16_t dir, uint16_t ringid,
	       uint32_t num_slots, char *buf0, uint32_t buf_size, uint32_t buf_num);

/* Release what kring_init allocated. Accepts a zeroed kring. */
void kring_fini(struct kring *k);

static inline uint32_t kring_next(const struct kring *k, uint32_t i)
{
	return i + 1 == k->num_slots ? 0 : i + 1;
}

static inline uint32_t kring_prev(const struct kring *k, uint32_t i)
{
	return i == 0 ? k->num_slots - 1 : i - 1;
}

/* (b - a) modulo the ring size: slots from a up to b. */
static inline uint32_t kring_dist(const struct kring *k, uint32_t a, uint32_t b)
{
	return b >= a ? b - a : b + k->num_slots - a;
}

/* True when idx may be used as a buffer index of this ring's region. */
static inline bool kring_buf_ok(const struct kring *k, uint32_t idx)
{
	return idx >= 2 && idx < k->buf_num;
}

/* Read the client's head and cur once, from the CSB (acquire). */
void kring_csb_read(const struct kring *k, uint32_t *ret_head, uint32_t *ret_cur);

/*
 * Validate head/cur for a txsync, with the rules of netmap's
 * nm_txsync_prologue: hwcur <= rhead <= head <= cur <= tail = rtail <= hwtail,
 * modulo the ring size. Returns head and records rhead/rcur, or returns
 * num_slots (and changes nothing) if they are inconsistent.
 */
uint32_t kring_txsync_prologue(struct kring *k, uint32_t head, uint32_t cur);

/*
 * Validate head/cur for an rxsync, with the rules of nm_rxsync_prologue:
 * hwcur <= head <= cur <= hwtail, modulo the ring size. Returns head and
 * records rhead/rcur, or returns num_slots if they are inconsistent.
 */
uint32_t kring_rxsync_prologue(struct kring *k, uint32_t head, uint32_t cur);

/*
 * Reinitialise a ring after a violation: every slot with a buffer index
 * outside 2..buf_num-1 gets buf_idx = 0 and len = 0, a len over the buffer
 * size becomes 0, and head = cur = hwcur, tail = hwtail are written to the
 * ring and the CSB. Unlike netmap (which keeps in-range user values) it always
 * resets the positions: a value that failed the prologue is never trusted.
 * Returns the number of slots it sanitised.
 */
uint32_t kring_reinit(struct kring *k);

/* Publish hwcur/hwtail to the CSB (release) and set rtail = hwtail. */
void kring_sync_finalize(struct kring *k);

/*
 * Switch side of a txsync: read the CSB, validate, reinit on failure.
 * Returns the number of slots in [hwcur, rhead) waiting to be sent (0 after
 * a reinit). The caller sends some prefix of them and calls kring_txsync_done.
 */
uint32_t kring_txsync_begin(struct kring *k);

/*
 * The slots [hwcur, end) were sent: hwcur = end, hwtail = end - 1 (VALE
 * returns sent slots at once), publish. A pending need_reinit runs here.
 */
void kring_txsync_done(struct kring *k, uint32_t end);

/*
 * Switch side of an rxsync (lock held): read the CSB, validate, call
 * on_release for the returned slots if set, hwcur = head, publish. Returns
 * 0, or -EINVAL after a reinit.
 */
int kring_rxsync(struct kring *k);

/* kring_rxsync under the lock; returns how many slots the client returned. */
uint32_t kring_rxsync_locked(struct kring *k);

/*
 * Release hooks of the n krings k[0..n), each set under its lock.
 * kring_hook_release installs fn(arg) on all of them, or on none and returns
 * -EBUSY if one has a hook already (0 otherwise). kring_unhook_release
 * clears those whose hook has arg; once it returns, none of them runs.
 * Control thread only (it alone installs hooks).
 */
typedef void (*kring_release_fn)(void *arg, struct kring *k, uint32_t from, uint32_t to);
int kring_hook_release(struct kring *k, uint32_t n, kring_release_fn fn, void *arg);
void kring_unhook_release(struct kring *k, uint32_t n, const void *arg);

static inline void kring_lock(struct kring *k)
{
	pthread_mutex_lock(&k->lock);
}

static inline void kring_unlock(struct kring *k)
{
	pthread_mutex_unlock(&k->lock);
}

/* Free slots an RX ring can still lease (lock held). */
static inline uint32_t kring_rx_space(const struct kring *k)
{
	return k->num_slots - 1 - kring_dist(k, k->hwcur, k->hwlease);
}

/*
 * Reserve n slots (1 <= n <= kring_rx_space) from hwlease (lock held).
 * Writes the first slot to *ret_start and returns the lease id.
 */
uint32_t kring_lease(struct kring *k, uint32_t n, uint32_t *ret_start);

/*
 * Complete lease id with its slots written up to end (lock held); advances
 * hwtail over every completed lease in order and publishes it. Returns true
 * if hwtail moved (the client may need a notification). end may fall short
 * of the lease's end (the writer dropped what it could not write): the
 * newest lease gives the unused slots back (hwlease moves back to end), an
 * older one publishes them as empty slots (len 0, flags 0), as netmap does.
 */
bool kring_lease_complete(struct kring *k, uint32_t id, uint32_t end);

#endif /* VALE_RING_KRING_H */
