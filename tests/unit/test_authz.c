/* SPDX-License-Identifier: BSD-2-Clause */
/* test_authz - the authorization rules (ctl/authz.c): who may do what, and the config. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>

#include "authz.h"

#define ADMIN 990
#define LAB 991

static const gid_t in_admin[] = {5, ADMIN};
static const gid_t in_lab[] = {LAB};

/* Callers: root, a plain user, a user in the admin group by a supplementary
 * group, one whose primary group it is, a user in group LAB, and a peer
 * whose credentials could not be read. */
static const struct authz_who root = {0, 0, NULL, 0};
static const struct authz_who alice = {1000, 1000, NULL, 0};
static const struct authz_who bob = {1001, 1001, NULL, 0};
static const struct authz_who adm = {1002, 1002, in_admin, 2};
static const struct authz_who adm_primary = {1003, ADMIN, NULL, 0};
static const struct authz_who labber = {1004, 1004, in_lab, 1};
static const struct authz_who unknown = {(uid_t)-1, (gid_t)-1, NULL, 0};

static struct authz *policy(const char *json)
{
	json_t *cfg = json_loads(json, 0, NULL);
	char err[256];
	struct authz *a;

	assert_non_null(cfg);
	a = authz_create(json_object_get(cfg, "admin_group"), json_object_get(cfg, "switch_access"),
			 err, sizeof(err));
	if (!a)
		fail_msg("authz_create(%s): %s", json, err);
	json_decref(cfg);
	return a;
}

/* authz_create must fail with errno want and a sentence containing part. */
static void bad_policy(const char *json, int want, const char *part)
{
	json_t *cfg = json_loads(json, 0, NULL);
	char err[256] = "";

	assert_non_null(cfg);
	errno = 0;
	assert_null(authz_create(json_object_get(cfg, "admin_group"),
				 json_object_get(cfg, "switch_access"), err, sizeof(err)));
	assert_int_equal(errno, want);
	if (!strstr(err, part))
		fail_msg("%s: \"%s\" lacks \"%s\"", json, err, part);
	json_decref(cfg);
}

static void assert_detail(const struct ctl_error *e, int err, const char *want)
{
	assert_int_equal(e->err, err);
	assert_int_equal(e->code, CTL_E_FAILED);
	if (!strstr(e->detail, want))
		fail_msg("\"%s\" lacks \"%s\"", e->detail, want);
}

static void test_admin(void **state)
{
	struct authz *a = policy("{\"admin_group\": 990}");
	struct ctl_error e;

	(void)state;
	assert_string_equal(authz_admin_group(a), "990");
	assert_true(authz_is_admin(a, &root));
	assert_true(authz_is_admin(a, &adm));
	assert_true(authz_is_admin(a, &adm_primary));
	assert_false(authz_is_admin(a, &alice));
	assert_false(authz_is_admin(a, &unknown));
	assert_int_equal(authz_admin(a, &adm, "attach kernel interfaces", &e), 0);
	assert_int_equal(authz_admin(a, &alice, "attach kernel interfaces", &e), -EPERM);
	assert_detail(&e, EPERM,
		      "only root or group 990 may attach kernel interfaces (uid 1000 is neither)");
	authz_destroy(a);

	/* No admin group: root alone, and the sentences say so. */
	a = policy("{\"admin_group\": \"\"}");
	assert_null(authz_admin_group(a));
	assert_false(authz_is_admin(a, &adm));
	assert_true(authz_is_admin(a, &root));
	assert_int_equal(authz_admin(a, &adm, "start polling threads", &e), -EPERM);
	assert_detail(&e, EPERM, "only root may start polling threads");
	authz_destroy(a);

	/* A group name, and the default: group "vale" when the host has one. */
	a = policy("{\"admin_group\": \"root\"}");
	assert_string_equal(authz_admin_group(a), "root");
	authz_destroy(a);
	a = policy("{}");
	if (getgrnam(AUTHZ_ADMIN_GROUP_DEFAULT))
		assert_string_equal(authz_admin_group(a), AUTHZ_ADMIN_GROUP_DEFAULT);
	else
		assert_null(authz_admin_group(a));
	authz_destroy(a);
}

static void test_port(void **state)
{
	struct authz *a = policy("{\"admin_group\": 990}");
	struct ctl_error e;

	(void)state;
	assert_int_equal(authz_port(a, &alice, "vale0:b", 1000, "delete", &e), 0);
	assert_int_equal(authz_port(a, &root, "vale0:b", 1000, "delete", &e), 0);
	assert_int_equal(authz_port(a, &adm, "vale0:b", 1000, "delete", &e), 0);
	assert_int_equal(authz_port(a, &bob, "vale0:b", 1000, "delete", &e), -EPERM);
	assert_detail(&e, EPERM,
		      "vale0:b belongs to uid 1000; only its owner, root or group 990 may delete "
		      "it");
	/* A peer nobody could identify owns nothing, even a port "of uid -1". */
	assert_int_equal(authz_port(a, &unknown, "vale0:b", 1000, "open", &e), -EPERM);
	authz_destroy(a);

	a = policy("{\"admin_group\": null}");
	assert_int_equal(authz_port(a, &bob, "vale0:b", 1000, "open", &e), -EPERM);
	assert_detail(&e, EPERM, "vale0:b belongs to uid 1000; only its owner or root may open it");
	authz_destroy(a);
}

static void test_monitor(void **state)
{
	struct authz *a = policy("{\"admin_group\": 990}");
	struct ctl_error e;

	(void)state;
	/* Not exclusive: the owner and the admins. */
	assert_int_equal(authz_monitor(a, &alice, "vale0:b", 1000, false, &e), 0);
	assert_int_equal(authz_monitor(a, &adm, "vale0:b", 1000, false, &e), 0);
	assert_int_equal(authz_monitor(a, &bob, "vale0:b", 1000, false, &e), -EPERM);
	assert_detail(&e, EPERM,
		      "vale0:b belongs to uid 1000; only its owner, root or group 990 "
		      "may monitor it");
	/* Exclusive: the owner alone, root included in the refusal. */
	assert_int_equal(authz_monitor(a, &alice, "vale0:b", 1000, true, &e), 0);
	assert_int_equal(authz_monitor(a, &root, "vale0:b", 1000, true, &e), -EPERM);
	assert_detail(&e, EPERM,
		      "vale0:b is open exclusively; only its owner, uid 1000, may "
		      "monitor it");
	assert_int_equal(authz_monitor(a, &adm, "vale0:b", 1000, true, &e), -EPERM);
	assert_int_equal(authz_monitor(a, &bob, "vale0:b", 1000, true, &e), -EPERM);
	/* Root's own exclusive port. */
	assert_int_equal(authz_monitor(a, &root, "vale0:r", 0, true, &e), 0);
	authz_destroy(a);
}

static void test_switch(void **state)
{
	struct authz *a = policy("{\"admin_group\": 990}");
	struct ctl_error e;

	(void)state;
	/* No switch_access: netmap's behaviour, every switch admits everyone. */
	assert_int_equal(authz_switch(a, &bob, "vale0", &e), 0);
	assert_int_equal(authz_switch(a, &unknown, "vale0", &e), 0);
	authz_destroy(a);

	a = policy("{\"admin_group\": 990, \"switch_access\": {\"lab\": {\"users\": [1000], "
		   "\"groups\": [991]}, \"vale0\": {}}}");
	assert_int_equal(authz_switch(a, &alice, "lab", &e), 0);
	assert_int_equal(authz_switch(a, &labber, "lab", &e), 0);
	assert_int_equal(authz_switch(a, &adm, "lab", &e), 0);
	assert_int_equal(authz_switch(a, &root, "lab", &e), 0);
	assert_int_equal(authz_switch(a, &bob, "lab", &e), -EACCES);
	assert_detail(&e, EACCES,
		      "uid 1001 may not have ports on switch lab: switch_access.lab admits only "
		      "root or group 990 and the users and groups it lists");
	/* An empty entry: the admins only. */
	assert_int_equal(authz_switch(a, &alice, "vale0", &e), -EACCES);
	assert_int_equal(authz_switch(a, &adm_primary, "vale0", &e), 0);
	/* Not listed, no "*": everyone. */
	assert_int_equal(authz_switch(a, &bob, "vale1", &e), 0);
	authz_destroy(a);

	/* "*" stands for every switch not listed. */
	a = policy("{\"switch_access\": {\"*\": {\"users\": [\"root\", 1001]}, \"open\": "
		   "{\"groups\": [991]}}}");
	assert_int_equal(authz_switch(a, &bob, "vale7", &e), 0);
	assert_int_equal(authz_switch(a, &alice, "vale7", &e), -EACCES);
	assert_detail(&e, EACCES, "switch_access.* admits only");
	assert_int_equal(authz_switch(a, &labber, "open", &e), 0);
	assert_int_equal(authz_switch(a, &bob, "open", &e), -EACCES);
	authz_destroy(a);
}

static void test_shared_mem(void **state)
{
	struct authz *a = policy("{\"admin_group\": 990}");
	struct ctl_error e;

	(void)state;
	assert_int_equal(authz_shared_mem(a, &bob, (uid_t)-1, &e), 0);
	assert_int_equal(authz_shared_mem(a, &bob, 1001, &e), 0);
	assert_int_equal(authz_shared_mem(a, &adm, 1000, &e), 0);
	assert_int_equal(authz_shared_mem(a, &bob, 1000, &e), -EPERM);
	assert_detail(&e, EPERM, "the shared memory region holds ports of uid 1000");
	authz_destroy(a);
}

static void test_config_errors(void **state)
{
	(void)state;
	bad_policy("{\"admin_group\": true}", EINVAL, "admin_group must be a group name or a gid");
	bad_policy("{\"admin_group\": -1}", EINVAL, "admin_group must be");
	/* (gid_t)-1 stands for unreadable credentials: it is never a group. */
	bad_policy("{\"admin_group\": 4294967295}", EINVAL, "admin_group must be");
	bad_policy("{\"admin_group\": \"no-such-group-here\"}", ENOENT,
		   "the host has no group 'no-such-group-here'");
	bad_policy("{\"switch_access\": []}", EINVAL, "switch_access must be an object");
	bad_policy("{\"switch_access\": {\"lab\": 1}}", EINVAL, "switch_access.lab must be");
	bad_policy("{\"switch_access\": {\"lab\": {\"user\": [1]}}}", EINVAL,
		   "switch_access.lab: unknown key 'user'");
	bad_policy("{\"switch_access\": {\"lab\": {\"users\": 1}}}", EINVAL,
		   "switch_access.lab.users must be an array");
	bad_policy("{\"switch_access\": {\"lab\": {\"users\": [1, {}]}}}", EINVAL,
		   "switch_access.lab.users[1] must be a name or an id");
	bad_policy("{\"switch_access\": {\"lab\": {\"groups\": [\"no-such-group-here\"]}}}", ENOENT,
		   "switch_access.lab.groups: the host has no group 'no-such-group-here'");
	bad_policy("{\"switch_access\": {\"lab\": {\"users\": [\"no-such-user-here\"]}}}", ENOENT,
		   "the host has no user 'no-such-user-here'");
	authz_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_admin),      cmocka_unit_test(test_port),
	    cmocka_unit_test(test_monitor),    cmocka_unit_test(test_switch),
	    cmocka_unit_test(test_shared_mem), cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
