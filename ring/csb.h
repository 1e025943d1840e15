/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * csb - the client's half of a sync through the control/status block.
 *
 * These are what libvale does on NIOCTXSYNC/NIOCRXSYNC: publish the ring's
 * head and cur to the switch, and take tail from the switch, so ring->tail
 * changes only here. Whether to kick the switch afterwards is the caller's
 * business (csb_switch_wants_kick). Header-only: it is on the fast path.
 *
 * Ordering: csb_appl_publish() stores atok.head with release after the slots
 * were written; the switch loads it with acquire (kring_csb_read). The switch
 * stores ktoa.hwtail with release (kring_sync_finalize); csb_appl_update_tail()
 * loads it with acquire before the client reads RX slots.
 */
#ifndef VALE_RING_CSB_H
#define VALE_RING_CSB_H

#include <stdbool.h>
#include <vale/netmap.h>

static inline void csb_appl_publish(struct netmap_ring *ring, struct vale_csb *csb)
{
	__atomic_store_n(&csb->atok.cur, ring->cur, __ATOMIC_RELAXED);
	__atomic_store_n(&csb->atok.head, ring->head, __ATOMIC_RELEASE);
}

static inline void csb_appl_update_tail(struct netmap_ring *ring, struct vale_csb *csb)
{
	ring->tail = __atomic_load_n(&csb->ktoa.hwtail, __ATOMIC_ACQUIRE);
}

/*
 * True when the switch sleeps and needs a kick to see new work. The full
 * fence orders the head store of csb_appl_publish() before this load; it
 * pairs with the switch's "set kern_need_kick, fence, re-check head".
 */
static inline bool csb_switch_wants_kick(const struct vale_csb *csb)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&csb->ktoa.kern_need_kick, __ATOMIC_RELAXED) != 0;
}

#endif /* VALE_RING_CSB_H */
