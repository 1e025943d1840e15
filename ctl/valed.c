/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * valed: the switch daemon. One control thread runs libevent (the control
 * socket, signals, timers); forwarding workers (switch/worker.h) move packets.
 * Logs go to stderr with syslog priority prefixes, which journald reads.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <systemd/sd-daemon.h>

#include "authz.h"
#include "fdb.h"
#include "methods.h"
#include "quota.h"
#include "registry.h"
#include "rpc.h"
#include "worker.h"

#define LOG_ERR 3
#define LOG_WARNING 4
#define LOG_NOTICE 5
#define LOG_INFO 6
#define LOG_DEBUG 7

static int log_level = LOG_INFO;

static void logmsg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logmsg(int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio > log_level)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "<%d>valed: ", prio);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

struct options {
	const char *socket;
	const char *config;
	struct reg_params reg;
	const char *admode; /* NIC adapter mode: best, native, generic */
	/* What the command line set: it wins over the config file. */
	bool set_workers, set_poll;
	struct reg_params cli;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: valed [-s SOCKET] [-c CONFIG] [-w WORKERS] [-p POLL_US | -P] [-v] [-h] "
		   "[--version]\n"
		   "  -s, --socket PATH   control socket (default $VALE_SOCKET, else %s)\n"
		   "  -c, --config FILE   JSON settings and persistent ports (doc/valed.md)\n"
		   "  -w, --workers N     forwarding threads (default 1)\n"
		   "  -p, --poll-us US    busy-poll time before a worker sleeps (default %d)\n"
		   "  -P, --polling       workers never sleep (netmap's VALE_POLLING); pin valed\n"
		   "                      to its CPUs with taskset for the lowest latency\n"
		   "  --admode MODE       NIC adapter: best (native, else generic), native, generic\n"
		   "  -v, --verbose       debug logs\n",
		   CTL_DEFAULT_SOCKET, WORKER_POLL_US_DEFAULT);
}

static int parse_uint(const char *s, uint32_t min, uint32_t max, uint32_t *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		return -1;
	*ret = (uint32_t)v;
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'}, {"config", required_argument, NULL, 'c'},
		{"workers", required_argument, NULL, 'w'}, {"poll-us", required_argument, NULL, 'p'},
		{"verbose", no_argument, NULL, 'v'},	   {"help", no_argument, NULL, 'h'},
		{"polling", no_argument, NULL, 'P'},
		{"admode", required_argument, NULL, 'A'},
		{"version", no_argument, NULL, 'V'},	   {NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct options){0};
	o->socket = ctl_default_socket();
	o->reg = (struct reg_params){.workers = 1, .poll_us = WORKER_POLL_US_DEFAULT,
				     .fdb_max = FDB_MAX_ENTRIES_DEFAULT,
				     .fdb_age = FDB_AGE_DEFAULT};
	while ((c = getopt_long(argc, argv, "s:c:w:p:Pvh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->socket = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'w':
			o->set_workers = true;
			if (parse_uint(optarg, 1, 64, &o->cli.workers)) {
				fprintf(stderr, "valed: -w wants a number of workers in 1..64, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'p':
			o->set_poll = true;
			if (parse_uint(optarg, 0, 10000000, &o->cli.poll_us)) {
				fprintf(stderr, "valed: -p wants microseconds in 0..10000000, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'A':
			o->admode = optarg;
			break;
		case 'P':
			o->set_poll = true;
			o->cli.poll_us = WORKER_POLL_FOREVER;
			break;
		case 'v':
			log_level = LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("valed %s (netmap API %d)\n", VALE_VERSION, NETMAP_API);
			return 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "valed: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return 0;
}

/* Settings from the config file; persistent ports are created later. */
static int config_settings(json_t *cfg, struct reg_params *rp)
{
	static const struct {
		const char *key;
		uint32_t min, max;
		size_t offset;
	} keys[] = {
		{"workers", 1, 64, offsetof(struct reg_params, workers)},
		{"poll_us", 0, 10000000, offsetof(struct reg_params, poll_us)},
		{"fdb_max", 1, 1048576, offsetof(struct reg_params, fdb_max)},
		{"fdb_age", 1, 86400 * 365, offsetof(struct reg_params, fdb_age)},
	};
	const char *key;
	json_t *v;

	json_object_foreach(cfg, key, v) {
		size_t i;

		if (strcmp(key, "ports") == 0 || strcmp(key, "admode") == 0 ||
		    strcmp(key, "admin_group") == 0 || strcmp(key, "switch_access") == 0 ||
		    strcmp(key, "limits") == 0)
			continue;
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(key, keys[i].key) == 0)
				break;
		if (i == sizeof(keys) / sizeof(keys[0])) {
			logmsg(LOG_ERR,
			       "config: unknown key '%s' (known: workers, poll_us, fdb_max, "
			       "fdb_age, admode, admin_group, switch_access, limits, ports)",
			       key);
			return -1;
		}
		if (!json_is_integer(v) || json_integer_value(v) < keys[i].min ||
		    json_integer_value(v) > keys[i].max) {
			logmsg(LOG_ERR, "config: '%s' must be an integer in %u..%u", key,
			       keys[i].min, keys[i].max);
			return -1;
		}
		*(uint32_t *)((char *)rp + keys[i].offset) = (uint32_t)json_integer_value(v);
	}
	return 0;
}

/* A port's "owner": a user name or a uid; root's when absent. */
static int config_owner(json_t *v, size_t i, uid_t *ret)
{
	const struct passwd *pw;

	*ret = 0;
	if (!v)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) < (json_int_t)UINT32_MAX) {
		*ret = (uid_t)json_integer_value(v);
		return 0;
	}
	pw = json_is_string(v) ? getpwnam(json_string_value(v)) : NULL;
	if (!pw) {
		logmsg(LOG_ERR, "config: ports[%zu].owner must be a user of this host or a uid", i);
		return -1;
	}
	*ret = pw->pw_uid;
	return 0;
}

/* One limit: a non-negative integer or "unlimited". */
static int limit_value(const char *where, const char *key, json_t *v, uint64_t *ret)
{
	if (json_is_string(v) && strcmp(json_string_value(v), "unlimited") == 0) {
		*ret = QUOTA_UNLIMITED;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		logmsg(LOG_ERR, "config: limits.%s.%s must be an integer >= 0 or \"unlimited\"",
		       where, key);
		return -1;
	}
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

/* A set of per-uid limits ({"ports": 16, ...}) over *lim; absent keys stay. */
static int limit_set(const char *where, json_t *o, struct quota_amount *lim)
{
	const char *key;
	json_t *v;

	if (!json_is_object(o)) {
		logmsg(LOG_ERR, "config: limits.%s must be an object", where);
		return -1;
	}
	json_object_foreach(o, key, v) {
		int r;

		for (r = 0; r < QUOTA_NRES && strcmp(key, quota_res_name((enum quota_res)r)); r++)
			;
		if (r == QUOTA_NRES) {
			logmsg(LOG_ERR,
			       "config: limits.%s: unknown key '%s' (known: connections, ports, "
			       "switches, region_bytes, extra_bufs, polling_threads)",
			       where, key);
			return -1;
		}
		if (limit_value(where, key, v, &lim->n[r]))
			return -1;
	}
	return 0;
}

/*
 * The "limits" object: {"default": {...}, "host": {"connections": N,
 * "region_bytes": N}, "uids": {"1000": {...}}} (doc/valed.md). Fills qp;
 * the per-uid overrides are applied to q by config_uid_limits once q exists.
 */
static int config_limits(json_t *cfg, struct quota_params *qp)
{
	json_t *l = json_object_get(cfg, "limits"), *v;
	const char *key;

	if (!l)
		return 0;
	if (!json_is_object(l)) {
		logmsg(LOG_ERR, "config: 'limits' must be an object");
		return -1;
	}
	json_object_foreach(l, key, v) {
		if (strcmp(key, "default") == 0) {
			if (limit_set("default", v, &qp->defaults))
				return -1;
		} else if (strcmp(key, "host") == 0) {
			const char *hk;
			json_t *hv;

			if (!json_is_object(v)) {
				logmsg(LOG_ERR, "config: limits.host must be an object");
				return -1;
			}
			json_object_foreach(v, hk, hv) {
				uint64_t *dst = strcmp(hk, "connections") == 0 ? &qp->host_conns
						: strcmp(hk, "region_bytes") == 0 ? &qp->host_region_bytes
										  : NULL;
				if (!dst) {
					logmsg(LOG_ERR,
					       "config: limits.host: unknown key '%s' (known: "
					       "connections, region_bytes)",
					       hk);
					return -1;
				}
				if (limit_value("host", hk, hv, dst))
					return -1;
			}
		} else if (strcmp(key, "uids") == 0) {
			if (!json_is_object(v)) {
				logmsg(LOG_ERR, "config: limits.uids must be an object");
				return -1;
			}
		} else {
			logmsg(LOG_ERR,
			       "config: limits: unknown key '%s' (known: default, host, uids)", key);
			return -1;
		}
	}
	return 0;
}

/* limits.uids: {"1000": {"ports": 16}}; what a uid does not set is the default. */
static int config_uid_limits(json_t *cfg, struct quota *q)
{
	json_t *uids = json_object_get(json_object_get(cfg, "limits"), "uids"), *v;
	const char *key;

	json_object_foreach(uids, key, v) {
		struct quota_amount lim = quota_params(q)->defaults;
		char where[64];
		uint32_t uid;

		snprintf(where, sizeof(where), "uids.%s", key);
		if (parse_uint(key, 0, UINT32_MAX - 1, &uid)) {
			logmsg(LOG_ERR, "config: limits.uids: '%s' is not a numeric uid", key);
			return -1;
		}
		if (limit_set(where, v, &lim))
			return -1;
		if (quota_set_limits(q, (uid_t)uid, &lim)) {
			logmsg(LOG_ERR, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* Create the config's persistent ports: [{"name": "vale0:p", "tx_slots": ...}]. */
static int config_ports(json_t *cfg, struct reg *reg)
{
	json_t *ports = json_object_get(cfg, "ports"), *p;
	size_t i;

	if (!ports)
		return 0;
	if (!json_is_array(ports)) {
		logmsg(LOG_ERR, "config: 'ports' must be an array of objects");
		return -1;
	}
	json_array_foreach(ports, i, p) {
		static const char *const geometry[] = {"tx_rings", "rx_rings", "tx_slots",
							"rx_slots", "buf_size"};
		struct vport_params vp = {0};
		uint32_t *field[] = {&vp.tx_rings, &vp.rx_rings, &vp.tx_slots, &vp.rx_slots,
				     &vp.buf_size};
		char err[REG_ERRLEN];
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *key;
		uid_t owner;
		json_t *v;

		if (!json_is_object(p) || !name) {
			logmsg(LOG_ERR, "config: ports[%zu] needs a \"name\"", i);
			return -1;
		}
		if (config_owner(json_object_get(p, "owner"), i, &owner))
			return -1;
		json_object_foreach(p, key, v) {
			size_t k;
			if (strcmp(key, "name") == 0 || strcmp(key, "owner") == 0)
				continue;
			for (k = 0; k < 5 && strcmp(key, geometry[k]) != 0; k++)
				;
			if (k == 5 || !json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 65536) {
				logmsg(
				    LOG_ERR,
				    "config: ports[%zu].%s: expected owner, or one of tx_rings, "
				    "rx_rings, tx_slots, rx_slots, buf_size with an integer value",
				    i, key);
				return -1;
			}
			*field[k] = (uint32_t)json_integer_value(v);
		}
		if (reg_newif(reg, name, &vp, owner, err)) {
			logmsg(LOG_ERR, "config: port %s: %s", name, err);
			return -1;
		}
		logmsg(LOG_INFO, "created persistent port %s", name);
	}
	return 0;
}

/* The socket's directory (/run/vale) is ours to create when missing. */
static void make_socket_dir(const char *path)
{
	char dir[4096];
	char *slash;

	if (strlen(path) >= sizeof(dir))
		return;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0)
		logmsg(LOG_DEBUG, "created %s", dir);
}

static uint32_t monotonic_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	logmsg(LOG_NOTICE, "%s: shutting down", strsignal((int)sig));
	event_base_loopexit(arg, NULL);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	reg_expire(arg, monotonic_s());
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	sd_notify(0, "WATCHDOG=1");
}

int main(int argc, char **argv)
{
	struct options o;
	struct methods_ctx ctx = {0};
	struct event_base *base;
	struct event *ev_term, *ev_int, *ev_tick, *ev_wd = NULL;
	struct ctl_server *srv;
	struct reg *reg;
	struct att *att;
	struct authz *authz;
	struct quota_params qp;
	struct quota *quota;
	enum nic_admode admode = NIC_ADMODE_BEST;
	json_t *cfg = NULL;
	char err[REG_ERRLEN];
	struct timespec ts;
	uint64_t wd_usec = 0;
	int listen_fd = -1, rc = 1, n;

	n = parse_options(argc, argv, &o);
	if (n)
		return n == 1 ? 0 : 2;
	signal(SIGPIPE, SIG_IGN);
	quota_default_params(&qp);
	if (o.config) {
		json_error_t jerr;
		cfg = json_load_file(o.config, JSON_REJECT_DUPLICATES, &jerr);
		if (!cfg || !json_is_object(cfg)) {
			if (!cfg && jerr.line > 0)
				logmsg(LOG_ERR, "config %s: %s (line %d)", o.config, jerr.text,
				       jerr.line);
			else
				logmsg(LOG_ERR, "config %s: %s", o.config,
				       cfg ? "must be a JSON object" : jerr.text);
			return 1;
		}
		if (config_settings(cfg, &o.reg) || config_limits(cfg, &qp))
			goto err_cfg;
	}
	if (o.set_workers)
		o.reg.workers = o.cli.workers;
	if (o.set_poll)
		o.reg.poll_us = o.cli.poll_us;
	if (!o.admode && cfg && json_object_get(cfg, "admode"))
		o.admode = json_string_value(json_object_get(cfg, "admode"));
	if (o.admode && nic_admode_parse(o.admode, &admode)) {
		logmsg(LOG_ERR, "admode must be best, native or generic");
		goto err_cfg;
	}

	authz = authz_create(cfg ? json_object_get(cfg, "admin_group") : NULL,
			     cfg ? json_object_get(cfg, "switch_access") : NULL, err, sizeof(err));
	if (!authz) {
		logmsg(LOG_ERR, "config: %s", err);
		goto err_cfg;
	}
	if (authz_admin_group(authz))
		logmsg(LOG_INFO, "admin group: %s", authz_admin_group(authz));
	else
		logmsg(LOG_INFO, "no admin group: only root may administer valed");

	quota = quota_create(&qp);
	if (!quota || (cfg && config_uid_limits(cfg, quota))) {
		if (!quota)
			logmsg(LOG_ERR, "out of memory");
		goto err_quota;
	}
	o.reg.quota = quota;
	reg = reg_create(&o.reg, err);
	if (!reg) {
		logmsg(LOG_ERR, "%s", err);
		goto err_quota;
	}
	att = att_create(o.reg.fdb_max, o.reg.fdb_age, admode);
	if (!att) {
		logmsg(LOG_ERR, "out of memory");
		goto err_reg;
	}
	if (cfg && config_ports(cfg, reg))
		goto err_att;

	base = event_base_new();
	if (!base) {
		logmsg(LOG_ERR, "cannot create the event loop");
		goto err_att;
	}
	n = sd_listen_fds(1);
	if (n > 1) {
		logmsg(LOG_ERR, "systemd passed %d sockets; valed takes one", n);
		goto err_base;
	}
	if (n == 1)
		listen_fd = SD_LISTEN_FDS_START;
	else
		make_socket_dir(o.socket);
	srv = ctl_server_create(base, o.socket, listen_fd, 0660);
	if (!srv) {
		logmsg(LOG_ERR, "cannot serve %s: %s", o.socket, strerror(errno));
		goto err_base;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ctl_server_set_quota(srv, quota);
	ctx.reg = reg;
	ctx.att = att;
	ctx.authz = authz;
	ctx.quota = quota;
	ctx.socket_path = o.socket;
	ctx.started_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (methods_register(srv, &ctx) || methods_nic_register(srv, &ctx)) {
		logmsg(LOG_ERR, "cannot register the control methods");
		goto err_srv;
	}

	ev_term = evsignal_new(base, SIGTERM, on_signal, base);
	ev_int = evsignal_new(base, SIGINT, on_signal, base);
	ev_tick = event_new(base, -1, EV_PERSIST, on_tick, reg);
	if (!ev_term || !ev_int || !ev_tick) {
		logmsg(LOG_ERR, "cannot set up signals and timers");
		goto err_events;
	}
	struct timeval one_s = {1, 0};
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_tick, &one_s);
	if (sd_watchdog_enabled(0, &wd_usec) > 0) {
		struct timeval half = {(time_t)(wd_usec / 2000000), (long)(wd_usec / 2 % 1000000)};
		ev_wd = event_new(base, -1, EV_PERSIST, on_watchdog, NULL);
		if (ev_wd)
			event_add(ev_wd, &half);
	}

	logmsg(LOG_NOTICE, "serving %s with %u worker%s (version %s)", o.socket, o.reg.workers,
	       o.reg.workers == 1 ? "" : "s", VALE_VERSION);
	if (sd_notifyf(0, "READY=1\nSTATUS=serving %s, %u workers", o.socket, o.reg.workers) < 0)
		logmsg(LOG_WARNING, "sd_notify failed");
	event_base_dispatch(base);
	sd_notify(0, "STOPPING=1");
	rc = 0;

	if (ev_wd)
		event_free(ev_wd);
err_events:
	if (ev_tick)
		event_free(ev_tick);
	if (ev_int)
		event_free(ev_int);
	if (ev_term)
		event_free(ev_term);
err_srv:
	ctl_server_destroy(srv); /* runs the closers: clients' ports go first */
err_base:
	event_base_free(base);
err_att:
	att_destroy(att); /* kernel interfaces go back first */
err_reg:
	reg_destroy(reg); /* gives its charges back: the quota goes after it */
err_quota:
	quota_destroy(quota);
	authz_destroy(authz);
err_cfg:
	json_decref(cfg);
	return rc;
}
