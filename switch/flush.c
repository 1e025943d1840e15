/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * flush: the forwarding core of a switch (netmap's preflush + flush).
 *
 * One call of bdg_forward() handles one batch of one TX ring in four steps:
 *   1. preflush: gather the slots, group NS_MOREFRAG chains into packets,
 *      drop bad slots (buffer index or length out of range);
 *   2. lookup: one ops->lookup per packet; build, per destination ring
 *      ("dr": a port and one of its RX rings), its demand in slots and the
 *      list of its unicast packets. Broadcast packets go on one shared list
 *      that every destination merges with its own, in batch order;
 *   3. reserve: per destination ring, lease the slots that fit; a lossless
 *      source locks all its destination rings at once and stops the batch at
 *      the first packet that does not fit everywhere it goes;
 *   4. copy and publish: copy each packet once from the source buffers into
 *      the leased slots, complete the lease, notify the port.
 * Monitors (bdg.h) get copies with leases of their own: what a port
 * received from its RX slots just before they are published, what it sent
 * from the source buffers before its TX slots are returned.
 */
#include "bdg_impl.h"
#include "flowhash.h"
#include "mem.h"
#include "offload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NIL 0xffff
#define ETH_HLEN 14
#define DR_MAX (BDG_MAXPORTS * BDG_MAXRINGS)

struct fwd_frag {
	const uint8_t *buf;
	uint32_t len;
	uint16_t flags; /* the slot's, as preflush read them */
};

struct fwd_pkt {
	uint16_t first; /* its first fragment in frag[] */
	uint16_t nfrags;
	uint32_t len;	   /* bytes, all fragments */
	uint32_t hash;	   /* flow hash, valid when has_hash */
	uint32_t end_slot; /* source TX slot after its last fragment */
	uint16_t next;	   /* next packet of the same list (a dr's, or broadcast) */
	uint16_t unused;   /* keeps the size at 32 bytes (below) */
	uint8_t dst;	   /* a port, BDG_BROADCAST or BDG_NOPORT */
	bool has_hash;
	bool offload;	  /* its virtio-net header asks for checksum or GSO */
	uint16_t segs;	  /* with offload: frames a port without header gets */
	uint32_t seg_len; /* with offload: the longest of those frames */
};

/*
 * What sizes the segments of an offloaded packet, fetched once from the
 * sender's buffers by offload_probe() and never again: its virtio-net header
 * and the first bytes of its frame, which hold every header the segments
 * are cut by (Ethernet, two VLAN tags, IPv4 with options, TCP with options:
 * 142 bytes at most). Segmenting uses these copies, so a sender rewriting
 * its buffer in between changes what the segments carry, never their sizes.
 */
#define OFF_HEAD_MAX 160
struct fwd_off {
	struct vnet_hdr h;
	uint32_t head_len;
	uint8_t head[OFF_HEAD_MAX];
};

/* A destination ring of this batch. Valid only while the batch holds the
 * switch lock: dr_reset() forgets it before the lock goes (bdg.h, lifetime). */
struct fwd_dr {
	struct bdg_port *port;
	struct kring *kr;
	uint16_t key; /* its dr_of[] entry: port index * BDG_MAXRINGS + ring */
	uint16_t ring;
	uint16_t uhead, utail; /* its unicast packets */
	uint32_t npkts;	       /* packets it should get, broadcast included */
	uint32_t nslots;       /* slots they need */
	uint32_t used;	       /* lossless: slots claimed so far in the walk */
	uint32_t take;	       /* slots leased */
	uint32_t lease_id;
	uint32_t lease_start;
};

struct bdg_scratch {
	struct fwd_frag frag[BDG_BATCH];
	struct fwd_pkt pkt[BDG_BATCH];
	struct fwd_dr dr[DR_MAX];
	uint16_t dr_of[DR_MAX]; /* port * BDG_MAXRINGS + ring -> dr index, or NIL */
	uint32_t n_dr;
	uint16_t src_hdr;	      /* the source port's virtio-net header length */
	uint64_t batch_bytes;	      /* bytes of the packets preflush gathered */
	uint32_t src_buf_size;	      /* the source ring's buffer size */
	struct fwd_dr *order[DR_MAX]; /* lossless: dr sorted by kring address */
	uint16_t bhead, btail;	      /* broadcast packets */
	/* Offloads done in software: per offloaded packet what sizes it, the
	 * packet made whole, and one segment. */
	struct fwd_off off[BDG_BATCH];
	uint16_t linear_pkt; /* the packet in linear[], or NIL */
	uint32_t linear_len;
	uint8_t linear[65536 + 64];
	uint8_t seg[65536 + 64];
};

/* 32 bytes: an index is a shift, and no packet straddles two cache lines. At
 * 28 (without the unused field) bench_core's 60-byte rate fell by about 3%. */
_Static_assert(sizeof(struct fwd_pkt) == 32, "struct fwd_pkt is 32 bytes");

struct bdg_scratch *bdg_scratch_create(void)
{
	struct bdg_scratch *s = malloc(sizeof(*s));

	if (!s)
		return NULL;
	memset(s->dr_of, 0xff, sizeof(s->dr_of));
	s->n_dr = 0;
	s->linear_pkt = NIL;
	return s;
}

void bdg_scratch_destroy(struct bdg_scratch *s)
{
	free(s);
}

/* Slots a packet of len bytes takes in a ring whose slots hold slot_max
 * bytes each (kring.h: the buffer size, at most what a slot's len holds). */
static inline uint32_t pkt_slots(uint32_t len, uint32_t slot_max)
{
	return len <= slot_max ? 1 : (len + slot_max - 1) / slot_max;
}

/* Bytes packet k has at a destination whose header length is dst_hdr: the
 * source's virtio-net header is replaced by the destination's. */
static inline uint32_t dst_len(const struct bdg_scratch *s, const struct fwd_pkt *k,
			       uint16_t dst_hdr)
{
	return k->len - s->src_hdr + dst_hdr;
}

/* Slots packet k takes in destination ring d. A port without a virtio-net
 * header gets an offloaded packet as its segments, checksums done. */
static inline uint32_t dr_slots(const struct bdg_scratch *s, const struct fwd_pkt *k,
				const struct fwd_dr *d)
{
	if (__builtin_expect(k->offload, 0) && d->port->hdr_len == 0)
		return k->segs * pkt_slots(k->seg_len, d->kr->slot_max);
	return pkt_slots(dst_len(s, k, d->port->hdr_len), d->kr->slot_max);
}

/* The RX ring of port p that packet k goes to: one flow, one ring. */
static inline uint16_t pkt_ring(struct bdg_scratch *s, struct fwd_pkt *k, const struct bdg_port *p)
{
	if (p->n_rx == 1)
		return 0;
	if (!k->has_hash) {
		const struct fwd_frag *f = &s->frag[k->first];
		k->hash = flowhash_frame(f->buf + s->src_hdr, f->len - s->src_hdr);
		k->has_hash = true;
	}
	return (uint16_t)(k->hash % p->n_rx);
}

static inline struct fwd_dr *dr_get(struct bdg_scratch *s, struct bdg_port *p, uint16_t ring)
{
	uint32_t key = (uint32_t)p->idx * BDG_MAXRINGS + ring;
	struct fwd_dr *d;

	if (s->dr_of[key] != NIL)
		return &s->dr[s->dr_of[key]];
	s->dr_of[key] = (uint16_t)s->n_dr;
	d = &s->dr[s->n_dr++];
	d->port = p;
	d->kr = &p->rx[ring];
	d->key = (uint16_t)key;
	d->ring = ring;
	d->uhead = d->utail = NIL;
	d->npkts = d->nslots = d->used = d->take = 0;
	return d;
}

/*
 * Forget the batch's destinations; the switch lock must still be held. The
 * keys are the batch's own: the ports are not read, and no entry naming a
 * port outlives the batch, so a port detached after the lock goes (and
 * freed, or replaced at its index) is never reached from the scratch space.
 */
static void dr_reset(struct bdg_scratch *s)
{
	for (uint32_t i = 0; i < s->n_dr; i++) {
		struct fwd_dr *d = &s->dr[i];
		s->dr_of[d->key] = NIL;
		d->port = NULL;
		d->kr = NULL;
	}
	s->n_dr = 0;
}

static inline void list_append(struct bdg_scratch *s, uint16_t *head, uint16_t *tail, uint16_t i)
{
	s->pkt[i].next = NIL;
	if (*tail == NIL)
		*head = i;
	else
		s->pkt[*tail].next = i;
	*tail = i;
}

/* Iterate a dr's packets in batch order: its unicast list merged with the
 * broadcast packets whose flow maps to its ring. */
struct dr_iter {
	uint16_t u, b;
};

static inline void dr_iter_init(const struct bdg_scratch *s, const struct fwd_dr *d,
				struct dr_iter *it)
{
	it->u = d->uhead;
	it->b = s->bhead;
}

static inline uint16_t dr_iter_next(struct bdg_scratch *s, const struct fwd_dr *d,
				    struct dr_iter *it)
{
	uint16_t r;

	while (it->b != NIL && d->port->n_rx > 1 && pkt_ring(s, &s->pkt[it->b], d->port) != d->ring)
		it->b = s->pkt[it->b].next;
	if (it->u != NIL && (it->b == NIL || it->u < it->b)) {
		r = it->u;
		it->u = s->pkt[r].next;
	} else {
		r = it->b;
		if (r != NIL)
			it->b = s->pkt[r].next;
	}
	return r;
}

/*
 * Step 1: gather up to `avail` slots from hwcur into packets. Returns the
 * packet count; *ret_end is the TX slot after the last whole packet. A chain
 * still open at the end of what the client queued stays for the next call;
 * a chain longer than BDG_MAXFRAGS, a runt or a bad slot makes the packet
 * a drop (counted, and a bad slot reinitialises the ring after this sync).
 */
static uint32_t preflush(struct kring *kr, uint32_t avail, struct bdg_scratch *s, uint32_t *ret_end)
{
	const struct netmap_ring *ring = kr->ring;
	uint32_t pos = kr->hwcur, end = kr->hwcur;
	uint32_t nf = 0, np = 0;

	if (avail > BDG_BATCH)
		avail = BDG_BATCH;
	s->batch_bytes = 0;
	while (nf < avail) {
		struct fwd_pkt *k = &s->pkt[np];
		bool bad = false, open = true;

		k->first = (uint16_t)nf;
		k->nfrags = 0;
		k->len = 0;
		k->has_hash = false;
		while (open && nf < avail) {
			/* Read each field of the shared slot once. */
			const struct netmap_slot *slot = &ring->slot[pos];
			uint32_t idx = slot->buf_idx, len = slot->len;
			uint16_t flags = slot->flags;
			struct fwd_frag *f = &s->frag[nf];

			f->flags = flags;
			if (kring_buf_ok(kr, idx) && len <= kr->buf_size) {
				f->buf = (const uint8_t *)kr->buf0 + (size_t)idx * kr->buf_size;
				f->len = len;
			} else {
				bad = true;
				f->buf = NULL;
				f->len = 0;
			}
			k->nfrags++;
			k->len += f->len;
			nf++;
			pos = kring_next(kr, pos);
			open = (flags & NS_MOREFRAG) && k->nfrags < BDG_MAXFRAGS;
			if (!open && (flags & NS_MOREFRAG))
				bad = true; /* chain too long */
		}
		if (open)
			break; /* unfinished chain: wait for the rest */
		k->end_slot = pos;
		end = pos;
		s->batch_bytes += k->len;
		k->dst = BDG_NOPORT;
		if (bad || s->frag[k->first].len < (uint32_t)s->src_hdr + ETH_HLEN) {
			__atomic_fetch_add(&kr->stats.bad_slots, 1, __ATOMIC_RELAXED);
			if (bad)
				kr->need_reinit = true;
			k->nfrags = 0; /* dropped here: no lookup, no copy */
		}
		np++;
	}
	*ret_end = end;
	return np;
}

/* Out of line: only offloaded packets need it, and inlined it made the
 * per-packet loop of plain traffic about 3% slower (bench core, 60 B). */
__attribute__((noinline)) static void offload_probe(struct bdg_scratch *s, struct fwd_pkt *k,
						    uint16_t i);

/* Step 2: one lookup per packet; build each destination ring's demand. */
static void lookup(struct bdg *b, struct bdg_port *src, struct bdg_scratch *s, uint32_t np)
{
	const uint32_t now = b->clock();

	s->bhead = s->btail = NIL;
	for (uint32_t i = 0; i < np; i++) {
		struct fwd_pkt *k = &s->pkt[i];
		const struct fwd_frag *f = &s->frag[k->first];
		struct bdg_pkt pk;
		struct fwd_dr *d;
		uint8_t dst;

		if (k->nfrags == 0)
			continue;
		k->offload = false;
		if (s->src_hdr)
			offload_probe(s, k, (uint16_t)i);
		pk.data = f->buf + s->src_hdr;
		pk.len = f->len - s->src_hdr;
		pk.total_len = k->len - s->src_hdr;
		pk.slot_flags = f->flags;
		pk.src_port = src->idx;
		dst = b->ops.lookup(b->priv, &pk, now);
		if (dst == BDG_BROADCAST) {
			k->dst = dst;
			list_append(s, &s->bhead, &s->btail, (uint16_t)i);
			for (uint32_t j = 0; j < b->n_active; j++) {
				struct bdg_port *p = b->ports[b->active[j]];
				if (p == src)
					continue;
				d = dr_get(s, p, pkt_ring(s, k, p));
				d->npkts++;
				d->nslots += dr_slots(s, k, d);
			}
		} else if (dst < BDG_MAXPORTS && dst != src->idx && b->ports[dst]) {
			struct bdg_port *p = b->ports[dst];
			k->dst = dst;
			d = dr_get(s, p, pkt_ring(s, k, p));
			list_append(s, &d->uhead, &d->utail, (uint16_t)i);
			d->npkts++;
			d->nslots += dr_slots(s, k, d);
		} /* else: no port, or the source itself: dropped (k->dst stays NOPORT) */
	}
}

/* Slots of the longest prefix of d's packets that fits in space. */
static uint32_t fit_prefix(struct bdg_scratch *s, const struct fwd_dr *d, uint32_t space)
{
	struct dr_iter it;
	uint32_t used = 0;
	uint16_t i;

	if (d->nslots == d->npkts) /* one slot each, the usual case */
		return space < d->npkts ? space : d->npkts;
	dr_iter_init(s, d, &it);
	while ((i = dr_iter_next(s, d, &it)) != NIL) {
		uint32_t n = dr_slots(s, &s->pkt[i], d);
		if (used + n > space)
			break;
		used += n;
	}
	return used;
}

/* Free slots of a destination ring (lock held), re-reading the client's
 * head once when they are too few: that is the bounded retry. */
static uint32_t dr_space(const struct fwd_dr *d)
{
	uint32_t space = kring_rx_space(d->kr);

	if (space < d->nslots) {
		kring_rxsync(d->kr);
		space = kring_rx_space(d->kr);
	}
	return space;
}

/* Step 3, default: lease what fits in each destination ring. */
static void reserve(struct bdg_scratch *s)
{
	for (uint32_t j = 0; j < s->n_dr; j++) {
		struct fwd_dr *d = &s->dr[j];

		kring_lock(d->kr);
		d->take = fit_prefix(s, d, dr_space(d));
		if (d->take)
			d->lease_id = kring_lease(d->kr, d->take, &d->lease_start);
		kring_unlock(d->kr);
	}
}

static int cmp_dr_kring(const void *a, const void *b)
{
	const struct fwd_dr *x = *(struct fwd_dr *const *)a, *y = *(struct fwd_dr *const *)b;
	return x->kr < y->kr ? -1 : x->kr > y->kr;
}

/* Does packet k fit in d (lossless walk)? */
static inline bool dr_fits(const struct bdg_scratch *s, const struct fwd_dr *d,
			   const struct fwd_pkt *k)
{
	return d->used + dr_slots(s, k, d) <= d->take;
}

static inline void dr_claim(const struct bdg_scratch *s, struct fwd_dr *d, const struct fwd_pkt *k)
{
	d->used += dr_slots(s, k, d);
}

/* The dr of packet k at port p (it exists: lookup() created it). */
static inline struct fwd_dr *dr_of_pkt(struct bdg_scratch *s, struct fwd_pkt *k, struct bdg_port *p)
{
	return &s->dr[s->dr_of[(uint32_t)p->idx * BDG_MAXRINGS + pkt_ring(s, k, p)]];
}

/*
 * Step 3, lossless source: lock every destination ring (in address order, so
 * two lossless sources cannot deadlock), find the first packet that does not
 * fit in all of its destinations, and lease exactly what the packets before
 * it need. Returns that packet's index (np if all fit).
 */
static uint32_t reserve_lossless(struct bdg *b, struct bdg_port *src, struct bdg_scratch *s,
				 uint32_t np)
{
	struct fwd_dr **order = s->order;
	uint32_t cut = np;

	for (uint32_t j = 0; j < s->n_dr; j++)
		order[j] = &s->dr[j];
	qsort(order, s->n_dr, sizeof(order[0]), cmp_dr_kring);
	for (uint32_t j = 0; j < s->n_dr; j++) {
		kring_lock(order[j]->kr);
		order[j]->take = dr_space(order[j]); /* room, for the walk below */
	}
	for (uint32_t i = 0; i < np && cut == np; i++) {
		struct fwd_pkt *k = &s->pkt[i];

		if (k->nfrags == 0 || k->dst == BDG_NOPORT)
			continue;
		if (k->dst != BDG_BROADCAST) {
			struct fwd_dr *d = dr_of_pkt(s, k, b->ports[k->dst]);
			if (dr_fits(s, d, k))
				dr_claim(s, d, k);
			else
				cut = i;
			continue;
		}
		for (uint32_t j = 0; j < b->n_active && cut == np; j++) {
			struct bdg_port *p = b->ports[b->active[j]];
			if (p != src && !dr_fits(s, dr_of_pkt(s, k, p), k))
				cut = i;
		}
		for (uint32_t j = 0; j < b->n_active && cut == np; j++) {
			struct bdg_port *p = b->ports[b->active[j]];
			if (p != src)
				dr_claim(s, dr_of_pkt(s, k, p), k);
		}
	}
	for (uint32_t j = s->n_dr; j-- > 0;) {
		struct fwd_dr *d = order[j];
		d->take = d->used;
		if (d->take)
			d->lease_id = kring_lease(d->kr, d->take, &d->lease_start);
		kring_unlock(d->kr);
	}
	return cut;
}

/*
 * Copy len bytes; whole 64-byte blocks when both buffers have the room. In a
 * region several ports share (mem_id), a sender may name the destination's
 * own RX buffer in its TX slot: source and destination are then the same
 * buffer (buffers of one region never overlap otherwise), which a block
 * copy (each 64-byte load before its store) handles, and memmove, not
 * memcpy, covers the cut copies that may start inside it (writer_put).
 */
static inline void copy_frame(uint8_t *dst, const uint8_t *src, uint32_t len, uint32_t room)
{
	uint32_t rounded = (len + 63) & ~63u;

	if (rounded > room) {
		memmove(dst, src, len);
		return;
	}
	for (uint32_t off = 0; off < rounded; off += 64)
		__builtin_memcpy(dst + off, src + off, 64);
}

/* The daemon address of an RX slot's buffer; a bad index (the client wrote
 * it) gets buffer 0 of the same region, a sink, and a reinit later. */
static inline uint8_t *rx_slot_buf(struct kring *kr, const struct netmap_slot *slot)
{
	uint32_t idx = slot->buf_idx;

	if (!kring_buf_ok(kr, idx)) {
		__atomic_fetch_add(&kr->stats.bad_slots, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&kr->need_reinit, true, __ATOMIC_RELAXED);
		idx = 0;
	}
	return (uint8_t *)kr->buf0 + (size_t)idx * kr->buf_size;
}

/*
 * Write a virtio-net header of hdr_len bytes saying "no offload": flags and
 * GSO type 0 and, in the 12-byte form, num_buffers = 1 (one buffer chain).
 */
static inline void vnet_hdr_plain(uint8_t *h, uint16_t hdr_len)
{
	memset(h, 0, hdr_len);
	if (hdr_len == 12)
		h[10] = 1; /* num_buffers, little endian */
}

/*
 * Writes one packet into consecutive slots of an RX ring, chaining them
 * with NS_MOREFRAG when the packet is longer than a slot holds, within the
 * slots leased for that packet: a packet that would need more is cut there
 * and marked `over`, and the caller drops it (its slots are reused or given
 * back), so no write ever lands outside the lease.
 */
struct slot_writer {
	struct kring *kr;
	uint32_t pos;
	uint32_t left; /* leased slots after pos */
	bool over;     /* the packet did not fit its slots */
	struct netmap_slot *slot;
	uint8_t *dst;
	uint32_t filled;
};

/* Start at slot pos, with nslots (>= 1) slots leased for the packet. */
static inline void writer_start(struct slot_writer *w, struct kring *kr, uint32_t pos,
				uint32_t nslots)
{
	w->kr = kr;
	w->pos = pos;
	w->left = nslots - 1;
	w->over = false;
	w->slot = &kr->ring->slot[pos];
	w->dst = rx_slot_buf(kr, w->slot);
	w->filled = 0;
}

/* Move to the next leased slot; false (and over) when there is none. */
static bool writer_next(struct slot_writer *w)
{
	if (!w->left) {
		w->over = true;
		return false;
	}
	w->left--;
	w->pos = kring_next(w->kr, w->pos);
	w->slot = &w->kr->ring->slot[w->pos];
	w->dst = rx_slot_buf(w->kr, w->slot);
	w->filled = 0;
	return true;
}

static void writer_put(struct slot_writer *w, const uint8_t *src, uint32_t len)
{
	const uint32_t bsz = w->kr->slot_max;

	while (len && !w->over) {
		uint32_t n = len;
		if (w->filled == bsz) {
			w->slot->len = (uint16_t)w->filled;
			w->slot->flags = NS_MOREFRAG;
			if (!writer_next(w))
				return;
		}
		if (n > bsz - w->filled)
			n = bsz - w->filled;
		memmove(w->dst + w->filled, src, n); /* may overlap: see copy_frame */
		w->filled += n;
		src += n;
		len -= n;
	}
}

/* Close the current frame in its last slot. */
static inline void writer_close(struct slot_writer *w)
{
	w->slot->len = (uint16_t)w->filled;
	w->slot->flags = 0;
}

/* Close the packet: *pos becomes the slot after it; false (and *pos left
 * alone) if it was over. */
static inline bool writer_end(struct slot_writer *w, uint32_t *pos)
{
	if (w->over)
		return false;
	writer_close(w);
	*pos = kring_next(w->kr, w->pos);
	return true;
}

/*
 * Copy packet k into kr's nslots slots from *pos; *pos becomes the slot
 * after it. False (*pos unchanged) if it did not fit them. Equal header
 * lengths copy the header as data; 10 and 12 bytes convert (the offload
 * fields are the same); a port without header gets none, and one with a
 * header from a port without gets a plain one (no offloads).
 */
static bool copy_pkt(const struct bdg_scratch *s, const struct fwd_pkt *k, struct kring *kr,
		     uint16_t dst_hdr, uint32_t *pos, uint32_t nslots)
{
	const uint32_t bsz = kr->buf_size;
	struct slot_writer w;
	uint32_t skip = 0;

	/* One slot (nslots counts what fits in a slot's len) for one. */
	if (dst_hdr == s->src_hdr && k->nfrags == 1 && nslots == 1) {
		const struct fwd_frag *f = &s->frag[k->first];
		struct netmap_slot *slot = &kr->ring->slot[*pos];
		copy_frame(rx_slot_buf(kr, slot), f->buf, f->len,
			   bsz < s->src_buf_size ? bsz : s->src_buf_size);
		slot->len = (uint16_t)f->len;
		slot->flags = 0;
		*pos = kring_next(kr, *pos);
		return true;
	}
	/* Fragments, other buffer sizes or other headers: fill slot by slot. */
	writer_start(&w, kr, *pos, nslots);
	if (dst_hdr != s->src_hdr) {
		uint8_t h[12];
		vnet_hdr_plain(h, dst_hdr);
		if (dst_hdr && s->src_hdr) /* 10 <-> 12: same offload fields */
			memcpy(h, s->frag[k->first].buf, 10);
		writer_put(&w, h, dst_hdr);
		skip = s->src_hdr;
	}
	for (uint32_t j = 0; j < k->nfrags; j++) {
		const struct fwd_frag *f = &s->frag[k->first + j];
		uint32_t off = j == 0 ? skip : 0; /* the source header is in the first */
		writer_put(&w, f->buf + off, f->len - off);
	}
	return writer_end(&w, pos);
}

/* Packet i (k) made whole in s->linear without its virtio-net header, its
 * headers those offload_probe() fetched (s->off[i]), with its checksum
 * completed when the header asked for it. */
static void linearize(struct bdg_scratch *s, const struct fwd_pkt *k, uint16_t i)
{
	const struct fwd_off *o = &s->off[i];
	uint32_t n = 0;

	if (s->linear_pkt == i)
		return;
	for (uint32_t j = 0; j < k->nfrags; j++) {
		const struct fwd_frag *f = &s->frag[k->first + j];
		uint32_t off = j == 0 ? s->src_hdr : 0;
		uint32_t len = f->len - off;
		if (n + len > sizeof(s->linear))
			len = (uint32_t)sizeof(s->linear) - n;
		memcpy(s->linear + n, f->buf + off, len);
		n += len;
	}
	/* The bytes that size the segments: the copies the plan was made of. */
	memcpy(s->linear, o->head, o->head_len);
	s->linear_len = n;
	s->linear_pkt = i;
	if ((o->h.flags & VNET_HDR_F_NEEDS_CSUM) && (o->h.gso_type & ~VNET_HDR_GSO_ECN) == 0)
		offload_csum_complete(s->linear, n, o->h.csum_start, o->h.csum_offset);
}

/*
 * Packet k asks for offloads (its virtio-net header says so): note it, and
 * what a port without header will get of it, its segments (GSO) or the frame
 * with its checksum done. The header and the first OFF_HEAD_MAX bytes of the
 * frame are fetched here, once, into s->off[i]; the plan and, later, the
 * segments are made from those copies alone (see struct fwd_off). The packet
 * is made whole only for a port that needs the work.
 */
static void offload_probe(struct bdg_scratch *s, struct fwd_pkt *k, uint16_t i)
{
	struct fwd_off *o = &s->off[i];
	const uint32_t len = k->len - s->src_hdr; /* the frame, without header */
	uint32_t longest;
	int n;

	offload_hdr_parse(s->frag[k->first].buf, &o->h);
	k->offload = offload_needed(&o->h);
	if (!k->offload)
		return;
	o->head_len = 0;
	for (uint32_t j = 0; j < k->nfrags && o->head_len < OFF_HEAD_MAX; j++) {
		const struct fwd_frag *f = &s->frag[k->first + j];
		uint32_t off = j == 0 ? s->src_hdr : 0, take = f->len - off;
		if (take > OFF_HEAD_MAX - o->head_len)
			take = OFF_HEAD_MAX - o->head_len;
		memcpy(o->head + o->head_len, f->buf + off, take);
		o->head_len += take;
	}
	n = offload_segment_plan(o->head, o->head_len, len, &o->h, &longest);
	if (n > 0 && n <= BDG_MAXFRAGS * 16 && longest <= sizeof(s->seg) &&
	    len <= sizeof(s->linear)) {
		k->segs = (uint16_t)n;
		k->seg_len = longest;
		return;
	}
	/* A GSO frame we cannot cut (UDP, unparsable, larger than any frame
	 * can be): it goes as it is. */
	k->offload = false;
}

/*
 * Deliver an offloaded packet to a port without header, in its nslots
 * slots from *pos: its segments, or the frame with its checksum done; *pos
 * becomes the slot after the last. False (*pos unchanged) if they did not
 * fit those slots. The segments are cut from s->linear, whose headers are
 * offload_probe()'s copies: they are exactly the plan's (k->segs frames of
 * at most k->seg_len bytes).
 */
static bool copy_pkt_soft(struct bdg_scratch *s, const struct fwd_pkt *k, uint16_t i,
			  struct kring *kr, uint32_t *pos, uint32_t nslots)
{
	const struct vnet_hdr *h = &s->off[i].h;
	struct slot_writer w;

	linearize(s, k, i);
	writer_start(&w, kr, *pos, nslots);
	if ((h->gso_type & ~VNET_HDR_GSO_ECN) == VNET_HDR_GSO_NONE) {
		writer_put(&w, s->linear, s->linear_len);
		return writer_end(&w, pos);
	}
	for (uint32_t seg = 0; seg < k->segs; seg++) {
		int len = offload_segment(s->linear, s->linear_len, h, seg, s->seg, sizeof(s->seg));
		if (seg > 0) {
			writer_close(&w);
			if (!writer_next(&w))
				return false;
		}
		writer_put(&w, s->seg, len > 0 ? (uint32_t)len : 0);
	}
	return writer_end(&w, pos);
}

/*
 * Monitors. A copy is slot for slot: a monitor's buffers are at least the
 * monitored port's (the registry makes them equal), so each slot of the
 * port becomes one slot of the monitor, NS_MOREFRAG chains included; a
 * longer slot would be cut to the monitor's buffer size. What does not fit
 * is dropped on the monitor at a packet boundary, after re-reading the
 * client's head once, never waited for.
 */

/* Free slots of monitor ring kr (lock held), re-reading its client's head
 * once when fewer than want. */
static uint32_t mon_space(struct kring *kr, uint32_t want)
{
	uint32_t space = kring_rx_space(kr);

	if (space < want) {
		kring_rxsync(kr);
		space = kring_rx_space(kr);
	}
	return space;
}

static void mon_publish(struct bdg_port *mon, uint32_t ring, struct kring *kr, uint32_t id,
			uint32_t end, uint64_t pkts, uint64_t bytes, uint64_t drops)
{
	bool moved;

	__atomic_fetch_add(&kr->stats.packets, pkts, __ATOMIC_RELAXED);
	__atomic_fetch_add(&kr->stats.bytes, bytes, __ATOMIC_RELAXED);
	if (drops)
		__atomic_fetch_add(&kr->stats.drops, drops, __ATOMIC_RELAXED);
	kring_lock(kr);
	moved = kring_lease_complete(kr, id, end);
	kring_unlock(kr);
	if (moved && mon->notify)
		mon->notify(mon, ring, mon->notify_arg);
}

/* Write one monitor slot at pos from len bytes at src; returns the next. */
static inline uint32_t mon_slot(struct kring *kr, uint32_t pos, const uint8_t *src, uint32_t len,
				uint32_t src_room, uint16_t flags)
{
	struct netmap_slot *slot = &kr->ring->slot[pos];

	if (len > src_room)
		len = src_room;
	if (len > kr->slot_max)
		len = kr->slot_max;
	copy_frame(rx_slot_buf(kr, slot), src, len,
		   kr->buf_size < src_room ? kr->buf_size : src_room);
	slot->len = (uint16_t)len;
	slot->flags = flags;
	return kring_next(kr, pos);
}

/*
 * Read the flags of src's slots [from, to) once, into src->slot_flags (the
 * caller owns those slots, so their entries: kring.h). Returns how many
 * packets they end.
 */
static uint32_t read_flags(struct kring *src, uint32_t from, uint32_t to)
{
	uint32_t pkts = 0;

	for (uint32_t q = from; q != to; q = kring_next(src, q)) {
		uint16_t fl = src->ring->slot[q].flags;
		src->slot_flags[q] = fl;
		pkts += !(fl & NS_MOREFRAG);
	}
	return pkts;
}

/* The longest run of whole packets among the `space` slots of src from
 * `from`, by the flags read_flags() copied. */
static uint32_t whole_packets(const struct kring *src, uint32_t from, uint32_t space)
{
	uint32_t take = 0;

	for (uint32_t j = 0, q = from; j < space; j++, q = kring_next(src, q))
		if (!(src->slot_flags[q] & NS_MOREFRAG))
			take = j + 1;
	return take;
}

void bdg_monitor_copy(struct bdg_port *m, uint32_t ring, struct kring *src, uint32_t from,
		      uint32_t to, uint64_t npkts, uint16_t flags)
{
	const uint32_t n = kring_dist(src, from, to);
	struct kring *kr = &m->rx[ring % m->n_rx];
	uint32_t space, take = n, id = 0, start = 0, pos, p = from;
	uint64_t pkts = 0, bytes = 0;

	if (!n)
		return;
	read_flags(src, from, to);
	kring_lock(kr);
	space = mon_space(kr, n);
	if (space < n)
		take = whole_packets(src, from, space);
	if (take)
		id = kring_lease(kr, take, &start);
	kring_unlock(kr);
	if (!take) {
		__atomic_fetch_add(&kr->stats.drops, npkts, __ATOMIC_RELAXED);
		return;
	}
	pos = start;
	for (uint32_t j = 0; j < take; j++, p = kring_next(src, p)) {
		const struct netmap_slot *ss = &src->ring->slot[p];
		uint32_t len = ss->len;
		uint16_t fl = src->slot_flags[p] & NS_MOREFRAG;

		/* We wrote this slot, but it lies in the client's memory: its
		 * index may have been changed, rx_slot_buf checks it. */
		pos = mon_slot(kr, pos, rx_slot_buf(src, ss), len, src->buf_size, fl | flags);
		bytes += len;
		pkts += !fl;
	}
	mon_publish(m, ring % m->n_rx, kr, id, pos, pkts, bytes, npkts > pkts ? npkts - pkts : 0);
}

/*
 * RX copies: the slots [from, to) of src (RX ring `ring` of a monitored
 * port, npkts packets) were just written under a lease not yet completed,
 * so the port's client cannot touch them: copy them into each RX monitor.
 */
static void mon_copy_rx(struct bdg_port *port, uint32_t ring, struct kring *src, uint32_t from,
			uint32_t to, uint64_t npkts)
{
	for (struct bdg_port *m = port->mon_rx; m; m = m->mon_next_rx)
		bdg_monitor_copy(m, ring, src, from, to, npkts, 0);
}

/* TX copies: packets [0, cut) of TX ring `ring` of src, but those dropped
 * as bad, to each TX monitor, as sent (NS_TXMON, as netmap marks them). */
static void mon_copy_tx(struct bdg_scratch *s, struct bdg_port *src, uint32_t ring, uint32_t cut)
{
	uint32_t need = 0, npkts = 0;

	for (uint32_t i = 0; i < cut; i++) {
		need += s->pkt[i].nfrags;
		npkts += s->pkt[i].nfrags != 0;
	}
	if (!need)
		return;
	for (struct bdg_port *m = src->mon_tx; m; m = m->mon_next_tx) {
		struct kring *kr = &m->rx[ring % m->n_rx];
		uint32_t space, take = need, id = 0, start = 0, pos, left;
		uint64_t pkts = 0, bytes = 0;

		kring_lock(kr);
		space = mon_space(kr, need);
		if (space < need) { /* the packets that fit whole */
			take = 0;
			for (uint32_t i = 0; i < cut && take + s->pkt[i].nfrags <= space; i++)
				take += s->pkt[i].nfrags;
		}
		if (take)
			id = kring_lease(kr, take, &start);
		kring_unlock(kr);
		if (!take) {
			__atomic_fetch_add(&kr->stats.drops, npkts, __ATOMIC_RELAXED);
			continue;
		}
		pos = start;
		left = take;
		for (uint32_t i = 0; i < cut && left >= s->pkt[i].nfrags; i++) {
			const struct fwd_pkt *k = &s->pkt[i];

			for (uint32_t j = 0; j < k->nfrags; j++) {
				const struct fwd_frag *f = &s->frag[k->first + j];
				uint16_t fl = NS_TXMON | (j + 1 < k->nfrags ? NS_MOREFRAG : 0);
				pos = mon_slot(kr, pos, f->buf, f->len, s->src_buf_size, fl);
			}
			left -= k->nfrags;
			bytes += k->len;
			pkts += k->nfrags != 0;
		}
		mon_publish(m, ring % m->n_rx, kr, id, pos, pkts, bytes, npkts - pkts);
	}
}

/*
 * Zero-copy monitors (bdg.h): the slots [from, to) of src change hands. The
 * monitor's free slots take their buffers, and they take the monitor's free
 * buffers. Only swaps fill a zero-copy monitor's rings, always under the
 * ring's lock, so no lease is outstanding there: the free slots start at
 * hwtail, and a swap (a few stores per slot) is done without leasing.
 * frag: NULL, or the slots [from, to) of src as bdg_forward's preflush read
 * them (TX), so that a slot read once for forwarding is not read again.
 */
static void zmon_swap(struct bdg_port *m, struct kring *src, uint32_t from, uint32_t to,
		      uint16_t flags, const struct fwd_frag *frag)
{
	const uint32_t n = kring_dist(src, from, to), ring = src->ringid % m->n_rx;
	struct kring *kr = &m->rx[ring];
	uint32_t space, take = n, pos, p = from, npkts = 0;
	uint64_t pkts = 0, bytes = 0;
	bool moved;

	if (!n)
		return;
	if (frag) {
		for (uint32_t j = 0, q = from; j < n; j++, q = kring_next(src, q)) {
			src->slot_flags[q] = frag[j].flags;
			npkts += !(frag[j].flags & NS_MOREFRAG);
		}
	} else {
		npkts = read_flags(src, from, to);
	}
	kring_lock(kr);
	space = mon_space(kr, n);
	if (space < n)
		take = whole_packets(src, from, space);
	pos = kr->hwtail;
	for (uint32_t j = 0; j < take; j++, p = kring_next(src, p)) {
		struct netmap_slot *ss = &src->ring->slot[p], *ms = &kr->ring->slot[pos];
		/* Both clients may write these slots under us: read each once. */
		uint32_t midx = ms->buf_idx, sidx, len;
		uint16_t fl = src->slot_flags[p] & NS_MOREFRAG;

		if (frag) {
			sidx =
			    (uint32_t)((frag[j].buf - (const uint8_t *)src->buf0) / src->buf_size);
			len = frag[j].len;
		} else {
			sidx = ss->buf_idx;
			len = ss->len;
		}

		/* Only buffers the owner record gives to each side change hands
		 * (ring/mem.h), and the record with them. */
		if (!kring_buf_ok(kr, midx) || !mem_owned_by(kr->owners, midx, kr->owner)) {
			/* the monitor spoiled its free slots */
			__atomic_fetch_add(&kr->stats.bad_slots, 1, __ATOMIC_RELAXED);
			break;
		}
		if (!kring_buf_ok(src, sidx) || !mem_owned_by(kr->owners, sidx, src->owner))
			continue; /* the port's client's garbage: nothing to show */
		mem_hand_over(kr->owners, sidx, kr->owner);
		mem_hand_over(kr->owners, midx, src->owner);
		ms->buf_idx = sidx;
		ms->len = (uint16_t)(len <= kr->slot_max ? len : kr->slot_max);
		ms->flags = fl | flags | NS_BUF_CHANGED;
		ss->buf_idx = midx;
		ss->flags = src->slot_flags[p] | NS_BUF_CHANGED;
		pos = kring_next(kr, pos);
		bytes += len;
		pkts += !fl;
	}
	moved = pos != kr->hwtail;
	if (moved) {
		kr->hwtail = kr->hwlease = pos;
		kring_sync_finalize(kr); /* release: the slots before hwtail */
	}
	kring_unlock(kr);
	__atomic_fetch_add(&kr->stats.packets, pkts, __ATOMIC_RELAXED);
	__atomic_fetch_add(&kr->stats.bytes, bytes, __ATOMIC_RELAXED);
	if (npkts > pkts)
		__atomic_fetch_add(&kr->stats.drops, npkts - pkts, __ATOMIC_RELAXED);
	if (moved && m->notify)
		m->notify(m, ring, m->notify_arg);
}

void bdg_zmon_release_rx(void *mon, struct kring *k, uint32_t from, uint32_t to)
{
	zmon_swap(mon, k, from, to, 0, NULL);
}

void bdg_zmon_release_tx(void *mon, struct kring *k, uint32_t from, uint32_t to)
{
	zmon_swap(mon, k, from, to, NS_TXMON, NULL);
}

/* TX: packets [0, cut) of TX ring `ring` of src go to its zero-copy
 * monitor, but those dropped as bad (never sent, as for copy monitors). */
static void zmon_swap_tx(struct bdg_scratch *s, struct bdg_port *src, uint32_t ring, uint32_t cut)
{
	struct kring *kr = &src->tx[ring];
	uint32_t run = kr->hwcur, pos = kr->hwcur;

	/* frag[j] is the batch's slot hwcur + j: each run's fragments. */
	for (uint32_t i = 0; i < cut; i++) {
		if (s->pkt[i].nfrags == 0) {
			zmon_swap(src->zmon_tx, kr, run, pos, NS_TXMON,
				  &s->frag[kring_dist(kr, kr->hwcur, run)]);
			run = s->pkt[i].end_slot;
		}
		pos = s->pkt[i].end_slot;
	}
	zmon_swap(src->zmon_tx, kr, run, pos, NS_TXMON, &s->frag[kring_dist(kr, kr->hwcur, run)]);
}

/* Step 4: copy d's packets below cut into its lease, publish, notify. */
static void deliver(struct bdg_scratch *s, struct fwd_dr *d, uint32_t cut, bool lossless)
{
	struct kring *kr = d->kr;
	const uint16_t dst_hdr = d->port->hdr_len;
	const uint32_t slot_max = kr->slot_max;
	uint32_t pos = d->lease_start, left = d->take, dl;
	uint64_t delivered = 0, bytes = 0, over = 0;
	struct dr_iter it;
	bool moved;

	dr_iter_init(s, d, &it);
	while (left) {
		uint16_t i = dr_iter_next(s, d, &it);
		const struct fwd_pkt *k;
		uint32_t n;
		bool ok;

		if (i == NIL || i >= cut)
			break;
		k = &s->pkt[i];
		dl = dst_len(s, k, dst_hdr);
		if (__builtin_expect(k->offload, 0) && dst_hdr == 0) {
			n = dr_slots(s, k, d);
			if (n > left)
				break;
			ok = copy_pkt_soft(s, k, i, kr, &pos, n);
		} else {
			n = pkt_slots(dl, slot_max);
			if (n > left)
				break;
			ok = copy_pkt(s, k, kr, dst_hdr, &pos, n);
		}
		left -= n;
		if (__builtin_expect(!ok, 0)) {
			/* More than planned: dropped, its slots go to the next
			 * packet (the lease completes short, kring.h). */
			over++;
			continue;
		}
		delivered++;
		bytes += dl;
	}
	__atomic_fetch_add(&kr->stats.packets, delivered, __ATOMIC_RELAXED);
	__atomic_fetch_add(&kr->stats.bytes, bytes, __ATOMIC_RELAXED);
	if (!lossless && d->npkts > delivered)
		__atomic_fetch_add(&kr->stats.drops, d->npkts - delivered, __ATOMIC_RELAXED);
	else if (over)
		__atomic_fetch_add(&kr->stats.drops, over, __ATOMIC_RELAXED);
	if (!d->take)
		return;
	/* Before the port's client may touch the slots: see mon_copy_rx. */
	if (__builtin_expect(d->port->mon_rx != NULL, 0))
		mon_copy_rx(d->port, d->ring, kr, d->lease_start, pos, delivered);
	kring_lock(kr);
	moved = kring_lease_complete(kr, d->lease_id, pos);
	kring_unlock(kr);
	if (moved && d->port->notify)
		d->port->notify(d->port, d->ring, d->port->notify_arg);
}

uint32_t bdg_forward(struct bdg_port *src, uint32_t ring, struct bdg_scratch *s)
{
	struct bdg *b = src->sw;
	struct kring *kr;
	uint32_t avail, np, cut, end, consumed;
	uint64_t bytes = 0;

	if (!b || ring >= src->n_tx)
		return 0;
	kr = &src->tx[ring];
	avail = kring_txsync_begin(kr);
	if (avail == 0)
		return 0;

	pthread_rwlock_rdlock(&b->lock);
	s->src_hdr = src->hdr_len;
	s->linear_pkt = NIL; /* packet indices are per batch */
	s->src_buf_size = kr->buf_size;
	np = preflush(kr, avail, s, &end);
	lookup(b, src, s, np);
	if (src->lossless) {
		cut = reserve_lossless(b, src, s, np);
	} else {
		reserve(s);
		cut = np;
	}
	for (uint32_t j = 0; j < s->n_dr; j++)
		deliver(s, &s->dr[j], cut, src->lossless);
	if (__builtin_expect(src->mon_tx != NULL, 0))
		mon_copy_tx(s, src, ring, cut);
	/* Last: the copies above read the buffers this gives away. */
	if (__builtin_expect(src->zmon_tx != NULL, 0))
		zmon_swap_tx(s, src, ring, cut);
	/* Before the lock goes: a detach waiting for it may free the ports
	 * this batch named as soon as it is released. */
	dr_reset(s);
	pthread_rwlock_unlock(&b->lock);
	/* From here on only src (which bdg_detach cannot take from under the
	 * thread that forwards it, see bdg.h) and private copies are used. */

	if (cut < np)
		end = cut == 0 ? kr->hwcur : s->pkt[cut - 1].end_slot;
	if (cut == np) {
		bytes = s->batch_bytes;
	} else {
		for (uint32_t i = 0; i < cut; i++)
			bytes += s->pkt[i].len;
	}
	consumed = kring_dist(kr, kr->hwcur, end);
	__atomic_fetch_add(&kr->stats.packets, cut, __ATOMIC_RELAXED);
	__atomic_fetch_add(&kr->stats.bytes, bytes, __ATOMIC_RELAXED);
	kring_txsync_done(kr, end);
	return consumed;
}
