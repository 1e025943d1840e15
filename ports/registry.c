/* SPDX-License-Identifier: BSD-2-Clause */
/* registry: valed's switches and ports, their users, and who forwards them. */
#include "registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn.h"
#include "portname.h"
#include "pipe.h"
#include "worker.h"

struct reg_port {
	struct reg_port *next;
	struct reg *r;
	struct vport *v;
	struct bdg *sw;
	char full[BDG_FULLNAMSIZ];
	bool persistent;
	bool exclusive; /* an exclusive registration holds it */
	uint32_t users;
	uint32_t worker;
	struct worker *poller;	    /* polling mode: the worker dedicated to it, else NULL */
	struct pipe *pipe;	    /* a pipe end: the pipe (shared with peer), else NULL */
	unsigned end;		    /* a pipe end: 0 for '{', 1 for '}' */
	struct reg_port *peer;	    /* a pipe end: the other end */
	struct reg_port *monitored; /* a monitor: the port it watches, else NULL */
	unsigned mon_flags;	    /* a monitor: BDG_MON_RX, BDG_MON_TX, BDG_MON_ZCOPY */
	uint32_t monitors;	    /* monitors watching this port */
	struct zmon_src *zsrc;	    /* a zero-copy monitor: the rings it takes from */
	uid_t owner;		    /* who created it */
	struct quota_amount charge; /* what owner was charged for it (a pipe: on end 0) */
	uid_t poll_uid;		    /* polling mode: who was charged for the poller */
};

/*
 * The RX rings whose returned slots a zero-copy monitor takes. The worker
 * that serves the monitored port also polls them (kring_rxsync_locked): it
 * polls the port's kick fds too, which the port's client writes when it
 * returns RX slots while that worker sleeps (kern_need_kick on these rings).
 */
struct zmon_src {
	uint32_t n;
	struct kring *rx[2 * BDG_MAXRINGS];
};

struct reg_handle {
	struct reg_port *p;
	uint32_t first_tx, last_tx, first_rx, last_rx;
	bool exclusive;
};

struct reg {
	struct reg_params params;
	struct worker **workers;
	uint32_t n_workers;
	struct reg_port *ports;	   /* in creation order */
	struct mem_region *shared; /* see reg_shared_mem */
};

/* A TX-only registration sees no RX ring, an RX-only one no TX ring. */
static void limit_direction(struct reg_handle *h, const struct reg_open *o)
{
	if (o->tx_only)
		h->first_rx = h->last_rx = 0;
	if (o->rx_only)
		h->first_tx = h->last_tx = 0;
}

/* Make h a registration of p: one more user, its ring range (ring >= 0:
 * that ring only, else all ntx/nrx), exclusive or not. */
static void bind_handle(struct reg_handle *h, struct reg_port *p, const struct reg_open *o,
			bool excl, int ring, uint32_t ntx, uint32_t nrx)
{
	p->users++;
	p->exclusive = excl;
	h->p = p;
	h->exclusive = excl;
	if (ring >= 0) {
		h->first_tx = h->first_rx = (uint32_t)ring;
		h->last_tx = h->last_rx = (uint32_t)ring + 1;
	} else {
		h->last_tx = ntx;
		h->last_rx = nrx;
	}
	limit_direction(h, o);
}

struct reg *reg_create(const struct reg_params *p, char *err)
{
	struct reg *r;

	if (p->workers < 1 || p->workers > 64) {
		err_set(err, EINVAL, "workers must be 1..64, got %u", p->workers);
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r || !(r->workers = calloc(p->workers, sizeof(*r->workers))))
		goto err_alloc;
	r->params = *p;
	struct mem_params sp = {
	    .if_num = REG_SHARED_RINGS / 2,
	    .if_size = (uint32_t)(sizeof(struct netmap_if) + 2 * BDG_MAXRINGS * sizeof(ssize_t)),
	    .ring_num = REG_SHARED_RINGS,
	    .ring_size = (uint32_t)vale_ring_size(REG_SHARED_SLOTS),
	    .buf_num = MEM_BUF_RESERVED + (p->shared_bufs ? p->shared_bufs : REG_SHARED_BUFS),
	    .buf_size = MEM_BUF_SIZE_DEFAULT,
	    .area_num = REG_SHARED_ZMONS,
	};
	/* Each area fits the monitor of the largest port the region holds. */
	const struct vport_params largest = {.tx_rings = BDG_MAXRINGS,
					     .rx_rings = BDG_MAXRINGS,
					     .tx_slots = REG_SHARED_SLOTS,
					     .rx_slots = REG_SHARED_SLOTS};
	sp.area_size = (uint32_t)vport_zmon_area_size(&largest);
	r->shared = mem_create(&sp); /* a memfd: pages come when touched */
	if (!r->shared) {
		int e = errno;
		err_set(err, e, "cannot create the shared memory region: %s", strerror(e));
		free(r->workers);
		free(r);
		errno = e;
		return NULL;
	}
	for (r->n_workers = 0; r->n_workers < p->workers; r->n_workers++) {
		char name[24];
		struct worker_params wp = {.cpu = -1, .poll_us = p->poll_us, .name = name};

		snprintf(name, sizeof(name), "vale-fwd%u", r->n_workers);
		r->workers[r->n_workers] = worker_create(&wp);
		if (!r->workers[r->n_workers]) {
			int e = errno;
			err_set(err, e, "cannot start forwarding thread %u: %s", r->n_workers,
				strerror(e));
			reg_destroy(r);
			errno = e;
			return NULL;
		}
	}
	return r;

err_alloc:
	free(r);
	err_set(err, ENOMEM, "out of memory");
	errno = ENOMEM;
	return NULL;
}

static void port_free(struct reg_port *p);

void reg_destroy(struct reg *r)
{
	if (!r)
		return;
	while (r->ports)
		port_free(r->ports);
	for (uint32_t i = 0; i < r->n_workers; i++)
		worker_destroy(r->workers[i]);
	free(r->workers);
	mem_destroy(r->shared); /* after the ports that used it */
	free(r);
}

struct mem_region *reg_shared_mem(const struct reg *r)
{
	return r->shared;
}

_Static_assert(PORTNAME_MON_RX == BDG_MON_RX && PORTNAME_MON_TX == BDG_MON_TX &&
		   PORTNAME_MON_ZCOPY == BDG_MON_ZCOPY,
	       "portname's monitor flags are the switch's");
_Static_assert(PORTNAME_MAX == BDG_FULLNAMSIZ && PORTNAME_PART_MAX == BDG_NAMSIZ,
	       "portname's sizes are the switch's");

/* portname_parse, then valed's own limit: the rings a port can have. */
static int parse(const char *name, struct portname *n, char *err)
{
	int e = portname_parse(name, n, err);

	if (!e && n->ring >= BDG_MAXRINGS)
		return err_set(err, EINVAL, "ring %d in '%s' is out of range 0..%d", (int)n->ring,
			       name, BDG_MAXRINGS - 1);
	return e;
}

struct reg_port *reg_find(struct reg *r, const char *name, int *ret_err, char *err)
{
	struct portname n;
	int e;

	for (struct reg_port *p = r->ports; p; p = p->next)
		if (strcmp(p->full, name) == 0)
			return p; /* monitors too ("vale0:a/r") */
	e = parse(name, &n, err);
	if (e) {
		*ret_err = e;
		return NULL;
	}
	*ret_err = err_set(err, ENOENT, "no port %s", name);
	return NULL;
}

/* ---- limits: charges made before allocating (quota.h) ----------------- */

static bool switch_alive(const char *name, void *arg)
{
	(void)arg;
	return bdg_lookup(name) != NULL;
}

/* Give back the switch charges of switches that are gone (a switch dies
 * with its last port, here or in hw/attach.c). */
static void settle_switches(struct reg *r)
{
	quota_settle(r->params.quota, REG_SWITCH_KEY, switch_alive, NULL);
}

int reg_charge_switch(struct reg *r, uid_t owner, const char *sw, char *err)
{
	static const struct quota_amount one = {.n[QUOTA_SWITCHES] = 1};
	char key[sizeof(REG_SWITCH_KEY) + BDG_NAMSIZ];

	if (bdg_lookup(sw))
		return 0;
	settle_switches(r); /* a stale charge of an earlier switch of that name */
	snprintf(key, sizeof(key), REG_SWITCH_KEY "%s", sw);
	return quota_hold(r->params.quota, owner, key, &one, err);
}

/* Charge owner a, and a switch when sw (not NULL) does not exist yet. */
static int charge(struct reg *r, uid_t owner, const char *sw, const struct quota_amount *a,
		  char *err)
{
	int e = quota_charge(r->params.quota, owner, a, err);

	if (e)
		return e;
	e = sw ? reg_charge_switch(r, owner, sw, err) : 0;
	if (e)
		quota_uncharge(r->params.quota, owner, a);
	return e;
}

/* Undo charge() after a failure: the switch is charged while it exists. */
static void uncharge(struct reg *r, uid_t owner, const struct quota_amount *a)
{
	quota_uncharge(r->params.quota, owner, a);
	settle_switches(r);
}

static int geometry_fail(char *err, const char *what)
{
	return err_set(err, EINVAL, "bad %s geometry: rings 1..%d, slots 2..%d, buf_size %d..%d",
		       what, BDG_MAXRINGS, VPORT_SLOTS_MAX, MEM_BUF_SIZE_MIN, MEM_BUF_SIZE_MAX);
}

static uint32_t least_busy_worker(const struct reg *r)
{
	uint32_t best = 0, best_ports = UINT32_MAX;

	for (uint32_t i = 0; i < r->n_workers; i++) {
		struct worker_stats st;
		worker_get_stats(r->workers[i], &st);
		if (st.ports < best_ports) {
			best = i;
			best_ports = st.ports;
		}
	}
	return best;
}

/* Create port `port` on switch `sw` (created too if needed), attach it and
 * give it to a worker; owner is charged first. */
static int port_create(struct reg *r, uid_t owner, const char *full, const char *swname,
		       const char *port, const struct vport_params *vp_in, struct reg_port **ret,
		       char *err)
{
	struct vport_params vp = *vp_in;
	struct quota_amount a = {.n = {[QUOTA_PORTS] = 1, [QUOTA_EXTRA_BUFS] = vp_in->extra_bufs}};
	struct reg_port *p;
	struct bdg *sw = bdg_lookup(swname);
	bool new_sw = false;
	size_t bytes;
	int e;

	vp.name = port;
	if (vport_region_bytes(&vp, &bytes))
		return geometry_fail(err, "port");
	a.n[QUOTA_REGION_BYTES] = bytes;
	e = charge(r, owner, sw ? NULL : swname, &a, err);
	if (e)
		return e;
	p = calloc(1, sizeof(*p));
	if (!p) {
		e = err_set(err, ENOMEM, "out of memory");
		goto err_charge;
	}
	p->v = vport_create(&vp);
	if (!p->v) {
		e = errno;
		e = e == EINVAL
			? geometry_fail(err, "port")
			: err_set(err, e, "cannot create the memory of %s: %s", full, strerror(e));
		goto err_port;
	}
	if (!sw) {
		void *priv = learn_create(r->params.fdb_max, r->params.fdb_age);
		sw = priv ? bdg_create(swname, &learn_ops, priv) : NULL;
		if (!sw) {
			e = errno;
			if (priv)
				learn_ops.dtor(priv);
			e = err_set(err, e, "cannot create switch %s: %s", swname, strerror(e));
			goto err_vport;
		}
		new_sw = true;
	}
	e = bdg_attach(sw, vport_port(p->v));
	if (e < 0) {
		if (e == -ENOSPC)
			e = err_set(err, ENOSPC, "switch %s is full: %d ports at most", swname,
				    BDG_MAXPORTS);
		else
			e = err_set(err, -e, "cannot attach %s: %s", full, strerror(-e));
		goto err_switch;
	}
	p->r = r;
	p->sw = sw;
	p->owner = owner;
	p->charge = a;
	memcpy(p->full, full, strlen(full) + 1);
	p->worker = least_busy_worker(r);
	e = worker_add(r->workers[p->worker], vport_port(p->v), 0,
		       bdg_port_tx_rings(vport_port(p->v)), vport_kick_fd(p->v),
		       vport_notify_fd(p->v));
	if (e) {
		e = err_set(err, -e, "cannot schedule %s: %s", full, strerror(-e));
		goto err_attached;
	}
	/* Append: listing follows creation order. */
	struct reg_port **pp = &r->ports;
	while (*pp)
		pp = &(*pp)->next;
	*pp = p;
	*ret = p;
	return 0;

err_attached:
	bdg_detach(vport_port(p->v));
err_switch:
	if (new_sw)
		bdg_destroy(sw);
err_vport:
	vport_destroy(p->v);
err_port:
	free(p);
err_charge:
	uncharge(r, owner, &a);
	return e;
}

static uint32_t zmon_poll(void *arg, uint32_t i, struct bdg_scratch *scratch)
{
	(void)scratch;
	return kring_rxsync_locked(((struct zmon_src *)arg)->rx[i]);
}

static bool never_lossless(void *arg)
{
	(void)arg;
	return false;
}

/* The worker serving p's rings (a pipe end's: its pipe's). */
static struct worker *port_worker(const struct reg_port *p)
{
	return p->poller ? p->poller : p->r->workers[p->worker];
}

static int zmon_serve(struct reg_port *m)
{
	struct worker_ring ring[2 * BDG_MAXRINGS];
	struct worker_src s = {.key = m->zsrc,
			       .forward = zmon_poll,
			       .lossless = never_lossless,
			       .arg = m->zsrc,
			       .kick_fd = {-1, -1}, /* the port's, which its worker polls */
			       .ring = ring};

	if (!m->zsrc || !m->zsrc->n)
		return 0;
	s.n_rings = m->zsrc->n;
	for (uint32_t i = 0; i < s.n_rings; i++)
		ring[i] = (struct worker_ring){.idx = i, .src = m->zsrc->rx[i], .notify_fd = -1};
	return worker_add_src(port_worker(m->monitored), &s);
}

static void zmon_unserve(struct reg_port *m)
{
	if (m->zsrc && m->zsrc->n)
		worker_remove_src(port_worker(m->monitored), m->zsrc);
}

/* Apply fn (zmon_serve, zmon_unserve) to the zero-copy monitors of p. */
static void each_zmon(struct reg_port *p, void (*fn)(struct reg_port *))
{
	for (struct reg_port *m = p->r->ports; p->monitors && m; m = m->next)
		if (m->monitored == p && m->zsrc)
			fn(m);
}

/* The RX rings of t, or of its pipe peer, whose release hook the attach of
 * mon installed (bdg.h, pipe.h): those the worker must poll for it. */
static void zmon_collect(struct zmon_src *z, const struct reg_port *t, const struct bdg_port *mon)
{
	const struct reg_port *side[2] = {t, t->pipe ? t->peer : NULL};

	for (unsigned s = 0; s < 2 && side[s]; s++) {
		const struct reg_port *q = side[s];
		struct bdg_port *bp = q->pipe ? NULL : vport_port(q->v);
		uint32_t n =
		    q->pipe ? pipe_params(q->pipe, q->end)->rx_rings : bdg_port_rx_rings(bp);

		for (uint32_t i = 0; i < n; i++) {
			struct kring *k =
			    q->pipe ? pipe_rx_kring(q->pipe, q->end, i) : bdg_port_rx_kring(bp, i);
			if (k->release_arg == mon)
				z->rx[z->n++] = k;
		}
	}
}

static void zmon_resume(struct reg_port *m)
{
	(void)zmon_serve(m); /* only -ENOMEM: the monitor then sees returns late */
}

/* Does a zero-copy monitor take buffers t's one with flags would take? On
 * a pipe, the RX monitor of one end and the TX one of the other take the
 * same ring's. */
static bool zmon_taken(const struct reg_port *t, unsigned flags)
{
	for (const struct reg_port *m = t->r->ports; m; m = m->next) {
		unsigned mf = m->mon_flags;

		if (!m->zsrc)
			continue;
		if (m->monitored == t && (mf & flags & (BDG_MON_RX | BDG_MON_TX)))
			return true;
		if (t->pipe && m->monitored == t->peer &&
		    (((mf & BDG_MON_RX) && (flags & BDG_MON_TX)) ||
		     ((mf & BDG_MON_TX) && (flags & BDG_MON_RX))))
			return true;
	}
	return false;
}

static const struct quota_amount one_poller = {.n[QUOTA_POLLERS] = 1};

static void pipe_free(struct reg_port *p);

static void port_free(struct reg_port *p)
{
	struct reg *r = p->r;

	if (p->pipe) {
		pipe_free(p); /* both ends and the pipe */
		return;
	}

	/* Monitors point at their port: they go first. */
	for (struct reg_port *m = r->ports; p->monitors && m;) {
		struct reg_port *next = m->next;
		if (m->monitored == p)
			port_free(m);
		m = next;
	}
	for (struct reg_port **pp = &r->ports; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	if (p->monitored) { /* not attached, no worker, never the last of a switch */
		zmon_unserve(p);
		if (p->monitored->pipe)
			pipe_monitor_detach(p->monitored->pipe, vport_port(p->v));
		else
			bdg_monitor_detach(vport_port(p->v));
		p->monitored->monitors--;
		vport_destroy(p->v);
		quota_uncharge(r->params.quota, p->owner, &p->charge);
		free(p->zsrc);
		free(p);
		return;
	}
	worker_remove(p->poller ? p->poller : r->workers[p->worker], vport_port(p->v));
	if (p->poller)
		quota_uncharge(r->params.quota, p->poll_uid, &one_poller);
	worker_destroy(p->poller);
	bdg_detach(vport_port(p->v));
	vport_destroy(p->v);
	if (bdg_port_count(p->sw) == 0)
		bdg_destroy(p->sw);
	uncharge(r, p->owner, &p->charge);
	free(p);
}

/*
 * Open a new monitor (reg_open with "/r", "/t", "/rt", "/z", "/zr", "/zt").
 * The monitor is a VALE port never attached to the switch: one RX ring per
 * ring of the port in the watched directions, and a TX ring nobody reads.
 * A copy monitor has a region of its own, with the caller's rx_slots and
 * the port's buffer size; a zero-copy one lives in the port's region, with
 * the geometry of vport_zmon_params.
 */
static int monitor_open(struct reg *r, const struct reg_open *o, const struct portname *n,
			struct reg_handle **ret_h, char *err)
{
	const char *base = n->base;
	const unsigned flags = portname_monitor_flags(n);
	char full[BDG_FULLNAMSIZ];
	struct vport_params vp = {.tx_rings = 1, .tx_slots = 2, .rx_slots = o->vp.rx_slots};
	struct reg_port *t, *m;
	struct reg_handle *h;
	struct bdg_port *tp;
	int e;

	if (o->one_ring)
		return err_set(err, EINVAL, "'%s': a monitor watches every ring of its port",
			       o->name);
	if (portname_format(n, full, sizeof(full)))
		return err_set(err, ENAMETOOLONG, "'%s' is too long for a monitor name", base);
	for (t = r->ports; t; t = t->next)
		if (strcmp(t->full, base) == 0)
			break;
	if (!t)
		return err_set(err, ENOENT, "no port %s to monitor: open or create it first", base);
	tp = t->pipe ? NULL : vport_port(t->v);
	if (tp && !bdg_port_switch(tp))
		return err_set(err, EOPNOTSUPP, "%s cannot be monitored: it is not on a switch",
			       base);
	const struct vport_params *tvp =
	    t->pipe ? pipe_params(t->pipe, t->end) : vport_params(t->v);
	if (flags & BDG_MON_ZCOPY && mem_params(reg_port_mem(t))->hugetlb)
		return err_set(
		    err, EOPNOTSUPP,
		    "%s is on hugepages: a zero-copy monitor needs memory valed can give "
		    "its client page by page; a copy monitor (/r /t /rt) works",
		    base);
	if (flags & BDG_MON_ZCOPY && zmon_taken(t, flags))
		return err_set(
		    err, EBUSY,
		    "%s already has a zero-copy monitor of that direction%s: only one can "
		    "take its buffers; a copy monitor (/r /t /rt) can watch it too",
		    base, t->pipe ? " (an end's TX ones are its peer's RX ones)" : "");
	if (flags & BDG_MON_ZCOPY) {
		vport_zmon_params(tvp, &vp);
		vp.shared_mem = reg_port_mem(t);
	} else {
		vp.buf_size = tvp->buf_size;
		vp.rx_rings = 1;
		if ((flags & BDG_MON_RX) && tvp->rx_rings > vp.rx_rings)
			vp.rx_rings = tvp->rx_rings;
		if ((flags & BDG_MON_TX) && tvp->tx_rings > vp.rx_rings)
			vp.rx_rings = tvp->tx_rings;
	}
	vp.name = n->port; /* informative; a pipe end's: its id */
	/* A copy monitor's region is new memory; a zero-copy one's is the port's. */
	struct quota_amount a = {.n[QUOTA_PORTS] = 1};
	size_t bytes;
	if (vport_region_bytes(&vp, &bytes))
		return geometry_fail(err, "monitor");
	a.n[QUOTA_REGION_BYTES] = bytes;
	e = quota_charge(r->params.quota, o->owner, &a, err);
	if (e)
		return e;
	m = calloc(1, sizeof(*m));
	h = calloc(1, sizeof(*h));
	if (!m || !h || ((flags & BDG_MON_ZCOPY) && !(m->zsrc = calloc(1, sizeof(*m->zsrc))))) {
		e = err_set(err, ENOMEM, "out of memory");
		goto err_alloc;
	}
	m->v = vport_create(&vp);
	if (!m->v) {
		int en = errno;
		if (flags & BDG_MON_ZCOPY)
			e = err_set(err, en == EINVAL ? ENOMEM : en,
				    "no room for a zero-copy monitor in the memory region of %s: "
				    "one at a time fits in a port's own region; "
				    "a copy monitor (/r /t /rt) always works",
				    base);
		else
			e = err_set(err, en, "cannot create the memory of a monitor of %s: %s",
				    base, strerror(en));
		goto err_alloc;
	}
	if (t->pipe)
		e = pipe_monitor_attach(t->pipe, t->end, vport_port(m->v), flags);
	else
		e = bdg_monitor_attach(tp, vport_port(m->v), flags);
	if (e) {
		err_set(err, -e, "cannot monitor %s: %s", base, strerror(-e));
		goto err_vport;
	}
	if (m->zsrc)
		zmon_collect(m->zsrc, t, vport_port(m->v));
	m->r = r;
	m->sw = t->sw;
	m->monitored = t;
	m->mon_flags = flags;
	m->users = 1;
	m->owner = o->owner;
	m->charge = a;
	memcpy(m->full, full, sizeof(full));
	e = zmon_serve(m);
	if (e) {
		err_set(err, -e, "cannot serve a zero-copy monitor of %s: %s", base, strerror(-e));
		goto err_attached;
	}
	t->monitors++;
	struct reg_port **pp = &r->ports;
	while (*pp)
		pp = &(*pp)->next;
	*pp = m;
	h->p = m;
	h->last_tx = 1;
	h->last_rx = vp.rx_rings;
	limit_direction(h, o);
	*ret_h = h;
	return 0;

err_attached:
	if (t->pipe)
		pipe_monitor_detach(t->pipe, vport_port(m->v));
	else
		bdg_monitor_detach(vport_port(m->v));
err_vport:
	vport_destroy(m->v);
err_alloc:
	free(h);
	if (m)
		free(m->zsrc);
	free(m);
	quota_uncharge(r->params.quota, o->owner, &a);
	return e;
}

/* ---- pipes ---------------------------------------------------------------- */

static uint32_t pipe_src_forward(void *arg, uint32_t ring, struct bdg_scratch *scratch)
{
	(void)scratch; /* a swap needs no scratch */
	return pipe_forward(arg, ring);
}

/* Serve both directions of the pipe on worker wi. */
static int pipe_schedule(struct reg *r, struct pipe *pp, uint32_t wi)
{
	struct worker_ring ring[2 * BDG_MAXRINGS];
	struct worker_src s = {.key = pp,
			       .forward = pipe_src_forward,
			       .arg = pp,
			       .kick_fd = {pipe_kick_fd(pp, 0), pipe_kick_fd(pp, 1)},
			       .n_rings = pipe_src_count(pp),
			       .ring = ring};

	for (uint32_t i = 0; i < s.n_rings; i++)
		ring[i] =
		    (struct worker_ring){.idx = i,
					 .src = pipe_src_kring(pp, i),
					 .room = pipe_dst_kring(pp, i),
					 .notify_fd = pipe_notify_fd(pp, pipe_src_end(pp, i))};
	return worker_add_src(r->workers[wi], &s);
}

/* Create pipe `base` (either end's name): both ends, listed end 0 first. */
static int pipe_new(struct reg *r, uid_t owner, const char *base, const struct vport_params *vp,
		    struct reg_port **ret_ends, char *err)
{
	/* Two ends, each with its extra buffers, in one region. */
	struct quota_amount a = {
	    .n = {[QUOTA_PORTS] = 2, [QUOTA_EXTRA_BUFS] = 2 * (uint64_t)vp->extra_bufs}};
	struct reg_port *end[2];
	struct pipe *pp;
	char name0[BDG_FULLNAMSIZ];
	size_t bytes;
	int e;

	memcpy(name0, base, strlen(base) + 1);
	*strpbrk(name0, "{}") = '{';
	if (pipe_region_bytes(vp, &bytes))
		return geometry_fail(err, "pipe");
	a.n[QUOTA_REGION_BYTES] = bytes;
	e = quota_charge(r->params.quota, owner, &a, err);
	if (e)
		return e;
	end[0] = calloc(1, sizeof(*end[0]));
	end[1] = calloc(1, sizeof(*end[1]));
	if (!end[0] || !end[1]) {
		e = err_set(err, ENOMEM, "out of memory");
		goto err_alloc;
	}
	pp = pipe_create(name0, vp);
	if (!pp) {
		e = errno;
		if (e == EINVAL)
			e = geometry_fail(err, "pipe");
		else
			e = err_set(err, e, "cannot create the memory of pipe %s: %s", name0,
				    strerror(e));
		goto err_alloc;
	}
	end[0]->worker = end[1]->worker = least_busy_worker(r);
	e = pipe_schedule(r, pp, end[0]->worker);
	if (e) {
		err_set(err, -e, "cannot schedule pipe %s: %s", name0, strerror(-e));
		goto err_pipe;
	}
	for (unsigned i = 0; i < 2; i++) {
		end[i]->r = r;
		end[i]->pipe = pp;
		end[i]->end = i;
		end[i]->peer = end[!i];
		end[i]->owner = owner;
		memcpy(end[i]->full, name0, sizeof(name0));
	}
	end[0]->charge = a;
	*strpbrk(end[1]->full, "{") = '}';
	struct reg_port **pq = &r->ports;
	while (*pq)
		pq = &(*pq)->next;
	*pq = end[0];
	end[0]->next = end[1];
	ret_ends[0] = end[0];
	ret_ends[1] = end[1];
	return 0;

err_pipe:
	pipe_destroy(pp);
err_alloc:
	free(end[0]);
	free(end[1]);
	quota_uncharge(r->params.quota, owner, &a);
	return e;
}

/* Unlink and free both ends of p's pipe and the pipe itself. */
static void pipe_free(struct reg_port *p)
{
	struct reg *r = p->r;
	struct reg_port *end[2] = {p->end ? p->peer : p, p->end ? p : p->peer};

	/* Monitors point at the ends: they go first. */
	for (struct reg_port *m = r->ports; (end[0]->monitors || end[1]->monitors) && m;) {
		struct reg_port *next = m->next;
		if (m->monitored == end[0] || m->monitored == end[1])
			port_free(m);
		m = next;
	}
	for (struct reg_port **pp = &r->ports; *pp;) {
		if (*pp == end[0] || *pp == end[1])
			*pp = (*pp)->next;
		else
			pp = &(*pp)->next;
	}
	/* The worker lets go before the rings go. */
	worker_remove_src(r->workers[p->worker], p->pipe);
	pipe_destroy(p->pipe);
	quota_uncharge(r->params.quota, end[0]->owner, &end[0]->charge);
	free(end[0]);
	free(end[1]);
}

/* reg_open for the pipe end n names; excl: "/x" or the open's own flag. */
static int pipe_open(struct reg *r, const struct reg_open *o, const struct portname *n, bool excl,
		     struct reg_handle **ret_h, char *err)
{
	const char *base = n->base;
	const unsigned end = n->end;
	int ring = n->ring, e;
	struct reg_port *p, *ends[2];
	const struct vport_params *vp;
	struct reg_handle *h;

	if (o->one_ring) {
		if (ring >= 0 && (uint32_t)ring != o->ring)
			return err_set(err, EINVAL, "'%s' names ring %d but ring %u was asked",
				       o->name, ring, o->ring);
		ring = (int)o->ring;
	}
	for (p = r->ports; p; p = p->next)
		if (p->pipe && strcmp(p->full, base) == 0)
			break;
	if (p && p->exclusive)
		return err_set(err, EBUSY, "%s is open exclusively by another client", base);
	if (p && excl && p->users)
		return err_set(err, EBUSY, "%s is already open: an exclusive open needs it unused",
			       base);
	if (ring >= 0) {
		uint32_t tx = p ? pipe_params(p->pipe, end)->tx_rings : o->vp.tx_rings;
		uint32_t rx = p ? pipe_params(p->pipe, end)->rx_rings : o->vp.rx_rings;

		/* A new pipe: end 1 mirrors the asked geometry. */
		if (!p && end) {
			uint32_t t = tx;
			tx = rx;
			rx = t;
		}
		if ((uint32_t)ring >= (tx ? tx : 1) || (uint32_t)ring >= (rx ? rx : 1))
			return err_set(err, EINVAL, "%s has no ring %d", base, ring);
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return err_set(err, ENOMEM, "out of memory");
	if (!p) {
		e = pipe_new(r, o->owner, base, &o->vp, ends, err);
		if (e) {
			free(h);
			return e;
		}
		p = ends[end];
	}
	vp = pipe_params(p->pipe, end);
	bind_handle(h, p, o, excl, ring, vp->tx_rings, vp->rx_rings);
	*ret_h = h;
	return 0;
}

/* reg_close for a pipe end: the pipe goes with the last user and the last
 * monitor of both ends. */
static void pipe_close(struct reg_port *p)
{
	if (p->users == 0 && p->peer->users == 0 && p->monitors == 0 && p->peer->monitors == 0)
		pipe_free(p);
}

static void pipe_port_info(const struct reg_port *p, struct reg_info *ret)
{
	struct mem_region *m = pipe_mem(p->pipe);

	memset(ret, 0, sizeof(*ret));
	memcpy(ret->name, p->full, sizeof(p->full));
	/* No switch: "port" is the end's whole name, truncated as ni_name is. */
	memcpy(ret->port, p->full, sizeof(ret->port) - 1); /* zeroed: NUL-terminated */
	ret->mem_id = mem_id(m);
	ret->mem_size = mem_size(m);
	ret->if_offset = pipe_if_offset(p->pipe, p->end);
	ret->vp = *pipe_params(p->pipe, p->end);
	ret->last_tx = ret->vp.tx_rings;
	ret->last_rx = ret->vp.rx_rings;
	ret->lossless = true; /* a full peer holds the sender back: no drops */
	ret->exclusive = p->exclusive;
	ret->owner = p->owner;
	ret->users = p->users;
	ret->worker = p->worker;
	ret->pipe = true;
	memcpy(ret->peer, p->peer->full, sizeof(p->peer->full));
}

struct pipe *reg_port_pipe(const struct reg_port *p, unsigned *ret_end)
{
	if (p->pipe && ret_end)
		*ret_end = p->end;
	return p->pipe;
}

struct mem_region *reg_port_mem(const struct reg_port *p)
{
	return p->pipe ? pipe_mem(p->pipe) : vport_mem(p->v);
}

int reg_open(struct reg *r, const struct reg_open *o, struct reg_handle **ret_h, char *err)
{
	if (o->tx_only && o->rx_only)
		return err_set(err, EINVAL, "TX-only and RX-only exclude each other");
	struct portname n;
	struct reg_port *p = NULL;
	struct reg_handle *h;
	int e = parse(o->name, &n, err);

	if (e)
		return e;
	if (n.monitor[0])
		return monitor_open(r, o, &n, ret_h, err);
	if (n.pipe)
		return pipe_open(r, o, &n, n.exclusive || o->exclusive, ret_h, err);
	const char *base = n.base, *sw = n.sw, *port = n.port;
	const bool excl = n.exclusive || o->exclusive;
	int ring = n.ring;
	if (o->one_ring) {
		if (ring >= 0 && (uint32_t)ring != o->ring)
			return err_set(err, EINVAL, "'%s' names ring %d but ring %u was asked",
				       o->name, ring, o->ring);
		ring = (int)o->ring;
	}
	for (p = r->ports; p; p = p->next)
		if (strcmp(p->full, base) == 0)
			break;
	if (p && p->exclusive)
		return err_set(err, EBUSY, "%s is open exclusively by another client", base);
	if (p && excl && p->users)
		return err_set(err, EBUSY, "%s is already open: an exclusive open needs it unused",
			       base);
	if (ring >= 0) {
		uint32_t limit = p ? bdg_port_tx_rings(vport_port(p->v)) : o->vp.tx_rings;
		uint32_t rlimit = p ? bdg_port_rx_rings(vport_port(p->v)) : o->vp.rx_rings;
		if (limit == 0)
			limit = 1;
		if (rlimit == 0)
			rlimit = 1;
		if ((uint32_t)ring >= limit || (uint32_t)ring >= rlimit)
			return err_set(err, EINVAL, "%s has no ring %d", base, ring);
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return err_set(err, ENOMEM, "out of memory");
	if (!p) {
		e = port_create(r, o->owner, base, sw, port, &o->vp, &p, err);
		if (e) {
			free(h);
			return e;
		}
	}
	if (o->lossless)
		bdg_port_set_lossless(vport_port(p->v), true);
	bind_handle(h, p, o, excl, ring, bdg_port_tx_rings(vport_port(p->v)),
		    bdg_port_rx_rings(vport_port(p->v)));
	*ret_h = h;
	return 0;
}

void reg_close(struct reg_handle *h)
{
	struct reg_port *p = h->p;

	p->users--;
	if (h->exclusive)
		p->exclusive = false;
	free(h);
	if (p->pipe) {
		pipe_close(p);
		return;
	}
	if (p->users == 0 && !p->persistent && p->monitors == 0) {
		struct reg_port *t = p->monitored;
		port_free(p);
		/* The last monitor of a port its clients left takes it along. */
		if (t && t->pipe)
			pipe_close(t);
		else if (t && t->users == 0 && !t->persistent && t->monitors == 0)
			port_free(t);
	}
}

uid_t reg_port_owner(const struct reg_port *p)
{
	return p->owner;
}

int reg_open_target(struct reg *r, const char *name, struct reg_target *ret, char *err)
{
	struct reg_target t = {0};
	struct portname n;
	int e = parse(name, &n, err);

	if (e)
		return e;
	t.monitor = n.monitor[0] != '\0';
	t.pipe = n.pipe;
	memcpy(t.sw, n.sw, sizeof(n.sw));
	memcpy(t.base, n.base, sizeof(n.base));
	for (t.port = r->ports; t.port; t.port = t.port->next)
		if (strcmp(t.port->full, n.base) == 0)
			break;
	*ret = t;
	return 0;
}

struct reg_port *reg_handle_port(const struct reg_handle *h)
{
	return h->p;
}

void reg_port_info(const struct reg_port *p, struct reg_info *ret)
{
	struct bdg_port *bp = p->pipe ? NULL : vport_port(p->v);
	struct mem_region *m = reg_port_mem(p);

	if (p->pipe) {
		pipe_port_info(p, ret);
		return;
	}

	memset(ret, 0, sizeof(*ret));
	memcpy(ret->name, p->full, strlen(p->full) + 1);
	if (p->sw) /* a monitor of a pipe end has no switch */
		memcpy(ret->sw, bdg_name(p->sw), strlen(bdg_name(p->sw)) + 1);
	memcpy(ret->port, bdg_port_name(bp), strlen(bdg_port_name(bp)) + 1);
	ret->index = bdg_port_index(bp);
	ret->mem_id = mem_id(m);
	ret->mem_size = mem_size(m);
	ret->if_offset = vport_if_offset(p->v);
	ret->vp = *vport_params(p->v);
	ret->vp.name = NULL;
	ret->last_tx = bdg_port_tx_rings(bp);
	ret->last_rx = bdg_port_rx_rings(bp);
	ret->persistent = p->persistent;
	ret->lossless = bdg_port_lossless(bp);
	ret->exclusive = p->exclusive;
	ret->owner = p->owner;
	ret->users = p->users;
	ret->worker = p->worker;
	ret->vnet_hdr_len = bdg_port_vnet_hdr_len(bp);
	if (p->monitored) {
		ret->monitor = true;
		ret->mon_rx = p->mon_flags & BDG_MON_RX;
		ret->mon_tx = p->mon_flags & BDG_MON_TX;
		ret->mon_zcopy = p->mon_flags & BDG_MON_ZCOPY;
		ret->vnet_hdr_len =
		    p->monitored->pipe ? 0 : bdg_port_vnet_hdr_len(vport_port(p->monitored->v));
		memcpy(ret->monitored, p->monitored->full, strlen(p->monitored->full) + 1);
		vport_area_fd(p->v, &ret->area_offset, &ret->area_size);
	}
}

void reg_handle_info(const struct reg_handle *h, struct reg_info *ret)
{
	reg_port_info(h->p, ret);
	ret->first_tx = h->first_tx;
	ret->last_tx = h->last_tx;
	ret->first_rx = h->first_rx;
	ret->last_rx = h->last_rx;
	ret->exclusive = h->exclusive;
}

int reg_port_mem_fd(const struct reg_port *p)
{
	return p->pipe ? mem_fd(pipe_mem(p->pipe)) : vport_client_mem_fd(p->v);
}

int reg_port_area_fd(const struct reg_port *p)
{
	size_t ofs, size;

	return p->pipe ? -1 : vport_area_fd(p->v, &ofs, &size);
}

int reg_port_kick_fd(const struct reg_port *p)
{
	return p->pipe ? pipe_kick_fd(p->pipe, p->end) : vport_kick_fd(p->v);
}

int reg_port_notify_fd(const struct reg_port *p)
{
	return p->pipe ? pipe_notify_fd(p->pipe, p->end) : vport_notify_fd(p->v);
}

int reg_newif(struct reg *r, const char *name, const struct vport_params *vp, uid_t owner,
	      char *err)
{
	struct reg_port *p;
	struct portname n;
	int e = parse(name, &n, err);

	if (e)
		return e;
	if (strcmp(n.base, name) != 0)
		return err_set(err, EINVAL,
			       "'%s' could never be opened: a trailing -N or /flags is read as a "
			       "ring or an open flag",
			       name);
	if (n.pipe)
		return err_set(err, EINVAL,
			       "'%s' is a pipe end: a pipe is made by opening its ends, "
			       "vale.newif makes VALE ports (valeX:Y)",
			       name);
	const char *sw = n.sw, *port = n.port;
	for (p = r->ports; p; p = p->next)
		if (strcmp(p->full, name) == 0)
			return err_set(err, EEXIST, "%s already exists", name);
	e = port_create(r, owner, name, sw, port, vp, &p, err);
	if (e)
		return e;
	p->persistent = true;
	return 0;
}

int reg_delif(struct reg *r, const char *name, char *err)
{
	int e;
	struct reg_port *p = reg_find(r, name, &e, err);

	if (!p)
		return e;
	if (!p->persistent)
		return err_set(err, EINVAL, "%s is not persistent: it goes away with its last user",
			       name);
	if (p->users)
		return err_set(err, EBUSY, "%s is open by %u client%s: close them first", name,
			       p->users, p->users == 1 ? "" : "s");
	if (p->monitors)
		return err_set(err, EBUSY, "%s is watched by %u monitor%s: close them first", name,
			       p->monitors, p->monitors == 1 ? "" : "s");
	port_free(p);
	return 0;
}

struct bdg_port *reg_port_bdg(const struct reg_port *p)
{
	return p->pipe ? NULL : vport_port(p->v);
}

struct vport *reg_port_vport(const struct reg_port *p)
{
	return p->v;
}

int reg_port_set_hdr(struct reg_port *p, uint32_t len, char *err)
{
	if (len != 0 && len != 10 && len != 12)
		return err_set(err, EINVAL, "virtio-net header length must be 0, 10 or 12, got %u",
			       len);
	if (p->pipe)
		return err_set(err, EOPNOTSUPP,
			       "%s is a pipe end: buffers move as they are, no "
			       "virtio-net header to convert",
			       p->full);
	return bdg_port_set_vnet_hdr_len(vport_port(p->v), (uint16_t)len);
}

struct reg_port *reg_port_first(const struct reg *r)
{
	return r->ports;
}

struct reg_port *reg_port_next(const struct reg *r, const struct reg_port *p)
{
	(void)r;
	return p->next;
}

void reg_expire(struct reg *r, uint32_t now_s)
{
	(void)r;
	for (struct bdg *b = bdg_first(); b; b = bdg_next(b))
		if (bdg_ops(b)->expire)
			bdg_ops(b)->expire(bdg_ops_priv(b), now_s);
}

uint32_t reg_worker_count(const struct reg *r)
{
	return r->n_workers;
}

struct worker *reg_worker(const struct reg *r, uint32_t i)
{
	return i < r->n_workers ? r->workers[i] : NULL;
}

/* Serve p's TX rings from worker w. */
static int serve(struct reg_port *p, struct worker *w)
{
	struct bdg_port *bp = vport_port(p->v);
	return worker_add(w, bp, 0, bdg_port_tx_rings(bp), vport_kick_fd(p->v),
			  vport_notify_fd(p->v));
}

int reg_set_polling(struct reg *r, struct reg_port *p, bool on, int cpu, uid_t uid, char *err)
{
	struct worker *w;
	int e;

	if (p->pipe || p->monitored)
		return err_set(err, EOPNOTSUPP, "%s: polling applies to VALE and kernel ports",
			       p->full);
	if (!on) {
		if (!p->poller)
			return err_set(err, EINVAL, "%s is not in polling mode", p->full);
		each_zmon(p, zmon_unserve);
		worker_remove(p->poller, vport_port(p->v));
		worker_destroy(p->poller);
		p->poller = NULL;
		quota_uncharge(r->params.quota, p->poll_uid, &one_poller);
		e = serve(p, r->workers[p->worker]);
		each_zmon(p, zmon_resume);
		return e ? err_set(err, -e, "cannot reschedule %s: %s", p->full, strerror(-e)) : 0;
	}
	if (p->poller)
		return err_set(err, EALREADY, "%s is in polling mode already", p->full);
	struct worker_params wp = {.cpu = cpu, .poll_us = WORKER_POLL_FOREVER, .name = "vale-poll"};
	e = quota_charge(r->params.quota, uid, &one_poller, err);
	if (e)
		return e;
	w = worker_create(&wp);
	if (!w) {
		e = errno;
		quota_uncharge(r->params.quota, uid, &one_poller);
		return err_set(err, e, "cannot start a polling thread%s: %s",
			       cpu >= 0 ? " on that CPU" : "", strerror(e));
	}
	/* Its zero-copy monitors' RX polling goes along (zmon_src). */
	each_zmon(p, zmon_unserve);
	worker_remove(r->workers[p->worker], vport_port(p->v));
	e = serve(p, w);
	if (e) {
		worker_destroy(w);
		quota_uncharge(r->params.quota, uid, &one_poller);
		serve(p, r->workers[p->worker]);
		each_zmon(p, zmon_resume);
		return err_set(err, -e, "cannot move %s to its polling thread: %s", p->full,
			       strerror(-e));
	}
	p->poller = w;
	p->poll_uid = uid;
	each_zmon(p, zmon_resume);
	return 0;
}

bool reg_port_polling(const struct reg_port *p)
{
	return p->poller != NULL;
}

void reg_settle(struct reg *r)
{
	settle_switches(r);
}
