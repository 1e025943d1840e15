/* SPDX-License-Identifier: BSD-2-Clause */
/* registry: valed's switches and ports, their users, and who forwards them. */
#include "registry.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn.h"
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
	struct reg_port *ports; /* in creation order */
};

static int fail(char *err, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, REG_ERRLEN, fmt, ap);
	va_end(ap);
	return -e;
}

struct reg *reg_create(const struct reg_params *p, char *err)
{
	struct reg *r;

	if (p->workers < 1 || p->workers > 64) {
		fail(err, EINVAL, "workers must be 1..64, got %u", p->workers);
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r || !(r->workers = calloc(p->workers, sizeof(*r->workers))))
		goto err_alloc;
	r->params = *p;
	for (r->n_workers = 0; r->n_workers < p->workers; r->n_workers++) {
		char name[24];
		struct worker_params wp = {.cpu = -1, .poll_us = p->poll_us, .name = name};

		snprintf(name, sizeof(name), "vale-fwd%u", r->n_workers);
		r->workers[r->n_workers] = worker_create(&wp);
		if (!r->workers[r->n_workers]) {
			int e = errno;
			fail(err, e, "cannot start forwarding thread %u: %s", r->n_workers, strerror(e));
			reg_destroy(r);
			errno = e;
			return NULL;
		}
	}
	return r;

err_alloc:
	free(r);
	fail(err, ENOMEM, "out of memory");
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
	free(r);
}

/*
 * Split a netmap-style name into "valeX:Y", a ring ("-N") and flags ("/x").
 * Pipes, monitors and host rings are refused here with a reason.
 */
static int parse_name(const char *name, char base[BDG_FULLNAMSIZ], int *ret_ring,
		      bool *ret_excl, char *err)
{
	size_t len = strnlen(name, BDG_FULLNAMSIZ);
	const char *slash, *dash;
	bool excl = false;
	int ring = -1;

	if (len >= BDG_FULLNAMSIZ)
		return fail(err, ENAMETOOLONG, "port name is too long: at most %d characters",
			    BDG_FULLNAMSIZ - 1);
	if (len == 0)
		return fail(err, EINVAL, "port name is empty: expected valeX:Y");
	slash = strchr(name, '/');
	if (slash) {
		for (const char *f = slash + 1; *f; f++) {
			if (*f == 'x')
				excl = true;
			else if (strchr("rtz", *f))
				return fail(err, EOPNOTSUPP,
					    "monitors ('/%c' in '%s') are not supported yet", *f,
					    name);
			else
				return fail(err, EINVAL, "unknown flag '/%c' in '%s': valid is '/x'",
					    *f, name);
		}
		len = (size_t)(slash - name);
	}
	if (memchr(name, '{', len) || memchr(name, '}', len))
		return fail(err, EOPNOTSUPP, "pipes ('%s') are not supported yet", name);
	if (memchr(name, '*', len) || memchr(name, '^', len))
		return fail(err, EINVAL, "'%s': VALE ports have no host rings ('*', '^')", name);
	/* A trailing "-N" is a ring number, as in netmap. */
	dash = memrchr(name, '-', len);
	if (dash && dash + 1 < name + len &&
	    strspn(dash + 1, "0123456789") >= (size_t)(name + len - dash - 1)) {
		ring = atoi(dash + 1);
		if (ring >= BDG_MAXRINGS)
			return fail(err, EINVAL, "ring %d in '%s' is out of range 0..%d", ring,
				    name, BDG_MAXRINGS - 1);
		len = (size_t)(dash - name);
	}
	memcpy(base, name, len);
	base[len] = '\0';
	*ret_ring = ring;
	*ret_excl = excl;
	return 0;
}

/* Split "valeX:Y" into switch and port, with a sentence on failure. */
static int split_name(const char *base, char sw[BDG_NAMSIZ], char port[BDG_NAMSIZ], char *err)
{
	int e = bdg_parse_name(base, sw, port);

	if (e == -ENAMETOOLONG)
		return fail(err, ENAMETOOLONG,
			    "'%s' is too long: switch and port names are at most %d characters each",
			    base, BDG_NAMSIZ - 1);
	if (e)
		return fail(err, EINVAL,
			    "'%s' is not a VALE port name: expected valeX:Y, with X and Y made of "
			    "letters, digits, '_', '.' or '-'",
			    base);
	return 0;
}

struct reg_port *reg_find(struct reg *r, const char *name, int *ret_err, char *err)
{
	char sw[BDG_NAMSIZ], port[BDG_NAMSIZ];
	int e = split_name(name, sw, port, err);

	if (e) {
		*ret_err = e;
		return NULL;
	}
	for (struct reg_port *p = r->ports; p; p = p->next)
		if (strcmp(p->full, name) == 0)
			return p;
	*ret_err = fail(err, ENOENT, "no port %s", name);
	return NULL;
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
 * give it to a worker. */
static int port_create(struct reg *r, const char *full, const char *swname, const char *port,
		       const struct vport_params *vp_in, struct reg_port **ret, char *err)
{
	struct vport_params vp = *vp_in;
	struct reg_port *p;
	struct bdg *sw = bdg_lookup(swname);
	bool new_sw = false;
	int e;

	p = calloc(1, sizeof(*p));
	if (!p)
		return fail(err, ENOMEM, "out of memory");
	vp.name = port;
	p->v = vport_create(&vp);
	if (!p->v) {
		e = errno;
		free(p);
		if (e == EINVAL)
			return fail(err, EINVAL,
				    "bad port geometry: rings 1..%d, slots 2..%d, buf_size %d..%d",
				    BDG_MAXRINGS, VPORT_SLOTS_MAX, MEM_BUF_SIZE_MIN,
				    MEM_BUF_SIZE_MAX);
		return fail(err, e, "cannot create the memory of %s: %s", full, strerror(e));
	}
	if (!sw) {
		void *priv = learn_create(r->params.fdb_max, r->params.fdb_age);
		sw = priv ? bdg_create(swname, &learn_ops, priv) : NULL;
		if (!sw) {
			e = errno;
			if (priv)
				learn_ops.dtor(priv);
			vport_destroy(p->v);
			free(p);
			return fail(err, e, "cannot create switch %s: %s", swname, strerror(e));
		}
		new_sw = true;
	}
	e = bdg_attach(sw, vport_port(p->v));
	if (e < 0) {
		vport_destroy(p->v);
		free(p);
		if (new_sw)
			bdg_destroy(sw);
		if (e == -ENOSPC)
			return fail(err, ENOSPC, "switch %s is full: %d ports at most", swname,
				    BDG_MAXPORTS);
		return fail(err, -e, "cannot attach %s: %s", full, strerror(-e));
	}
	p->r = r;
	p->sw = sw;
	memcpy(p->full, full, strlen(full) + 1);
	p->worker = least_busy_worker(r);
	e = worker_add(r->workers[p->worker], vport_port(p->v), 0,
		       bdg_port_tx_rings(vport_port(p->v)), vport_kick_fd(p->v),
		       vport_notify_fd(p->v));
	if (e) {
		bdg_detach(vport_port(p->v));
		vport_destroy(p->v);
		free(p);
		if (new_sw)
			bdg_destroy(sw);
		return fail(err, -e, "cannot schedule %s: %s", full, strerror(-e));
	}
	/* Append: listing follows creation order. */
	struct reg_port **pp = &r->ports;
	while (*pp)
		pp = &(*pp)->next;
	*pp = p;
	*ret = p;
	return 0;
}

static void port_free(struct reg_port *p)
{
	struct reg *r = p->r;

	for (struct reg_port **pp = &r->ports; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	worker_remove(r->workers[p->worker], vport_port(p->v));
	bdg_detach(vport_port(p->v));
	vport_destroy(p->v);
	if (bdg_port_count(p->sw) == 0)
		bdg_destroy(p->sw);
	free(p);
}

int reg_open(struct reg *r, const struct reg_open *o, struct reg_handle **ret_h, char *err)
{
	char base[BDG_FULLNAMSIZ], sw[BDG_NAMSIZ], port[BDG_NAMSIZ];
	struct reg_port *p = NULL;
	struct reg_handle *h;
	bool excl = false;
	int ring = -1, e;

	e = parse_name(o->name, base, &ring, &excl, err);
	if (!e)
		e = split_name(base, sw, port, err);
	if (e)
		return e;
	excl = excl || o->exclusive;
	if (o->one_ring) {
		if (ring >= 0 && (uint32_t)ring != o->ring)
			return fail(err, EINVAL, "'%s' names ring %d but ring %u was asked",
				    o->name, ring, o->ring);
		ring = (int)o->ring;
	}
	for (p = r->ports; p; p = p->next)
		if (strcmp(p->full, base) == 0)
			break;
	if (p && p->exclusive)
		return fail(err, EBUSY, "%s is open exclusively by another client", base);
	if (p && excl && p->users)
		return fail(err, EBUSY, "%s is already open: an exclusive open needs it unused",
			    base);
	if (ring >= 0) {
		uint32_t limit = p ? bdg_port_tx_rings(vport_port(p->v)) : o->vp.tx_rings;
		uint32_t rlimit = p ? bdg_port_rx_rings(vport_port(p->v)) : o->vp.rx_rings;
		if (limit == 0)
			limit = 1;
		if (rlimit == 0)
			rlimit = 1;
		if ((uint32_t)ring >= limit || (uint32_t)ring >= rlimit)
			return fail(err, EINVAL, "%s has no ring %d", base, ring);
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return fail(err, ENOMEM, "out of memory");
	if (!p) {
		e = port_create(r, base, sw, port, &o->vp, &p, err);
		if (e) {
			free(h);
			return e;
		}
	}
	if (o->lossless)
		bdg_port_set_lossless(vport_port(p->v), true);
	p->users++;
	p->exclusive = excl;
	h->p = p;
	h->exclusive = excl;
	if (ring >= 0) {
		h->first_tx = h->first_rx = (uint32_t)ring;
		h->last_tx = h->last_rx = (uint32_t)ring + 1;
	} else {
		h->last_tx = bdg_port_tx_rings(vport_port(p->v));
		h->last_rx = bdg_port_rx_rings(vport_port(p->v));
	}
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
	if (p->users == 0 && !p->persistent)
		port_free(p);
}

struct reg_port *reg_handle_port(const struct reg_handle *h)
{
	return h->p;
}

void reg_port_info(const struct reg_port *p, struct reg_info *ret)
{
	struct bdg_port *bp = vport_port(p->v);
	struct mem_region *m = vport_mem(p->v);

	memset(ret, 0, sizeof(*ret));
	memcpy(ret->name, p->full, strlen(p->full) + 1);
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
	ret->users = p->users;
	ret->worker = p->worker;
	ret->vnet_hdr_len = bdg_port_vnet_hdr_len(bp);
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
	return mem_fd(vport_mem(p->v));
}

int reg_port_kick_fd(const struct reg_port *p)
{
	return vport_kick_fd(p->v);
}

int reg_port_notify_fd(const struct reg_port *p)
{
	return vport_notify_fd(p->v);
}

int reg_newif(struct reg *r, const char *name, const struct vport_params *vp, char *err)
{
	char sw[BDG_NAMSIZ], port[BDG_NAMSIZ];
	struct reg_port *p;
	int e = split_name(name, sw, port, err);

	if (e)
		return e;
	for (p = r->ports; p; p = p->next)
		if (strcmp(p->full, name) == 0)
			return fail(err, EEXIST, "%s already exists", name);
	e = port_create(r, name, sw, port, vp, &p, err);
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
		return fail(err, EINVAL, "%s is not persistent: it goes away with its last user",
			    name);
	if (p->users)
		return fail(err, EBUSY, "%s is open by %u client%s: close them first", name,
			    p->users, p->users == 1 ? "" : "s");
	port_free(p);
	return 0;
}

struct bdg_port *reg_port_bdg(const struct reg_port *p)
{
	return vport_port(p->v);
}

struct vport *reg_port_vport(const struct reg_port *p)
{
	return p->v;
}

int reg_port_set_hdr(struct reg_port *p, uint32_t len, char *err)
{
	if (len != 0 && len != 10 && len != 12)
		return fail(err, EINVAL, "virtio-net header length must be 0, 10 or 12, got %u",
			    len);
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
