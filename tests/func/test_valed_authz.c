/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Test objective: valed decides every control request by who asks (issue
 * 10, finding 3). Connections are made by children that drop to two
 * unprivileged uids, A and B, and to a third uid in the admin group; the
 * kernel records those credentials at connect(), and the child hands the
 * connected socket to the test. Then:
 *   - with vale0:b/x open by A, B is refused vale0:b, vale0:b/z, vale0:b/r
 *     and vale0:b/t (the finding: /z gave B b's region read-write); A may
 *     open vale0:b/r; even root may not monitor an exclusive port;
 *   - every changing method on A's port is refused to B with EPERM and the
 *     rule's sentence, and allowed to A and to the admin group;
 *   - kernel-side methods (NICs, taps, polling) need root or the admin group;
 *   - switch_access keeps B off a listed switch (EACCES);
 *   - the shared region and pipes do not mix uids.
 *
 *     child (uid A) --connect--> valed --fd over socketpair--> test
 *     child (uid B) --connect--> valed --fd over socketpair--> test
 *     child (uid C, group ADMIN) ...                      --> test
 *     test (root)   --connect--> valed
 */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

#define UID_A 65534
#define UID_B 65533
#define UID_C 65532 /* in the admin group */
#define ADMIN_GID 65500
#define OTHER_GID 65501 /* in switch_access of vale9 */

static struct valed d;
static char cfg_path[128];

/* ---- connections with given credentials ---- */

static void send_fd(int sock, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	char byte = 0;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf.buf,
			     .msg_controllen = sizeof(cbuf.buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) != 1)
		_exit(3);
}

static int recv_fd(int sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf.buf,
			     .msg_controllen = sizeof(cbuf.buf)};
	struct cmsghdr *cm;
	int fd = -1;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* A connection to valed made by a process running as uid, gid and groups[]. */
static int conn_as(uid_t uid, gid_t gid, const gid_t *groups, size_t n)
{
	int sp[2], fd, status;
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int c;

		close(sp[0]);
		if (setgroups(n, groups) || setgid(gid) || setuid(uid))
			_exit(1);
		c = socket(AF_UNIX, SOCK_STREAM, 0);
		memcpy(sa.sun_path, d.sock, sizeof(sa.sun_path) - 1); /* d.sock: 108, NUL-ended */
		if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(2);
		send_fd(sp[1], c);
		_exit(0);
	}
	close(sp[1]);
	fd = recv_fd(sp[0]);
	close(sp[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(fd >= 0);
	return fd;
}

static int conn_a(void)
{
	return conn_as(UID_A, UID_A, NULL, 0);
}

static int conn_b(void)
{
	return conn_as(UID_B, UID_B, NULL, 0);
}

static int conn_admin(void)
{
	static const gid_t g[] = {ADMIN_GID};

	return conn_as(UID_C, UID_C, g, 1);
}

static int conn_root(void)
{
	return conn_as(0, 0, NULL, 0);
}

/* ---- requests ---- */

/* Send method(params) on fd (params consumed) and return the parsed reply. */
static json_t *call(int fd, const char *method, json_t *params)
{
	static int id;
	json_t *req = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", ++id, "method",
				method, "params", params ? params : json_object());
	char *line = json_dumps(req, JSON_COMPACT), buf[65536];
	size_t got = 0;
	json_t *reply;

	assert_non_null(line);
	assert_int_equal(send(fd, line, strlen(line), MSG_NOSIGNAL), (ssize_t)strlen(line));
	assert_int_equal(send(fd, "\n", 1, MSG_NOSIGNAL), 1);
	free(line);
	json_decref(req);
	/* A plain read: the descriptors of a port.register reply are dropped. */
	while (got + 1 < sizeof(buf)) {
		ssize_t r = read(fd, buf + got, 1);

		assert_true(r == 1);
		if (buf[got] == '\n')
			break;
		got++;
	}
	buf[got] = '\0';
	reply = json_loads(buf, 0, NULL);
	assert_non_null(reply);
	return reply;
}

/* The call must succeed. */
static void ok(int fd, const char *method, json_t *params)
{
	json_t *r = call(fd, method, params);

	if (!json_object_get(r, "result")) {
		char *t = json_dumps(r, 0);
		fail_msg("%s failed: %s", method, t);
	}
	json_decref(r);
}

/* The call must fail with errno name errname and a detail containing want. */
static void refused(int fd, const char *method, json_t *params, const char *errname,
		    const char *want)
{
	json_t *r = call(fd, method, params);
	json_t *data = json_object_get(json_object_get(r, "error"), "data");
	const char *en = json_string_value(json_object_get(data, "errno"));
	const char *detail = json_string_value(json_object_get(data, "detail"));

	if (!en || strcmp(en, errname) != 0 || !detail || !strstr(detail, want)) {
		char *t = json_dumps(r, 0);
		fail_msg("%s: expected %s with \"%s\", got %s", method, errname, want, t);
	}
	json_decref(r);
}

static json_t *named(const char *name)
{
	return json_pack("{s:s}", "name", name);
}

static void open_ok(int fd, const char *name)
{
	ok(fd, "port.register", named(name));
}

static void open_refused(int fd, const char *name, const char *errname, const char *want)
{
	refused(fd, "port.register", named(name), errname, want);
}

/* ---- setup ---- */

static int setup(void **state)
{
	const char *const args[] = {"-c", cfg_path, NULL};
	char dir[] = "/tmp/vale-authz-XXXXXX";
	FILE *f;

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test_valed_authz needs root (it switches to other uids)\n");
		return -1;
	}
	assert_non_null(mkdtemp(dir));
	snprintf(cfg_path, sizeof(cfg_path), "%s/valed.json", dir);
	f = fopen(cfg_path, "w");
	assert_non_null(f);
	fprintf(f,
		"{\"admin_group\": %d, \"switch_access\": {\"vale9\": {\"users\": [%d], "
		"\"groups\": [%d]}}, \"ports\": [{\"name\": \"vale0:cfg\", \"owner\": %d}, "
		"{\"name\": \"vale0:root\"}]}\n",
		ADMIN_GID, UID_A, OTHER_GID, UID_A);
	fclose(f);
	valed_start(&d, args);
	/* Let the children reach the socket: valed makes it 0660 root:root. */
	assert_int_equal(chmod(d.dir, 0755), 0);
	assert_int_equal(chmod(d.sock, 0666), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(valed_stop(&d), 0);
	unlink(cfg_path);
	*strrchr(cfg_path, '/') = '\0';
	rmdir(cfg_path);
	return 0;
}

/* ---- tests ---- */

/* The finding: an exclusive open must not leave its port to monitors. */
static void test_exclusive_port(void **state)
{
	int a = conn_a(), b = conn_b(), r = conn_root(), a2 = conn_a();

	(void)state;
	open_ok(a, "vale0:b/x");
	/* The finding itself: b/z would map b's region read-write. */
	open_refused(b, "vale0:b/z", "EPERM", "vale0:b is open exclusively; only its owner");
	open_refused(b, "vale0:b", "EPERM",
		     "vale0:b belongs to uid 65534; only its owner, root or group 65500 may "
		     "open it");
	open_refused(b, "vale0:b/r", "EPERM", "vale0:b is open exclusively; only its owner");
	open_refused(b, "vale0:b/t", "EPERM", "vale0:b is open exclusively; only its owner");
	open_refused(b, "vale0:b/rt", "EPERM", "vale0:b is open exclusively; only its owner");
	/* Exclusive holds against root too. */
	open_refused(r, "vale0:b/r", "EPERM", "only its owner, uid 65534, may monitor it");
	/* The owner may watch its own port. */
	open_ok(a2, "vale0:b/r");
	close(a2);
	close(a);
	assert_true(eventually_listed(&d, "vale0:b", false, 10000));

	/* Gone with its last user: the next opener owns the name. */
	open_ok(b, "vale0:b");
	a = conn_a();
	open_refused(a, "vale0:b", "EPERM", "vale0:b belongs to uid 65533");
	close(a);
	close(b);
	close(r);
}

/* A port that is not exclusive: only its owner and the admins see it. */
static void test_monitor_others_port(void **state)
{
	int a = conn_a(), b = conn_b(), c = conn_admin(), r = conn_root();

	(void)state;
	open_ok(a, "vale0:c");
	open_refused(b, "vale0:c/r", "EPERM",
		     "vale0:c belongs to uid 65534; only its owner, root or group 65500 may "
		     "monitor it");
	open_refused(b, "vale0:c/z", "EPERM", "may monitor it");
	open_refused(b, "vale0:c-0", "EPERM", "may open it");
	open_ok(c, "vale0:c/r");
	open_ok(r, "vale0:c/t");
	open_ok(r, "vale0:c");
	close(a);
	close(b);
	close(c);
	close(r);
}

/* Each method that changes a port, on another uid's port. */
static void test_methods_on_others_port(void **state)
{
	int a = conn_a(), b = conn_b(), c = conn_admin();
	const char *rule = "vale0:p belongs to uid 65534; only its owner, root or group 65500 may";

	(void)state;
	ok(a, "vale.newif", named("vale0:p"));
	ok(a, "vale.newif", named("vale0:q"));

	refused(b, "vale.delif", named("vale0:p"), "EPERM", rule);
	refused(b, "port.hdr.set", json_pack("{s:s, s:i}", "name", "vale0:p", "len", 12), "EPERM",
		rule);
	refused(b, "switch.flush", json_pack("{s:s, s:s}", "switch", "vale0", "port", "p"), "EPERM",
		rule);
	refused(b, "switch.flush", json_pack("{s:s}", "switch", "vale0"), "EPERM",
		"only root or group 65500 may forget every MAC of a switch");
	open_refused(b, "vale0:p", "EPERM", rule);
	/* Reading is for everyone. */
	ok(b, "port.info", named("vale0:p"));
	ok(b, "port.hdr.get", named("vale0:p"));
	ok(b, "stats.get", named("vale0:p"));
	ok(b, "vale.list", NULL);
	ok(b, "daemon.status", NULL);
	ok(b, "switch.fdb", json_pack("{s:s}", "switch", "vale0"));

	/* The owner may. */
	ok(a, "port.hdr.set", json_pack("{s:s, s:i}", "name", "vale0:p", "len", 12));
	ok(a, "switch.flush", json_pack("{s:s, s:s}", "switch", "vale0", "port", "p"));
	/* So may the admin group (a supplementary group is enough). */
	ok(c, "port.hdr.set", json_pack("{s:s, s:i}", "name", "vale0:p", "len", 0));
	ok(c, "switch.flush", json_pack("{s:s}", "switch", "vale0"));
	ok(c, "vale.delif", named("vale0:q"));
	ok(a, "vale.delif", named("vale0:p"));
	close(a);
	close(b);
	close(c);
}

/* NICs, taps and polling threads: root and the admin group only. */
static void test_kernel_side(void **state)
{
	int a = conn_a(), c = conn_admin();
	const char *need = "only root or group 65500 may";

	(void)state;
	ok(a, "vale.newif", named("vale0:k"));
	refused(a, "vale.polling.enable", named("vale0:k"), "EPERM", need);
	refused(a, "vale.polling.disable", named("vale0:k"), "EPERM", need);
	refused(a, "vale.attach", json_pack("{s:s, s:s}", "switch", "vale0", "ifname", "lo"),
		"EPERM", need);
	refused(a, "vale.detach", json_pack("{s:s, s:s}", "switch", "vale0", "ifname", "lo"),
		"EPERM", need);
	refused(a, "vale.tap.create", named("vale0:t0"), "EPERM", need);
	refused(a, "vale.tap.delete", named("vale0:t0"), "EPERM", need);

	/* The admin group passes the rule (and meets the method's own checks). */
	ok(c, "vale.polling.enable", named("vale0:k"));
	ok(c, "vale.polling.disable", named("vale0:k"));
	refused(c, "vale.detach", json_pack("{s:s, s:s}", "switch", "vale0", "ifname", "nosuch0"),
		"ENOENT", "");
	refused(c, "vale.tap.delete", named("vale0:nosuch"), "ENOENT", "");
	ok(a, "vale.delif", named("vale0:k"));
	close(a);
	close(c);
}

/* switch_access: vale9 admits uid A and group OTHER_GID only. */
static void test_switch_access(void **state)
{
	static const gid_t other[] = {OTHER_GID};
	int a = conn_a(), b = conn_b(), c = conn_admin(), g = conn_as(UID_B, UID_B, other, 1);

	(void)state;
	open_refused(b, "vale9:x", "EACCES",
		     "uid 65533 may not have ports on switch vale9: switch_access.vale9 admits "
		     "only root or group 65500");
	refused(b, "vale.newif", named("vale9:y"), "EACCES", "switch_access.vale9");
	open_ok(a, "vale9:x");
	refused(b, "switch.fdb", json_pack("{s:s}", "switch", "vale9"), "EACCES",
		"switch_access.vale9");
	open_ok(g, "vale9:z");
	open_ok(c, "vale9:w");
	open_ok(b, "vale1:x"); /* a switch it does not list admits everyone */
	close(a);
	close(b);
	close(c);
	close(g);
}

/* The shared region: every client of a port in it maps all of it. */
static void test_shared_mem(void **state)
{
	int a = conn_a(), b = conn_b(), r = conn_root();
	json_t *st = call(a, "daemon.status", NULL);
	json_int_t id =
	    json_integer_value(json_object_get(json_object_get(st, "result"), "shared_mem_id"));

	(void)state;
	json_decref(st);
	assert_true(id > 0);
	ok(a, "port.register", json_pack("{s:s, s:I}", "name", "vale0:s1", "mem_id", id));
	refused(b, "port.register", json_pack("{s:s, s:I}", "name", "vale0:s2", "mem_id", id),
		"EPERM", "the shared memory region holds ports of uid 65534");
	refused(b, "vale.newif", json_pack("{s:s, s:I}", "name", "vale0:s3", "mem_id", id), "EPERM",
		"the shared memory region holds ports of uid 65534");
	ok(a, "port.register", json_pack("{s:s, s:I}", "name", "vale0:s4", "mem_id", id));
	ok(r, "port.register", json_pack("{s:s, s:I}", "name", "vale0:s5", "mem_id", id));
	open_ok(b, "vale0:s2"); /* a region of its own */
	close(a);
	close(b);
	close(r);
}

/* The config's persistent ports: its "owner", else root's. */
static void test_config_owner(void **state)
{
	int a = conn_a(), b = conn_b();
	json_t *r = call(b, "port.info", named("vale0:cfg"));

	(void)state;
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "result"), "owner")),
			 UID_A);
	json_decref(r);
	open_refused(b, "vale0:cfg", "EPERM", "vale0:cfg belongs to uid 65534");
	open_refused(a, "vale0:root", "EPERM", "vale0:root belongs to uid 0");
	open_ok(a, "vale0:cfg");
	close(a);
	close(b);
}

/* Both ends of a pipe share one region: one owner. */
static void test_pipes(void **state)
{
	int a = conn_a(), b = conn_b(), c = conn_admin();

	(void)state;
	open_ok(a, "vale0:x{1");
	open_refused(b, "vale0:x}1", "EPERM", "vale0:x}1 belongs to uid 65534");
	open_refused(b, "vale0:x{1/r", "EPERM", "may monitor it");
	open_ok(a, "vale0:x}1");
	open_ok(c, "vale0:x{1/r");
	close(a);
	close(b);
	close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exclusive_port),
	    cmocka_unit_test(test_monitor_others_port),
	    cmocka_unit_test(test_methods_on_others_port),
	    cmocka_unit_test(test_kernel_side),
	    cmocka_unit_test(test_switch_access),
	    cmocka_unit_test(test_shared_mem),
	    cmocka_unit_test(test_pipes),
	    cmocka_unit_test(test_config_owner),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
