/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Test objective: valed limits what each uid may make it allocate (issue 10,
 * finding 4). The repro (one connection asking for twelve ports of
 * 16 rings x 16384 slots, 64 KiB buffers, 65536 extra buffers) is refused
 * with EDQUOT and a sentence, and valed's VmRSS stays within 64 MiB of where
 * it was; each limit (connections, ports, switches, region bytes, extra
 * buffers, polling threads; host-wide connections and region bytes) takes
 * the request that reaches it and refuses the one just over it, with EDQUOT
 * (ENOSPC host-wide); usage is back to zero once clients close or are
 * killed; daemon.status and valectl status show limits and usage.
 *
 *   client(s) --- control socket ---> valed  (limits from a valed.json)
 *
 * The tests run as root: limits apply to root too.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

#define RSS_BOUND_KB (64 * 1024) /* the repro may grow valed by at most 64 MiB */

static long region_default; /* mem_size of a port of default geometry */

static int conn_open(const struct valed *d)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(d->sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, d->sock, strlen(d->sock) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* One reply line (fds that come with it are closed); 0 at EOF. */
static size_t read_line(int fd, char *out, size_t size)
{
	size_t got = 0;

	while (got < size - 1) {
		char cbuf[CMSG_SPACE(8 * sizeof(int))];
		struct iovec iov = {out + got, 1};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		ssize_t r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

		if (r <= 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			int *fds = (int *)CMSG_DATA(c);
			size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; c->cmsg_type == SCM_RIGHTS && i < n; i++)
				close(fds[i]);
		}
		if (out[got] == '\n')
			break;
		got++;
	}
	out[got] = '\0';
	return got;
}

/* Call method with params (a JSON object's text) on fd; the reply line. */
static char *call(int fd, const char *method, const char *params)
{
	static char reply[65536];
	char line[4096];
	int n = snprintf(line, sizeof(line),
			 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}\n", method,
			 params ? params : "{}");

	assert_int_equal(send(fd, line, (size_t)n, MSG_NOSIGNAL), n);
	assert_true(read_line(fd, reply, sizeof(reply)) > 0);
	return reply;
}

static void expect_ok(const char *reply)
{
	if (!strstr(reply, "\"result\""))
		fprintf(stderr, "unexpected reply: %s\n", reply);
	assert_non_null(strstr(reply, "\"result\""));
}

/* An error with errno name errname and a sentence containing words. */
static void expect_err(const char *reply, const char *errname, const char *words)
{
	char want[64];

	snprintf(want, sizeof(want), "\"errno\":\"%s\"", errname);
	if (!strstr(reply, want) || !strstr(reply, words))
		fprintf(stderr, "expected %s (%s), got: %s\n", errname, words, reply);
	assert_non_null(strstr(reply, want));
	assert_non_null(strstr(reply, words));
}

static void expect_refused(const char *reply, const char *words)
{
	expect_err(reply, "EDQUOT", words);
}

/* port.register of name with extra JSON members (", ..."). */
static char *reg(int fd, const char *name, const char *more)
{
	char params[1024];

	snprintf(params, sizeof(params), "{\"name\":\"%s\"%s}", name, more ? more : "");
	return call(fd, "port.register", params);
}

/* daemon.status: the caller's usage[key] (or host_usage with host). */
static long usage_of(int fd, const char *key, bool host)
{
	json_t *root = json_loads(call(fd, "daemon.status", NULL), 0, NULL), *u;
	long v;

	assert_non_null(root);
	u = json_object_get(json_object_get(root, "result"), host ? "host_usage" : "usage");
	assert_non_null(u);
	assert_non_null(json_object_get(u, key));
	v = (long)json_integer_value(json_object_get(u, key));
	json_decref(root);
	return v;
}

/* Wait until usage[key] is want (a closed peer is noticed by the daemon's
 * loop, not at once); then assert it. */
static void wait_usage(int fd, const char *key, long want)
{
	for (int i = 0; i < 500 && usage_of(fd, key, false) != want; i++)
		usleep(10000);
	assert_int_equal(usage_of(fd, key, false), want);
}

/* Everything back: only the status connection itself is left. */
static void wait_idle(int fd)
{
	static const char *const keys[] = {"ports", "switches", "region_bytes", "extra_bufs",
					   "polling_threads"};

	wait_usage(fd, "connections", 1);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		wait_usage(fd, keys[i], 0);
	assert_int_equal(usage_of(fd, "region_bytes", true), 0);
}

static int shared_mem_id(int fd)
{
	json_t *root = json_loads(call(fd, "daemon.status", NULL), 0, NULL);
	int id;

	assert_non_null(root);
	id = (int)json_integer_value(
	    json_object_get(json_object_get(root, "result"), "shared_mem_id"));
	json_decref(root);
	return id;
}

/* Start d with a config file holding limits (a JSON object's text). */
static void start_with_limits(struct valed *d, const char *limits)
{
	static char path[64];
	const char *args[] = {"-c", path, NULL};
	FILE *f;
	int fd;

	strcpy(path, "/tmp/vale-limits-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "{\"limits\": %s}\n", limits);
	fclose(f);
	valed_start(d, args);
	unlink(path);
}

/* ---- on a valed with the default limits ---------------------------------- */

/* The size of a default port's region, which the limits below are made of. */
static void test_region_size(void **state)
{
	int fd = conn_open(&valed_group);
	json_t *root = json_loads(reg(fd, "vale0:size", NULL), 0, NULL);

	(void)state;
	assert_non_null(root);
	region_default =
	    (long)json_integer_value(json_object_get(json_object_get(root, "result"), "mem_size"));
	json_decref(root);
	assert_true(region_default > 0);
	close(fd);
}

static void test_repro_refused(void **state)
{
	int fd = conn_open(&valed_group);
	long before = proc_rss_kb(valed_group.pid);

	(void)state;
	for (int i = 0; i < 12; i++) {
		char name[32];
		const char *reply;
		long now;

		snprintf(name, sizeof(name), "vale0:big%d", i);
		reply = reg(fd, name,
			    ",\"tx_rings\":16,\"rx_rings\":16,\"tx_slots\":16384,"
			    "\"rx_slots\":16384,\"buf_size\":65536,\"extra_bufs\":65536");
		now = proc_rss_kb(valed_group.pid);
		if (now - before >= RSS_BOUND_KB || !strstr(reply, "EDQUOT"))
			fprintf(stderr, "port %d: valed VmRSS %ld kB, was %ld kB: %.200s\n", i, now,
				before, reply);
		expect_refused(reply, "limit of");
		assert_true(now - before < RSS_BOUND_KB);
	}
	/* Nothing of it is left charged. */
	wait_usage(fd, "connections", 1);
	assert_int_equal(usage_of(fd, "ports", false), 0);
	assert_int_equal(usage_of(fd, "switches", false), 0);
	assert_int_equal(usage_of(fd, "region_bytes", false), 0);
	close(fd);
}

/* ---- per-uid limits ----------------------------------------------------------- */

static struct valed limited;

static void start_limited(void)
{
	char limits[512];

	assert_true(region_default > 0); /* test_region_size ran */
	snprintf(limits, sizeof(limits),
		 "{\"default\": {\"connections\": 4, \"ports\": 3, \"switches\": 2, "
		 "\"region_bytes\": %ld, \"extra_bufs\": 100, \"polling_threads\": 1}, "
		 "\"host\": {\"connections\": 100, \"region_bytes\": \"unlimited\"}}",
		 2 * region_default);
	start_with_limits(&limited, limits);
}

static void test_connections(void **state)
{
	int m = conn_open(&limited), c[3], over;
	char line[4096];

	(void)state;
	wait_usage(m, "connections", 1);
	for (int i = 0; i < 3; i++) {
		c[i] = conn_open(&limited);
		expect_ok(call(c[i], "version", NULL)); /* 4 of 4 */
	}
	over = conn_open(&limited); /* the kernel accepts; valed answers and closes */
	assert_true(read_line(over, line, sizeof(line)) > 0);
	expect_refused(line, "control connections");
	assert_non_null(strstr(line, "\"id\":null"));
	assert_int_equal(read_line(over, line, sizeof(line)), 0); /* then EOF */
	close(over);
	/* A libvale client (valectl) is refused the same way: it reports the error. */
	assert_int_equal(valectl(&limited, NULL, 0, "status", NULL), 1);
	for (int i = 0; i < 3; i++)
		close(c[i]);
	wait_idle(m);
	close(m);
}

static void test_region_bytes(void **state)
{
	int m = conn_open(&limited), c = conn_open(&limited);

	(void)state;
	expect_ok(reg(c, "vale1:a", NULL));
	expect_ok(reg(c, "vale1:b", NULL)); /* 2 regions: at the limit */
	assert_int_equal(usage_of(m, "region_bytes", false), 2 * region_default);
	expect_refused(reg(c, "vale1:c", NULL), "bytes of port memory");
	assert_int_equal(usage_of(m, "ports", false), 2);
	close(c);
	wait_idle(m);
	close(m);
}

static void test_ports(void **state)
{
	int m = conn_open(&limited), c = conn_open(&limited);
	char shared[64];

	(void)state;
	snprintf(shared, sizeof(shared), ",\"mem_id\":%d", shared_mem_id(m));
	expect_ok(reg(c, "vale1:s1", shared));
	expect_ok(reg(c, "vale1:s2", shared));
	expect_ok(reg(c, "vale1:s3", shared)); /* 3 of 3 */
	expect_refused(reg(c, "vale1:s4", shared), "3 ports");
	expect_refused(reg(c, "vale1:s1/zr", NULL), "3 ports"); /* a monitor is a port */
	expect_refused(call(c, "vale.newif", "{\"name\":\"vale1:p\"}"), "3 ports");
	/* Kernel ports count too: refused before any tap exists. */
	expect_refused(call(c, "vale.tap.create", "{\"name\":\"vale1:t\",\"tap\":\"vlim-t0\"}"),
		       "3 ports");
	expect_refused(call(c, "vale.attach", "{\"switch\":\"vale1\",\"ifname\":\"lo\"}"),
		       "3 ports");
	close(c);
	wait_idle(m);
	close(m);
}

static void test_switches(void **state)
{
	int m = conn_open(&limited), c = conn_open(&limited);
	char shared[64];

	(void)state;
	snprintf(shared, sizeof(shared), ",\"mem_id\":%d", shared_mem_id(m));
	expect_ok(reg(c, "vale1:x", shared));
	expect_ok(reg(c, "vale2:x", shared)); /* 2 of 2 */
	expect_refused(reg(c, "vale3:x", shared), "switches");
	expect_refused(call(c, "vale.tap.create", "{\"name\":\"vale3:t\",\"tap\":\"vlim-t1\"}"),
		       "switches");
	expect_ok(reg(c, "vale2:y", shared)); /* on a switch that exists: no new one */
	close(c);
	wait_idle(m);
	close(m);
}

static void test_extra_bufs(void **state)
{
	int m = conn_open(&limited), c = conn_open(&limited);
	char more[96];

	(void)state;
	snprintf(more, sizeof(more), ",\"mem_id\":%d,\"extra_bufs\":100", shared_mem_id(m));
	expect_ok(reg(c, "vale1:e1", more)); /* 100 of 100 */
	snprintf(more, sizeof(more), ",\"mem_id\":%d,\"extra_bufs\":1", shared_mem_id(m));
	expect_refused(reg(c, "vale1:e2", more), "extra buffers");
	close(c);
	wait_idle(m);
	close(m);
}

static void test_polling_threads(void **state)
{
	int m = conn_open(&limited), c = conn_open(&limited);
	char shared[64];

	(void)state;
	snprintf(shared, sizeof(shared), ",\"mem_id\":%d", shared_mem_id(m));
	expect_ok(reg(c, "vale1:p1", shared));
	expect_ok(reg(c, "vale1:p2", shared));
	expect_ok(call(c, "vale.polling.enable", "{\"name\":\"vale1:p1\"}")); /* 1 of 1 */
	expect_refused(call(c, "vale.polling.enable", "{\"name\":\"vale1:p2\"}"),
		       "polling threads");
	expect_ok(call(c, "vale.polling.disable", "{\"name\":\"vale1:p1\"}"));
	assert_int_equal(usage_of(m, "polling_threads", false), 0);
	expect_ok(call(c, "vale.polling.enable", "{\"name\":\"vale1:p2\"}"));
	/* The port goes with its connection, and its polling thread with it. */
	close(c);
	wait_idle(m);
	close(m);
}

/* A client killed with SIGKILL while it holds one of everything. */
static void test_killed_client(void **state)
{
	int m = conn_open(&limited), ready[2];
	char shared[64], b;
	pid_t pid;

	(void)state;
	snprintf(shared, sizeof(shared), ",\"mem_id\":%d,\"extra_bufs\":50", shared_mem_id(m));
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int c = conn_open(&limited);
		bool ok =
		    strstr(reg(c, "vale1:k1", NULL), "\"result\"") &&
		    strstr(reg(c, "vale1:k2", shared), "\"result\"") &&
		    strstr(reg(c, "vale1:k1/z", NULL), "\"result\"") &&
		    strstr(call(c, "vale.polling.enable", "{\"name\":\"vale1:k1\"}"), "\"result\"");
		if (write(ready[1], ok ? "y" : "n", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &b, 1), 1);
	close(ready[0]);
	assert_int_equal(b, 'y');
	assert_int_equal(usage_of(m, "connections", false), 2);
	assert_int_equal(usage_of(m, "ports", false), 3);
	assert_int_equal(usage_of(m, "switches", false), 1);
	assert_int_equal(usage_of(m, "region_bytes", false), region_default);
	assert_int_equal(usage_of(m, "extra_bufs", false), 50);
	assert_int_equal(usage_of(m, "polling_threads", false), 1);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	wait_idle(m);
	close(m);
}

static void test_valectl_status(void **state)
{
	int m = conn_open(&limited), c = conn_open(&limited);
	char out[4096];

	(void)state;
	expect_ok(reg(c, "vale1:st", NULL));
	wait_usage(m, "connections", 2);
	/* m, c and valectl's own connection. */
	assert_int_equal(valectl(&limited, out, sizeof(out), "status", NULL), 0);
	assert_non_null(strstr(out, "limits of uid 0 (used/limit): connections 3/4 ports 1/3 "
				    "switches 1/2"));
	assert_non_null(strstr(out, "extra_bufs 0/100 polling_threads 0/1"));
	assert_non_null(strstr(out, "host-wide (used/limit): connections 3/100"));
	assert_non_null(strstr(out, "region_bytes"));
	assert_non_null(strstr(out, "/unlimited"));
	close(c);
	wait_idle(m);
	close(m);
}

static int limited_setup(void **state)
{
	(void)state;
	start_limited();
	return 0;
}

static int limited_teardown(void **state)
{
	(void)state;
	assert_int_equal(valed_stop(&limited), 0);
	return 0;
}

/* ---- host-wide limits --------------------------------------------------------- */

static void test_host_wide(void **state)
{
	struct valed host;
	char limits[256], line[4096];
	int m, c[2], over;

	(void)state;
	snprintf(limits, sizeof(limits), "{\"host\": {\"connections\": 3, \"region_bytes\": %ld}}",
		 region_default);
	start_with_limits(&host, limits);
	m = conn_open(&host);
	wait_usage(m, "connections", 1);
	for (int i = 0; i < 2; i++) {
		c[i] = conn_open(&host);
		expect_ok(call(c[i], "version", NULL)); /* 3 of 3 host-wide */
	}
	over = conn_open(&host);
	assert_true(read_line(over, line, sizeof(line)) > 0);
	expect_err(line, "ENOSPC", "host-wide limit of 3 control connections");
	close(over);
	expect_ok(reg(c[0], "vale1:a", NULL)); /* the host's region bytes: at the cap */
	expect_err(reg(c[1], "vale1:b", NULL), "ENOSPC", "host-wide limit");
	close(c[0]);
	close(c[1]);
	wait_idle(m);
	close(m);
	assert_int_equal(valed_stop(&host), 0);
}

int main(void)
{
	const struct CMUnitTest defaults[] = {
	    cmocka_unit_test(test_repro_refused),
	    cmocka_unit_test(test_region_size),
	};
	const struct CMUnitTest per_uid[] = {
	    cmocka_unit_test(test_connections),	  cmocka_unit_test(test_region_bytes),
	    cmocka_unit_test(test_ports),	  cmocka_unit_test(test_switches),
	    cmocka_unit_test(test_extra_bufs),	  cmocka_unit_test(test_polling_threads),
	    cmocka_unit_test(test_killed_client), cmocka_unit_test(test_valectl_status),
	};
	const struct CMUnitTest host[] = {
	    cmocka_unit_test(test_host_wide),
	};
	int failed = cmocka_run_group_tests_name("defaults", defaults, valed_group_setup,
						 valed_group_teardown);

	if (region_default <= 0)
		return failed ? failed : 1; /* the others are made of the region size */
	failed += cmocka_run_group_tests_name("per_uid", per_uid, limited_setup, limited_teardown);
	failed += cmocka_run_group_tests_name("host", host, NULL, NULL);
	return failed;
}
