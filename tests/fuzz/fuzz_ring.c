/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_ring - libFuzzer target: a client scribbling on its TX ring, against
 * the forwarding core (switch/bdg.h, flush.c) in this process.
 *
 * Ports are real VALE ports (ports/vport.h) with real regions and krings, on
 * a learning switch:
 *
 *      s0 (own region, 2048 B buffers)     l  (learned unicast, 2048 B)
 *      s1 (shared region, 128 B buffers)   p  (no virtio-net header: GSO cut)
 *         | one of them sends              m  (4 RX rings, flow hash, 1024 B)
 *         +------------> switch ---------> v  (the victim: shared region, 128 B)
 *
 *      c  a copy monitor (own region, 2048 B) of v's RX, the sender's TX, or both
 *      z  a zero-copy monitor (shared region) of v's RX, s1's TX, or both
 *
 * The input chooses the sender, the virtio-net header lengths of s, l, v and
 * m (p has none, so offloaded frames are cut in software), whether the
 * sender is lossless, what the monitors watch, then rounds: per round,
 * packets of chosen lengths split into chosen fragments (NS_MOREFRAG chains)
 * with a chosen frame template (raw bytes, or Ethernet/IPv4/TCP or UDP to a
 * chosen MAC, with a virtio-net header asking for checksum or GSO) and byte
 * patches over it (vnet header, IP and TCP lengths), then slot patches
 * (buf_idx, len, flags: s1 may name any buffer of the shared region, the
 * victim's included), head and cur as queued or scribbled, and what each
 * receiving client takes back.
 *
 * After every bdg_forward the rings are checked, as a client would see them:
 *   - every port's RX tail stays in the ring and moves forward by at most the
 *     free space its client left; published chains end without NS_MOREFRAG,
 *     slots have len <= buf_size, each frame is at least its header plus an
 *     Ethernet header;
 *   - the victim's slots and buffers outside what the switch published this
 *     time are unchanged (it never writes what the client owns; with a
 *     zero-copy monitor on v, which takes the slots v returned, only those
 *     the client still owns);
 *   - the victim's counters: as many packets as it got chains (fewer only when
 *     frames were cut), bytes as published, no drops for a lossless sender,
 *     no reinit (the victim is an honest client);
 *   - the sender's hwcur and hwtail stay in the ring, and bdg_forward consumes
 *     no more than was queued.
 *
 * Between inputs every ring goes back to its state at creation (kring_fini,
 * kring_init, the slots' buffers as vport_create gave them, and to their
 * owners in the region's record) and the switch is built again, so an
 * input runs the same way alone as in a campaign.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bdg.h"
#include "csb.h"
#include "fdb.h"
#include "kring.h"
#include "learn.h"
#include "mem.h"
#include "vport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ETH_HLEN 14
#define NPORTS 8    /* the switch's six and the two monitors */
#define NATTACHED 6 /* on the switch */
#define MAX_ROUNDS 16
#define MAX_RINGS 8 /* per port, both directions */
#define MAXSLOTS 256

enum { S0, S1, L, P, M, V, C, Z };

/* A port of the fixture and what its rings looked like at creation. */
struct fport {
	const char *name;
	struct vport *v;
	uint8_t mac[6];
	uint32_t n_rings;
	struct kring *kr[MAX_RINGS];
	struct netmap_slot init[MAX_RINGS][MAXSLOTS];
};

static struct {
	struct mem_region *shared;
	struct fport port[NPORTS];
	struct bdg_scratch *s;
	struct bdg *b;
	uint8_t *vbuf_before; /* the victim's buffers before a forward */
	struct netmap_slot vslot_before[MAXSLOTS];
} fx;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_ring: %s\n", what);
		abort();
	}
}

static uint32_t fixed_clock(void)
{
	return 1000;
}

/* ---- the input, read as a stream (zeros once it runs out) -------------- */

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static uint16_t u16(struct in *in)
{
	return (uint16_t)(u8(in) | u8(in) << 8);
}

static uint32_t u32(struct in *in)
{
	return (uint32_t)u16(in) | (uint32_t)u16(in) << 16;
}

/* ---- fixture ----------------------------------------------------------- */

static void fport_create(struct fport *f, const char *name, const struct vport_params *vp,
			 uint8_t host)
{
	struct bdg_port *bp;

	f->name = name;
	f->v = vport_create(vp);
	check(f->v != NULL, "vport_create failed");
	bp = vport_port(f->v);
	f->n_rings = 0;
	for (uint32_t i = 0; i < bdg_port_tx_rings(bp); i++)
		f->kr[f->n_rings++] = bdg_port_tx_kring(bp, i);
	for (uint32_t i = 0; i < bdg_port_rx_rings(bp); i++)
		f->kr[f->n_rings++] = bdg_port_rx_kring(bp, i);
	for (uint32_t r = 0; r < f->n_rings; r++) {
		check(f->kr[r]->num_slots <= MAXSLOTS, "fixture ring too large");
		memcpy(f->init[r], f->kr[r]->ring->slot,
		       f->kr[r]->num_slots * sizeof(struct netmap_slot));
	}
	f->mac[0] = 0x02;
	f->mac[5] = host;
}

static void fixture_init(void)
{
	const struct mem_params sp = {
	    .if_num = 4,
	    .if_size = (uint32_t)(sizeof(struct netmap_if) + 2 * BDG_MAXRINGS * sizeof(ssize_t)),
	    .ring_num = 8,
	    .ring_size = (uint32_t)vale_ring_size(MAXSLOTS),
	    .buf_num = MEM_BUF_RESERVED + 512,
	    .buf_size = 128,
	};
	struct vport_params p0 = {.name = "s0", .tx_slots = 64, .rx_slots = 64, .buf_size = 2048};
	struct vport_params p1 = {.name = "s1", .tx_slots = 64, .rx_slots = 64};
	struct vport_params pl = {.name = "l", .tx_slots = 2, .rx_slots = 64, .buf_size = 2048};
	struct vport_params pp = {.name = "p", .tx_slots = 2, .rx_slots = 256, .buf_size = 2048};
	struct vport_params pm = {
	    .name = "m", .tx_slots = 2, .rx_rings = 4, .rx_slots = 32, .buf_size = 1024};
	struct vport_params pv = {.name = "v", .tx_slots = 2, .rx_slots = 64};
	struct vport_params pc = {.name = "c", .tx_slots = 2, .rx_slots = 128, .buf_size = 2048};
	struct vport_params pz = {.name = "z", .tx_slots = 2, .rx_slots = 64};
	struct vport_params *all[NPORTS] = {&p0, &p1, &pl, &pp, &pm, &pv, &pc, &pz};
	struct fport *v = &fx.port[V];

	fx.shared = mem_create(&sp);
	check(fx.shared != NULL, "mem_create failed");
	p1.shared_mem = pv.shared_mem = pz.shared_mem = fx.shared;
	for (int i = 0; i < NPORTS; i++)
		fport_create(&fx.port[i], all[i]->name, all[i], (uint8_t)(i + 1));
	fx.s = bdg_scratch_create();
	check(fx.s != NULL, "bdg_scratch_create failed");
	fx.vbuf_before = malloc((size_t)v->kr[1]->num_slots * v->kr[1]->buf_size);
	check(fx.vbuf_before != NULL, "out of memory");
}

/* Every ring back to its state at creation; the victim's buffers zeroed. */
static void rings_reset(void)
{
	for (int i = 0; i < NPORTS; i++) {
		struct fport *f = &fx.port[i];
		for (uint32_t r = 0; r < f->n_rings; r++) {
			struct kring *k = f->kr[r];
			struct kring saved = *k;
			kring_fini(k);
			check(kring_init(k, saved.ring, saved.dir, saved.ringid, saved.num_slots,
					 saved.buf0, saved.buf_size, saved.buf_num) == 0,
			      "kring_init failed");
			/* What vport_create sets beside kring_init: the owner record. */
			k->owners = saved.owners;
			k->owner = saved.owner;
			memcpy(k->ring->slot, f->init[r],
			       k->num_slots * sizeof(struct netmap_slot));
			/* Buffers a zero-copy monitor moved go back to their owner. */
			for (uint32_t j = 0; j < k->num_slots; j++)
				mem_hand_over(k->owners, f->init[r][j].buf_idx, k->owner);
		}
	}
	struct kring *vk = fx.port[V].kr[1];
	for (uint32_t j = 0; j < vk->num_slots; j++)
		memset(vk->buf0 + (size_t)vk->ring->slot[j].buf_idx * vk->buf_size, 0,
		       vk->buf_size);
}

/* A new switch with every port attached and l, p, m, v's MACs learned. */
static void switch_build(void)
{
	struct fdb *t;

	fx.b = bdg_create("vale0", &learn_ops, learn_create(64, 300));
	check(fx.b != NULL, "bdg_create failed");
	bdg_set_clock(fx.b, fixed_clock);
	t = learn_fdb(bdg_ops_priv(fx.b));
	for (int i = 0; i < NATTACHED; i++) {
		struct bdg_port *bp = vport_port(fx.port[i].v);
		check(bdg_attach(fx.b, bp) >= 0, "bdg_attach failed");
		bdg_port_set_lossless(bp, false);
		bdg_port_set_vnet_hdr_len(bp, 0);
		if (i >= L)
			fdb_learn(t, fx.port[i].mac, bdg_port_index(bp), fixed_clock());
	}
}

/*
 * What the monitors watch: c (copy) and z (zero-copy), each none, v's RX,
 * the sender's TX (z: only s1's, in z's region) or v's RX and TX. Returns
 * whether z watches v's RX (then v's returned slots change hands).
 */
static bool monitors_attach(uint8_t mode, struct fport *src)
{
	static const unsigned dirs[4] = {0, BDG_MON_RX, BDG_MON_TX, BDG_MON_RX | BDG_MON_TX};
	struct bdg_port *v = vport_port(fx.port[V].v), *sp = vport_port(src->v);
	struct bdg_port *c = vport_port(fx.port[C].v), *z = vport_port(fx.port[Z].v);
	uint8_t cm = mode & 3, zm = (mode >> 2) & 3;

	if (cm)
		check(bdg_monitor_attach(cm == 2 ? sp : v, c, dirs[cm]) == 0,
		      "copy monitor attach failed");
	if (zm == 2 && src != &fx.port[S1])
		zm = 0; /* s0's buffers are in another region */
	if (zm)
		check(bdg_monitor_attach(zm == 2 ? sp : v, z, BDG_MON_ZCOPY | dirs[zm]) == 0,
		      "zero-copy monitor attach failed");
	return zm == 1 || zm == 3;
}

static void switch_free(void)
{
	for (int i = 0; i < NATTACHED; i++) /* monitors first, then the port */
		bdg_detach(vport_port(fx.port[i].v));
	check(bdg_destroy(fx.b) == 0, "bdg_destroy failed");
}

/* ---- the sender: packets into its TX ring ------------------------------ */

static const uint16_t hdr_lens[4] = {0, 10, 12, 12};

/* Frame template t of len bytes (vnet header of hlen first) into f. */
static void frame_template(struct in *in, uint8_t *f, uint32_t len, uint16_t hlen)
{
	uint8_t t = u8(in), *e = f + hlen;
	uint32_t l3 = len > hlen + ETH_HLEN ? len - hlen - ETH_HLEN : 0;
	uint16_t gso_size = (uint16_t)(u16(in) % 2048);

	memset(f, 0, len);
	if (t % 4 == 0) { /* raw: the input's bytes */
		for (uint32_t i = 0; i < len && in->n; i++)
			f[i] = u8(in);
		return;
	}
	/* A virtio-net header asking for the checksum (UDP or TCP at 34), and
	 * for TCPv4 GSO of gso_size with 54 bytes of headers for t % 4 == 3.
	 * Written even past len: pkt has room, only len bytes are sent. */
	if (hlen) {
		f[0] = 0x01;
		f[1] = t % 4 == 3 ? 1 : 0;
		f[2] = 54;
		f[4] = (uint8_t)gso_size;
		f[5] = (uint8_t)(gso_size >> 8);
		f[6] = 34;
		f[8] = t % 4 == 2 ? 6 : 16;
		if (hlen == 12)
			f[10] = 1; /* num_buffers */
	}
	if (len < hlen + ETH_HLEN)
		return;
	memcpy(e, fx.port[u8(in) % NPORTS].mac, 6); /* a port, or broadcast: */
	if (e[0] == 0x02 && (t & 0x80))
		memset(e, 0xff, 6);
	memcpy(e + 6, "\x02\x00\x00\x00\x01\x00", 6);
	e[11] = u8(in); /* source MAC: learned, maybe as a port's */
	e[12] = 0x08;
	if (l3 < 20)
		return;
	e[14] = 0x45;
	e[16] = (uint8_t)(l3 >> 8);
	e[17] = (uint8_t)l3;
	e[22] = 64;
	e[23] = t % 4 == 2 ? 17 : 6;
	e[26] = 10, e[29] = 1, e[30] = 10, e[33] = 2;
	if (l3 < 40)
		return;
	e[34] = 0x30, e[37] = 0x50;
	if (t % 4 == 2) {
		e[38] = (uint8_t)((l3 - 20) >> 8);
		e[39] = (uint8_t)(l3 - 20);
	} else {
		e[46] = 5 << 4; /* TCP data offset */
		e[47] = 0x18;
	}
}

/*
 * Queue packets from the client's head while the input says so: each its
 * length, fragment size, template and byte patches, then slot patches.
 * Returns how many slots were queued.
 */
static uint32_t queue_packets(struct in *in, struct fport *f, uint16_t hlen)
{
	static uint8_t pkt[65536];
	struct kring *k = f->kr[0];
	struct netmap_ring *r = k->ring;
	uint32_t head = r->head % k->num_slots, queued = 0;
	uint32_t tail = __atomic_load_n(&k->csb->ktoa.hwtail, __ATOMIC_ACQUIRE);
	uint32_t room = kring_dist(k, head, tail % k->num_slots);
	uint8_t npkts = u8(in) % 8;

	for (uint8_t n = 0; n < npkts; n++) {
		uint32_t len = u16(in) % 4096, frag = u16(in) % (k->buf_size + 16) + 1;
		uint8_t patches = u8(in) % 8;

		frame_template(in, pkt, len, hlen);
		for (uint8_t i = 0; i < patches && len; i++) {
			uint16_t off = u16(in);
			pkt[off % len] = u8(in);
		}
		for (uint32_t off = 0; (off < len || off == 0) && queued < room; off += frag) {
			struct netmap_slot *slot = &r->slot[head];
			uint32_t c = len - off < frag ? len - off : frag;

			if (!kring_buf_ok(k, slot->buf_idx)) /* a reinit took it: back */
				slot->buf_idx = f->init[0][head].buf_idx;
			if (c > k->buf_size)
				c = k->buf_size; /* the rest is lost: a wrong len */
			memcpy(k->buf0 + (size_t)slot->buf_idx * k->buf_size, pkt + off, c);
			slot->len = (uint16_t)(len - off < frag ? len - off : frag);
			slot->flags = off + frag < len ? NS_MOREFRAG : 0;
			head = kring_next(k, head);
			queued++;
			if (len == 0)
				break;
		}
	}
	/* Slot patches over what was queued (or beyond it). */
	for (uint8_t i = 0, n = u8(in) % 4; i < n; i++) {
		struct netmap_slot *slot = &r->slot[(r->head + u8(in)) % k->num_slots];
		uint8_t what = u8(in);
		uint32_t val = u32(in);

		if (what % 4 == 0)
			slot->buf_idx = val;
		else if (what % 4 == 1) /* in range: another buffer of the region */
			slot->buf_idx = val % k->buf_num;
		else if (what % 4 == 2)
			slot->len = (uint16_t)val;
		else
			slot->flags = (uint16_t)val;
	}
	r->head = r->cur = head;
	if (u8(in) % 8 == 0) { /* scribbled positions */
		r->head = u32(in);
		r->cur = u32(in);
	}
	csb_appl_publish(r, k->csb);
	return queued;
}

/* ---- the receivers ------------------------------------------------------ */

/* An honest RX client takes up to n received slots and gives them back. */
static void rx_take(struct kring *k, uint32_t n)
{
	struct netmap_ring *r = k->ring;
	uint32_t tail = __atomic_load_n(&k->csb->ktoa.hwtail, __ATOMIC_ACQUIRE);
	uint32_t avail = kring_dist(k, r->head, tail);

	if (n > avail)
		n = avail;
	r->head = r->cur = (r->head + n) % k->num_slots;
	csb_appl_publish(r, k->csb);
}

struct rx_before {
	uint32_t tail[MAX_RINGS];
	struct bdg_port_stats st;
};

static void rx_snapshot(struct fport *f, struct rx_before *b)
{
	for (uint32_t r = 0; r < f->n_rings; r++)
		b->tail[r] = __atomic_load_n(&f->kr[r]->csb->ktoa.hwtail, __ATOMIC_ACQUIRE);
	bdg_port_get_stats(vport_port(f->v), &b->st);
}

/*
 * RX ring k of a port with header length hlen published [from, to): check
 * the ring as its client sees it. Returns the number of chains (frames) and
 * their bytes in *ret_bytes.
 */
static uint32_t rx_check(const char *name, struct kring *k, uint32_t from, uint16_t hlen, bool mon,
			 uint64_t *ret_bytes)
{
	const struct netmap_ring *r = k->ring;
	uint32_t to = __atomic_load_n(&k->csb->ktoa.hwtail, __ATOMIC_ACQUIRE);
	uint32_t chains = 0, frame = 0;
	uint64_t bytes = 0;

	check(to < k->num_slots, "RX hwtail outside the ring");
	check(kring_dist(k, from, to) <= k->num_slots - 1 - kring_dist(k, r->head, from),
	      "RX hwtail moved past the free slots");
	for (uint32_t j = from; j != to; j = kring_next(k, j)) {
		const struct netmap_slot *slot = &r->slot[j];
		check(slot->len <= k->buf_size, "published slot longer than its buffer");
		check((slot->flags & ~(NS_MOREFRAG | (mon ? NS_TXMON | NS_BUF_CHANGED : 0))) == 0,
		      "published slot with stray flags");
		frame += slot->len;
		if (!(slot->flags & NS_MOREFRAG)) {
			if (!mon && frame < hlen + ETH_HLEN)
				fprintf(
				    stderr,
				    "fuzz_ring: port %s RX ring %u slot %u: %u bytes, header %u\n",
				    name, k->ringid, j, frame, hlen);
			check(mon || frame >= hlen + ETH_HLEN,
			      "published frame shorter than its headers");
			chains++;
			bytes += frame;
			frame = 0;
		}
	}
	/* A zero-copy monitor takes what v's client returned, which may end in
	 * the middle of a chain: the rest comes with the next return. */
	if (k->ringid == 0 && strcmp(name, "z") == 0)
		frame = 0;
	if (frame) /* an unterminated chain: say where, then fail */
		fprintf(stderr, "fuzz_ring: port %s RX ring %u: [%u, %u) ends in NS_MOREFRAG\n",
			name, k->ringid, from, to);
	check(frame == 0, "published chain does not end");
	*ret_bytes = bytes;
	return chains;
}

static void victim_snapshot(void)
{
	struct kring *k = fx.port[V].kr[1];

	memcpy(fx.vslot_before, k->ring->slot, k->num_slots * sizeof(struct netmap_slot));
	for (uint32_t j = 0; j < k->num_slots; j++)
		memcpy(fx.vbuf_before + (size_t)j * k->buf_size,
		       k->buf0 + (size_t)fx.vslot_before[j].buf_idx * k->buf_size, k->buf_size);
}

/*
 * Slots of the victim outside [from, to) and their buffers are unchanged;
 * with swapped returns (a zero-copy monitor), only those its client owns,
 * [head, from).
 */
static void victim_untouched(uint32_t from, bool swapped)
{
	struct kring *k = fx.port[V].kr[1];
	uint32_t to = __atomic_load_n(&k->csb->ktoa.hwtail, __ATOMIC_ACQUIRE);
	uint32_t n = k->num_slots - kring_dist(k, from, to), j = to;

	if (swapped) {
		j = k->ring->head;
		n = kring_dist(k, j, from);
	}

	for (uint32_t c = 0; c < n; c++, j = kring_next(k, j)) {
		const struct netmap_slot *now = &k->ring->slot[j], *was = &fx.vslot_before[j];
		check(now->buf_idx == was->buf_idx && now->len == was->len &&
			  now->flags == was->flags,
		      "victim slot written outside what was published");
		check(memcmp(k->buf0 + (size_t)was->buf_idx * k->buf_size,
			     fx.vbuf_before + (size_t)j * k->buf_size, k->buf_size) == 0,
		      "victim buffer written outside what was published");
	}
}

/* One bdg_forward of the sender's TX ring 0, and every check after it. */
static void forward_checked(struct fport *src, uint16_t src_hdr, const uint16_t *hdr, bool lossless,
			    bool swapped)
{
	struct kring *tk = src->kr[0];
	uint32_t hwcur = tk->hwcur;
	uint32_t queued = kring_dist(tk, hwcur, tk->ring->head % tk->num_slots);
	struct rx_before before[NPORTS];
	struct bdg_port_stats st;
	uint32_t consumed, chains = 0;
	uint64_t bytes = 0, b;

	for (int i = 0; i < NPORTS; i++)
		rx_snapshot(&fx.port[i], &before[i]);
	victim_snapshot();
	consumed = bdg_forward(vport_port(src->v), 0, fx.s);

	check(consumed <= queued, "consumed more TX slots than were queued");
	check(tk->hwcur < tk->num_slots && tk->hwtail < tk->num_slots,
	      "TX hwcur or hwtail outside the ring");
	check(tk->csb->ktoa.hwcur == tk->hwcur && tk->csb->ktoa.hwtail == tk->hwtail,
	      "TX positions not published");
	for (int i = 0; i < NPORTS; i++) {
		struct fport *f = &fx.port[i];
		uint32_t ntx = bdg_port_tx_rings(vport_port(f->v));
		for (uint32_t r = ntx; r < f->n_rings; r++) {
			uint32_t c;
			/* One thread: every lease is complete, and covers what was
			 * written, else the next lease publishes slots never written. */
			if (f->kr[r]->hwlease != f->kr[r]->hwtail)
				fprintf(stderr,
					"fuzz_ring: port %s RX ring %u: hwlease %u, hwtail %u\n",
					f->name, r - ntx, f->kr[r]->hwlease, f->kr[r]->hwtail);
			check(f->kr[r]->hwlease == f->kr[r]->hwtail,
			      "RX slots leased but not written (hwlease != hwtail)");
			c = rx_check(f->name, f->kr[r], before[i].tail[r], hdr[i], i >= C, &b);
			if (i == V) {
				chains += c;
				bytes += b;
			}
		}
	}
	victim_untouched(before[V].tail[1], swapped);
	bdg_port_get_stats(vport_port(fx.port[V].v), &st);
	uint64_t pkts = st.rx_packets - before[V].st.rx_packets;
	uint64_t drops = st.rx_drops - before[V].st.rx_drops;
	/* Only frames cut in software (a header to none) make more chains. */
	check(pkts <= chains, "victim counted packets it did not get");
	if (hdr[V] != 0 || src_hdr == 0) {
		check(pkts == chains, "victim got chains it did not count");
		check(st.rx_bytes - before[V].st.rx_bytes == bytes, "victim bytes miscounted");
	}
	check(pkts + drops <= consumed, "victim counted more packets than were sent");
	if (lossless)
		check(drops == 0, "a lossless sender's packets dropped");
	check(st.reinits == 0 && st.tx_errors == 0, "the honest victim was reinitialised");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size};
	uint16_t hdr[NPORTS] = {0};
	struct fport *src;
	uint8_t cfg, cfg2;
	bool lossless, swapped;

	if (!fx.s)
		fixture_init();
	rings_reset();
	switch_build();

	cfg = u8(&in);
	src = &fx.port[cfg & 1 ? S1 : S0];
	lossless = cfg & 2;
	hdr[src == &fx.port[S0] ? S0 : S1] = hdr_lens[(cfg >> 2) & 3];
	hdr[L] = hdr_lens[(cfg >> 4) & 3];
	hdr[V] = hdr_lens[(cfg >> 6) & 3];
	cfg2 = u8(&in);
	hdr[M] = hdr_lens[cfg2 & 3];
	for (int i = 0; i < NPORTS; i++)
		bdg_port_set_vnet_hdr_len(vport_port(fx.port[i].v), hdr[i]);
	bdg_port_set_lossless(vport_port(src->v), lossless);
	swapped = monitors_attach(cfg2 >> 2, src);
	const uint16_t src_hdr = hdr[src == &fx.port[S0] ? S0 : S1];

	for (int round = 0; round < MAX_ROUNDS && in.n; round++) {
		uint8_t op;

		queue_packets(&in, src, src_hdr);
		forward_checked(src, src_hdr, hdr, lossless, swapped);
		op = u8(&in);
		if (op & 1) /* lossless: a second call carries on after room is made */
			forward_checked(src, src_hdr, hdr, lossless, swapped);
		/* The receivers take back what they got: all, some or none. */
		rx_take(fx.port[V].kr[1], u8(&in) % 80);
		for (int i = 0; i < NPORTS; i++) {
			struct fport *f = &fx.port[i];
			uint32_t ntx = bdg_port_tx_rings(vport_port(f->v));
			if (i != V && (op >> 1) & 1)
				for (uint32_t r = ntx; r < f->n_rings; r++)
					rx_take(f->kr[r], UINT32_MAX);
		}
		if ((op >> 2) & 1)
			forward_checked(src, src_hdr, hdr, lossless, swapped);
	}
	switch_free();
	return 0;
}
