/* SPDX-License-Identifier: BSD-2-Clause */
/* kring: validation, reinit and leases of a shared ring, on the switch's side. */
#include "kring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int kring_init(struct kring *k, struct netmap_ring *ring, uint16_t dir, uint16_t ringid,
	       uint32_t num_slots, char *buf0, uint32_t buf_size, uint32_t buf_num)
{
	pthread_mutexattr_t attr;

	if (num_slots < 2 || buf_num <= 2 || (dir != NR_TX && dir != NR_RX))
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	/* At most num_slots - 1 leases can be outstanding: each holds a slot. */
	k->leases = calloc(num_slots, sizeof(*k->leases));
	k->slot_flags = calloc(num_slots, sizeof(*k->slot_flags));
	if (!k->leases || !k->slot_flags) {
		free(k->leases);
		free(k->slot_flags);
		k->leases = NULL;
		k->slot_flags = NULL;
		return -ENOMEM;
	}
	pthread_mutexattr_init(&attr);
	/* Critical sections are a few instructions: spin briefly before sleeping. */
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&k->lock, &attr);
	pthread_mutexattr_destroy(&attr);

	k->ring = ring;
	k->csb = VALE_CSB_AT(ring, num_slots);
	k->buf0 = buf0;
	k->num_slots = num_slots;
	k->buf_size = buf_size;
	k->slot_max = buf_size < KRING_SLOT_LEN_MAX ? buf_size : KRING_SLOT_LEN_MAX;
	k->buf_num = buf_num;
	k->dir = dir;
	k->ringid = ringid;

	ring->buf_ofs = buf0 - (char *)ring;
	ring->num_slots = num_slots;
	ring->nr_buf_size = buf_size;
	ring->ringid = ringid;
	ring->dir = dir;
	ring->offset_mask = 0;
	ring->buf_align = 0;
	ring->flags = 0;

	k->hwcur = 0;
	k->hwtail = dir == NR_TX ? num_slots - 1 : 0;
	k->hwlease = k->hwtail;
	k->rhead = k->rcur = k->hwcur;
	k->rtail = k->hwtail;
	ring->head = ring->cur = k->hwcur;
	ring->tail = k->hwtail;
	memset(k->csb, 0, sizeof(*k->csb));
	k->csb->atok.head = k->csb->atok.cur = k->hwcur;
	k->csb->ktoa.hwcur = k->hwcur;
	k->csb->ktoa.hwtail = k->hwtail;
	return 0;
}

void kring_fini(struct kring *k)
{
	if (!k->leases)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k->leases);
	free(k->slot_flags);
	k->leases = NULL;
	k->slot_flags = NULL;
}

void kring_csb_read(const struct kring *k, uint32_t *ret_head, uint32_t *ret_cur)
{
	/* Pairs with the client's release store of atok.head (ring/csb.h):
	 * the slots it filled before moving head are visible after this. */
	*ret_head = __atomic_load_n(&k->csb->atok.head, __ATOMIC_ACQUIRE);
	*ret_cur = __atomic_load_n(&k->csb->atok.cur, __ATOMIC_RELAXED);
}

uint32_t kring_txsync_prologue(struct kring *k, uint32_t head, uint32_t cur)
{
	const uint32_t n = k->num_slots;

	if (k->hwcur >= n || k->rhead >= n || k->rtail >= n || k->hwtail >= n)
		return n;
	/*
	 * Positions of head, with the valid ones B, D and F:
	 *   0    A  rhead   B  rtail   C  n-1
	 *   0    D  rtail   E  rhead   F  n-1
	 */
	if (k->rtail >= k->rhead) {
		if (head < k->rhead || head > k->rtail)
			return n; /* A or C */
		if (cur < head || cur > k->rtail)
			return n;
	} else {
		if (head > k->rtail && head < k->rhead)
			return n; /* E */
		if (head <= k->rtail) {
			if (cur < head || cur > k->rtail)
				return n;
		} else if (cur > k->rtail && cur < head) {
			return n;
		}
	}
	k->rhead = head;
	k->rcur = cur;
	return head;
}

uint32_t kring_rxsync_prologue(struct kring *k, uint32_t head, uint32_t cur)
{
	const uint32_t n = k->num_slots;

	if (k->hwcur >= n || k->hwtail >= n)
		return n;
	if (k->hwtail >= k->hwcur) {
		if (head < k->hwcur || head > k->hwtail)
			return n;
		if (cur < head || cur > k->hwtail)
			return n;
	} else {
		if (head < k->hwcur && head > k->hwtail)
			return n;
		if (head <= k->hwtail) {
			if (cur < head || cur > k->hwtail)
				return n;
		} else if (cur < head && cur > k->hwtail) {
			return n;
		}
	}
	k->rhead = head;
	k->rcur = cur;
	return head;
}

uint32_t kring_reinit(struct kring *k)
{
	struct netmap_ring *ring = k->ring;
	uint32_t fixed = 0;

	for (uint32_t i = 0; i < k->num_slots; i++) {
		struct netmap_slot *slot = &ring->slot[i];
		uint32_t idx = slot->buf_idx;

		if (!kring_buf_ok(k, idx)) {
			slot->buf_idx = 0;
			slot->len = 0;
			fixed++;
		} else if (slot->len > k->buf_size) {
			slot->len = 0;
			fixed++;
		}
	}
	k->rhead = k->rcur = k->hwcur;
	k->rtail = k->hwtail;
	ring->head = ring->cur = k->hwcur;
	ring->tail = k->hwtail;
	__atomic_store_n(&k->csb->atok.head, k->hwcur, __ATOMIC_RELAXED);
	__atomic_store_n(&k->csb->atok.cur, k->hwcur, __ATOMIC_RELAXED);
	k->need_reinit = false;
	__atomic_fetch_add(&k->stats.reinits, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&k->csb->ktoa.reinits, 1, __ATOMIC_RELAXED);
	kring_sync_finalize(k);
	return fixed;
}

void kring_sync_finalize(struct kring *k)
{
	k->rtail = k->hwtail;
	/* Pairs with the client's acquire load of ktoa.hwtail (ring/csb.h):
	 * slots written before this store are visible once it sees hwtail. */
	__atomic_store_n(&k->csb->ktoa.hwcur, k->hwcur, __ATOMIC_RELAXED);
	__atomic_store_n(&k->csb->ktoa.hwtail, k->hwtail, __ATOMIC_RELEASE);
}

uint32_t kring_txsync_begin(struct kring *k)
{
	uint32_t head, cur;

	kring_csb_read(k, &head, &cur);
	if (kring_txsync_prologue(k, head, cur) >= k->num_slots) {
		kring_reinit(k);
		return 0;
	}
	return kring_dist(k, k->hwcur, k->rhead);
}

void kring_txsync_done(struct kring *k, uint32_t end)
{
	k->hwcur = end;
	k->hwtail = kring_prev(k, end);
	if (k->need_reinit)
		kring_reinit(k);
	else
		kring_sync_finalize(k);
}

int kring_rxsync(struct kring *k)
{
	uint32_t head, cur;

	kring_csb_read(k, &head, &cur);
	if (kring_rxsync_prologue(k, head, cur) >= k->num_slots || k->need_reinit) {
		kring_reinit(k);
		return -EINVAL;
	}
	if (k->on_release && head != k->hwcur)
		k->on_release(k->release_arg, k, k->hwcur, head);
	k->hwcur = head;
	__atomic_store_n(&k->csb->ktoa.hwcur, k->hwcur, __ATOMIC_RELEASE);
	return 0;
}

uint32_t kring_rxsync_locked(struct kring *k)
{
	uint32_t before;

	kring_lock(k);
	before = k->hwcur;
	kring_rxsync(k);
	kring_unlock(k);
	return kring_dist(k, before, k->hwcur);
}

static void set_release(struct kring *k, kring_release_fn fn, void *arg)
{
	kring_lock(k);
	k->on_release = fn;
	k->release_arg = arg;
	kring_unlock(k);
}

int kring_hook_release(struct kring *k, uint32_t n, kring_release_fn fn, void *arg)
{
	for (uint32_t i = 0; i < n; i++)
		if (k[i].on_release) /* only the control thread writes it */
			return -EBUSY;
	for (uint32_t i = 0; i < n; i++)
		set_release(&k[i], fn, arg);
	return 0;
}

void kring_unhook_release(struct kring *k, uint32_t n, const void *arg)
{
	for (uint32_t i = 0; i < n; i++)
		if (k[i].on_release && k[i].release_arg == arg)
			set_release(&k[i], NULL, NULL);
}

uint32_t kring_lease(struct kring *k, uint32_t n, uint32_t *ret_start)
{
	uint32_t id = k->lease_next;

	*ret_start = k->hwlease;
	k->hwlease += n;
	if (k->hwlease >= k->num_slots)
		k->hwlease -= k->num_slots;
	k->leases[id] = k->hwlease | KRING_LEASE_BUSY;
	k->lease_next = id + 1 == k->num_slots ? 0 : id + 1;
	return id;
}

bool kring_lease_complete(struct kring *k, uint32_t id, uint32_t end)
{
	const uint32_t leased = k->leases[id] & ~KRING_LEASE_BUSY;
	bool moved = false;

	if (end != leased) {
		if ((id + 1 == k->num_slots ? 0 : id + 1) == k->lease_next) {
			k->hwlease = end; /* the newest: the slots go back */
		} else {
			/* Leases after it start at its end: fill the gap. */
			for (uint32_t i = end; i != leased; i = kring_next(k, i)) {
				k->ring->slot[i].len = 0;
				k->ring->slot[i].flags = 0;
			}
			end = leased;
		}
	}
	k->leases[id] = end;
	/* Publish leases in the order they were taken: stop at a busy one. */
	while (k->lease_first != k->lease_next && !(k->leases[k->lease_first] & KRING_LEASE_BUSY)) {
		k->hwtail = k->leases[k->lease_first];
		k->lease_first = k->lease_first + 1 == k->num_slots ? 0 : k->lease_first + 1;
		moved = true;
	}
	if (moved)
		kring_sync_finalize(k);
	return moved;
}
