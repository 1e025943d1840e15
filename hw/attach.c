/* SPDX-License-Identifier: BSD-2-Clause */
/* attach: NICs, host ports and tap ports as switch ports, with their switches. */
#include "attach.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn.h"
#include "portname.h"
#include "tapport.h"

struct att_entry {
	struct att_entry *next;
	char sw[BDG_NAMSIZ];
	char port[BDG_NAMSIZ];
	char type[8];
	char detail[ERR_LEN];
	struct kport *k;
	struct att_entry *host; /* the host port of a NIC */
};

struct att {
	uint32_t fdb_max, fdb_age;
	enum nic_admode admode;
	struct att_entry *entries;
};

struct att *att_create(uint32_t fdb_max, uint32_t fdb_age, enum nic_admode admode)
{
	struct att *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->fdb_max = fdb_max;
	a->fdb_age = fdb_age;
	a->admode = admode;
	return a;
}

static void entry_free(struct att *a, struct att_entry *e)
{
	struct bdg *b = bdg_port_switch(kport_port(e->k));

	for (struct att_entry **pp = &a->entries; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	kport_destroy(e->k);
	if (b && bdg_port_count(b) == 0)
		bdg_destroy(b);
	free(e);
}

void att_destroy(struct att *a)
{
	if (!a)
		return;
	while (a->entries)
		entry_free(a, a->entries);
	free(a);
}

enum nic_admode att_admode(const struct att *a)
{
	return a->admode;
}

static struct att_entry *find(const struct att *a, const char *sw, const char *port)
{
	for (struct att_entry *e = a->entries; e; e = e->next)
		if (strcmp(e->sw, sw) == 0 && strcmp(e->port, port) == 0)
			return e;
	return NULL;
}

/* The switch named sw, created with the learning bridge if needed. */
static struct bdg *get_switch(struct att *a, const char *sw, bool *ret_new, char *err)
{
	struct bdg *b = bdg_lookup(sw);
	void *priv;

	*ret_new = false;
	if (b)
		return b;
	if (portname_check_switch(sw, err))
		return NULL;
	priv = learn_create(a->fdb_max, a->fdb_age);
	b = priv ? bdg_create(sw, &learn_ops, priv) : NULL;
	if (!b) {
		if (priv)
			learn_ops.dtor(priv);
		err_set(err, errno, "cannot create switch %s: %s", sw, strerror(errno));
		return NULL;
	}
	*ret_new = true;
	return b;
}

static struct att_entry *entry_add(struct att *a, const char *sw, const char *port,
				   const char *type, struct kport *k)
{
	struct att_entry *e = calloc(1, sizeof(*e)), **pp;

	if (!e)
		return NULL;
	snprintf(e->sw, sizeof(e->sw), "%s", sw);
	snprintf(e->port, sizeof(e->port), "%s", port);
	snprintf(e->type, sizeof(e->type), "%s", type);
	e->k = k;
	for (pp = &a->entries; *pp; pp = &(*pp)->next)
		;
	*pp = e;
	return e;
}

int att_nic(struct att *a, const char *sw, const char *ifname, const char *mode, bool host,
	    char *err)
{
	enum nic_admode m = a->admode;
	char reason[ERR_LEN], hostname[BDG_NAMSIZ];
	struct att_entry *e;
	struct kport *k;
	struct bdg *b;
	bool new_sw;

	if (mode && nic_admode_parse(mode, &m))
		return err_set(err, EINVAL,
			       "adapter mode must be best, native or generic, got '%s'", mode);
	if (!ifname[0] || strlen(ifname) >= BDG_NAMSIZ - 1)
		return err_set(err, EINVAL, "interface name '%s' is empty or too long", ifname);
	if (find(a, sw, ifname))
		return err_set(err, EEXIST, "%s is already attached to %s", ifname, sw);
	for (e = a->entries; e; e = e->next)
		if (strcmp(e->port, ifname) == 0 && strcmp(e->type, "tap") != 0)
			return err_set(err, EBUSY, "%s is attached to %s already", ifname, e->sw);
	b = get_switch(a, sw, &new_sw, err);
	if (!b)
		return -EINVAL;
	k = nic_attach(b, ifname, m, reason, err);
	if (!k) {
		int eno = errno;
		if (new_sw)
			bdg_destroy(b);
		return -(eno ? eno : EIO);
	}
	e = entry_add(a, sw, ifname, kport_kind(k), k);
	if (!e) {
		kport_destroy(k);
		return err_set(err, ENOMEM, "out of memory");
	}
	snprintf(e->detail, sizeof(e->detail), "%s", reason);
	if (!host)
		return 0;
	/* The host port: a tap the host stack uses instead of the NIC. */
	struct tap_params tp = {.name = hostname};
	snprintf(hostname, sizeof(hostname), "vh-%.12s", ifname);
	char port[BDG_NAMSIZ];
	snprintf(port, sizeof(port), "%.14s^", ifname);
	k = tapport_create(b, port, &tp, err);
	if (!k) {
		int eno = errno;
		entry_free(a, e);
		return -(eno ? eno : EIO);
	}
	e->host = entry_add(a, sw, port, "host", k);
	if (!e->host) {
		kport_destroy(k);
		entry_free(a, e);
		return err_set(err, ENOMEM, "out of memory");
	}
	snprintf(e->host->detail, sizeof(e->host->detail), "tap %s for the host stack of %s",
		 hostname, ifname);
	return 0;
}

int att_detach(struct att *a, const char *sw, const char *ifname, char *err)
{
	struct att_entry *e = find(a, sw, ifname);

	if (!e || strcmp(e->type, "tap") == 0 || strcmp(e->type, "host") == 0)
		return err_set(err, ENOENT, "%s is not attached to %s", ifname, sw);
	if (e->host)
		entry_free(a, e->host);
	entry_free(a, e);
	return 0;
}

int att_tap(struct att *a, const char *sw, const char *port, const struct tap_params *p,
	    char *err)
{
	struct att_entry *e;
	struct kport *k;
	struct bdg *b;
	bool new_sw;

	if (find(a, sw, port))
		return err_set(err, EEXIST, "%s:%s exists already", sw, port);
	b = get_switch(a, sw, &new_sw, err);
	if (!b)
		return -EINVAL;
	k = tapport_create(b, port, p, err);
	if (!k) {
		int eno = errno;
		if (new_sw)
			bdg_destroy(b);
		return -(eno ? eno : EIO);
	}
	e = entry_add(a, sw, port, "tap", k);
	if (!e) {
		kport_destroy(k);
		return err_set(err, ENOMEM, "out of memory");
	}
	snprintf(e->detail, sizeof(e->detail), "tap %s%s%s", p->name ? p->name : "",
		 p->netns ? " in netns " : "", p->netns ? p->netns : "");
	return 0;
}

int att_tap_delete(struct att *a, const char *sw, const char *port, char *err)
{
	struct att_entry *e = find(a, sw, port);

	if (!e || strcmp(e->type, "tap") != 0)
		return err_set(err, ENOENT, "%s:%s is not a tap port", sw, port);
	entry_free(a, e);
	return 0;
}

struct att_entry *att_first(const struct att *a)
{
	return a->entries;
}

struct att_entry *att_next(const struct att_entry *e)
{
	return e->next;
}

const char *att_entry_switch(const struct att_entry *e)
{
	return e->sw;
}

const char *att_entry_port(const struct att_entry *e)
{
	return e->port;
}

const char *att_entry_type(const struct att_entry *e)
{
	return e->type;
}

const char *att_entry_detail(const struct att_entry *e)
{
	return e->detail;
}

struct kport *att_entry_kport(const struct att_entry *e)
{
	return e->k;
}

struct att_entry *att_find(const struct att *a, const char *sw, const char *port)
{
	return find(a, sw, port);
}
