/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * csb - the control/status block of a ring: syncs and the wake-up handshake.
 *
 * Every access to a CSB field outside ring/kring.c goes through this header,
 * on either side: the application (libvale, a kernel port's thread, tests)
 * and the switch (its workers, the ports' notify callbacks). Header-only: it
 * is on the fast path.
 *
 * Syncs (application side): csb_appl_publish() hands the ring's head and cur
 * to the switch, csb_appl_update_tail() takes tail from it, so ring->tail
 * changes only there.
 *
 * The wake-up handshake (virtio's notification suppression), the same in
 * both directions. The side about to sleep ("sleeper") arms its need-kick
 * flag, issues a full fence, and re-checks the ring: only if it still has
 * nothing to do does it sleep on its eventfd, and it disarms when it wakes.
 * The side that makes work for it ("waker") publishes the work, issues a full
 * fence, reads the sleeper's flag, and writes the sleeper's eventfd only when
 * the flag is set. Each side stores, fences, then loads what the other
 * stored; with a SEQ_CST fence on both sides at least one of the two loads
 * sees the other's store, so either the sleeper finds the work and does not
 * sleep, or the waker finds the flag and wakes it: no lost wake-up. Acquire
 * and release alone would not do: they do not order a store before a later
 * load.
 *
 *                    sleeper                      waker
 *   switch sleeps    csb_switch_may_sleep()       csb_appl_publish()
 *   (kick fd)        (arms and re-checks head)    csb_switch_wants_kick()
 *                    csb_switch_disarm()          csb_wake(kick fd)
 *
 *   application      csb_appl_arm()               kring_sync_finalize() or
 *   sleeps           csb_appl_update_tail()       kring_lease_complete()
 *   (notify fd)      csb_appl_disarm()            csb_notify_appl(notify fd)
 *
 * Ordering pairs (C11):
 *   - atok.head: release in csb_appl_publish(), acquire in csb_switch_head(),
 *     csb_switch_may_sleep() and kring_csb_read();
 *   - ktoa.hwtail: release in kring_sync_finalize(), acquire in
 *     csb_appl_update_tail();
 *   - kern_need_kick: the fence in csb_switch_may_sleep() pairs with the
 *     fence in csb_switch_wants_kick();
 *   - appl_need_kick: the fence in csb_appl_arm() pairs with the fence in
 *     csb_appl_wants_notify() (and so csb_notify_appl()).
 * The flags themselves are relaxed: the fences order them.
 *
 * Threads: a ring's application-side calls come from its one client thread;
 * the switch-side calls from whichever thread forwards it.
 */
#ifndef VALE_RING_CSB_H
#define VALE_RING_CSB_H

#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include <vale/netmap.h>

/* ---- application side ----------------------------------------------------- */

static inline void csb_appl_publish(struct netmap_ring *ring, struct vale_csb *csb)
{
	__atomic_store_n(&csb->atok.cur, ring->cur, __ATOMIC_RELAXED);
	/* Release: the slots written before it; pairs with the switch's acquire
	 * in csb_switch_head(), csb_switch_may_sleep() and kring_csb_read(). */
	__atomic_store_n(&csb->atok.head, ring->head, __ATOMIC_RELEASE);
}

/*
 * True when the CSB already holds the ring's head and cur: publishing again
 * would give the switch nothing new. Relaxed: these fields are the
 * application's own (the switch writes them only on a reinit, after which
 * publishing again is right anyway).
 */
static inline bool csb_appl_published(const struct netmap_ring *ring, const struct vale_csb *csb)
{
	return ring->head == __atomic_load_n(&csb->atok.head, __ATOMIC_RELAXED) &&
	       ring->cur == __atomic_load_n(&csb->atok.cur, __ATOMIC_RELAXED);
}

static inline void csb_appl_update_tail(struct netmap_ring *ring, struct vale_csb *csb)
{
	/* Acquire: pairs with kring_sync_finalize()'s release of hwtail, so the
	 * RX slots the switch wrote before it are visible. */
	ring->tail = __atomic_load_n(&csb->ktoa.hwtail, __ATOMIC_ACQUIRE);
}

/*
 * Waker: true when the switch sleeps and needs a kick to see new work. Call
 * after csb_appl_publish(). The full fence orders that head store before
 * this load; it pairs with the fence in csb_switch_may_sleep().
 */
static inline bool csb_switch_wants_kick(const struct vale_csb *csb)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&csb->ktoa.kern_need_kick, __ATOMIC_RELAXED) != 0;
}

/*
 * Sleeper: ask the switch for a notification, then fence. The caller must
 * re-check the ring afterwards (csb_appl_update_tail(), then look at tail)
 * and sleep only if there is still nothing: the fence orders the flag's
 * store before those loads, and pairs with the one in
 * csb_appl_wants_notify().
 */
static inline void csb_appl_arm(struct vale_csb *csb)
{
	__atomic_store_n(&csb->atok.appl_need_kick, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Sleeper, awake again: stop asking. A notification already on its way is
 * harmless (a stale eventfd count, drained by the next sleep). */
static inline void csb_appl_disarm(struct vale_csb *csb)
{
	__atomic_store_n(&csb->atok.appl_need_kick, 0, __ATOMIC_RELAXED);
}

/* ---- switch side ------------------------------------------------------------ */

/* The head the client published, read once. Acquire: pairs with
 * csb_appl_publish()'s release, so the slots before head are visible. */
static inline uint32_t csb_switch_head(const struct vale_csb *csb)
{
	return __atomic_load_n(&csb->atok.head, __ATOMIC_ACQUIRE);
}

/*
 * Sleeper: ask the client for a kick (arm kern_need_kick), fence, and
 * re-read head. True if head is still seen_head, the head the switch last
 * worked on: it may sleep, the client kicks it for anything newer. False:
 * work came in meanwhile; do not sleep, and disarm. The fence orders the
 * flag's store before the load of head; it pairs with the one in
 * csb_switch_wants_kick(). The load is acquire, as in csb_switch_head(). A
 * switch watching several rings asks each of them and sleeps only if all
 * say yes; it disarms them all afterwards, whatever they said.
 */
static inline bool csb_switch_may_sleep(struct vale_csb *csb, uint32_t seen_head)
{
	__atomic_store_n(&csb->ktoa.kern_need_kick, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&csb->atok.head, __ATOMIC_ACQUIRE) == seen_head;
}

/* Sleeper, awake again (or not sleeping after all): clients that still see
 * the flag kick needlessly, which is harmless. */
static inline void csb_switch_disarm(struct vale_csb *csb)
{
	__atomic_store_n(&csb->ktoa.kern_need_kick, 0, __ATOMIC_RELAXED);
}

/*
 * Waker: true when the application sleeps and asked to be notified. Call
 * after publishing what it waits for (hwtail, by kring_sync_finalize() or
 * kring_lease_complete()). The full fence orders that store before this
 * load; it pairs with the fence in csb_appl_arm().
 */
static inline bool csb_appl_wants_notify(const struct vale_csb *csb)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&csb->atok.appl_need_kick, __ATOMIC_RELAXED) != 0;
}

/* ---- both ------------------------------------------------------------------- */

/*
 * Write 1 to a wake-up eventfd (non-blocking). Only EAGAIN can fail: the
 * counter is saturated, so the fd is readable and its reader wakes anyway.
 */
static inline void csb_wake(int fd)
{
	uint64_t one = 1;
	ssize_t n = write(fd, &one, sizeof(one));

	(void)n;
}

/*
 * Waker, switch side, in one call: after publishing, write the notify
 * eventfd notify_fd if the application asked (csb_appl_wants_notify()).
 * Returns true if it wrote it.
 */
static inline bool csb_notify_appl(const struct vale_csb *csb, int notify_fd)
{
	if (!csb_appl_wants_notify(csb))
		return false;
	csb_wake(notify_fd);
	return true;
}

#endif /* VALE_RING_CSB_H */
