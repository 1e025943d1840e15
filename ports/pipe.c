/* SPDX-License-Identifier: BSD-2-Clause */
/* pipe: two cross-linked ports in one region; packets move by swapping buffer indices. */
#include "pipe.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct pipe_end {
	struct vport_params params; /* defaults applied, name NULL */
	struct netmap_if *nifp;
	struct kring *tx; /* params.tx_rings krings */
	struct kring *rx; /* params.rx_rings krings */
	int kick_fd;	  /* client -> worker */
	int notify_fd;	  /* worker -> client */
};

struct pipe_mon {
	struct bdg_port *mon;
	unsigned end;	/* the end watched */
	unsigned flags; /* BDG_MON_RX, BDG_MON_TX */
};

struct pipe {
	struct mem_region *mem;
	/* Monitors: changed under mon_lock exclusive, read under it shared.
	 * n_mons is also read without the lock, as a hint (pipe_forward). */
	pthread_rwlock_t mon_lock;
	struct pipe_mon *mons;
	uint32_t n_mons;
	struct pipe_end end[2];
	struct kring *krings; /* end 0 TX, end 0 RX, end 1 TX, end 1 RX */
	uint32_t n_krings;    /* allocated */
	uint32_t n_init;      /* initialised so far (kring_fini undoes these) */
	uint32_t spare[PIPE_SPARES];
	uint32_t n_spares; /* worker thread only, after creation */
};

/* Defaults and limits as vport_create's, so both port kinds accept the same. */
static int apply_defaults(struct vport_params *p)
{
	p->name = NULL;
	return vport_geometry_defaults(p);
}

/*
 * End 1's geometry b from end 0's a (defaults applied), and the pools of
 * the pipe's region: end 1 mirrors end 0, TX ring i of one end feeds RX
 * ring i of the other.
 */
static void region_params(const struct vport_params *a, struct vport_params *b,
			  struct mem_params *mp)
{
	uint32_t nrings = a->tx_rings + a->rx_rings;
	uint32_t max_slots = a->tx_slots > a->rx_slots ? a->tx_slots : a->rx_slots;

	*b = *a;
	b->tx_rings = a->rx_rings;
	b->rx_rings = a->tx_rings;
	b->tx_slots = a->rx_slots;
	b->rx_slots = a->tx_slots;
	*mp = (struct mem_params){
	    .if_num = 2,
	    .if_size = (uint32_t)(sizeof(struct netmap_if) + nrings * sizeof(ssize_t)),
	    .ring_num = 2 * nrings,
	    .ring_size = (uint32_t)vale_ring_size(max_slots),
	    .buf_num = MEM_BUF_RESERVED +
		       2 * (a->tx_rings * a->tx_slots + a->rx_rings * a->rx_slots) +
		       2 * a->extra_bufs + PIPE_SPARES,
	    .buf_size = a->buf_size,
	    .hugetlb = a->hugetlb,
	};
	vport_zmon_room(a, mp); /* a zero-copy monitor of each end */
	vport_zmon_room(b, mp);
}

int pipe_region_bytes(const struct vport_params *params, size_t *ret_bytes)
{
	struct vport_params a = *params, b;
	struct mem_params mp;
	int err = apply_defaults(&a);

	if (err)
		return err;
	region_params(&a, &b, &mp);
	return mem_layout_size(&mp, ret_bytes);
}

/* Create ring `ring` of end e's direction dir, with a buffer per slot, and its kring. */
static int ring_create(struct pipe *p, unsigned e, uint16_t dir, uint32_t ring, struct kring *k)
{
	struct pipe_end *pe = &p->end[e];
	uint32_t slots = dir == NR_TX ? pe->params.tx_slots : pe->params.rx_slots;
	uint32_t pos = dir == NR_TX ? ring : pe->params.tx_rings + ring;
	struct netmap_ring *r = mem_ring_alloc(p->mem);
	int err;

	if (!r)
		return -errno;
	pe->nifp->ring_ofs[pos] = (char *)r - (char *)pe->nifp;
	for (uint32_t j = 0; j < slots; j++) {
		r->slot[j].buf_idx = mem_buf_alloc(p->mem, MEM_OWNER_CREATOR);
		if (!r->slot[j].buf_idx)
			return -ENOMEM; /* the region goes with its rings: no per-buffer undo */
	}
	err = kring_init(k, r, dir, (uint16_t)ring, slots, mem_buf(p->mem, 0), pe->params.buf_size,
			 mem_params(p->mem)->buf_num);
	if (err)
		return err;
	p->n_init++;
	return 0;
}

static int end_create(struct pipe *p, unsigned e, const char *name)
{
	struct pipe_end *pe = &p->end[e];
	char *brace;
	int err;

	pe->nifp = mem_if_alloc(p->mem);
	if (!pe->nifp)
		return -ENOMEM;

	/* ni_name may truncate: it is informative, the registry has the full name. */
	snprintf(pe->nifp->ni_name, sizeof(pe->nifp->ni_name), "%s", name);
	brace = strpbrk(pe->nifp->ni_name, "{}");
	if (brace)
		*brace = e ? '}' : '{';
	pe->nifp->ni_version = NETMAP_API;
	pe->nifp->ni_flags = 0; /* shared with the other end */
	pe->nifp->ni_tx_rings = pe->params.tx_rings;
	pe->nifp->ni_rx_rings = pe->params.rx_rings;
	for (uint32_t i = 0; i < pe->params.tx_rings; i++) {
		err = ring_create(p, e, NR_TX, i, &pe->tx[i]);
		if (err)
			return err;
	}
	for (uint32_t i = 0; i < pe->params.rx_rings; i++) {
		err = ring_create(p, e, NR_RX, i, &pe->rx[i]);
		if (err)
			return err;
	}
	if (pe->params.extra_bufs &&
	    !mem_extra_bufs_alloc(p->mem, MEM_OWNER_CREATOR, pe->params.extra_bufs,
				  &pe->nifp->ni_bufs_head))
		return -ENOMEM;
	pe->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pe->kick_fd < 0)
		return -errno;
	pe->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pe->notify_fd < 0)
		return -errno;
	return 0;
}

struct pipe *pipe_create(const char *name, const struct vport_params *params)
{
	struct mem_params mp;
	struct vport_params *a, *b;
	uint32_t nrings;
	struct pipe *p;
	int err;

	if (!name) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	for (unsigned e = 0; e < 2; e++)
		p->end[e].kick_fd = p->end[e].notify_fd = -1;
	err = -pthread_rwlock_init(&p->mon_lock, NULL);
	if (err)
		goto err_pipe;
	a = &p->end[0].params;
	b = &p->end[1].params;
	*a = *params;
	err = apply_defaults(a);
	if (err)
		goto err_lock;
	nrings = a->tx_rings + a->rx_rings;
	region_params(a, b, &mp);
	p->mem = mem_create(&mp);
	if (!p->mem) {
		err = -errno;
		goto err_lock;
	}
	p->n_krings = 2 * nrings;
	p->krings = calloc(p->n_krings, sizeof(*p->krings));
	if (!p->krings) {
		err = -ENOMEM;
		goto err_built;
	}
	p->end[0].tx = p->krings;
	p->end[0].rx = p->end[0].tx + a->tx_rings;
	p->end[1].tx = p->end[0].rx + a->rx_rings;
	p->end[1].rx = p->end[1].tx + b->tx_rings;
	for (unsigned e = 0; e < 2; e++) {
		err = end_create(p, e, name);
		if (err)
			goto err_built;
	}
	p->n_spares = mem_bufs_alloc(p->mem, MEM_OWNER_CREATOR, p->spare, PIPE_SPARES);
	if (p->n_spares != PIPE_SPARES) {
		err = -ENOMEM;
		goto err_built;
	}
	return p;

err_built:
	pipe_destroy(p);
	errno = -err;
	return NULL;
err_lock:
	pthread_rwlock_destroy(&p->mon_lock);
err_pipe:
	free(p);
	errno = -err;
	return NULL;
}

void pipe_destroy(struct pipe *p)
{
	if (!p)
		return;
	for (unsigned e = 0; e < 2; e++) {
		if (p->end[e].notify_fd >= 0)
			close(p->end[e].notify_fd);
		if (p->end[e].kick_fd >= 0)
			close(p->end[e].kick_fd);
	}
	/* kring_fini accepts zeroed krings: those never initialised are. */
	for (uint32_t i = 0; p->krings && i < p->n_krings; i++)
		kring_fini(&p->krings[i]);
	free(p->krings);
	mem_destroy(p->mem);
	free(p->mons);
	pthread_rwlock_destroy(&p->mon_lock);
	free(p);
}

struct mem_region *pipe_mem(const struct pipe *p)
{
	return p->mem;
}

struct netmap_if *pipe_if(const struct pipe *p, unsigned end)
{
	return p->end[end & 1].nifp;
}

size_t pipe_if_offset(const struct pipe *p, unsigned end)
{
	return mem_offset(p->mem, p->end[end & 1].nifp);
}

int pipe_kick_fd(const struct pipe *p, unsigned end)
{
	return p->end[end & 1].kick_fd;
}

int pipe_notify_fd(const struct pipe *p, unsigned end)
{
	return p->end[end & 1].notify_fd;
}

const struct vport_params *pipe_params(const struct pipe *p, unsigned end)
{
	return &p->end[end & 1].params;
}

struct kring *pipe_tx_kring(const struct pipe *p, unsigned end, uint32_t i)
{
	return &p->end[end & 1].tx[i];
}

struct kring *pipe_rx_kring(const struct pipe *p, unsigned end, uint32_t i)
{
	return &p->end[end & 1].rx[i];
}

uint32_t pipe_src_count(const struct pipe *p)
{
	return p->end[0].params.tx_rings + p->end[1].params.tx_rings;
}

unsigned pipe_src_end(const struct pipe *p, uint32_t i)
{
	return i >= p->end[0].params.tx_rings;
}

struct kring *pipe_src_kring(const struct pipe *p, uint32_t i)
{
	uint32_t n0 = p->end[0].params.tx_rings;

	return i < n0 ? &p->end[0].tx[i] : &p->end[1].tx[i - n0];
}

struct kring *pipe_dst_kring(const struct pipe *p, uint32_t i)
{
	uint32_t n0 = p->end[0].params.tx_rings;

	return i < n0 ? &p->end[1].rx[i] : &p->end[0].rx[i - n0];
}

uint32_t pipe_spares_left(const struct pipe *p)
{
	return __atomic_load_n(&p->n_spares, __ATOMIC_RELAXED);
}

/* A daemon-private buffer to put in a spoiled slot, or 0 when none is left. */
static uint32_t take_spare(struct pipe *p)
{
	if (!p->n_spares)
		return 0;
	__atomic_store_n(&p->n_spares, p->n_spares - 1, __ATOMIC_RELAXED);
	return p->spare[p->n_spares];
}

/*
 * How many of the m slots from tx->hwcur to move so that only whole
 * NS_MOREFRAG chains reach the reader. A chain that could never fit (an
 * empty peer ring cannot hold it) moves in pieces rather than block forever.
 * Each slot's flags are read here, once, into tx->slot_flags (this thread
 * forwards tx: the entries are its own), and the move uses that copy.
 */
static uint32_t whole_packets(struct kring *tx, uint32_t m, bool peer_empty)
{
	uint32_t k = tx->hwcur, whole = 0;

	for (uint32_t i = 0; i < m; i++) {
		uint16_t fl = tx->ring->slot[k].flags;
		tx->slot_flags[k] = fl;
		if (!(fl & NS_MOREFRAG))
			whole = i + 1;
		k = kring_next(tx, k);
	}
	return whole || !peer_empty ? whole : m;
}

/*
 * Wake the client of an RX ring that moved, if it asked. kring_sync_finalize
 * stored hwtail with release; the client stores appl_need_kick, fences and
 * re-reads hwtail. With a SEQ_CST fence on both sides one of the loads sees
 * the other's store (the same pairing as vport.c's rx_notify).
 */
static void notify_reader(const struct kring *rx, int fd)
{
	uint64_t one = 1;
	ssize_t n;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&rx->csb->atok.appl_need_kick, __ATOMIC_RELAXED))
		return;
	/* EAGAIN only: the counter is saturated, the fd is readable anyway. */
	n = write(fd, &one, sizeof(one));
	(void)n;
}

static void add(uint64_t *c, uint64_t n)
{
	if (n)
		__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/*
 * The RX rings a zero-copy monitor of end `end` takes its buffers from: the
 * end's own (what it received) and the peer's (what the end sent).
 */
static int zmon_hook(struct pipe *p, unsigned end, struct bdg_port *mon, unsigned flags)
{
	struct pipe_end *own = &p->end[end], *peer = &p->end[!end];
	int err = 0;

	if (flags & BDG_MON_RX)
		err = kring_hook_release(own->rx, own->params.rx_rings, bdg_zmon_release_rx, mon);
	if (!err && (flags & BDG_MON_TX)) {
		err = kring_hook_release(peer->rx, peer->params.rx_rings, bdg_zmon_release_tx, mon);
		if (err)
			kring_unhook_release(own->rx, own->params.rx_rings, mon);
	}
	return err;
}

static void zmon_unhook(struct pipe *p, struct bdg_port *mon)
{
	for (unsigned e = 0; e < 2; e++)
		kring_unhook_release(p->end[e].rx, p->end[e].params.rx_rings, mon);
}

int pipe_monitor_attach(struct pipe *p, unsigned end, struct bdg_port *mon, unsigned flags)
{
	struct pipe_mon *mons;
	int err = 0;

	if (end > 1 || !(flags & (BDG_MON_RX | BDG_MON_TX)) ||
	    (flags & ~(BDG_MON_RX | BDG_MON_TX | BDG_MON_ZCOPY)))
		return -EINVAL;
	if ((flags & BDG_MON_ZCOPY) && bdg_port_rx_kring(mon, 0)->buf0 != p->end[0].rx[0].buf0)
		return -EXDEV;
	pthread_rwlock_wrlock(&p->mon_lock);
	for (uint32_t k = 0; k < p->n_mons; k++)
		if (p->mons[k].mon == mon)
			err = -EBUSY;
	mons = err ? NULL : realloc(p->mons, (p->n_mons + 1) * sizeof(*mons));
	if (mons) {
		p->mons = mons;
		if (flags & BDG_MON_ZCOPY)
			err = zmon_hook(p, end, mon, flags);
	}
	if (mons && !err) {
		mons[p->n_mons] = (struct pipe_mon){.mon = mon, .end = end, .flags = flags};
		__atomic_store_n(&p->n_mons, p->n_mons + 1, __ATOMIC_RELAXED);
	} else if (!err) {
		err = -ENOMEM;
	}
	pthread_rwlock_unlock(&p->mon_lock);
	return err;
}

void pipe_monitor_detach(struct pipe *p, struct bdg_port *mon)
{
	pthread_rwlock_wrlock(&p->mon_lock);
	for (uint32_t k = 0; k < p->n_mons; k++) {
		if (p->mons[k].mon != mon)
			continue;
		if (p->mons[k].flags & BDG_MON_ZCOPY)
			zmon_unhook(p, mon);
		p->mons[k] = p->mons[p->n_mons - 1];
		__atomic_store_n(&p->n_mons, p->n_mons - 1, __ATOMIC_RELAXED);
		break;
	}
	pthread_rwlock_unlock(&p->mon_lock);
}

/*
 * Copy the slots [from, to) just swapped into rx (pkts packets), sent by end
 * `src_end` on its ring `ring`, into src_end's TX and the peer's RX
 * monitors. Before kring_sync_finalize: the reader cannot touch them yet.
 */
static void mon_copy(struct pipe *p, unsigned src_end, uint32_t ring, struct kring *rx,
		     uint32_t from, uint32_t to, uint64_t pkts)
{
	pthread_rwlock_rdlock(&p->mon_lock);
	for (uint32_t k = 0; k < p->n_mons; k++) {
		const struct pipe_mon *m = &p->mons[k];

		if (m->flags & BDG_MON_ZCOPY)
			continue; /* served when the reader returns the slots */
		if (m->end == src_end && (m->flags & BDG_MON_TX))
			bdg_monitor_copy(m->mon, ring, rx, from, to, pkts, NS_TXMON);
		if (m->end != src_end && (m->flags & BDG_MON_RX))
			bdg_monitor_copy(m->mon, ring, rx, from, to, pkts, 0);
	}
	pthread_rwlock_unlock(&p->mon_lock);
}

uint32_t pipe_forward(struct pipe *p, uint32_t i)
{
	struct kring *tx = pipe_src_kring(p, i), *rx = pipe_dst_kring(p, i);
	uint32_t n, room, m, k, j, done, pkts = 0, bad_tx = 0, bad_rx = 0;
	uint64_t bytes = 0;

	n = kring_txsync_begin(tx); /* validates head/cur; reinits tx on garbage */
	if (n == 0)
		return 0;
	/* The reader's returned slots; garbage reinits its ring, hwcur stays.
	 * Locked only for the release hook, which a monitor attach changes. */
	kring_lock(rx);
	kring_rxsync(rx);
	kring_unlock(rx);
	room = rx->num_slots - 1 - kring_dist(rx, rx->hwcur, rx->hwtail);
	m = whole_packets(tx, n < room ? n : room, room == rx->num_slots - 1);
	k = tx->hwcur;
	j = rx->hwtail;
	for (done = 0; done < m; done++, k = kring_next(tx, k)) {
		struct netmap_slot *ts = &tx->ring->slot[k], *rs = &rx->ring->slot[j];
		/* Each field read once: the clients may change them under us. */
		uint32_t tidx = ts->buf_idx, ridx = rs->buf_idx;
		uint16_t tlen = ts->len, tflags = tx->slot_flags[k];

		if (!kring_buf_ok(rx, ridx)) {
			/* The reader wrote into a slot it did not own. */
			ridx = take_spare(p);
			if (!ridx)
				break; /* it stops only its own reception */
			rs->buf_idx = ridx;
			bad_rx++;
		}
		if (!kring_buf_ok(tx, tidx) || tlen > tx->buf_size) {
			/* Dropped: the index never reaches the reader. */
			if (!kring_buf_ok(tx, tidx))
				ts->buf_idx = take_spare(p); /* 0 when none: reinit keeps it 0 */
			ts->len = 0;
			bad_tx++;
			continue;
		}
		rs->buf_idx = tidx;
		rs->len = tlen;
		rs->flags = tflags | NS_BUF_CHANGED;
		ts->buf_idx = ridx;
		ts->len = 0;
		ts->flags = NS_BUF_CHANGED;
		bytes += tlen;
		pkts += !(tflags & NS_MOREFRAG);
		j = kring_next(rx, j);
	}
	if (j != rx->hwtail) {
		/* A hint: an attach racing with this batch copies from the next. */
		if (__builtin_expect(__atomic_load_n(&p->n_mons, __ATOMIC_RELAXED) != 0, 0))
			mon_copy(p, pipe_src_end(p, i), rx->ringid, rx, rx->hwtail, j, pkts);
		rx->hwtail = j;
		kring_sync_finalize(rx); /* release: the swapped slots before hwtail */
		add(&rx->stats.packets, pkts);
		add(&rx->stats.bytes, bytes);
		notify_reader(rx, p->end[!pipe_src_end(p, i)].notify_fd);
	}
	if (bad_rx) {
		add(&rx->stats.bad_slots, bad_rx);
		kring_reinit(rx);
	}
	if (bad_tx) {
		add(&tx->stats.bad_slots, bad_tx);
		tx->need_reinit = true; /* kring_txsync_done runs it */
	}
	add(&tx->stats.packets, pkts);
	add(&tx->stats.bytes, bytes);
	if (done)
		kring_txsync_done(tx, k);
	return done;
}
