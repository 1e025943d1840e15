/* SPDX-License-Identifier: BSD-2-Clause */
/* authz: the rules of who may do what on valed's control socket. */
#include "authz.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The longest switch name in switch_access (longer: a config error) and group name kept. */
#define NAME_MAX_LEN 64

/* Who a switch admits besides root and the admin group. */
struct acl {
	char sw[NAME_MAX_LEN];
	uint32_t *uids; /* uid_t and gid_t are 32 bits on Linux */
	size_t n_uids;
	uint32_t *gids;
	size_t n_gids;
};

struct authz {
	bool has_admin;
	gid_t admin_gid;
	char admin_label[NAME_MAX_LEN + 8]; /* "vale", or "990" when given as a gid */
	char others[NAME_MAX_LEN + 24];	    /* "root or group vale", or "root" */
	char owners[NAME_MAX_LEN + 40];	    /* "its owner, root or group vale" */
	struct acl *acls;
	size_t n_acls;
	const struct acl *any; /* the "*" entry, or NULL */
};

static struct authz *create_fail(struct authz *a, int e, char *err, size_t errlen, const char *fmt,
				 ...) __attribute__((format(printf, 5, 6)));

static struct authz *create_fail(struct authz *a, int e, char *err, size_t errlen, const char *fmt,
				 ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	authz_destroy(a);
	errno = e;
	return NULL;
}

/* authz_create's failure when err is filled already. */
static struct authz *failed(struct authz *a, int neg_errno)
{
	authz_destroy(a);
	errno = -neg_errno;
	return NULL;
}

/* A uid or gid from a JSON integer, or a user or group name; -errno. */
static int id_of(const json_t *v, bool group, uint32_t *ret)
{
	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);

		/* (uid_t)-1 means "nobody could tell": it must never be granted. */
		if (x < 0 || x >= UINT32_MAX)
			return -EINVAL;
		*ret = (uint32_t)x;
		return 0;
	}
	if (!json_is_string(v) || !json_string_value(v)[0])
		return -EINVAL;
	if (group) {
		struct group *g = getgrnam(json_string_value(v));
		if (!g)
			return -ENOENT;
		*ret = g->gr_gid;
	} else {
		struct passwd *p = getpwnam(json_string_value(v));
		if (!p)
			return -ENOENT;
		*ret = p->pw_uid;
	}
	return 0;
}

static void set_admin(struct authz *a, gid_t gid, const char *name)
{
	a->has_admin = true;
	a->admin_gid = gid;
	if (name)
		snprintf(a->admin_label, sizeof(a->admin_label), "%.*s", NAME_MAX_LEN, name);
	else
		snprintf(a->admin_label, sizeof(a->admin_label), "%u", (unsigned)gid);
	snprintf(a->others, sizeof(a->others), "root or group %s", a->admin_label);
	snprintf(a->owners, sizeof(a->owners), "its owner, root or group %s", a->admin_label);
}

/* The admin group of the config; see authz_create. */
static int parse_admin(struct authz *a, const json_t *v, char *err, size_t errlen)
{
	uint32_t id;
	int e;

	snprintf(a->others, sizeof(a->others), "root");
	snprintf(a->owners, sizeof(a->owners), "its owner or root");
	if (!v) {
		struct group *g = getgrnam(AUTHZ_ADMIN_GROUP_DEFAULT);
		if (g)
			set_admin(a, g->gr_gid, AUTHZ_ADMIN_GROUP_DEFAULT);
		return 0;
	}
	if (json_is_null(v) || (json_is_string(v) && !json_string_value(v)[0]))
		return 0;
	e = id_of(v, true, &id);
	if (e == -ENOENT)
		snprintf(err, errlen, "admin_group: the host has no group '%s'",
			 json_string_value(v));
	else if (e)
		snprintf(err, errlen, "admin_group must be a group name or a gid");
	if (e)
		return e;
	set_admin(a, id, json_is_string(v) ? json_string_value(v) : NULL);
	return 0;
}

/* ids of the array key ("users" or "groups") of one switch_access entry. */
static int parse_ids(const json_t *entry, const char *sw, const char *key, uint32_t **ret,
		     size_t *ret_n, char *err, size_t errlen)
{
	const json_t *arr = json_object_get(entry, key), *v;
	uint32_t *ids;
	size_t i;
	int e;

	if (!arr)
		return 0;
	if (!json_is_array(arr)) {
		snprintf(err, errlen, "switch_access.%s.%s must be an array of names or ids", sw,
			 key);
		return -EINVAL;
	}
	ids = calloc(json_array_size(arr) + 1, sizeof(*ids));
	if (!ids) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_array_foreach(arr, i, v)
	{
		e = id_of(v, key[0] == 'g', &ids[i]);
		if (e) {
			if (e == -ENOENT)
				snprintf(err, errlen,
					 "switch_access.%s.%s: the host has no %s '%s'", sw, key,
					 key[0] == 'g' ? "group" : "user", json_string_value(v));
			else
				snprintf(err, errlen,
					 "switch_access.%s.%s[%zu] must be a name or an id", sw,
					 key, i);
			free(ids);
			return e;
		}
	}
	*ret = ids;
	*ret_n = json_array_size(arr);
	return 0;
}

struct authz *authz_create(const json_t *admin_group, const json_t *switch_access, char *err,
			   size_t errlen)
{
	struct authz *a = calloc(1, sizeof(*a));
	const char *sw;
	json_t *entry;
	int e;

	if (!a)
		return create_fail(NULL, ENOMEM, err, errlen, "out of memory");
	e = parse_admin(a, admin_group, err, errlen);
	if (e)
		return failed(a, e);
	if (!switch_access)
		return a;
	if (!json_is_object(switch_access))
		return create_fail(a, EINVAL, err, errlen,
				   "switch_access must be an object: {\"SWITCH\": {\"users\": "
				   "[...], \"groups\": [...]}}");
	a->acls = calloc(json_object_size(switch_access) + 1, sizeof(*a->acls));
	if (!a->acls)
		return create_fail(a, ENOMEM, err, errlen, "out of memory");
	json_object_foreach((json_t *)switch_access, sw, entry)
	{
		static const char *const known[] = {"users", "groups"};
		struct acl *acl = &a->acls[a->n_acls];
		const char *key;
		json_t *v;

		if (strlen(sw) >= sizeof(acl->sw) || !json_is_object(entry))
			return create_fail(a, EINVAL, err, errlen,
					   "switch_access.%.*s must be an object with \"users\" "
					   "and \"groups\"",
					   NAME_MAX_LEN, sw);
		json_object_foreach(entry, key, v)
		{
			if (strcmp(key, known[0]) != 0 && strcmp(key, known[1]) != 0)
				return create_fail(a, EINVAL, err, errlen,
						   "switch_access.%s: unknown key '%.*s' (known: "
						   "users, groups)",
						   sw, NAME_MAX_LEN, key);
		}
		memcpy(acl->sw, sw, strlen(sw) + 1);
		a->n_acls++; /* counted now: destroy frees what the entry holds */
		e = parse_ids(entry, sw, "users", &acl->uids, &acl->n_uids, err, errlen);
		if (!e)
			e = parse_ids(entry, sw, "groups", &acl->gids, &acl->n_gids, err, errlen);
		if (e)
			return failed(a, e);
		if (strcmp(sw, "*") == 0)
			a->any = acl;
	}
	return a;
}

void authz_destroy(struct authz *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_acls; i++) {
		free(a->acls[i].uids);
		free(a->acls[i].gids);
	}
	free(a->acls);
	free(a);
}

const char *authz_admin_group(const struct authz *a)
{
	return a->has_admin ? a->admin_label : NULL;
}

static bool in_group(const struct authz_who *w, gid_t gid)
{
	if (w->gid == gid)
		return true;
	for (size_t i = 0; i < w->n_groups; i++)
		if (w->groups[i] == gid)
			return true;
	return false;
}

bool authz_is_admin(const struct authz *a, const struct authz_who *w)
{
	return w->uid == 0 || (a->has_admin && in_group(w, a->admin_gid));
}

int authz_admin(const struct authz *a, const struct authz_who *w, const char *action,
		struct ctl_error *err)
{
	if (authz_is_admin(a, w))
		return 0;
	if (a->has_admin)
		ctl_fail(err, CTL_E_FAILED, EPERM, "only %s may %s (uid %u is neither)", a->others,
			 action, (unsigned)w->uid);
	else
		ctl_fail(err, CTL_E_FAILED, EPERM, "only root may %s (no admin group is set)",
			 action);
	return -EPERM;
}

int authz_port(const struct authz *a, const struct authz_who *w, const char *name, uid_t owner,
	       const char *verb, struct ctl_error *err)
{
	if (w->uid == owner || authz_is_admin(a, w))
		return 0;
	ctl_fail(err, CTL_E_FAILED, EPERM, "%s belongs to uid %u; only %s may %s it", name,
		 (unsigned)owner, a->owners, verb);
	return -EPERM;
}

int authz_monitor(const struct authz *a, const struct authz_who *w, const char *name, uid_t owner,
		  bool exclusive, struct ctl_error *err)
{
	/* An exclusive open promises its owner that nobody else sees the
	 * port's traffic or memory: that holds against the admins too. */
	if (exclusive && w->uid != owner) {
		ctl_fail(err, CTL_E_FAILED, EPERM,
			 "%s is open exclusively; only its owner, uid %u, may monitor it", name,
			 (unsigned)owner);
		return -EPERM;
	}
	return authz_port(a, w, name, owner, "monitor", err);
}

/* The access list of switch sw: its own entry, else "*", else NULL: it admits everyone. */
static const struct acl *acl_of(const struct authz *a, const char *sw)
{
	for (size_t i = 0; i < a->n_acls; i++)
		if (strcmp(a->acls[i].sw, sw) == 0)
			return &a->acls[i];
	return a->any;
}

int authz_switch(const struct authz *a, const struct authz_who *w, const char *sw,
		 struct ctl_error *err)
{
	const struct acl *acl;

	acl = acl_of(a, sw);
	if (!acl || authz_is_admin(a, w))
		return 0;
	for (size_t i = 0; i < acl->n_uids; i++)
		if (acl->uids[i] == w->uid)
			return 0;
	for (size_t i = 0; i < acl->n_gids; i++)
		if (in_group(w, acl->gids[i]))
			return 0;
	ctl_fail(err, CTL_E_FAILED, EACCES,
		 "uid %u may not have ports on switch %s: switch_access.%s admits only %s and "
		 "the users and groups it lists",
		 (unsigned)w->uid, sw, acl->sw, a->others);
	return -EACCES;
}

int authz_shared_mem(const struct authz *a, const struct authz_who *w, uid_t other,
		     struct ctl_error *err)
{
	if (other == (uid_t)-1 || other == w->uid || authz_is_admin(a, w))
		return 0;
	ctl_fail(err, CTL_E_FAILED, EPERM,
		 "the shared memory region holds ports of uid %u, and every client of a port in "
		 "it maps all of it; only %s may add a port there: use a region of the port's "
		 "own (mem_id 0)",
		 (unsigned)other, a->others);
	return -EPERM;
}
