/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * quota - what each uid holds of valed's resources, against its limits.
 *
 * Issue 10 (finding 4): one client could make valed map and touch gigabytes
 * before anything said no. Every request that makes valed allocate on a
 * client's behalf charges it here first, and only allocates once the charge
 * is accepted; whoever frees the object uncharges the same amount. The
 * resources are counted per uid (a uid's connections, ports, switches, region
 * bytes, extra buffers and polling threads); two are also capped for the
 * whole host (connections, region bytes). Over a uid's limit is -EDQUOT,
 * over a host-wide one -ENOSPC, each with a sentence naming the limit.
 *
 * It lives in ports/ beside the registry, its main caller, and not in ctl/:
 * the registry charges before it allocates and uncharges in port_free, and
 * ports/ must not depend on ctl/. It knows no JSON and no sockets; ctl/
 * reads the limits from valed.json and shows them in daemon.status.
 *
 * Two ways to charge:
 *   - quota_charge / quota_uncharge: the caller keeps the amount with the
 *     object it charged for (a registry port) and gives it back when the
 *     object goes.
 *   - quota_hold / quota_release / quota_settle: the charge is remembered
 *     here under a key ("switch:vale0"), for objects another module frees
 *     (a switch dies with its last port, whoever removed it; a kernel port
 *     goes with vale.detach). quota_settle releases every hold of a kind
 *     whose object is gone, asking the caller which are alive.
 *
 * A NULL quota accepts every charge (unit tests and tools without limits).
 * Threads: the control thread only (valed's configuration lock).
 */
#ifndef VALE_PORTS_QUOTA_H
#define VALE_PORTS_QUOTA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define QUOTA_ERRLEN 256
#define QUOTA_UNLIMITED UINT64_MAX

enum quota_res {
	QUOTA_CONNS,	    /* control connections */
	QUOTA_PORTS,	    /* VALE ports, pipe ends, monitors, kernel ports, taps */
	QUOTA_SWITCHES,	    /* switches the uid's ports created */
	QUOTA_REGION_BYTES, /* bytes of the memory regions made for the uid */
	QUOTA_EXTRA_BUFS,   /* extra buffers (nr_extra_bufs) of its ports */
	QUOTA_POLLERS,	    /* polling-mode threads */
	QUOTA_NRES
};

/* One number per resource: a charge, a usage or a set of limits. */
struct quota_amount {
	uint64_t n[QUOTA_NRES];
};

struct quota_params {
	struct quota_amount defaults; /* per uid, unless quota_set_limits says otherwise */
	uint64_t host_conns;	      /* all uids together (ENOSPC) */
	uint64_t host_region_bytes;   /* all uids together (ENOSPC) */
};

/* Defaults valed starts with (doc/valed.md says why each). */
#define QUOTA_DEFAULT_CONNS 256
#define QUOTA_DEFAULT_PORTS 256
#define QUOTA_DEFAULT_SWITCHES 64
#define QUOTA_DEFAULT_REGION_BYTES (4ull << 30)
#define QUOTA_DEFAULT_EXTRA_BUFS 65536
#define QUOTA_DEFAULT_HOST_CONNS 1024
/* polling threads: the online CPUs; host region bytes: the physical memory */

/* The config and JSON name of r ("region_bytes"), NULL past QUOTA_NRES. */
const char *quota_res_name(enum quota_res r);

/* Fill p with the defaults above (reads the CPU count and memory size). */
void quota_default_params(struct quota_params *ret);

/* NULL + errno ENOMEM. */
struct quota *quota_create(const struct quota_params *p);
/* Accepts NULL. */
void quota_destroy(struct quota *q);

const struct quota_params *quota_params(const struct quota *q);

/* Limits of uid from now on (existing usage stays, even above them): 0 or -ENOMEM. */
int quota_set_limits(struct quota *q, uid_t uid, const struct quota_amount *lim);
/* The limits and the usage of uid (zeros for a NULL q). */
void quota_limits(const struct quota *q, uid_t uid, struct quota_amount *ret);
void quota_usage(const struct quota *q, uid_t uid, struct quota_amount *ret);
/* Usage of all uids together (connections and region bytes are capped). */
void quota_host_usage(const struct quota *q, struct quota_amount *ret);

/*
 * Charge a to uid, all of it or nothing: 0, or -EDQUOT (a limit of uid),
 * -ENOSPC (a host-wide limit), -ENOMEM, with a sentence in err.
 */
int quota_charge(struct quota *q, uid_t uid, const struct quota_amount *a, char *err);
/* Give back what quota_charge took (never below zero). */
void quota_uncharge(struct quota *q, uid_t uid, const struct quota_amount *a);

/*
 * quota_charge, remembered under key (copied; at most 127 characters, keys
 * start with the kind and a ':', e.g. "switch:vale0"). -EEXIST if key is
 * held already (nothing charged).
 */
int quota_hold(struct quota *q, uid_t uid, const char *key, const struct quota_amount *a,
	       char *err);
bool quota_held(const struct quota *q, const char *key);
/* Uncharge and forget the hold of key, if any. */
void quota_release(struct quota *q, const char *key);
/* Release each hold whose key starts with prefix and for which alive(rest of
 * the key, arg) is false. */
void quota_settle(struct quota *q, const char *prefix, bool (*alive)(const char *name, void *arg),
		  void *arg);

#endif /* VALE_PORTS_QUOTA_H */
