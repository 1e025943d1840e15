/* SPDX-License-Identifier: BSD-2-Clause */
/* methods: valed's control methods, from JSON params to registry calls and back. */
#include "methods.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fdb.h"
#include "learn.h"
#include "pipe.h"
#include "worker.h"

/* A registry error (-errno, sentence) as a JSON-RPC error. */
static int reg_fail(struct ctl_error *e, int neg_errno, const char *detail)
{
	int code =
	    (neg_errno == -EINVAL || neg_errno == -ENAMETOOLONG) ? CTL_E_PARAMS : CTL_E_FAILED;
	return ctl_fail(e, code, -neg_errno, "%s", detail);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void mac_text(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

/* The port geometry parameters shared by port.register and vale.newif. */
static int geometry_params(json_t *params, struct vport_params *vp, struct ctl_error *e)
{
	uint64_t v[6];

	if (ctl_param_uint(params, "tx_rings", false, 1, BDG_MAXRINGS, 1, &v[0], e) ||
	    ctl_param_uint(params, "rx_rings", false, 1, BDG_MAXRINGS, 1, &v[1], e) ||
	    ctl_param_uint(params, "tx_slots", false, 2, VPORT_SLOTS_MAX, VPORT_SLOTS_DEFAULT,
			   &v[2], e) ||
	    ctl_param_uint(params, "rx_slots", false, 2, VPORT_SLOTS_MAX, VPORT_SLOTS_DEFAULT,
			   &v[3], e) ||
	    ctl_param_uint(params, "buf_size", false, MEM_BUF_SIZE_MIN, MEM_BUF_SIZE_MAX,
			   MEM_BUF_SIZE_DEFAULT, &v[4], e) ||
	    ctl_param_uint(params, "extra_bufs", false, 0, 65536, 0, &v[5], e))
		return -1;
	memset(vp, 0, sizeof(*vp));
	vp->tx_rings = (uint32_t)v[0];
	vp->rx_rings = (uint32_t)v[1];
	vp->tx_slots = (uint32_t)v[2];
	vp->rx_slots = (uint32_t)v[3];
	vp->buf_size = (uint32_t)v[4];
	vp->extra_bufs = (uint32_t)v[5];
	return 0;
}

/* A monitor's extra keys: "type", what it watches and in which directions. */
static void monitor_json(json_t *o, const struct reg_info *in)
{
	json_object_set_new(o, "type", json_string("monitor"));
	json_object_set_new(o, "monitors", json_string(in->monitored));
	json_object_set_new(o, "monitor_rx", json_boolean(in->mon_rx));
	json_object_set_new(o, "monitor_tx", json_boolean(in->mon_tx));
	json_object_set_new(o, "zero_copy", json_boolean(in->mon_zcopy));
	if (in->area_size) { /* where the "area" fd of port.register maps */
		json_object_set_new(o, "area_offset", json_integer((json_int_t)in->area_offset));
		json_object_set_new(o, "area_size", json_integer((json_int_t)in->area_size));
	}
}

/* A pipe end's extra keys: "type" and the other end's name. */
static void pipe_json(json_t *o, const struct reg_info *in)
{
	json_object_set_new(o, "type", json_string("pipe"));
	json_object_set_new(o, "peer", json_string(in->peer));
}

/* "mem_id": 0 for a region of the port's own, or the shared region's id. */
static int mem_id_param(struct methods_ctx *ctx, json_t *params, struct vport_params *vp,
			struct ctl_error *e)
{
	struct mem_region *shared = reg_shared_mem(ctx->reg);
	uint64_t id;

	if (ctl_param_uint(params, "mem_id", false, 0, 65535, 0, &id, e))
		return -1;
	if (id == 0)
		return 0;
	if (id != mem_id(shared))
		return ctl_fail(e, CTL_E_FAILED, ENOENT,
				"no shared memory region %u: the shared region is %u (a port's own "
				"region is never shared)",
				(unsigned)id, mem_id(shared));
	vp->shared_mem = shared;
	return 0;
}

static json_t *info_json(const struct reg_info *in)
{
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:i, s:i, s:I, s:I, s:i, s:i, s:i, s:i, s:i, s:i, "
	    "s:i, s:i, s:i, s:i, s:i, s:b, s:b, s:b, s:i, s:i, s:i}",
	    "name", in->name, "switch", in->sw, "port", in->port, "index", in->index, "mem_id",
	    in->mem_id, "mem_size", (json_int_t)in->mem_size, "if_offset",
	    (json_int_t)in->if_offset, "tx_rings", in->vp.tx_rings, "rx_rings", in->vp.rx_rings,
	    "tx_slots", in->vp.tx_slots, "rx_slots", in->vp.rx_slots, "buf_size", in->vp.buf_size,
	    "extra_bufs", in->vp.extra_bufs, "first_tx_ring", in->first_tx, "last_tx_ring",
	    in->last_tx, "first_rx_ring", in->first_rx, "last_rx_ring", in->last_rx, "vnet_hdr_len",
	    in->vnet_hdr_len, "persistent", in->persistent, "lossless", in->lossless, "exclusive",
	    in->exclusive, "users", in->users, "worker", in->worker, "api", NETMAP_API);

	if (o)
		json_object_set_new(o, "owner", json_integer(in->owner));
	if (o && in->monitor)
		monitor_json(o, in);
	if (o && in->pipe)
		pipe_json(o, in);
	return o;
}

void methods_who(const struct ctl_conn *c, struct authz_who *ret_who)
{
	ret_who->uid = ctl_conn_peer_uid(c);
	ret_who->gid = ctl_conn_peer_gid(c);
	ret_who->n_groups = ctl_conn_peer_groups(c, &ret_who->groups);
}

/* The owner of a port in the shared region that is not uid's, or (uid_t)-1. */
static uid_t shared_mem_other(struct methods_ctx *ctx, uid_t uid)
{
	struct mem_region *shared = reg_shared_mem(ctx->reg);

	for (struct reg_port *p = reg_port_first(ctx->reg); p; p = reg_port_next(ctx->reg, p))
		if (reg_port_mem(p) == shared && reg_port_owner(p) != uid)
			return reg_port_owner(p);
	return (uid_t)-1;
}

/* May w own a new port on switch sw (NULL: on none) with geometry vp? */
static int may_create(struct methods_ctx *ctx, const struct authz_who *w, const char *sw,
		      const struct vport_params *vp, struct ctl_error *e)
{
	if (sw && authz_switch(ctx->authz, w, sw, e) < 0)
		return -1;
	if (vp->shared_mem && authz_shared_mem(ctx->authz, w, shared_mem_other(ctx, w->uid), e) < 0)
		return -1;
	return 0;
}

/* May w do what reg_open(o) would (open, create or monitor a port)? */
static int may_open(struct methods_ctx *ctx, const struct authz_who *w, const struct reg_open *o,
		    struct ctl_error *e)
{
	struct reg_target t;
	struct reg_info in;
	char err[REG_ERRLEN];
	int rc = reg_open_target(ctx->reg, o->name, &t, err);

	if (rc)
		return reg_fail(e, rc, err);
	if (!t.port)
		/* A monitor of nothing fails with ENOENT in reg_open. */
		return t.monitor ? 0 : may_create(ctx, w, t.sw[0] ? t.sw : NULL, &o->vp, e);
	reg_port_info(t.port, &in);
	if (t.monitor)
		rc = authz_monitor(ctx->authz, w, t.base, in.owner, in.exclusive, e);
	else
		rc = authz_port(ctx->authz, w, t.base, in.owner, "open", e);
	if (rc < 0 || (t.sw[0] && authz_switch(ctx->authz, w, t.sw, e) < 0))
		return -1;
	return 0;
}

/* May w do `verb` to port p (named name)? */
static int may_change(struct methods_ctx *ctx, const struct authz_who *w, struct reg_port *p,
		      const char *name, const char *verb, struct ctl_error *e)
{
	return authz_port(ctx->authz, w, name, reg_port_owner(p), verb, e) < 0 ? -1 : 0;
}

/* The port named by params.name, or an error. */
static struct reg_port *port_param(struct methods_ctx *ctx, json_t *params, struct ctl_error *e)
{
	char err[REG_ERRLEN];
	const char *name;
	struct reg_port *p;
	int rc;

	if (ctl_param_string(params, "name", true, NULL, &name, e))
		return NULL;
	p = reg_find(ctx->reg, name, &rc, err);
	if (!p)
		reg_fail(e, rc, err);
	return p;
}

/* The port named by params.name, when name is the only parameter. */
static struct reg_port *only_port_param(struct methods_ctx *ctx, json_t *params,
					struct ctl_error *e)
{
	static const char *const known[] = {"name", NULL};

	return ctl_params_only(params, known, e) ? NULL : port_param(ctx, params, e);
}

/* The switch named by params.switch, or an error. */
static struct bdg *switch_param(json_t *params, struct ctl_error *e)
{
	const char *name;
	struct bdg *b;

	if (ctl_param_string(params, "switch", true, NULL, &name, e))
		return NULL;
	b = bdg_lookup(name);
	if (!b)
		ctl_fail(e, CTL_E_FAILED, ENOENT,
			 "no switch %s (a switch exists while it has ports)", name);
	return b;
}

/* ---- port.register ---------------------------------------------------- */

static void unregister_on_close(struct ctl_conn *c, void *arg)
{
	(void)c;
	reg_close(arg);
}

static int m_port_register(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			   struct ctl_error *e, void *arg)
{
	static const char *const known[] = {
	    "name",	"mode",	      "ring",	   "tx_rings", "rx_rings", "tx_slots", "rx_slots",
	    "buf_size", "extra_bufs", "exclusive", "lossless", "rings",	   "mem_id",   NULL};
	struct methods_ctx *ctx = arg;
	struct reg_open o = {0};
	struct authz_who w;
	const char *rings;
	struct reg_handle *h;
	struct reg_info info;
	char err[REG_ERRLEN];
	const char *mode;
	uint64_t ring;
	int rc;

	if (ctl_params_only(params, known, e) ||
	    ctl_param_string(params, "name", true, NULL, &o.name, e) ||
	    ctl_param_string(params, "mode", false, "all", &mode, e) ||
	    ctl_param_uint(params, "ring", false, 0, BDG_MAXRINGS - 1, 0, &ring, e) ||
	    ctl_param_bool(params, "exclusive", false, &o.exclusive, e) ||
	    ctl_param_bool(params, "lossless", false, &o.lossless, e) ||
	    ctl_param_string(params, "rings", false, "both", &rings, e) ||
	    geometry_params(params, &o.vp, e) || mem_id_param(ctx, params, &o.vp, e))
		return -1;
	if (strcmp(rings, "tx") == 0)
		o.tx_only = true;
	else if (strcmp(rings, "rx") == 0)
		o.rx_only = true;
	else if (strcmp(rings, "both") != 0)
		return ctl_fail(e, CTL_E_PARAMS, EINVAL,
				"parameter 'rings' must be \"both\", \"tx\" or \"rx\", got \"%s\"",
				rings);
	if (strcmp(mode, "all") == 0)
		o.one_ring = false;
	else if (strcmp(mode, "one") == 0)
		o.one_ring = true;
	else
		return ctl_fail(e, CTL_E_PARAMS, EINVAL,
				"parameter 'mode' must be \"all\" or \"one\", got \"%s\"", mode);
	if (json_object_get(params, "ring") && !o.one_ring)
		return ctl_fail(e, CTL_E_PARAMS, EINVAL,
				"parameter 'ring' needs \"mode\": \"one\"");
	o.ring = (uint32_t)ring;
	methods_who(c, &w);
	if (may_open(ctx, &w, &o, e))
		return -1;
	o.owner = w.uid;

	rc = reg_open(ctx->reg, &o, &h, err);
	if (rc)
		return reg_fail(e, rc, err);
	if (ctl_conn_add_closer(c, unregister_on_close, h)) {
		reg_close(h);
		return ctl_fail(e, CTL_E_FAILED, ENOMEM, "out of memory");
	}
	reg_handle_info(h, &info);
	*ret = info_json(&info);
	int fd_mem = dup(reg_port_mem_fd(reg_handle_port(h)));
	int fd_kick = dup(reg_port_kick_fd(reg_handle_port(h)));
	int fd_notify = dup(reg_port_notify_fd(reg_handle_port(h)));
	/* A zero-copy monitor's: the only part of its region it may write. */
	int area = reg_port_area_fd(reg_handle_port(h));
	int fd_area = area >= 0 ? dup(area) : -1;
	if (!*ret || fd_mem < 0 || fd_kick < 0 || fd_notify < 0 || (area >= 0 && fd_area < 0)) {
		int err_no = errno;
		json_decref(*ret);
		*ret = NULL;
		if (fd_mem >= 0)
			close(fd_mem);
		if (fd_kick >= 0)
			close(fd_kick);
		if (fd_notify >= 0)
			close(fd_notify);
		if (fd_area >= 0)
			close(fd_area);
		ctl_conn_remove_closer(c, unregister_on_close, h);
		reg_close(h);
		return ctl_fail(e, CTL_E_FAILED, err_no ? err_no : ENOMEM,
				"cannot pass the port's descriptors: %s", strerror(err_no));
	}
	fds->fd[0] = fd_mem, fds->name[0] = "mem";
	fds->fd[1] = fd_kick, fds->name[1] = "kick";
	fds->fd[2] = fd_notify, fds->name[2] = "notify";
	fds->n = 3;
	if (fd_area >= 0)
		fds->fd[3] = fd_area, fds->name[3] = "area", fds->n = 4;
	return 0;
}

/* ---- port.info, pools.info --------------------------------------------- */

static int m_port_info(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
		       struct ctl_error *e, void *arg)
{
	struct reg_port *p;
	struct reg_info info;

	(void)c, (void)fds;
	if (!(p = only_port_param(arg, params, e)))
		return -1;
	reg_port_info(p, &info);
	*ret = info_json(&info);
	return 0;
}

static int m_pools_info(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			struct ctl_error *e, void *arg)
{
	struct reg_port *p;
	struct mem_region *m;
	const struct mem_params *mp;

	(void)c, (void)fds;
	if (!(p = only_port_param(arg, params, e)))
		return -1;
	m = reg_port_mem(p);
	mp = mem_params(m);
	*ret = json_pack("{s:i, s:I, s:b, s:{s:i, s:i, s:i}, s:{s:i, s:i, s:i}, "
			 "s:{s:i, s:i, s:i, s:I}}",
			 "mem_id", mem_id(m), "mem_size", (json_int_t)mem_size(m), "hugetlb",
			 mp->hugetlb, "if_pool", "num", mp->if_num, "size", mp->if_size, "free",
			 mem_pool_free_count(m, MEM_POOL_IF), "ring_pool", "num", mp->ring_num,
			 "size", mp->ring_size, "free", mem_pool_free_count(m, MEM_POOL_RING),
			 "buf_pool", "num", mp->buf_num, "size", mp->buf_size, "free",
			 mem_pool_free_count(m, MEM_POOL_BUF), "offset",
			 (json_int_t)mem_buf_base_offset(m));
	return 0;
}

/* ---- vale.list, vale.newif, vale.delif ----------------------------------- */

/* Pipe ends are on no switch: vale.list gives them a list of their own. */
static json_t *pipes_json(struct reg *r)
{
	json_t *a = json_array();

	for (struct reg_port *p = reg_port_first(r); p; p = reg_port_next(r, p)) {
		struct reg_info in;

		reg_port_info(p, &in);
		if (!in.pipe && !(in.monitor && !in.sw[0])) /* pipe ends and their monitors */
			continue;
		json_t *po = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:b}", "name", in.name,
				       "type", "pipe", "peer", in.peer, "users", in.users, "mem_id",
				       in.mem_id, "tx_rings", in.vp.tx_rings, "rx_rings",
				       in.vp.rx_rings, "exclusive", in.exclusive);
		if (po)
			json_object_set_new(po, "owner", json_integer(in.owner));
		if (po && in.monitor)
			monitor_json(po, &in); /* "type": "monitor" */
		json_array_append_new(a, po);
	}
	return a;
}

/* "vale0:a1" of a kernel port; out has room for any switch and port name. */
static void kport_name(const struct att_entry *a, char out[2 * BDG_NAMSIZ])
{
	snprintf(out, 2 * BDG_NAMSIZ, "%s:%s", att_entry_switch(a), att_entry_port(a));
}

/* A kernel port in vale.list: attached until detached or deleted, so persistent. */
static json_t *kport_list_json(const struct att_entry *a)
{
	char name[2 * BDG_NAMSIZ];
	json_t *o;

	kport_name(a, name);
	o = json_pack("{s:s}", "name", name);
	methods_kport_describe(o, a);
	json_object_set_new(o, "index",
			    json_integer(bdg_port_index(kport_port(att_entry_kport(a)))));
	json_object_set_new(o, "persistent", json_true());
	return o;
}

static int m_vale_list(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
		       struct ctl_error *e, void *arg)
{
	static const char *const known[] = {"switch", NULL};
	struct methods_ctx *ctx = arg;
	const char *only;
	json_t *switches = json_array();

	(void)c, (void)fds;
	if (ctl_params_only(params, known, e) ||
	    ctl_param_string(params, "switch", false, NULL, &only, e)) {
		json_decref(switches);
		return -1;
	}
	if (only && !bdg_lookup(only)) {
		json_decref(switches);
		return ctl_fail(e, CTL_E_FAILED, ENOENT, "no switch %s", only);
	}
	for (struct bdg *b = bdg_first(); b; b = bdg_next(b)) {
		json_t *ports = json_array();

		if (only && strcmp(only, bdg_name(b)) != 0) {
			json_decref(ports);
			continue;
		}
		for (struct reg_port *p = reg_port_first(ctx->reg); p;
		     p = reg_port_next(ctx->reg, p)) {
			struct reg_info in;
			reg_port_info(p, &in);
			if (strcmp(in.sw, bdg_name(b)) != 0)
				continue;
			json_t *po = json_pack(
			    "{s:s, s:s, s:i, s:s, s:b, s:b, s:i, s:i, s:i}", "name", in.name,
			    "port", in.port, "index", in.index, "type", "vale", "persistent",
			    in.persistent, "lossless", in.lossless, "users", in.users, "tx_rings",
			    in.vp.tx_rings, "rx_rings", in.vp.rx_rings);
			if (po)
				json_object_set_new(po, "owner", json_integer(in.owner));
			if (po && in.monitor)
				monitor_json(po, &in);
			json_array_append_new(ports, po);
		}
		for (struct att_entry *a = att_first(ctx->att); a; a = att_next(a))
			if (strcmp(att_entry_switch(a), bdg_name(b)) == 0)
				json_array_append_new(ports, kport_list_json(a));
		json_array_append_new(switches,
				      json_pack("{s:s, s:o}", "name", bdg_name(b), "ports", ports));
	}
	*ret = json_pack("{s:o}", "switches", switches);
	if (*ret && !only)
		json_object_set_new(*ret, "pipes", pipes_json(ctx->reg));
	return 0;
}

static int m_vale_newif(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			struct ctl_error *e, void *arg)
{
	static const char *const known[] = {"name",	  "tx_rings", "rx_rings",
					    "tx_slots",	  "rx_slots", "buf_size",
					    "extra_bufs", "mem_id",   NULL};
	struct methods_ctx *ctx = arg;
	char sw[BDG_NAMSIZ], port[BDG_NAMSIZ];
	struct vport_params vp;
	struct reg_info info;
	struct authz_who w;
	char err[REG_ERRLEN];
	const char *name;
	int rc;

	(void)fds;
	if (ctl_params_only(params, known, e) ||
	    ctl_param_string(params, "name", true, NULL, &name, e) ||
	    geometry_params(params, &vp, e) || mem_id_param(ctx, params, &vp, e))
		return -1;
	methods_who(c, &w);
	/* A name that does not parse makes reg_newif fail before it changes anything. */
	if (may_create(ctx, &w, bdg_parse_name(name, sw, port) == 0 ? sw : NULL, &vp, e))
		return -1;
	rc = reg_newif(ctx->reg, name, &vp, w.uid, err);
	if (rc)
		return reg_fail(e, rc, err);
	reg_port_info(reg_find(ctx->reg, name, &rc, err), &info);
	*ret = info_json(&info);
	return 0;
}

static int m_vale_delif(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			struct ctl_error *e, void *arg)
{
	static const char *const known[] = {"name", NULL};
	struct methods_ctx *ctx = arg;
	struct reg_port *p;
	struct authz_who w;
	char err[REG_ERRLEN];
	const char *name;
	int rc;

	(void)fds;
	if (ctl_params_only(params, known, e) ||
	    ctl_param_string(params, "name", true, NULL, &name, e))
		return -1;
	methods_who(c, &w);
	/* A port that is not found makes reg_delif fail with its reason. */
	p = reg_find(ctx->reg, name, &rc, err);
	if (p && may_change(ctx, &w, p, name, "delete", e))
		return -1;
	rc = reg_delif(ctx->reg, name, err);
	if (rc)
		return reg_fail(e, rc, err);
	*ret = json_pack("{s:s, s:b}", "name", name, "deleted", 1);
	return 0;
}

/* ---- port.hdr.set, port.hdr.get ------------------------------------------- */

static int m_port_hdr_set(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			  struct ctl_error *e, void *arg)
{
	static const char *const known[] = {"name", "len", NULL};
	struct reg_port *p;
	struct authz_who w;
	char err[REG_ERRLEN];
	uint64_t len;
	int rc;

	(void)fds;
	if (ctl_params_only(params, known, e) || !(p = port_param(arg, params, e)) ||
	    ctl_param_uint(params, "len", true, 0, 12, 0, &len, e))
		return -1;
	methods_who(c, &w);
	if (may_change(arg, &w, p, json_string_value(json_object_get(params, "name")),
		       "set the virtio-net header of", e))
		return -1;
	rc = reg_port_set_hdr(p, (uint32_t)len, err);
	if (rc)
		return reg_fail(e, rc, err);
	*ret = json_pack("{s:s, s:i}", "name", json_string_value(json_object_get(params, "name")),
			 "len", (int)len);
	return 0;
}

static int m_port_hdr_get(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			  struct ctl_error *e, void *arg)
{
	struct reg_port *p;
	struct reg_info info;

	(void)c, (void)fds;
	if (!(p = only_port_param(arg, params, e)))
		return -1;
	reg_port_info(p, &info);
	*ret = json_pack("{s:s, s:i}", "name", info.name, "len", info.vnet_hdr_len);
	return 0;
}

/* ---- switch.fdb, switch.flush ------------------------------------------- */

static const char *port_name_at(struct bdg *b, uint8_t idx)
{
	struct bdg_port *p = bdg_port_at(b, idx);
	return p ? bdg_port_name(p) : "?";
}

static int m_switch_fdb(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			struct ctl_error *e, void *arg)
{
	static const char *const known[] = {"switch", NULL};
	struct methods_ctx *ctx = arg;
	struct authz_who w;
	struct bdg *b;
	struct fdb *t;
	struct fdb_entry *ents;
	struct fdb_stats st;
	size_t n;
	json_t *arr;

	(void)fds;
	if (ctl_params_only(params, known, e) || !(b = switch_param(params, e)))
		return -1;
	/* Who talks to whom on a switch is for those allowed on it. */
	methods_who(c, &w);
	if (authz_switch(ctx->authz, &w, bdg_name(b), e) < 0)
		return -1;
	if (bdg_ops(b)->lookup != learn_ops.lookup)
		return ctl_fail(e, CTL_E_FAILED, EOPNOTSUPP,
				"switch %s does not use the learning bridge", bdg_name(b));
	t = learn_fdb(bdg_ops_priv(b));
	fdb_get_stats(t, &st);
	ents = calloc(st.entries + 1, sizeof(*ents));
	if (!ents)
		return ctl_fail(e, CTL_E_FAILED, ENOMEM, "out of memory");
	n = fdb_dump(t, ents, st.entries + 1, bdg_now(b));
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		char mac[18];
		mac_text(ents[i].mac, mac);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:i, s:b, s:i}", "mac", mac,
						     "port", port_name_at(b, ents[i].port), "index",
						     ents[i].port, "static", ents[i].is_static,
						     "age", ents[i].age_s));
	}
	free(ents);
	*ret = json_pack("{s:s, s:o, s:i, s:i, s:{s:I, s:I, s:I, s:I, s:I}}", "switch", bdg_name(b),
			 "entries", arr, "max_entries", fdb_max_entries(t), "age", fdb_age(t),
			 "counters", "learned", (json_int_t)st.learned, "moved",
			 (json_int_t)st.moved, "evicted", (json_int_t)st.evicted, "expired",
			 (json_int_t)st.expired, "full", (json_int_t)st.full);
	return 0;
}

/*
 * May w forget learned MACs of switch b: of one of w's ports (port), or,
 * for root and the admin group, of a kernel port or of the whole switch
 * (which moves everyone's traffic to flooding until it is learned again).
 */
static int may_flush(struct methods_ctx *ctx, const struct authz_who *w, struct bdg *b,
		     const char *port, struct ctl_error *e)
{
	static const char whole[] =
	    "forget every MAC of a switch (name one of your ports with 'port')";
	char full[BDG_FULLNAMSIZ], err[REG_ERRLEN];
	struct reg_port *rp;
	int rc;

	if (!port)
		return authz_admin(ctx->authz, w, whole, e) < 0 ? -1 : 0;
	snprintf(full, sizeof(full), "%s:%s", bdg_name(b), port);
	rp = reg_find(ctx->reg, full, &rc, err);
	if (!rp)
		return authz_admin(ctx->authz, w, "forget the MACs of a kernel port", e) < 0 ? -1
											     : 0;
	return may_change(ctx, w, rp, full, "flush the MACs of", e);
}

static int m_switch_flush(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			  struct ctl_error *e, void *arg)
{
	static const char *const known[] = {"switch", "port", NULL};
	struct methods_ctx *ctx = arg;
	struct bdg_port *p = NULL;
	struct authz_who w;
	struct bdg *b;
	const char *port;
	uint32_t n;

	(void)fds;
	if (ctl_params_only(params, known, e) || !(b = switch_param(params, e)) ||
	    ctl_param_string(params, "port", false, NULL, &port, e))
		return -1;
	if (bdg_ops(b)->lookup != learn_ops.lookup)
		return ctl_fail(e, CTL_E_FAILED, EOPNOTSUPP,
				"switch %s does not use the learning bridge", bdg_name(b));
	if (port && !(p = bdg_find_port(b, port)))
		return ctl_fail(e, CTL_E_FAILED, ENOENT, "switch %s has no port %s", bdg_name(b),
				port);
	methods_who(c, &w);
	if (may_flush(ctx, &w, b, port, e))
		return -1;
	n = p ? fdb_flush_port(learn_fdb(bdg_ops_priv(b)), bdg_port_index(p))
	      : fdb_flush(learn_fdb(bdg_ops_priv(b)));
	*ret = json_pack("{s:s, s:i}", "switch", bdg_name(b), "flushed", n);
	return 0;
}

/* ---- stats.get, daemon.status ------------------------------------------- */

/* stats.get of a pipe end: its rings' counters (a pipe never drops). */
static json_t *pipe_stats_json(struct reg_port *p)
{
	uint64_t v[2][5] = {{0}}; /* [tx, rx][packets, bytes, drops, reinits, bad_slots] */
	json_t *rings = json_array();
	struct reg_info in;
	unsigned end = 0;
	struct pipe *pp = reg_port_pipe(p, &end);

	reg_port_info(p, &in);
	for (int dir = 0; dir < 2; dir++) {
		uint32_t n = dir ? in.vp.rx_rings : in.vp.tx_rings;
		for (uint32_t i = 0; i < n; i++) {
			struct kring *k =
			    dir ? pipe_rx_kring(pp, end, i) : pipe_tx_kring(pp, end, i);
			uint64_t c[5] = {__atomic_load_n(&k->stats.packets, __ATOMIC_RELAXED),
					 __atomic_load_n(&k->stats.bytes, __ATOMIC_RELAXED),
					 __atomic_load_n(&k->stats.drops, __ATOMIC_RELAXED),
					 __atomic_load_n(&k->stats.reinits, __ATOMIC_RELAXED),
					 __atomic_load_n(&k->stats.bad_slots, __ATOMIC_RELAXED)};
			for (int j = 0; j < 5; j++)
				v[dir][j] += c[j];
			json_array_append_new(
			    rings,
			    json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:I}", "dir",
				      dir ? "rx" : "tx", "ring", i, "packets", (json_int_t)c[0],
				      "bytes", (json_int_t)c[1], "drops", (json_int_t)c[2],
				      "reinits", (json_int_t)c[3], "bad_slots", (json_int_t)c[4]));
		}
	}
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "name", in.name,
			 "type", "pipe", "tx_packets", (json_int_t)v[0][0], "tx_bytes",
			 (json_int_t)v[0][1], "rx_packets", (json_int_t)v[1][0], "rx_bytes",
			 (json_int_t)v[1][1], "rx_drops", (json_int_t)v[1][2], "tx_errors",
			 (json_int_t)v[0][4], "reinits", (json_int_t)(v[0][3] + v[1][3]), "rings",
			 rings);
}

/* The switch's counters of port bp, named name; "type" only when type is given. */
static json_t *bdg_stats_json(const char *name, const char *type, struct bdg_port *bp)
{
	struct bdg_port_stats st;
	json_t *rings = json_array();

	bdg_port_get_stats(bp, &st);
	for (int dir = 0; dir < 2; dir++) {
		uint32_t n = dir ? bdg_port_rx_rings(bp) : bdg_port_tx_rings(bp);
		for (uint32_t i = 0; i < n; i++) {
			struct kring *k = dir ? bdg_port_rx_kring(bp, i) : bdg_port_tx_kring(bp, i);
			json_array_append_new(
			    rings,
			    json_pack(
				"{s:s, s:i, s:I, s:I, s:I, s:I, s:I}", "dir", dir ? "rx" : "tx",
				"ring", i, "packets",
				(json_int_t)__atomic_load_n(&k->stats.packets, __ATOMIC_RELAXED),
				"bytes",
				(json_int_t)__atomic_load_n(&k->stats.bytes, __ATOMIC_RELAXED),
				"drops",
				(json_int_t)__atomic_load_n(&k->stats.drops, __ATOMIC_RELAXED),
				"reinits",
				(json_int_t)__atomic_load_n(&k->stats.reinits, __ATOMIC_RELAXED),
				"bad_slots",
				(json_int_t)__atomic_load_n(&k->stats.bad_slots,
							    __ATOMIC_RELAXED)));
		}
	}
	return json_pack("{s:s, s:s*, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "name", name,
			 "type", type, "tx_packets", (json_int_t)st.tx_packets, "tx_bytes",
			 (json_int_t)st.tx_bytes, "rx_packets", (json_int_t)st.rx_packets,
			 "rx_bytes", (json_int_t)st.rx_bytes, "rx_drops", (json_int_t)st.rx_drops,
			 "tx_errors", (json_int_t)st.tx_errors, "reinits", (json_int_t)st.reinits,
			 "rings", rings);
}

static json_t *port_stats_json(struct reg_port *p)
{
	struct bdg_port *bp = reg_port_bdg(p);
	struct reg_info in;

	if (!bp)
		return pipe_stats_json(p);
	reg_port_info(p, &in);
	return bdg_stats_json(in.name, NULL, bp);
}

/* stats.get of a kernel port: the switch's counters, as any port's, and the kernel side's. */
static json_t *kport_stats_json(const struct att_entry *a)
{
	char name[2 * BDG_NAMSIZ];
	json_t *o;

	kport_name(a, name);
	o = bdg_stats_json(name, att_entry_type(a), kport_port(att_entry_kport(a)));
	methods_kport_counters(o, a);
	return o;
}

static int m_stats_get(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
		       struct ctl_error *e, void *arg)
{
	static const char *const known[] = {"name", NULL};
	struct methods_ctx *ctx = arg;
	json_t *ports;

	(void)c, (void)fds;
	if (ctl_params_only(params, known, e))
		return -1;
	ports = json_array();
	if (json_object_get(params, "name")) {
		const char *name = json_string_value(json_object_get(params, "name"));
		struct att_entry *a = name ? methods_kport_find(ctx->att, name) : NULL;
		struct reg_port *p = NULL;

		if (!a && !(name && methods_host_port_missing(name, e)))
			p = port_param(ctx, params, e);
		if (!a && !p) {
			json_decref(ports);
			return -1;
		}
		json_array_append_new(ports, a ? kport_stats_json(a) : port_stats_json(p));
	} else {
		for (struct reg_port *p = reg_port_first(ctx->reg); p;
		     p = reg_port_next(ctx->reg, p))
			json_array_append_new(ports, port_stats_json(p));
		for (struct att_entry *a = att_first(ctx->att); a; a = att_next(a))
			json_array_append_new(ports, kport_stats_json(a));
	}
	*ret = json_pack("{s:o}", "ports", ports);
	return 0;
}

/* Limits or usage by resource name; an unlimited limit is null. With only,
 * just the resources whose only[r] is set. */
static json_t *amount_json(const struct quota_amount *a, const bool *only)
{
	json_t *o = json_object();

	for (int r = 0; r < QUOTA_NRES; r++)
		if (!only || only[r])
			json_object_set_new(o, quota_res_name((enum quota_res)r),
					    a->n[r] == QUOTA_UNLIMITED
						? json_null()
						: json_integer((json_int_t)a->n[r]));
	return o;
}

/* daemon.status's limits: the caller's, its usage, and the host-wide caps. */
static void limits_json(json_t *o, struct methods_ctx *ctx, uid_t uid)
{
	static const bool host_only[QUOTA_NRES] = {
	    [QUOTA_CONNS] = true, [QUOTA_REGION_BYTES] = true};
	struct quota_amount lim, used, host = {{0}}, host_used;

	if (!ctx->quota)
		return;
	quota_limits(ctx->quota, uid, &lim);
	quota_usage(ctx->quota, uid, &used);
	quota_host_usage(ctx->quota, &host_used);
	host.n[QUOTA_CONNS] = quota_params(ctx->quota)->host_conns;
	host.n[QUOTA_REGION_BYTES] = quota_params(ctx->quota)->host_region_bytes;
	json_object_set_new(o, "uid", json_integer((json_int_t)uid));
	json_object_set_new(o, "limits", amount_json(&lim, NULL));
	json_object_set_new(o, "usage", amount_json(&used, NULL));
	json_object_set_new(o, "host_limits", amount_json(&host, host_only));
	json_object_set_new(o, "host_usage", amount_json(&host_used, host_only));
}

static int m_daemon_status(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			   struct ctl_error *e, void *arg)
{
	static const char *const known[] = {NULL};
	struct methods_ctx *ctx = arg;
	json_t *workers = json_array();
	uint32_t nports = 0, nswitches = 0;

	(void)fds;
	if (ctl_params_only(params, known, e)) {
		json_decref(workers);
		return -1;
	}
	for (uint32_t i = 0; i < reg_worker_count(ctx->reg); i++) {
		struct worker_stats st;
		worker_get_stats(reg_worker(ctx->reg, i), &st);
		json_array_append_new(
		    workers, json_pack("{s:i, s:i, s:I, s:I, s:I}", "id", i, "ports", st.ports,
				       "batches", (json_int_t)st.batches, "sleeps",
				       (json_int_t)st.sleeps, "kicks", (json_int_t)st.kicks));
	}
	for (struct reg_port *p = reg_port_first(ctx->reg); p; p = reg_port_next(ctx->reg, p))
		nports++;
	for (struct att_entry *a = att_first(ctx->att); a; a = att_next(a))
		nports++; /* NICs, host ports, taps */
	for (struct bdg *b = bdg_first(); b; b = bdg_next(b))
		nswitches++;
	*ret = json_pack("{s:s, s:i, s:i, s:i, s:s, s:i, s:i, s:i, s:i, s:o}", "version",
			 VALE_VERSION, "api", NETMAP_API, "pid", (int)getpid(), "uptime_s",
			 (int)((now_ns() - ctx->started_ns) / 1000000000u), "socket",
			 ctx->socket_path, "switches", nswitches, "ports", nports, "clients",
			 (int)ctl_server_conn_count(ctx->server), "shared_mem_id",
			 mem_id(reg_shared_mem(ctx->reg)), "workers", workers);
	if (*ret)
		limits_json(*ret, ctx, ctl_conn_peer_uid(c));
	return 0;
}

int methods_register(struct ctl_server *s, struct methods_ctx *ctx)
{
	const struct ctl_method methods[] = {
	    {"port.register", "open a port; returns its memory and eventfds", m_port_register, ctx,
	     true},
	    {"port.info", "describe a port: rings, slots, memory, users", m_port_info, ctx, false},
	    {"pools.info", "the memory pools of a port's region", m_pools_info, ctx, false},
	    {"vale.list", "list switches and their ports", m_vale_list, ctx, false},
	    {"vale.newif", "create a persistent port", m_vale_newif, ctx, false},
	    {"vale.delif", "delete a persistent port", m_vale_delif, ctx, false},
	    {"port.hdr.set", "set a port's virtio-net header length (0, 10, 12)", m_port_hdr_set,
	     ctx, false},
	    {"port.hdr.get", "get a port's virtio-net header length", m_port_hdr_get, ctx, false},
	    {"switch.fdb", "the MAC table of a switch", m_switch_fdb, ctx, false},
	    {"switch.flush", "forget learned MACs of a switch or of one port", m_switch_flush, ctx,
	     false},
	    {"stats.get", "counters of one port or of all", m_stats_get, ctx, false},
	    {"daemon.status", "version, uptime, workers, ports, the caller's limits and usage",
	     m_daemon_status, ctx, false},
	};

	ctx->server = s;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		int rc = ctl_method_register(s, &methods[i]);
		if (rc)
			return rc;
	}
	return 0;
}
