/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * authz - who may do what on valed's control socket (the table is in
 * doc/control-protocol.md, "Authorization").
 *
 * A caller is the uid, gid and supplementary groups the kernel recorded when
 * it connected (ctl_conn_peer_uid and friends). Root (uid 0) and members of
 * the admin group may do everything, with one exception: an exclusive port
 * refuses monitors from anyone but its owner. Any other uid may open,
 * monitor and change only the ports it owns (ports/registry.h,
 * reg_port_owner), may create ports only on the switches it is allowed on,
 * and may not do what the kernel or the host pays for (NICs, taps, polling
 * threads). Which switches admit whom is the config's "switch_access": a
 * switch it does not list (and no "*" entry stands for) admits everyone, as
 * netmap's /dev/netmap does; so does every switch when it is absent.
 *
 * The functions here only decide: each returns 0 when the caller may, or
 * -EPERM (a rule about who owns what or who is privileged) or -EACCES (a
 * switch's access list) with err filled with a sentence naming the rule.
 *
 * Threads: the control thread (the policy is read-only once created).
 */
#ifndef VALE_CTL_AUTHZ_H
#define VALE_CTL_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "rpc.h"

/* Who asks. groups is borrowed (from the connection). */
struct authz_who {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t n_groups;
};

/* The group valed looks for when the config names none. */
#define AUTHZ_ADMIN_GROUP_DEFAULT "vale"

struct authz;

/*
 * The policy from the config's values (either may be NULL: absent).
 * admin_group: a group name or a gid; absent: group "vale" when the host has
 * one, else no admin group (root only); "" or null: no admin group.
 * switch_access: {"SWITCH": {"users": [NAME or UID...], "groups": [NAME or
 * GID...]}, ...}: SWITCH admits only those (besides root and the admin
 * group); the key "*" stands for every switch not listed; a switch neither
 * names admits everyone. NULL + errno (EINVAL, ENOENT for a user or
 * group the host does not know, ENOMEM) with a sentence in err (size errlen).
 */
struct authz *authz_create(const json_t *admin_group, const json_t *switch_access, char *err,
			   size_t errlen);
void authz_destroy(struct authz *a); /* accepts NULL */

/* The admin group for sentences ("vale", or "990" given as a gid), or NULL: none. */
const char *authz_admin_group(const struct authz *a);

/* Root, or a member (primary or supplementary) of the admin group. */
bool authz_is_admin(const struct authz *a, const struct authz_who *w);

/* What only root and the admin group may do: action is a sentence's verb
 * phrase, "attach kernel interfaces". */
int authz_admin(const struct authz *a, const struct authz_who *w, const char *action,
		struct ctl_error *err);

/* May w do `verb` ("open", "delete") to port `name`, owned by owner? */
int authz_port(const struct authz *a, const struct authz_who *w, const char *name, uid_t owner,
	       const char *verb, struct ctl_error *err);

/* May w monitor port `name` (owner, whether an exclusive open holds it)? */
int authz_monitor(const struct authz *a, const struct authz_who *w, const char *name, uid_t owner,
		  bool exclusive, struct ctl_error *err);

/* May w have ports on switch sw? */
int authz_switch(const struct authz *a, const struct authz_who *w, const char *sw,
		 struct ctl_error *err);

/*
 * May w put a port in the region every port that asks for its mem_id shares
 * (its client maps all of it)? Only when no other uid's port is in it:
 * other is the owner of one port there that is not w's, or (uid_t)-1 when
 * there is none.
 */
int authz_shared_mem(const struct authz *a, const struct authz_who *w, uid_t other,
		     struct ctl_error *err);

#endif /* VALE_CTL_AUTHZ_H */
