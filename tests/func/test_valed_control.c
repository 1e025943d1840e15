/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Test objective: every control method of a real valed answers bad input
 * with a JSON-RPC error carrying an errno name and a sentence, and the
 * connection and the daemon stay usable; valectl exits 0 only on success and
 * prints errors as one line.
 *
 *     test --raw JSON lines--> [unix socket] valed
 *     valectl ---------------> [unix socket] valed
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* Drop the blank after each key's colon, so compact and indented JSON compare. */
static void squeeze(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; in[i] && o + 1 < size; i++) {
		out[o++] = in[i];
		if (in[i] == '"' && in[i + 1] == ':' && in[i + 2] == ' ') {
			out[o++] = ':';
			i += 2;
		}
	}
	out[o] = '\0';
}

/* Send one request line; the reply must contain every string in want[]. */
static void expect(const char *request, const char *const *want)
{
	char line[65536 + 16], raw[16384], reply[16384], w[512];

	snprintf(line, sizeof(line), "%s\n", request);
	assert_true(raw_request(&valed_group, line, strlen(line), raw, sizeof(raw)) > 0);
	squeeze(raw, reply, sizeof(reply));
	for (int i = 0; want[i]; i++) {
		squeeze(want[i], w, sizeof(w));
		if (!strstr(reply, w))
			fail_msg("reply to %s\n  lacks %s\n  got %s", request, want[i], reply);
	}
}

#define EXPECT(req, ...) expect(req, (const char *const[]){__VA_ARGS__, NULL})

static void test_envelope_errors(void **state)
{
	(void)state;
	EXPECT("{not json", "-32700", "\"id\": null");
	EXPECT("[1,2]", "-32600");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1}", "-32600");
	EXPECT("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"help\"}", "-32600");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"no.such\"}", "-32601", "help");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"help\",\"params\":[1]}", "-32602");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"help\"}", "port.register");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"version\"}", "\"api\"");
}

static void test_oversized_line(void **state)
{
	size_t n = 70000;
	char *big = malloc(n + 2), reply[4096];
	(void)state;

	memset(big, 'x', n);
	big[n] = '\n';
	big[n + 1] = '\0';
	raw_request(&valed_group, big, n + 1, reply, sizeof(reply));
	free(big);
	assert_non_null(strstr(reply, "EMSGSIZE"));
	assert_true(valed_alive(&valed_group));
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon.status\"}", "\"pid\"");
}

/* Every method: a missing, mistyped or unknown parameter, and an unknown port. */
static void test_method_errors(void **state)
{
	static const char *const methods[] = {"port.register", "port.info", "pools.info",
					      "vale.newif",    "vale.delif", "port.hdr.set",
					      "port.hdr.get"};
	char req[512];
	(void)state;

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"}",
			 methods[i]);
		EXPECT(req, "-32602", "EINVAL", "name");
		snprintf(req, sizeof(req),
			 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":{\"name\":5}}",
			 methods[i]);
		EXPECT(req, "-32602", "EINVAL", "name");
		snprintf(req, sizeof(req),
			 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":{\"name\":"
			 "\"vale0:a\",\"bogus\":1}}",
			 methods[i]);
		EXPECT(req, "-32602", "bogus");
		snprintf(req, sizeof(req),
			 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":{\"name\":"
			 "\"vale0:0123456789abcdefXYZ\"}}",
			 methods[i]);
		EXPECT(req, "ENAMETOOLONG");
		snprintf(req, sizeof(req),
			 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":{\"name\":"
			 "\"eth0\"}}",
			 methods[i]);
		EXPECT(req, "EINVAL", "valeX:Y");
	}
	/* Unknown ports and switches. */
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"port.info\",\"params\":{\"name\":\"vale9:"
	       "nope\"}}",
	       "ENOENT", "vale9:nope");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pools.info\",\"params\":{\"name\":"
	       "\"vale9:nope\"}}",
	       "ENOENT");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"vale.delif\",\"params\":{\"name\":\"vale9:"
	       "nope\"}}",
	       "ENOENT");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"port.hdr.get\",\"params\":{\"name\":"
	       "\"vale9:nope\"}}",
	       "ENOENT");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"switch.fdb\",\"params\":{\"switch\":"
	       "\"vale9\"}}",
	       "ENOENT");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"switch.fdb\"}", "-32602", "switch");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"switch.flush\",\"params\":{\"switch\":"
	       "\"vale9\"}}",
	       "ENOENT");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"stats.get\",\"params\":{\"name\":\"vale9:"
	       "nope\"}}",
	       "ENOENT");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"vale.list\",\"params\":{\"switch\":"
	       "\"vale9\"}}",
	       "ENOENT");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon.status\",\"params\":{\"x\":1}}",
	       "-32602");
	/* Values out of range. */
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"vale.newif\",\"params\":{\"name\":\"vale8:"
	       "p\",\"tx_slots\":1}}",
	       "-32602", "tx_slots");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"vale.newif\",\"params\":{\"name\":\"vale8:"
	       "p\",\"buf_size\":\"big\"}}",
	       "-32602", "buf_size");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"port.register\",\"params\":{\"name\":"
	       "\"vale8:p\",\"mode\":\"some\"}}",
	       "-32602", "mode");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"port.register\",\"params\":{\"name\":"
	       "\"vale8:p^\"}}",
	       "EINVAL", "host rings");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"port.register\",\"params\":{\"name\":"
	       "\"vale8:p-99999999999\"}}",
	       "EINVAL", "out of range");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"port.register\",\"params\":{\"name\":"
	       "\"vale8:p/\"}}",
	       "EINVAL", "no flag");
	/* "/x" once: valed read "/xx" as exclusive while libvale refused it. */
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"port.register\",\"params\":{\"name\":"
	       "\"vale8:p/xx\"}}",
	       "EINVAL", "only '/x'");
	/* The grammar reads rings up to 65535; valed's ports have 16 at most. */
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"port.register\",\"params\":{\"name\":"
	       "\"vale8:p-16\"}}",
	       "EINVAL", "out of range 0..15");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"vale.newif\",\"params\":{\"name\":"
	       "\"vale8:p-1\"}}",
	       "EINVAL", "never be opened");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"port.register\",\"params\":{\"name\":"
	       "\"vale8:p-3\"}}",
	       "EINVAL", "ring 3");
	/* A valid newif, then the state errors: twice, hdr values, delif. */
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"vale.newif\",\"params\":{\"name\":\"vale8:"
	       "p\",\"tx_slots\":256}}",
	       "\"tx_slots\": 256", "\"persistent\": true");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"vale.newif\",\"params\":{\"name\":\"vale8:"
	       "p\"}}",
	       "EEXIST");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"port.hdr.set\",\"params\":{\"name\":"
	       "\"vale8:p\",\"len\":11}}",
	       "EINVAL", "0, 10 or 12");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"port.hdr.set\",\"params\":{\"name\":"
	       "\"vale8:p\",\"len\":12}}",
	       "\"len\": 12");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"port.hdr.get\",\"params\":{\"name\":"
	       "\"vale8:p\"}}",
	       "\"len\": 12");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pools.info\",\"params\":{\"name\":"
	       "\"vale8:p\"}}",
	       "buf_pool");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"switch.flush\",\"params\":{\"switch\":"
	       "\"vale8\",\"port\":\"zz\"}}",
	       "ENOENT", "zz");
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"vale.delif\",\"params\":{\"name\":\"vale8:"
	       "p\"}}",
	       "\"deleted\": true");
	assert_true(valed_alive(&valed_group));
}

/* Pipelined requests in one write get their replies, in order. */
static void test_connection_survives(void **state)
{
	const char *two = "{oops\n{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"version\"}\n";
	char reply[4096];
	(void)state;

	/* raw_request reads the first line only: the parse error. */
	assert_true(raw_request(&valed_group, two, strlen(two), reply, sizeof(reply)) > 0);
	assert_non_null(strstr(reply, "-32700"));
	EXPECT("{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"version\"}", "\"id\": 8");
}

static void test_valectl_exit_codes(void **state)
{
	char out[4096];
	(void)state;

	assert_int_equal(valectl(&valed_group, out, sizeof(out), "status", NULL), 0);
	assert_non_null(strstr(out, "valed"));
	assert_int_equal(valectl(&valed_group, out, sizeof(out), "--json", "status", NULL), 0);
	assert_non_null(strstr(out, "\"pid\""));
	assert_int_equal(valectl(&valed_group, NULL, 0, "info", "vale9:nope", NULL), 1);
	assert_int_equal(valectl(&valed_group, NULL, 0, "bogus", NULL), 1);
	assert_int_equal(valectl(&valed_group, NULL, 0, "-a", "vale0:nosuch0", NULL), 1); /* no such interface */
	assert_int_equal(valectl(&valed_group, NULL, 0, "-a", "vale0", NULL), 1);         /* no IFNAME */
	assert_int_equal(valectl(&valed_group, NULL, 0, "-n", "vale7:q", "-C", "256,256,2,2", NULL),
			 0);
	assert_int_equal(valectl(&valed_group, out, sizeof(out), "-l", "vale7:q", NULL), 0);
	assert_non_null(strstr(out, "tx 2x256"));
	assert_int_equal(valectl(&valed_group, NULL, 0, "-C", "x", NULL), 1);
	assert_int_equal(valectl(&valed_group, NULL, 0, "-r", "vale7:q", NULL), 0);
	/* No daemon at all: a clear failure. */
	struct valed none = valed_group;
	strcpy(none.sock, "/tmp/vale-func-none.sock");
	assert_int_equal(valectl(&none, NULL, 0, "status", NULL), 1);
}

/* A config file sets defaults and persistent ports; the command line wins. */
static void test_config_file(void **state)
{
	char path[] = "/tmp/vale-func-cfg-XXXXXX", out[4096];
	const char *args[] = {"-w", "2", "-c", path, NULL};
	struct valed d2;
	int fd, status;
	pid_t pid;
	(void)state;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	dprintf(fd, "{\"workers\": 1, \"poll_us\": 20, \"ports\": [{\"name\": \"vale9:cfg\", "
		    "\"tx_slots\": 256}]}\n");
	close(fd);
	valed_start(&d2, args);
	assert_int_equal(valectl(&d2, out, sizeof(out), "status", NULL), 0);
	assert_non_null(strstr(out, "2 workers"));
	assert_int_equal(valectl(&d2, out, sizeof(out), "info", "vale9:cfg", NULL), 0);
	assert_non_null(strstr(out, "tx 1x256"));
	assert_non_null(strstr(out, "persistent"));
	assert_int_equal(valed_stop(&d2), 0);

	/* A config with an unknown key or a value out of range stops valed. */
	const char *bad[] = {"{\"workerz\": 2}", "{\"fdb_age\": 0}",
			     "{\"ports\": [{\"name\": \"vale9:x\", \"tx_slots\": \"many\"}]}",
			     "[1]"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = open(path, O_WRONLY | O_TRUNC);
		assert_true(fd >= 0);
		dprintf(fd, "%s\n", bad[i]);
		close(fd);
		pid = fork();
		if (pid == 0) {
			int devnull = open("/dev/null", O_WRONLY);
			dup2(devnull, 2);
			execl(VALED_PATH, VALED_PATH, "-s", "/tmp/vale-func-bad.sock", "-c", path,
			      (char *)NULL);
			_exit(127);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 1);
	}
	unlink(path);
	setenv("VALE_SOCKET", valed_group.sock, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope_errors),
		cmocka_unit_test(test_oversized_line),
		cmocka_unit_test(test_method_errors),
		cmocka_unit_test(test_connection_survives),
		cmocka_unit_test(test_valectl_exit_codes),
		cmocka_unit_test(test_config_file),
	};
	signal(SIGPIPE, SIG_IGN);
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, valed_group_setup, valed_group_teardown);
}
