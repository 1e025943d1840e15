/* SPDX-License-Identifier: BSD-2-Clause */
/* methods_nic: control methods for kernel interfaces: vale.attach, vale.detach, tap ports. */
#include "methods.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "attach.h"

/* Kernel-side work (interfaces, taps, polling threads) is for root and the admin group. */
static int need_admin(struct ctl_conn *c, struct methods_ctx *ctx, const char *action,
		      struct ctl_error *e)
{
	struct authz_who w;

	methods_who(c, &w);
	return authz_admin(ctx->authz, &w, action, e) < 0 ? -1 : 0;
}

/*
 * Limits of kernel ports (ports/quota.h). hw/attach.c keeps no owner, so
 * their charges are holds: "kport:SW:PORT" (one port, two with a host port)
 * while the entry exists, "kpoll:SW:PORT" (a polling thread) while it polls,
 * and the switch an attach creates (registry.h). settle() gives back those
 * whose object is gone; it runs after every call that may remove one.
 */
#define KPORT_KEY "kport:"
#define KPOLL_KEY "kpoll:"

static bool kport_alive(const char *name, void *arg)
{
	return methods_kport_find(arg, name) != NULL;
}

static bool kpoll_alive(const char *name, void *arg)
{
	struct att_entry *a = methods_kport_find(arg, name);

	return a && kport_polling(att_entry_kport(a));
}

static void settle(struct methods_ctx *ctx)
{
	quota_settle(ctx->quota, KPOLL_KEY, kpoll_alive, ctx->att);
	quota_settle(ctx->quota, KPORT_KEY, kport_alive, ctx->att);
	reg_settle(ctx->reg);
}

/* Charge uid for kernel port sw:port (ports of them) and the switch it may
 * create, before hw/attach.c makes anything. */
static int charge_kport(struct methods_ctx *ctx, uid_t uid, const char *sw, const char *port,
			uint64_t ports, struct ctl_error *e)
{
	const struct quota_amount a = {.n[QUOTA_PORTS] = ports};
	char key[sizeof(KPORT_KEY) + 2 * BDG_NAMSIZ + 1], err[ERR_LEN];
	int rc;

	settle(ctx); /* a charge of an earlier port of that name */
	snprintf(key, sizeof(key), KPORT_KEY "%s:%s", sw, port);
	if (quota_held(ctx->quota, key))
		return 0; /* it exists: hw/attach.c refuses with EEXIST */
	rc = reg_charge_switch(ctx->reg, uid, sw, err);
	if (!rc)
		rc = quota_hold(ctx->quota, uid, key, &a, err);
	if (rc) {
		settle(ctx);
		return ctl_fail_errno(e, -rc, "%s", err);
	}
	return 0;
}

static int m_vale_attach(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			 struct ctl_error *e, void *arg)
{
	static const char *const known[] = {"switch", "ifname", "mode", "host", NULL};
	struct methods_ctx *ctx = arg;
	const char *sw, *ifname, *mode;
	char err[ERR_LEN];
	bool host;
	int rc;

	(void)fds;
	if (need_admin(c, ctx, "attach kernel interfaces", e) ||
	    ctl_params_only(params, known, e) ||
	    ctl_param_string(params, "switch", true, NULL, &sw, e) ||
	    ctl_param_string(params, "ifname", true, NULL, &ifname, e) ||
	    ctl_param_string(params, "mode", false, NULL, &mode, e) ||
	    ctl_param_bool(params, "host", false, &host, e))
		return -1;
	if (strlen(sw) >= BDG_NAMSIZ || strlen(ifname) >= BDG_NAMSIZ)
		return ctl_fail_errno(e, ENAMETOOLONG,
				      "switch and interface names are at most %d characters",
				      BDG_NAMSIZ - 1);
	if (charge_kport(ctx, ctl_conn_peer_uid(c), sw, ifname, host ? 2 : 1, e))
		return -1;
	rc = att_nic(ctx->att, sw, ifname, mode, host, err);
	settle(ctx);
	if (rc)
		return ctl_fail_errno(e, -rc, "%s", err);
	for (struct att_entry *a = att_first(ctx->att); a; a = att_next(a)) {
		if (strcmp(att_entry_switch(a), sw) == 0 &&
		    strcmp(att_entry_port(a), ifname) == 0) {
			*ret = json_pack("{s:s, s:s, s:s, s:s, s:b}", "switch", sw, "ifname",
					 ifname, "adapter", att_entry_type(a), "reason",
					 att_entry_detail(a), "host", host);
			return 0;
		}
	}
	return ctl_fail_errno(e, EIO, "%s vanished after attaching", ifname);
}

static int m_vale_detach(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			 struct ctl_error *e, void *arg)
{
	static const char *const known[] = {"switch", "ifname", NULL};
	struct methods_ctx *ctx = arg;
	const char *sw, *ifname;
	char err[ERR_LEN];
	int rc;

	(void)fds;
	if (need_admin(c, ctx, "detach kernel interfaces", e) ||
	    ctl_params_only(params, known, e) ||
	    ctl_param_string(params, "switch", true, NULL, &sw, e) ||
	    ctl_param_string(params, "ifname", true, NULL, &ifname, e))
		return -1;
	rc = att_detach(ctx->att, sw, ifname, err);
	settle(ctx);
	if (rc)
		return ctl_fail_errno(e, -rc, "%s", err);
	*ret = json_pack("{s:s, s:s, s:b}", "switch", sw, "ifname", ifname, "detached", 1);
	return 0;
}

/* "02:00:00:00:00:01" -> 6 bytes. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return -1;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

static int m_vale_tap_create(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			     struct ctl_error *e, void *arg)
{
	static const char *const known[] = {"name", "tap", "netns", "mac", "mtu", "queues", NULL};
	struct methods_ctx *ctx = arg;
	struct tap_params tp = {0};
	const char *name, *mac;
	char sw[BDG_NAMSIZ], port[BDG_NAMSIZ], err[ERR_LEN];
	uint64_t mtu, queues;
	int rc;

	(void)fds;
	if (need_admin(c, ctx, "create taps", e) || ctl_params_only(params, known, e) ||
	    ctl_param_string(params, "name", true, NULL, &name, e) ||
	    ctl_param_string(params, "tap", false, NULL, &tp.name, e) ||
	    ctl_param_string(params, "netns", false, NULL, &tp.netns, e) ||
	    ctl_param_string(params, "mac", false, NULL, &mac, e) ||
	    ctl_param_uint(params, "mtu", false, TAP_MTU_MIN, TAP_MTU_MAX, TAP_MTU_DEFAULT, &mtu,
			   e) ||
	    ctl_param_uint(params, "queues", false, 1, TAP_QUEUES_MAX, 1, &queues, e))
		return -1;
	rc = bdg_parse_name(name, sw, port);
	if (rc)
		return ctl_fail_errno(e, rc == -ENAMETOOLONG ? ENAMETOOLONG : EINVAL,
				      "'%s' is not a port name valeX:Y", name);
	if (mac) {
		if (parse_mac(mac, tp.mac) || (tp.mac[0] & 1))
			return ctl_fail_errno(
			    e, EINVAL,
			    "parameter 'mac' must be a unicast aa:bb:cc:dd:ee:ff, got "
			    "'%s'",
			    mac);
		tp.has_mac = true;
	}
	tp.mtu = (uint32_t)mtu;
	tp.queues = (uint32_t)queues;
	if (charge_kport(ctx, ctl_conn_peer_uid(c), sw, port, 1, e))
		return -1;
	rc = att_tap(ctx->att, sw, port, &tp, err);
	settle(ctx);
	if (rc)
		return ctl_fail_errno(e, -rc, "%s", err);
	*ret = json_pack("{s:s, s:s, s:s?, s:i, s:i}", "name", name, "type", "tap", "netns",
			 tp.netns, "mtu", (int)mtu, "queues", (int)queues);
	return 0;
}

static int m_vale_tap_delete(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			     struct ctl_error *e, void *arg)
{
	static const char *const known[] = {"name", NULL};
	struct methods_ctx *ctx = arg;
	char sw[BDG_NAMSIZ], port[BDG_NAMSIZ], err[ERR_LEN];
	const char *name;
	int rc;

	(void)fds;
	if (need_admin(c, ctx, "delete taps", e) || ctl_params_only(params, known, e) ||
	    ctl_param_string(params, "name", true, NULL, &name, e))
		return -1;
	if (bdg_parse_name(name, sw, port))
		return ctl_fail_errno(e, EINVAL, "'%s' is not a port name valeX:Y", name);
	rc = att_tap_delete(ctx->att, sw, port, err);
	settle(ctx);
	if (rc)
		return ctl_fail_errno(e, -rc, "%s", err);
	*ret = json_pack("{s:s, s:b}", "name", name, "deleted", 1);
	return 0;
}

struct att_entry *methods_kport_find(const struct att *att, const char *name)
{
	const char *colon = strchr(name, ':');
	char sw[BDG_NAMSIZ];
	size_t len;

	if (!colon)
		return NULL;
	len = (size_t)(colon - name);
	if (len == 0 || len >= sizeof(sw))
		return NULL;
	memcpy(sw, name, len);
	sw[len] = '\0';
	return att_find(att, sw, colon + 1);
}

bool methods_host_port_missing(const char *name, struct ctl_error *e)
{
	size_t len = strlen(name);

	if (len < 2 || name[len - 1] != '^')
		return false;
	ctl_fail_errno(
	    e, ENOENT,
	    "no host port %s: host ports exist while their interface is attached with -h", name);
	return true;
}

void methods_kport_describe(json_t *o, const struct att_entry *a)
{
	json_object_set_new(o, "port", json_string(att_entry_port(a)));
	json_object_set_new(o, "type", json_string(att_entry_type(a)));
	json_object_set_new(o, "detail", json_string(att_entry_detail(a)));
}

void methods_kport_counters(json_t *o, const struct att_entry *a)
{
	struct kport_stats st;

	kport_get_stats(att_entry_kport(a), &st);
	json_object_set_new(o, "rx_frames", json_integer((json_int_t)st.rx_frames));
	json_object_set_new(o, "tx_frames", json_integer((json_int_t)st.tx_frames));
	json_object_set_new(o, "rx_dropped", json_integer((json_int_t)st.rx_dropped));
	json_object_set_new(o, "tx_dropped", json_integer((json_int_t)st.tx_dropped));
}

static int m_vale_interfaces(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			     struct ctl_error *e, void *arg)
{
	static const char *const known[] = {NULL};
	struct methods_ctx *ctx = arg;
	json_t *arr;

	(void)c, (void)fds;
	if (ctl_params_only(params, known, e))
		return -1;
	arr = json_array();
	for (struct att_entry *a = att_first(ctx->att); a; a = att_next(a)) {
		json_t *o = json_pack("{s:s}", "switch", att_entry_switch(a));
		methods_kport_describe(o, a);
		methods_kport_counters(o, a);
		json_array_append_new(arr, o);
	}
	*ret = json_pack("{s:s, s:o}", "admode", nic_admode_name(att_admode(ctx->att)),
			 "interfaces", arr);
	return 0;
}

/* vale.polling.enable / vale.polling.disable on a VALE port or a kernel port. */
static int set_polling(struct methods_ctx *ctx, uid_t uid, json_t *params, bool on, json_t **ret,
		       struct ctl_error *e)
{
	static const char *const known_on[] = {"name", "cpu", NULL}, *const known_off[] = {"name",
											   NULL};
	char err[ERR_LEN];
	struct att_entry *a;
	struct reg_port *p;
	const char *name;
	int64_t cpu = -1;
	int rc;

	if (ctl_params_only(params, on ? known_on : known_off, e) ||
	    ctl_param_string(params, "name", true, NULL, &name, e))
		return -1;
	if (on && json_object_get(params, "cpu")) {
		uint64_t c;
		if (ctl_param_uint(params, "cpu", false, 0, 1023, 0, &c, e))
			return -1;
		cpu = (int64_t)c;
	}
	a = methods_kport_find(ctx->att, name); /* host ports too: "vale0:eth0^" */
	if (!a && methods_host_port_missing(name, e))
		return -1;
	if (a) {
		if (on == kport_polling(att_entry_kport(a)))
			return ctl_fail_errno(e, on ? EALREADY : EINVAL,
					      on ? "%s is in polling mode already"
						 : "%s is not in polling mode",
					      name);
		static const struct quota_amount one = {.n[QUOTA_POLLERS] = 1};
		char key[sizeof(KPOLL_KEY) + 2 * BDG_NAMSIZ + 1];

		snprintf(key, sizeof(key), KPOLL_KEY "%s:%s", att_entry_switch(a),
			 att_entry_port(a));
		settle(ctx);
		if (on && (rc = quota_hold(ctx->quota, uid, key, &one, err)))
			return ctl_fail_errno(e, -rc, "%s", err);
		rc = kport_set_polling(att_entry_kport(a), on, (int)cpu);
		settle(ctx);
		if (rc)
			return ctl_fail_errno(e, -rc, "cannot set polling on %s: %s", name,
					      strerror(-rc));
	} else {
		p = reg_find(ctx->reg, name, &rc, err);
		if (!p)
			return ctl_fail_errno(e, -rc, "%s", err);
		rc = reg_set_polling(ctx->reg, p, on, (int)cpu, uid, err);
		if (rc)
			return ctl_fail_errno(e, -rc, "%s", err);
	}
	*ret = json_pack("{s:s, s:b, s:I}", "name", name, "polling", on, "cpu", (json_int_t)cpu);
	return 0;
}

static int m_polling_enable(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			    struct ctl_error *e, void *arg)
{
	(void)fds;
	if (need_admin(c, arg, "start polling threads", e))
		return -1;
	return set_polling(arg, ctl_conn_peer_uid(c), params, true, ret, e);
}

static int m_polling_disable(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			     struct ctl_error *e, void *arg)
{
	(void)fds;
	if (need_admin(c, arg, "stop polling threads", e))
		return -1;
	return set_polling(arg, ctl_conn_peer_uid(c), params, false, ret, e);
}

int methods_nic_register(struct ctl_server *s, struct methods_ctx *ctx)
{
	const struct ctl_method methods[] = {
	    {"vale.attach", "attach a kernel interface to a switch (NIC, with host port)",
	     m_vale_attach, ctx, false},
	    {"vale.detach", "give an attached interface back to the kernel", m_vale_detach, ctx,
	     false},
	    {"vale.tap.create", "create a tap (container) port, optionally in a netns",
	     m_vale_tap_create, ctx, false},
	    {"vale.tap.delete", "delete a tap port", m_vale_tap_delete, ctx, false},
	    {"vale.interfaces", "kernel interfaces attached, their adapters and counters",
	     m_vale_interfaces, ctx, false},
	    {"vale.polling.enable", "a port's own thread polls it without sleeping, on a CPU",
	     m_polling_enable, ctx, false},
	    {"vale.polling.disable", "end polling mode of a port", m_polling_disable, ctx, false},
	};

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		int rc = ctl_method_register(s, &methods[i]);
		if (rc)
			return rc;
	}
	return 0;
}
