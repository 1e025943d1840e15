/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Test objective: ports/quota.h accounts what each uid holds against its
 * limits, all or nothing, with EDQUOT per uid and ENOSPC host-wide, and the
 * registry charges a port's owner before it allocates and gives everything
 * back when the port goes (issue 10, finding 4).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "quota.h"
#include "pipe.h"
#include "registry.h"

static struct quota_params small(void)
{
	struct quota_params p = {
	    .defaults.n = {[QUOTA_CONNS] = 2,
			   [QUOTA_PORTS] = 3,
			   [QUOTA_SWITCHES] = 1,
			   [QUOTA_REGION_BYTES] = 1000,
			   [QUOTA_EXTRA_BUFS] = 10,
			   [QUOTA_POLLERS] = 1},
	    .host_conns = 3,
	    .host_region_bytes = 1500,
	};
	return p;
}

static uint64_t used(const struct quota *q, uid_t uid, enum quota_res r)
{
	struct quota_amount a;

	quota_usage(q, uid, &a);
	return a.n[r];
}

static void test_at_limit_and_over(void **state)
{
	struct quota_params p = small();
	struct quota *q = quota_create(&p);
	struct quota_amount port = {.n[QUOTA_PORTS] = 1};
	char err[QUOTA_ERRLEN] = "";

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(quota_charge(q, 1000, &port, err), 0);
	assert_int_equal(used(q, 1000, QUOTA_PORTS), 3);
	assert_int_equal(quota_charge(q, 1000, &port, err), -EDQUOT);
	assert_non_null(strstr(err, "uid 1000"));
	assert_non_null(strstr(err, "3 ports"));
	assert_int_equal(used(q, 1000, QUOTA_PORTS), 3);
	/* Another uid has its own count. */
	assert_int_equal(quota_charge(q, 1001, &port, err), 0);
	for (int i = 0; i < 3; i++)
		quota_uncharge(q, 1000, &port);
	assert_int_equal(used(q, 1000, QUOTA_PORTS), 0);
	assert_int_equal(quota_charge(q, 1000, &port, err), 0);
	quota_destroy(q);
}

/* A charge over one limit takes nothing of the others. */
static void test_all_or_nothing(void **state)
{
	struct quota_params p = small();
	struct quota *q = quota_create(&p);
	struct quota_amount big = {
	    .n = {[QUOTA_PORTS] = 1, [QUOTA_REGION_BYTES] = 600, [QUOTA_EXTRA_BUFS] = 11}};
	struct quota_amount h;
	char err[QUOTA_ERRLEN];

	(void)state;
	assert_int_equal(quota_charge(q, 7, &big, err), -EDQUOT);
	assert_non_null(strstr(err, "extra buffers"));
	assert_int_equal(used(q, 7, QUOTA_PORTS), 0);
	assert_int_equal(used(q, 7, QUOTA_REGION_BYTES), 0);
	quota_host_usage(q, &h);
	assert_int_equal(h.n[QUOTA_REGION_BYTES], 0);
	big.n[QUOTA_EXTRA_BUFS] = 10;
	assert_int_equal(quota_charge(q, 7, &big, err), 0);
	assert_int_equal(used(q, 7, QUOTA_EXTRA_BUFS), 10);
	quota_destroy(q);
}

/* Host-wide caps sum every uid and answer ENOSPC. */
static void test_host_wide(void **state)
{
	struct quota_params p = small();
	struct quota *q = quota_create(&p);
	struct quota_amount conn = {.n[QUOTA_CONNS] = 1}, mem = {.n[QUOTA_REGION_BYTES] = 800};
	char err[QUOTA_ERRLEN];

	(void)state;
	assert_int_equal(quota_charge(q, 1, &conn, err), 0);
	assert_int_equal(quota_charge(q, 1, &conn, err), 0);
	assert_int_equal(quota_charge(q, 2, &conn, err), 0); /* 3 of 3 host-wide */
	assert_int_equal(quota_charge(q, 3, &conn, err), -ENOSPC);
	assert_non_null(strstr(err, "host-wide"));
	assert_int_equal(quota_charge(q, 1, &mem, err), 0);
	assert_int_equal(quota_charge(q, 2, &mem, err), -ENOSPC); /* 1600 > 1500 */
	mem.n[QUOTA_REGION_BYTES] = 700;
	assert_int_equal(quota_charge(q, 2, &mem, err), 0); /* 1500: at the cap */
	quota_uncharge(q, 1, &conn);
	assert_int_equal(quota_charge(q, 3, &conn, err), 0);
	quota_destroy(q);
}

static void test_overrides_and_unlimited(void **state)
{
	struct quota_params p = small();
	struct quota *q = quota_create(&p);
	struct quota_amount lim = p.defaults, got, port = {.n[QUOTA_PORTS] = 1};
	char err[QUOTA_ERRLEN];

	(void)state;
	lim.n[QUOTA_PORTS] = QUOTA_UNLIMITED;
	lim.n[QUOTA_SWITCHES] = 0;
	assert_int_equal(quota_set_limits(q, 0, &lim), 0);
	quota_limits(q, 0, &got);
	assert_true(got.n[QUOTA_PORTS] == QUOTA_UNLIMITED);
	quota_limits(q, 5, &got);
	assert_int_equal(got.n[QUOTA_PORTS], 3);
	for (int i = 0; i < 100; i++)
		assert_int_equal(quota_charge(q, 0, &port, err), 0);
	struct quota_amount sw = {.n[QUOTA_SWITCHES] = 1};
	assert_int_equal(quota_charge(q, 0, &sw, err), -EDQUOT);
	/* Lowering a limit under the usage refuses more, and uncharges still work. */
	lim.n[QUOTA_PORTS] = 10;
	assert_int_equal(quota_set_limits(q, 0, &lim), 0);
	assert_int_equal(quota_charge(q, 0, &port, err), -EDQUOT);
	for (int i = 0; i < 100; i++)
		quota_uncharge(q, 0, &port);
	assert_int_equal(used(q, 0, QUOTA_PORTS), 0);
	quota_uncharge(q, 0, &port); /* never below zero */
	assert_int_equal(used(q, 0, QUOTA_PORTS), 0);
	quota_destroy(q);
}

static bool alive_if_listed(const char *name, void *arg)
{
	for (const char *const *n = arg; *n; n++)
		if (strcmp(*n, name) == 0)
			return true;
	return false;
}

static void test_holds(void **state)
{
	struct quota_params p = small();
	struct quota *q = quota_create(&p);
	struct quota_amount sw = {.n[QUOTA_SWITCHES] = 1}, kp = {.n[QUOTA_PORTS] = 2};
	const char *alive[] = {"vale1", NULL};
	char err[QUOTA_ERRLEN];

	(void)state;
	assert_int_equal(quota_hold(q, 9, "switch:vale1", &sw, err), 0);
	assert_true(quota_held(q, "switch:vale1"));
	assert_int_equal(quota_hold(q, 9, "switch:vale1", &sw, err), -EEXIST);
	assert_int_equal(quota_hold(q, 9, "switch:vale2", &sw, err), -EDQUOT); /* 1 switch */
	assert_false(quota_held(q, "switch:vale2"));
	assert_int_equal(quota_hold(q, 9, "kport:vale1:eth0", &kp, err), 0);
	assert_int_equal(used(q, 9, QUOTA_PORTS), 2);
	/* Settle only looks at its kind. */
	quota_settle(q, "switch:", alive_if_listed, alive);
	assert_true(quota_held(q, "switch:vale1"));
	alive[0] = NULL;
	quota_settle(q, "switch:", alive_if_listed, alive);
	assert_false(quota_held(q, "switch:vale1"));
	assert_int_equal(used(q, 9, QUOTA_SWITCHES), 0);
	assert_int_equal(used(q, 9, QUOTA_PORTS), 2);
	quota_release(q, "kport:vale1:eth0");
	quota_release(q, "kport:vale1:eth0"); /* twice: nothing */
	assert_int_equal(used(q, 9, QUOTA_PORTS), 0);
	quota_destroy(q);
}

static void test_null_accepts(void **state)
{
	struct quota_amount a = {.n[QUOTA_PORTS] = UINT64_MAX};
	char err[QUOTA_ERRLEN];

	(void)state;
	assert_int_equal(quota_charge(NULL, 0, &a, err), 0);
	assert_int_equal(quota_hold(NULL, 0, "switch:x", &a, err), 0);
	quota_uncharge(NULL, 0, &a);
	quota_release(NULL, "switch:x");
	assert_int_equal(used(NULL, 0, QUOTA_PORTS), 0);
	quota_destroy(NULL);
}

static void test_defaults_sane(void **state)
{
	struct quota_params p;

	(void)state;
	quota_default_params(&p);
	for (int r = 0; r < QUOTA_NRES; r++) {
		assert_non_null(quota_res_name((enum quota_res)r));
		assert_true(p.defaults.n[r] > 0 && p.defaults.n[r] != QUOTA_UNLIMITED);
	}
	assert_null(quota_res_name(QUOTA_NRES));
	assert_true(p.host_conns >= p.defaults.n[QUOTA_CONNS]);
	assert_true(p.host_region_bytes > 0);
}

/* ---- the registry charges before it allocates ---------------------------- */

static struct reg *reg_with(struct quota *q)
{
	struct reg_params rp = {.workers = 1, .fdb_max = 64, .fdb_age = 300, .quota = q};
	char err[REG_ERRLEN];
	struct reg *r = reg_create(&rp, err);

	assert_non_null(r);
	return r;
}

static void test_registry_charges(void **state)
{
	struct quota_params p;
	struct quota *q;
	struct reg *r;
	struct reg_open o = {.name = "valeq0:a", .owner = 1000, .vp.extra_bufs = 4};
	struct reg_handle *h, *h2, *hm;
	struct reg_info in;
	char err[REG_ERRLEN];
	size_t bytes;

	(void)state;
	quota_default_params(&p);
	q = quota_create(&p);
	r = reg_with(q);
	assert_int_equal(reg_open(r, &o, &h, err), 0);
	reg_handle_info(h, &in);
	assert_int_equal(in.owner, 1000);
	assert_int_equal(reg_port_owner(reg_handle_port(h)), 1000);
	/* What is charged is what was mapped. */
	assert_int_equal(vport_region_bytes(&o.vp, &bytes), 0);
	assert_int_equal(bytes, in.mem_size);
	assert_int_equal(used(q, 1000, QUOTA_REGION_BYTES), in.mem_size);
	assert_int_equal(used(q, 1000, QUOTA_PORTS), 1);
	assert_int_equal(used(q, 1000, QUOTA_SWITCHES), 1);
	assert_int_equal(used(q, 1000, QUOTA_EXTRA_BUFS), 4);
	/* A second user of the same port is charged nothing. */
	struct reg_open o2 = {.name = "valeq0:a", .owner = 1001};
	assert_int_equal(reg_open(r, &o2, &h2, err), 0);
	assert_int_equal(used(q, 1001, QUOTA_PORTS), 0);
	/* A copy monitor is a port with a region of its own. */
	struct reg_open om = {.name = "valeq0:a/r", .owner = 1001};
	assert_int_equal(reg_open(r, &om, &hm, err), 0);
	assert_int_equal(used(q, 1001, QUOTA_PORTS), 1);
	assert_true(used(q, 1001, QUOTA_REGION_BYTES) > 0);
	/* Polling: one thread, given back when the port goes. */
	assert_int_equal(reg_set_polling(r, reg_handle_port(h), true, -1, 1000, err), 0);
	assert_int_equal(used(q, 1000, QUOTA_POLLERS), 1);
	reg_close(hm);
	assert_int_equal(used(q, 1001, QUOTA_PORTS), 0);
	assert_int_equal(used(q, 1001, QUOTA_REGION_BYTES), 0);
	reg_close(h2);
	reg_close(h);
	struct quota_amount zero = {{0}}, u;
	quota_usage(q, 1000, &u);
	assert_memory_equal(&u, &zero, sizeof(u));
	quota_host_usage(q, &u);
	assert_memory_equal(&u, &zero, sizeof(u));
	reg_destroy(r);
	quota_destroy(q);
}

/* The repro of the issue: refused with EDQUOT before any region exists. */
static void test_registry_refuses_before_allocating(void **state)
{
	struct quota_params p;
	struct quota *q;
	struct reg *r;
	struct reg_open o = {.name = "valeq1:big",
			     .owner = 1000,
			     .vp = {.tx_rings = 16,
				    .rx_rings = 16,
				    .tx_slots = 16384,
				    .rx_slots = 16384,
				    .buf_size = 65536,
				    .extra_bufs = 65536}};
	struct reg_handle *h;
	char err[REG_ERRLEN];
	int e;

	(void)state;
	quota_default_params(&p);
	q = quota_create(&p);
	r = reg_with(q);
	assert_int_equal(reg_open(r, &o, &h, err), -EDQUOT);
	assert_non_null(strstr(err, "bytes of port memory"));
	assert_null(reg_find(r, "valeq1:big", &e, err));
	assert_null(bdg_lookup("valeq1")); /* no switch either */
	assert_int_equal(used(q, 1000, QUOTA_SWITCHES), 0);
	assert_int_equal(used(q, 1000, QUOTA_PORTS), 0);
	/* A pipe of the same geometry too. */
	o.name = "valeq1{1";
	assert_int_equal(reg_open(r, &o, &h, err), -EDQUOT);
	/* The switch limit: a port on a second switch, with one allowed. */
	struct quota_amount lim = p.defaults;
	lim.n[QUOTA_SWITCHES] = 1;
	assert_int_equal(quota_set_limits(q, 1000, &lim), 0);
	struct reg_open a = {.name = "valeq1:a", .owner = 1000},
			b = {.name = "valeq2:b", .owner = 1000};
	struct reg_handle *ha, *hb;
	assert_int_equal(reg_open(r, &a, &ha, err), 0);
	assert_int_equal(reg_open(r, &b, &hb, err), -EDQUOT);
	assert_non_null(strstr(err, "switches"));
	assert_null(bdg_lookup("valeq2"));
	reg_close(ha);
	assert_null(bdg_lookup("valeq1"));
	assert_int_equal(used(q, 1000, QUOTA_SWITCHES), 0);
	assert_int_equal(reg_open(r, &b, &hb, err), 0); /* its switch was given back */
	reg_close(hb);
	reg_destroy(r);
	quota_destroy(q);
}

/* Persistent ports are the creator's until vale.delif; pipes charge two ends. */
static void test_registry_newif_and_pipes(void **state)
{
	struct quota_params p;
	struct quota *q;
	struct reg *r;
	struct vport_params vp = {0};
	struct reg_open o = {.name = "valeq3{1", .owner = 42, .vp.extra_bufs = 3};
	struct reg_handle *h;
	char err[REG_ERRLEN];
	size_t bytes;

	(void)state;
	quota_default_params(&p);
	q = quota_create(&p);
	r = reg_with(q);
	assert_int_equal(reg_newif(r, "valeq3:p", &vp, 42, err), 0);
	assert_int_equal(used(q, 42, QUOTA_PORTS), 1);
	assert_int_equal(reg_open(r, &o, &h, err), 0);
	assert_int_equal(used(q, 42, QUOTA_PORTS), 3);
	assert_int_equal(used(q, 42, QUOTA_EXTRA_BUFS), 6);
	assert_int_equal(pipe_region_bytes(&o.vp, &bytes), 0);
	assert_int_equal(bytes, mem_size(reg_port_mem(reg_handle_port(h))));
	reg_close(h);
	assert_int_equal(used(q, 42, QUOTA_PORTS), 1);
	assert_int_equal(reg_delif(r, "valeq3:p", err), 0);
	assert_int_equal(used(q, 42, QUOTA_PORTS), 0);
	assert_int_equal(used(q, 42, QUOTA_SWITCHES), 0);
	assert_int_equal(used(q, 42, QUOTA_REGION_BYTES), 0);
	reg_destroy(r);
	quota_destroy(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_at_limit_and_over),
	    cmocka_unit_test(test_all_or_nothing),
	    cmocka_unit_test(test_host_wide),
	    cmocka_unit_test(test_overrides_and_unlimited),
	    cmocka_unit_test(test_holds),
	    cmocka_unit_test(test_null_accepts),
	    cmocka_unit_test(test_defaults_sane),
	    cmocka_unit_test(test_registry_charges),
	    cmocka_unit_test(test_registry_refuses_before_allocating),
	    cmocka_unit_test(test_registry_newif_and_pipes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
