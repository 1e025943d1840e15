/* SPDX-License-Identifier: BSD-2-Clause */
/* quota: per-uid and host-wide accounting of valed's resources. */
#include "quota.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY_MAX 128

/* A uid valed has seen: its usage, and its own limits when set. A handful of
 * uids use a switch, so a list searched in order is enough. */
struct account {
	struct account *next;
	uid_t uid;
	bool own_limits;
	struct quota_amount lim, used;
};

struct hold {
	struct hold *next;
	char key[KEY_MAX];
	uid_t uid;
	struct quota_amount a;
};

struct quota {
	struct quota_params params;
	struct account *accounts;
	struct hold *holds;
	struct quota_amount host; /* everyone's usage */
};

static const char *const names[QUOTA_NRES] = {
    [QUOTA_CONNS] = "connections",     [QUOTA_PORTS] = "ports",
    [QUOTA_SWITCHES] = "switches",     [QUOTA_REGION_BYTES] = "region_bytes",
    [QUOTA_EXTRA_BUFS] = "extra_bufs", [QUOTA_POLLERS] = "polling_threads",
};

/* How the sentences name each resource. */
static const char *const words[QUOTA_NRES] = {
    [QUOTA_CONNS] = "control connections", [QUOTA_PORTS] = "ports",
    [QUOTA_SWITCHES] = "switches",	   [QUOTA_REGION_BYTES] = "bytes of port memory",
    [QUOTA_EXTRA_BUFS] = "extra buffers",  [QUOTA_POLLERS] = "polling threads",
};

const char *quota_res_name(enum quota_res r)
{
	return (unsigned)r < QUOTA_NRES ? names[r] : NULL;
}

void quota_default_params(struct quota_params *ret)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN), pages = sysconf(_SC_PHYS_PAGES),
	     page = sysconf(_SC_PAGESIZE);

	*ret = (struct quota_params){
	    .defaults.n =
		{
		    [QUOTA_CONNS] = QUOTA_DEFAULT_CONNS,
		    [QUOTA_PORTS] = QUOTA_DEFAULT_PORTS,
		    [QUOTA_SWITCHES] = QUOTA_DEFAULT_SWITCHES,
		    [QUOTA_REGION_BYTES] = QUOTA_DEFAULT_REGION_BYTES,
		    [QUOTA_EXTRA_BUFS] = QUOTA_DEFAULT_EXTRA_BUFS,
		    /* A polling thread spins on a CPU: more than there are only
		     * steals time from the others. */
		    [QUOTA_POLLERS] = cpus > 0 ? (uint64_t)cpus : 1,
		},
	    .host_conns = QUOTA_DEFAULT_HOST_CONNS,
	    /* Regions are memfds their clients may touch whole: all of them
	     * together may not promise more than the machine has. */
	    .host_region_bytes =
		pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : QUOTA_UNLIMITED,
	};
}

struct quota *quota_create(const struct quota_params *p)
{
	struct quota *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->params = *p;
	return q;
}

void quota_destroy(struct quota *q)
{
	if (!q)
		return;
	while (q->accounts) {
		struct account *a = q->accounts;
		q->accounts = a->next;
		free(a);
	}
	while (q->holds) {
		struct hold *h = q->holds;
		q->holds = h->next;
		free(h);
	}
	free(q);
}

const struct quota_params *quota_params(const struct quota *q)
{
	return &q->params;
}

static struct account *find(const struct quota *q, uid_t uid)
{
	for (struct account *a = q->accounts; a; a = a->next)
		if (a->uid == uid)
			return a;
	return NULL;
}

static struct account *get(struct quota *q, uid_t uid)
{
	struct account *a = find(q, uid);

	if (a)
		return a;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->uid = uid;
	a->lim = q->params.defaults;
	a->next = q->accounts;
	q->accounts = a;
	return a;
}

/* Forget an account that holds nothing and has no limits of its own. */
static void maybe_drop(struct quota *q, struct account *acc)
{
	static const struct quota_amount zero;

	if (acc->own_limits || memcmp(&acc->used, &zero, sizeof(zero)) != 0)
		return;
	for (struct account **pp = &q->accounts; *pp; pp = &(*pp)->next) {
		if (*pp == acc) {
			*pp = acc->next;
			free(acc);
			return;
		}
	}
}

int quota_set_limits(struct quota *q, uid_t uid, const struct quota_amount *lim)
{
	struct account *a = get(q, uid);

	if (!a)
		return -ENOMEM;
	a->lim = *lim;
	a->own_limits = true;
	return 0;
}

void quota_limits(const struct quota *q, uid_t uid, struct quota_amount *ret)
{
	const struct account *a = q ? find(q, uid) : NULL;

	if (!q)
		memset(ret, 0, sizeof(*ret));
	else
		*ret = a ? a->lim : q->params.defaults;
}

void quota_usage(const struct quota *q, uid_t uid, struct quota_amount *ret)
{
	const struct account *a = q ? find(q, uid) : NULL;

	if (a)
		*ret = a->used;
	else
		memset(ret, 0, sizeof(*ret));
}

void quota_host_usage(const struct quota *q, struct quota_amount *ret)
{
	if (q)
		*ret = q->host;
	else
		memset(ret, 0, sizeof(*ret));
}

/* Would used + want pass lim? Without overflow; usage may exceed a limit
 * lowered after it was charged. */
static bool over(uint64_t used, uint64_t want, uint64_t lim)
{
	return want > 0 && (used > lim || want > lim - used);
}

static int check(const struct quota *q, const struct account *acc, uid_t uid,
		 const struct quota_amount *a, char *err)
{
	const uint64_t host_lim[QUOTA_NRES] = {
	    [QUOTA_CONNS] = q->params.host_conns,
	    [QUOTA_PORTS] = QUOTA_UNLIMITED,
	    [QUOTA_SWITCHES] = QUOTA_UNLIMITED,
	    [QUOTA_REGION_BYTES] = q->params.host_region_bytes,
	    [QUOTA_EXTRA_BUFS] = QUOTA_UNLIMITED,
	    [QUOTA_POLLERS] = QUOTA_UNLIMITED,
	};
	const struct quota_amount *lim = acc ? &acc->lim : &q->params.defaults;

	for (int r = 0; r < QUOTA_NRES; r++) {
		uint64_t used = acc ? acc->used.n[r] : 0;

		if (over(used, a->n[r], lim->n[r])) {
			snprintf(err, QUOTA_ERRLEN,
				 "uid %u is at its limit of %llu %s (it holds %llu, this needs "
				 "%llu more): close some, or raise \"%s\" in valed.json's limits",
				 (unsigned)uid, (unsigned long long)lim->n[r], words[r],
				 (unsigned long long)used, (unsigned long long)a->n[r], names[r]);
			return -EDQUOT;
		}
	}
	for (int r = 0; r < QUOTA_NRES; r++) {
		if (over(q->host.n[r], a->n[r], host_lim[r])) {
			snprintf(err, QUOTA_ERRLEN,
				 "valed's host-wide limit of %llu %s is reached (all users hold "
				 "%llu, this needs %llu more): \"host\" \"%s\" in valed.json's "
				 "limits",
				 (unsigned long long)host_lim[r], words[r],
				 (unsigned long long)q->host.n[r], (unsigned long long)a->n[r],
				 names[r]);
			return -ENOSPC;
		}
	}
	return 0;
}

int quota_charge(struct quota *q, uid_t uid, const struct quota_amount *a, char *err)
{
	struct account *acc;
	int e;

	if (!q)
		return 0;
	e = check(q, find(q, uid), uid, a, err);
	if (e)
		return e;
	acc = get(q, uid);
	if (!acc) {
		snprintf(err, QUOTA_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	for (int r = 0; r < QUOTA_NRES; r++) {
		acc->used.n[r] += a->n[r];
		q->host.n[r] += a->n[r];
	}
	return 0;
}

static uint64_t sub(uint64_t have, uint64_t n)
{
	return n > have ? 0 : have - n;
}

void quota_uncharge(struct quota *q, uid_t uid, const struct quota_amount *a)
{
	struct account *acc = q ? find(q, uid) : NULL;

	if (!acc)
		return;
	for (int r = 0; r < QUOTA_NRES; r++) {
		acc->used.n[r] = sub(acc->used.n[r], a->n[r]);
		q->host.n[r] = sub(q->host.n[r], a->n[r]);
	}
	maybe_drop(q, acc);
}

static struct hold **find_hold(struct quota *q, const char *key)
{
	struct hold **pp;

	for (pp = &q->holds; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->key, key) == 0)
			break;
	return pp;
}

int quota_hold(struct quota *q, uid_t uid, const char *key, const struct quota_amount *a, char *err)
{
	struct hold *h;
	int e;

	if (!q)
		return 0;
	if (strlen(key) >= KEY_MAX) {
		snprintf(err, QUOTA_ERRLEN, "quota key '%.32s...' is too long", key);
		return -ENAMETOOLONG;
	}
	if (*find_hold(q, key)) {
		snprintf(err, QUOTA_ERRLEN, "%s is charged already", key);
		return -EEXIST;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, QUOTA_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	e = quota_charge(q, uid, a, err);
	if (e) {
		free(h);
		return e;
	}
	memcpy(h->key, key, strlen(key) + 1);
	h->uid = uid;
	h->a = *a;
	h->next = q->holds;
	q->holds = h;
	return 0;
}

bool quota_held(const struct quota *q, const char *key)
{
	for (const struct hold *h = q ? q->holds : NULL; h; h = h->next)
		if (strcmp(h->key, key) == 0)
			return true;
	return false;
}

/* Unlink *pp, give its charge back, free it. */
static void drop_hold(struct quota *q, struct hold **pp)
{
	struct hold *h = *pp;

	*pp = h->next;
	quota_uncharge(q, h->uid, &h->a);
	free(h);
}

void quota_release(struct quota *q, const char *key)
{
	struct hold **pp;

	if (!q)
		return;
	pp = find_hold(q, key);
	if (*pp)
		drop_hold(q, pp);
}

void quota_settle(struct quota *q, const char *prefix, bool (*alive)(const char *name, void *arg),
		  void *arg)
{
	size_t n = strlen(prefix);

	if (!q)
		return;
	for (struct hold **pp = &q->holds; *pp;) {
		if (strncmp((*pp)->key, prefix, n) == 0 && !alive((*pp)->key + n, arg))
			drop_hold(q, pp);
		else
			pp = &(*pp)->next;
	}
}
