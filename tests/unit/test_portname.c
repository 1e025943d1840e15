/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_portname: ring/portname, the one port-name grammar: every form
 * doc/control-protocol.md and doc/libvale.md describe, every refusal with
 * its errno and sentence, and format/parse round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "portname.h"

/* name parses to these parts, and its canonical form parses to them again. */
static void ok(const char *name, const char *base, const char *sw, const char *port, int32_t ring,
	       bool excl, bool pipe, const char *monitor, const char *canon)
{
	struct portname n, m;
	char err[ERR_LEN] = "", out[PORTNAME_MAX];

	if (portname_parse(name, &n, err) != 0)
		fail_msg("'%s' refused: %s", name, err);
	assert_string_equal(n.base, base);
	assert_string_equal(n.sw, sw);
	assert_string_equal(n.port, port);
	assert_int_equal(n.ring, ring);
	assert_int_equal(n.exclusive, excl);
	assert_int_equal(n.pipe, pipe);
	assert_string_equal(n.monitor, monitor);
	assert_int_equal(portname_format(&n, out, sizeof(out)), 0);
	assert_string_equal(out, canon);
	assert_int_equal(portname_parse(out, &m, NULL), 0);
	assert_string_equal(m.base, n.base);
	assert_string_equal(m.sw, n.sw);
	assert_string_equal(m.port, n.port);
	assert_int_equal(m.ring, n.ring);
	assert_int_equal(m.exclusive, n.exclusive);
	assert_int_equal(m.pipe, n.pipe);
	assert_int_equal(m.end, n.end);
	assert_string_equal(m.monitor, n.monitor);
}

/* name is refused with code, *ret untouched, and the sentence contains what. */
static void bad(const char *name, int code, const char *what)
{
	struct portname n = {.ring = 42};
	char err[ERR_LEN] = "";

	assert_int_equal(portname_parse(name, &n, err), -code);
	assert_int_equal(n.ring, 42);
	if (!strstr(err, what))
		fail_msg("'%s': sentence '%s' lacks '%s'", name, err, what);
	/* No buffer: the same answer, no sentence. */
	assert_int_equal(portname_parse(name, &n, NULL), -code);
}

static void test_vale_ports(void **state)
{
	(void)state;
	ok("vale0:a", "vale0:a", "vale0", "a", -1, false, false, "", "vale0:a");
	ok("vale0:a-1", "vale0:a", "vale0", "a", 1, false, false, "", "vale0:a-1");
	ok("vale0:a/x", "vale0:a", "vale0", "a", -1, true, false, "", "vale0:a/x");
	ok("vale0:a-1/x", "vale0:a", "vale0", "a", 1, true, false, "", "vale0:a-1/x");
	ok("vale0:a-15/x", "vale0:a", "vale0", "a", 15, true, false, "", "vale0:a-15/x");
	ok("vale0:a-01", "vale0:a", "vale0", "a", 1, false, false, "", "vale0:a-1");
	ok("vale0:a-65535", "vale0:a", "vale0", "a", 65535, false, false, "", "vale0:a-65535");
	/* '-' inside a port name; only a trailing "-digits" is a ring. */
	ok("vale0:a-b", "vale0:a-b", "vale0", "a-b", -1, false, false, "", "vale0:a-b");
	ok("vale0:a-b-2", "vale0:a-b", "vale0", "a-b", 2, false, false, "", "vale0:a-b-2");
	ok("vale0:a-1b", "vale0:a-1b", "vale0", "a-1b", -1, false, false, "", "vale0:a-1b");
	ok("vale0:5", "vale0:5", "vale0", "5", -1, false, false, "", "vale0:5");
	ok("valeX.y_z:my.port_1", "valeX.y_z:my.port_1", "valeX.y_z", "my.port_1", -1, false,
	   false, "", "valeX.y_z:my.port_1");
	ok("vale01234567890:012345678901234", "vale01234567890:012345678901234",
	   "vale01234567890", "012345678901234", -1, false, false, "",
	   "vale01234567890:012345678901234"); /* 15 + 15 */
	ok("vale-:x", "vale-:x", "vale-", "x", -1, false, false, "", "vale-:x");
}

static void test_monitors(void **state)
{
	static const char *const mons[][2] = {
	    {"r", "r"},	  {"t", "t"},	{"rt", "rt"}, {"tr", "rt"},  {"z", "z"},   {"zr", "zr"},
	    {"rz", "zr"}, {"zt", "zt"}, {"zrt", "z"}, {"rx", "r"},   {"rrr", "r"}, {"xt", "t"},
	    {"xzx", "z"}, {"trz", "z"}, {"rtx", "rt"}};
	static const unsigned flags[] = {
	    PORTNAME_MON_RX,
	    PORTNAME_MON_TX,
	    PORTNAME_MON_RX | PORTNAME_MON_TX,
	    PORTNAME_MON_RX | PORTNAME_MON_TX,
	    PORTNAME_MON_ZCOPY | PORTNAME_MON_RX | PORTNAME_MON_TX,
	    PORTNAME_MON_ZCOPY | PORTNAME_MON_RX,
	    PORTNAME_MON_ZCOPY | PORTNAME_MON_RX,
	    PORTNAME_MON_ZCOPY | PORTNAME_MON_TX,
	    PORTNAME_MON_ZCOPY | PORTNAME_MON_RX | PORTNAME_MON_TX,
	    PORTNAME_MON_RX,
	    PORTNAME_MON_RX,
	    PORTNAME_MON_TX,
	    PORTNAME_MON_ZCOPY | PORTNAME_MON_RX | PORTNAME_MON_TX,
	    PORTNAME_MON_ZCOPY | PORTNAME_MON_RX | PORTNAME_MON_TX,
	    PORTNAME_MON_RX | PORTNAME_MON_TX};
	char name[PORTNAME_MAX], canon[PORTNAME_MAX];
	struct portname n;
	(void)state;

	for (size_t i = 0; i < sizeof(mons) / sizeof(mons[0]); i++) {
		snprintf(name, sizeof(name), "vale0:a/%s", mons[i][0]);
		snprintf(canon, sizeof(canon), "vale0:a/%s", mons[i][1]);
		ok(name, "vale0:a", "vale0", "a", -1, false, false, mons[i][1], canon);
		assert_int_equal(portname_parse(name, &n, NULL), 0);
		assert_int_equal(portname_monitor_flags(&n), flags[i]);
	}
	assert_int_equal(portname_parse("vale0:a", &n, NULL), 0);
	assert_int_equal(portname_monitor_flags(&n), 0);
	/* Monitors of pipe ends. */
	ok("vale0:a{1/r", "vale0:a{1", "", "1", -1, false, true, "r", "vale0:a{1/r");
	ok("p}2/t", "p}2", "", "2", -1, false, true, "t", "p}2/t");
	ok("p}2/z", "p}2", "", "2", -1, false, true, "z", "p}2/z");
}

static void test_pipes(void **state)
{
	struct portname n;
	(void)state;

	ok("vale0:a{1", "vale0:a{1", "", "1", -1, false, true, "", "vale0:a{1");
	ok("p}3-0/x", "p}3", "", "3", 0, true, true, "", "p}3-0/x");
	ok("p{1-0", "p{1", "", "1", 0, false, true, "", "p{1-0");
	ok("vale0:a-b}x_1.2", "vale0:a-b}x_1.2", "", "x_1.2", -1, false, true, "",
	   "vale0:a-b}x_1.2");
	ok("a-b.c_d{e", "a-b.c_d{e", "", "e", -1, false, true, "", "a-b.c_d{e");
	assert_int_equal(portname_parse("p{1", &n, NULL), 0);
	assert_int_equal(n.end, 0);
	assert_int_equal(portname_parse("p}1", &n, NULL), 0);
	assert_int_equal(n.end, 1);
}

static void test_refused(void **state)
{
	char longname[300];
	(void)state;

	assert_int_equal(portname_parse(NULL, &(struct portname){0}, NULL), -EINVAL);
	bad("", EINVAL, "no port name");
	bad("eth0", EINVAL, "VALE ports");
	bad("netmap:eth0", EINVAL, "valectl");
	bad("vale:a", EINVAL, "switch needs a name");
	bad("vale0", EINVAL, "no ':'");
	bad("vale0:", EINVAL, "port name is empty");
	bad("vale0:-1", EINVAL, "port name is empty");
	bad(":a", EINVAL, "VALE ports");
	bad("vale0:a:b", EINVAL, "character ':'");
	bad("vale0:a b", EINVAL, "character ' '");
	bad("vale 0:a", EINVAL, "character ' '");
	bad("vale0:a*", EINVAL, "host rings");
	bad("vale0:a^", EINVAL, "host rings");
	bad("vale8:p^", EINVAL, "host rings");
	bad("vale0:a@2", EINVAL, "options");
	bad("vale0:a/R", EINVAL, "'/R'");
	bad("vale0:a/T", EINVAL, "'/T'");
	bad("vale0:a/xq", EINVAL, "only '/x'");
	/* "/x" once: valed used to read "/xx" as "/x", libvale refused it. */
	bad("vale0:a/xx", EINVAL, "only '/x' (exclusive, once)");
	bad("vale0:a-1/xxx", EINVAL, "only '/x'");
	bad("vale0:a/", EINVAL, "empty '/'");
	bad("vale8:p/", EINVAL, "no flag");
	bad("vale0:a/r/t", EINVAL, "cannot be monitored");
	bad("vale0:a-1/r", EINVAL, "every ring");
	bad("p{1-0/r", EINVAL, "every ring");
	bad("vale0:a-65536", EINVAL, "out of range");
	bad("vale0:a-99999999", EINVAL, "out of range");
	bad("vale8:p-99999999999", EINVAL, "out of range");
	bad("vale0:0123456789abcdef", ENAMETOOLONG, "at most 15");
	bad("vale0123456789ab:a", ENAMETOOLONG, "switch name is 16");
	bad("vale0:0123456789abcdefXYZ", ENAMETOOLONG, "port name is 19");
	/* Pipes. */
	bad("{1", EINVAL, "a name before");
	bad("vale0:a}", EINVAL, "no pipe number");
	bad("p{1{2", EINVAL, "character '{'");
	bad("p{a-b", EINVAL, "character '-'");
	bad("p{1*", EINVAL, "character '*'");
	bad("p {1", EINVAL, "character ' '");
	bad("p{0123456789abcdef", ENAMETOOLONG, "pipe number is 16");
	/* An X with a ':' is held to the VALE grammar, as valed always did. */
	bad("foo:bar{1", EINVAL, "VALE ports");
	bad("vale:a{1", EINVAL, "switch needs a name");
	bad("vale0:0123456789abcdef{1", ENAMETOOLONG, "port name is 16");
	/* The whole name: shorter than PORTNAME_MAX. */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memcpy(longname, "vale0:", 6);
	bad(longname, ENAMETOOLONG, "at most 63 characters");
	snprintf(longname, sizeof(longname), "%s",
		 "a_long_pipe_namespace.with-dashes:and-more-characters-past-it{12");
	assert_int_equal(strlen(longname), 64);
	bad(longname, ENAMETOOLONG, "at most 63");
}

/* Format: the canonical form, and a buffer too small. */
static void test_format(void **state)
{
	struct portname n;
	char out[8];
	(void)state;

	assert_int_equal(portname_parse("vale0:abc-3/x", &n, NULL), 0);
	assert_int_equal(portname_format(&n, out, sizeof(out)), -ENAMETOOLONG);
	assert_string_equal(out, "vale0:a"); /* cut, terminated */
	assert_int_equal(portname_format(&n, out, 5), -ENAMETOOLONG);
}

/* The bare "valeX:Y" of the switch, and a switch name alone. */
static void test_split(void **state)
{
	char sw[PORTNAME_PART_MAX] = "S", port[PORTNAME_PART_MAX] = "P", err[ERR_LEN] = "";
	(void)state;

	assert_int_equal(portname_split("vale0:a", sw, port, err), 0);
	assert_string_equal(sw, "vale0");
	assert_string_equal(port, "a");
	/* No suffix is read: "-1" is part of the port name, '/' is refused. */
	assert_int_equal(portname_split("vale0:a-1", sw, port, NULL), 0);
	assert_string_equal(port, "a-1");
	assert_int_equal(portname_split("vale0:a/x", sw, port, err), -EINVAL);
	assert_non_null(strstr(err, "character '/'"));
	assert_int_equal(portname_split("vale0:a{1", sw, port, NULL), -EINVAL);
	assert_int_equal(portname_split("vale0:0123456789abcdef", sw, port, err), -ENAMETOOLONG);
	assert_string_equal(port, "a-1"); /* untouched */
	assert_int_equal(portname_split("", sw, port, err), -EINVAL);

	assert_int_equal(portname_check_switch("vale0", err), 0);
	assert_int_equal(portname_check_switch("vale01234567890", err), 0);
	assert_int_equal(portname_check_switch("vale", err), -EINVAL);
	assert_non_null(strstr(err, "not a switch name"));
	assert_int_equal(portname_check_switch("eth0", err), -EINVAL);
	assert_int_equal(portname_check_switch("vale0:a", err), -EINVAL);
	assert_non_null(strstr(err, "character ':'"));
	assert_int_equal(portname_check_switch("vale0123456789ab", err), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vale_ports), cmocka_unit_test(test_monitors),
	    cmocka_unit_test(test_pipes),      cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_format),     cmocka_unit_test(test_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
