/* SPDX-License-Identifier: BSD-2-Clause */
/* test_rpc - the control server (ctl/rpc.c) against the wire client (ctl/wire.c) and raw bytes. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rpc.h"
#include "wire.h"

#define WAIT_MS 5000 /* longest wait for the server thread to do something */

/*
 * The server runs on its own event_base in a background thread; only that
 * thread touches libevent and the server. The test thread talks to it over
 * the socket, and through a pipe that asks it to destroy the server and stop.
 * Handlers run on the server thread, so they record into atomics and never
 * call cmocka (whose asserts longjmp into the test thread's frame).
 */
struct srv {
	char dir[64];
	char path[108]; /* fits sun_path */
	int listen_fd;	/* >= 0: hand this socket to the server instead of a path */
	int cmd[2];	/* any byte: destroy the server and leave the loop */
	int ready[2];	/* the server thread's byte once it serves (or failed) */
	int create_err;
	bool running;
	pthread_t thread;
	struct event_base *base; /* server thread only */
	struct ctl_server *s;	 /* server thread only */
};

static atomic_int closer_log[64];
static atomic_int closer_n;
static atomic_int notified;
static int srv_efd = -1; /* server thread only: the eventfd whose dup test.fds hands out */

/* ---- methods (server thread) ---- */

static int m_params(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
		    struct ctl_error *err, void *arg)
{
	static const char *const known[] = {"name", "slots", "flag", NULL};
	const char *name;
	uint64_t slots;
	bool flag;

	(void)c, (void)fds, (void)arg;
	if (ctl_params_only(params, known, err) < 0 ||
	    ctl_param_string(params, "name", true, NULL, &name, err) < 0 ||
	    ctl_param_uint(params, "slots", false, 2, 16384, 1024, &slots, err) < 0 ||
	    ctl_param_bool(params, "flag", false, &flag, err) < 0)
		return -1;
	*ret = json_pack("{s:s, s:I, s:b}", "name", name, "slots", (json_int_t)slots, "flag", flag);
	return 0;
}

static int m_fds(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
		 struct ctl_error *err, void *arg)
{
	static const char hello[] = "hello vale";
	int mfd;

	(void)c, (void)params, (void)arg;
	if (srv_efd < 0)
		srv_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	mfd = memfd_create("test_rpc", MFD_CLOEXEC);
	if (srv_efd < 0 || mfd < 0 || write(mfd, hello, sizeof(hello)) != sizeof(hello)) {
		if (mfd >= 0)
			close(mfd);
		return ctl_fail(err, CTL_E_FAILED, errno, "memfd or eventfd failed");
	}
	fds->fd[0] = mfd;
	fds->name[0] = "mem";
	fds->fd[1] = dup(srv_efd);
	fds->name[1] = "efd";
	fds->n = 2;
	*ret = json_pack("{s:i}", "size", (int)sizeof(hello));
	return 0;
}

static int m_efd_read(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
		      struct ctl_error *err, void *arg)
{
	uint64_t v = 0;

	(void)c, (void)params, (void)fds, (void)err, (void)arg;
	if (read(srv_efd, &v, sizeof(v)) != sizeof(v))
		v = 0;
	*ret = json_pack("{s:I}", "value", (json_int_t)v);
	return 0;
}

static int m_efd_write(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
		       struct ctl_error *err, void *arg)
{
	uint64_t v;

	(void)c, (void)fds, (void)arg;
	if (ctl_param_uint(params, "value", true, 1, 1000, 0, &v, err) < 0)
		return -1;
	if (write(srv_efd, &v, sizeof(v)) != sizeof(v))
		return ctl_fail(err, CTL_E_FAILED, errno, "eventfd write failed");
	*ret = json_object();
	return 0;
}

static int m_fail(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
		  struct ctl_error *err, void *arg)
{
	(void)c, (void)params, (void)ret, (void)fds, (void)arg;
	return ctl_fail(err, CTL_E_FAILED, ENOENT, "no port %s", "vale0:zz");
}

static int m_noresult(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
		      struct ctl_error *err, void *arg)
{
	(void)c, (void)params, (void)ret, (void)fds, (void)err, (void)arg;
	return 0; /* a buggy handler: success without a result */
}

static int m_big(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
		 struct ctl_error *err, void *arg)
{
	uint64_t size;
	bool want_fd;
	char *data;

	(void)c, (void)arg;
	if (ctl_param_uint(params, "size", true, 0, 1 << 24, 0, &size, err) < 0 ||
	    ctl_param_bool(params, "fd", false, &want_fd, err) < 0)
		return -1;
	data = malloc(size + 1);
	if (!data)
		return ctl_fail(err, CTL_E_FAILED, ENOMEM, "no memory");
	memset(data, 'x', size);
	data[size] = '\0';
	*ret = json_pack("{s:s}", "data", data);
	free(data);
	if (want_fd) {
		fds->fd[0] = eventfd(3, EFD_CLOEXEC);
		fds->name[0] = "efd";
		fds->n = 1;
	}
	return 0;
}

static void log_closer(struct ctl_conn *c, void *arg)
{
	int i = atomic_fetch_add(&closer_n, 1);

	(void)c;
	if (i < 64)
		atomic_store(&closer_log[i], (int)(intptr_t)arg);
}

static int m_closer_add(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			struct ctl_error *err, void *arg)
{
	uint64_t tag;

	(void)fds, (void)arg;
	if (ctl_param_uint(params, "tag", true, 1, 1000, 0, &tag, err) < 0)
		return -1;
	if (ctl_conn_add_closer(c, log_closer, (void *)(intptr_t)tag) < 0)
		return ctl_fail(err, CTL_E_FAILED, ENOMEM, "no memory");
	*ret = json_pack("{s:I, s:i}", "tag", (json_int_t)tag, "pid", (int)ctl_conn_peer_pid(c));
	return 0;
}

static int m_closer_remove(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
			   struct ctl_error *err, void *arg)
{
	uint64_t tag;

	(void)fds, (void)arg;
	if (ctl_param_uint(params, "tag", true, 1, 1000, 0, &tag, err) < 0)
		return -1;
	if (ctl_conn_remove_closer(c, log_closer, (void *)(intptr_t)tag) < 0)
		return ctl_fail(err, CTL_E_FAILED, ENOENT, "no closer %d", (int)tag);
	*ret = json_object();
	return 0;
}

static int m_notify(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
		    struct ctl_error *err, void *arg)
{
	(void)c, (void)params, (void)fds, (void)err, (void)arg;
	atomic_fetch_add(&notified, 1);
	*ret = json_object();
	return 0;
}

static int m_count(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
		   struct ctl_error *err, void *arg)
{
	struct srv *f = arg;

	(void)params, (void)fds, (void)err;
	*ret = json_pack("{s:i, s:i}", "conns", (int)ctl_server_conn_count(f->s), "pid",
			 (int)ctl_conn_peer_pid(c));
	return 0;
}

/* The peer's credentials as the server read them: uid, gid, groups. */
static int m_who(struct ctl_conn *c, json_t *params, json_t **ret, struct ctl_fds *fds,
		 struct ctl_error *err, void *arg)
{
	const gid_t *g;
	size_t n = ctl_conn_peer_groups(c, &g);
	json_t *groups = json_array();

	(void)params, (void)fds, (void)err, (void)arg;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(groups, json_integer(g[i]));
	*ret = json_pack("{s:I, s:I, s:o}", "uid", (json_int_t)ctl_conn_peer_uid(c), "gid",
			 (json_int_t)ctl_conn_peer_gid(c), "groups", groups);
	return 0;
}

/* ---- the server thread ---- */

static void on_cmd(evutil_socket_t fd, short what, void *arg)
{
	struct srv *f = arg;
	char ch;

	(void)what;
	if (read(fd, &ch, 1) != 1)
		return;
	ctl_server_destroy(f->s);
	f->s = NULL;
	event_base_loopbreak(f->base);
}

static void *server_main(void *arg)
{
	struct srv *f = arg;
	const struct ctl_method methods[] = {
	    {"test.params", "check the param helpers", m_params, NULL, false},
	    {"test.fds", "a memfd and an eventfd", m_fds, NULL, false},
	    {"test.efd.read", "read the server's eventfd", m_efd_read, NULL, false},
	    {"test.efd.write", "write the server's eventfd", m_efd_write, NULL, false},
	    {"test.fail", "always fails", m_fail, NULL, false},
	    {"test.noresult", "succeeds without a result", m_noresult, NULL, false},
	    {"test.big", "a long result", m_big, NULL, false},
	    {"test.notify", "count a call", m_notify, NULL, false},
	    {"test.notify.reply", "count a call, never a notification", m_notify, NULL, true},
	    {"test.count", "connections and peer pid", m_count, f, false},
	    {"test.who", "the peer's uid, gid and groups", m_who, NULL, false},
	    {"closer.add", "add a closer", m_closer_add, NULL, false},
	    {"closer.remove", "remove a closer", m_closer_remove, NULL, false},
	};
	struct event *cmd_ev = NULL;
	int err = 0;

	f->base = event_base_new();
	if (!f->base) {
		err = ENOMEM;
		goto out;
	}
	f->s = ctl_server_create(f->base, f->listen_fd >= 0 ? NULL : f->path, f->listen_fd, 0660);
	if (!f->s) {
		err = errno;
		goto out;
	}
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		int rc = ctl_method_register(f->s, &methods[i]);

		if (rc < 0) {
			err = -rc;
			goto out;
		}
	}
	cmd_ev = event_new(f->base, f->cmd[0], EV_READ | EV_PERSIST, on_cmd, f);
	if (!cmd_ev || event_add(cmd_ev, NULL) < 0)
		err = ENOMEM;
out:
	f->create_err = err;
	if (write(f->ready[1], "r", 1) != 1)
		abort();
	if (!err)
		event_base_dispatch(f->base);
	ctl_server_destroy(f->s);
	f->s = NULL;
	if (cmd_ev)
		event_free(cmd_ev);
	if (f->base)
		event_base_free(f->base);
	if (srv_efd >= 0)
		close(srv_efd);
	srv_efd = -1;
	return NULL;
}

static void srv_start(struct srv *f)
{
	char ch;

	assert_int_equal(pthread_create(&f->thread, NULL, server_main, f), 0);
	assert_int_equal(read(f->ready[0], &ch, 1), 1);
	f->running = true;
	assert_int_equal(f->create_err, 0);
}

/* Destroy the server (on its thread) and wait for the thread. */
static void srv_stop(struct srv *f)
{
	if (!f->running)
		return;
	assert_int_equal(write(f->cmd[1], "q", 1), 1);
	assert_int_equal(pthread_join(f->thread, NULL), 0);
	f->running = false;
}

static int setup_dir(void **state)
{
	struct srv *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_rpc.XXXXXX");
	if (!mkdtemp(f->dir) || pipe2(f->cmd, O_CLOEXEC) < 0 || pipe2(f->ready, O_CLOEXEC) < 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/valed.sock", f->dir);
	f->listen_fd = -1;
	atomic_store(&closer_n, 0);
	atomic_store(&notified, 0);
	*state = f;
	return 0;
}

static int setup_server(void **state)
{
	if (setup_dir(state) < 0)
		return -1;
	srv_start(*state);
	return 0;
}

static int teardown(void **state)
{
	struct srv *f = *state;
	char p[192];

	srv_stop(f);
	close(f->cmd[0]);
	close(f->cmd[1]);
	close(f->ready[0]);
	close(f->ready[1]);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s/other.sock", f->dir);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- helpers (test thread) ---- */

static bool wait_for(atomic_int *v, int want)
{
	for (int i = 0; i < WAIT_MS; i++) {
		if (atomic_load(v) >= want)
			return true;
		usleep(1000);
	}
	return false;
}

static json_t *call_ok(struct ctl_client *c, const char *method, json_t *params)
{
	json_t *result = NULL, *error = NULL;
	int rc = ctl_client_call(c, method, params, &result, &error, NULL, 0, NULL);

	if (rc == -1) {
		char text[300];

		ctl_error_text(error, text, sizeof(text));
		print_error("%s: %s\n", method, text);
		json_decref(error);
	}
	assert_int_equal(rc, 0);
	assert_non_null(result);
	return result;
}

static json_t *call_err(struct ctl_client *c, const char *method, json_t *params, int code,
			const char *errname)
{
	json_t *result = NULL, *error = NULL;
	int rc = ctl_client_call(c, method, params, &result, &error, NULL, 0, NULL);

	assert_int_equal(rc, -1);
	assert_null(result);
	assert_non_null(error);
	assert_int_equal(json_integer_value(json_object_get(error, "code")), code);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(error, "data"), "errno")), errname);
	return error;
}

static const char *detail_of(json_t *error)
{
	const char *d =
	    json_string_value(json_object_get(json_object_get(error, "data"), "detail"));

	assert_non_null(d);
	return d;
}

static void assert_contains(const char *s, const char *part)
{
	if (!strstr(s, part))
		fail_msg("\"%s\" does not contain \"%s\"", s, part);
}

/* A connection spoken to with hand-written bytes. */
struct raw {
	int fd;
	char *buf;
	size_t len, cap;
};

static void raw_open(struct raw *r, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(r, 0, sizeof(*r));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(r->fd >= 0);
	assert_int_equal(connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

static void raw_close(struct raw *r)
{
	close(r->fd);
	free(r->buf);
}

static void raw_send(struct raw *r, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(r->fd, p, len, MSG_NOSIGNAL);

		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static void raw_sends(struct raw *r, const char *s)
{
	raw_send(r, s, strlen(s));
}

/* The next reply line, parsed; NULL on EOF or a reset (the server closed). */
static json_t *raw_reply(struct raw *r)
{
	for (;;) {
		char *nl = r->len ? memchr(r->buf, '\n', r->len) : NULL;
		struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - r->buf);
			json_t *v = json_loadb(r->buf, len, 0, NULL);

			assert_non_null(v);
			memmove(r->buf, nl + 1, r->len - len - 1);
			r->len -= len + 1;
			return v;
		}
		if (r->len == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 4096;
			r->buf = realloc(r->buf, r->cap);
			assert_non_null(r->buf);
		}
		assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
		n = recv(r->fd, r->buf + r->len, r->cap - r->len, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			assert_int_equal(r->len, 0); /* no half line before the end */
			return NULL;
		}
		assert_true(n > 0);
		r->len += (size_t)n;
	}
}

/* Nothing more arrives within ms. */
static void raw_silent(struct raw *r, int ms)
{
	struct pollfd pfd = {.fd = r->fd, .events = POLLIN};

	assert_int_equal(r->len, 0);
	assert_int_equal(poll(&pfd, 1, ms), 0);
}

/* Check an error reply: code, errno name, id (NULL: JSON null) and a part of the detail. */
static void expect_error(json_t *reply, int code, const char *errname, const json_t *id,
			 const char *part)
{
	json_t *error = json_object_get(reply, "error");

	assert_non_null(reply);
	assert_string_equal(json_string_value(json_object_get(reply, "jsonrpc")), "2.0");
	assert_null(json_object_get(reply, "result"));
	assert_non_null(error);
	assert_int_equal(json_integer_value(json_object_get(error, "code")), code);
	assert_non_null(json_string_value(json_object_get(error, "message")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(error, "data"), "errno")), errname);
	if (id)
		assert_true(json_equal(json_object_get(reply, "id"), (json_t *)id));
	else
		assert_true(json_is_null(json_object_get(reply, "id")));
	if (part)
		assert_contains(detail_of(error), part);
	json_decref(reply);
}

static json_t *expect_result(json_t *reply, json_int_t id)
{
	json_t *result;

	assert_non_null(reply);
	assert_int_equal(json_integer_value(json_object_get(reply, "id")), id);
	result = json_incref(json_object_get(reply, "result"));
	assert_non_null(result);
	json_decref(reply);
	return result;
}

/* ---- tests: calls through the wire client ---- */

static void test_call_ok(void **state)
{
	struct srv *f = *state;
	struct ctl_client *c = ctl_client_connect(f->path);
	json_t *r;

	assert_non_null(c);
	r = call_ok(c, "test.params", json_pack("{s:s, s:i}", "name", "vale0:a", "slots", 2048));
	assert_string_equal(json_string_value(json_object_get(r, "name")), "vale0:a");
	assert_int_equal(json_integer_value(json_object_get(r, "slots")), 2048);
	assert_true(json_is_false(json_object_get(r, "flag")));
	json_decref(r);

	/* Defaults are echoed. */
	r = call_ok(c, "test.params", json_pack("{s:s, s:b}", "name", "x", "flag", 1));
	assert_int_equal(json_integer_value(json_object_get(r, "slots")), 1024);
	assert_true(json_is_true(json_object_get(r, "flag")));
	json_decref(r);

	r = call_ok(c, "test.count", NULL);
	assert_int_equal(json_integer_value(json_object_get(r, "conns")), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "pid")), getpid());
	json_decref(r);
	ctl_client_close(c);
}

static void test_fds(void **state)
{
	struct srv *f = *state;
	struct ctl_client *c = ctl_client_connect(f->path);
	json_t *result = NULL, *names, *r;
	int fds[4], nfds = -1;
	uint64_t v = 5;
	char *p;

	assert_non_null(c);
	assert_int_equal(ctl_client_call(c, "test.fds", NULL, &result, NULL, fds, 4, &nfds), 0);
	assert_int_equal(nfds, 2);
	names = json_object_get(result, "fds");
	assert_int_equal(json_array_size(names), 2);
	assert_string_equal(json_string_value(json_array_get(names, 0)), "mem");
	assert_string_equal(json_string_value(json_array_get(names, 1)), "efd");
	assert_int_equal(json_integer_value(json_object_get(result, "size")), 11);
	json_decref(result);

	/* The memfd is the server's memory... */
	p = mmap(NULL, 11, PROT_READ, MAP_SHARED, fds[0], 0);
	assert_true(p != MAP_FAILED);
	assert_string_equal(p, "hello vale");
	munmap(p, 11);
	assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);

	/* ...and the eventfd is shared both ways. */
	assert_int_equal(write(fds[1], &v, sizeof(v)), sizeof(v));
	r = call_ok(c, "test.efd.read", NULL);
	assert_int_equal(json_integer_value(json_object_get(r, "value")), 5);
	json_decref(r);
	json_decref(call_ok(c, "test.efd.write", json_pack("{s:i}", "value", 7)));
	assert_int_equal(read(fds[1], &v, sizeof(v)), sizeof(v));
	assert_int_equal(v, 7);
	close(fds[0]);
	close(fds[1]);

	/* Room for fewer fds than sent: EMSGSIZE, and the connection goes on. */
	assert_int_equal(ctl_client_call(c, "test.fds", NULL, &result, NULL, fds, 1, &nfds),
			 -EMSGSIZE);
	json_decref(call_ok(c, "version", NULL));
	/* No room asked for: the fds are closed for the caller. */
	assert_int_equal(ctl_client_call(c, "test.fds", NULL, &result, NULL, NULL, 0, NULL), 0);
	json_decref(result);

	/* A long reply (many partial writes) still carries its fd. */
	nfds = 0;
	assert_int_equal(ctl_client_call(c, "test.big",
					 json_pack("{s:i, s:b}", "size", 3 << 20, "fd", 1), &result,
					 NULL, fds, 4, &nfds),
			 0);
	assert_int_equal(nfds, 1);
	assert_int_equal(strlen(json_string_value(json_object_get(result, "data"))), 3 << 20);
	assert_int_equal(read(fds[0], &v, sizeof(v)), sizeof(v));
	assert_int_equal(v, 3);
	close(fds[0]);
	json_decref(result);
	ctl_client_close(c);
}

static void test_fail(void **state)
{
	struct srv *f = *state;
	struct ctl_client *c = ctl_client_connect(f->path);
	json_t *e;
	char text[128];

	assert_non_null(c);
	e = call_err(c, "test.fail", NULL, CTL_E_FAILED, "ENOENT");
	assert_string_equal(json_string_value(json_object_get(e, "message")), "operation failed");
	assert_int_equal(ctl_error_text(e, text, sizeof(text)), ENOENT);
	assert_string_equal(text, "ENOENT: no port vale0:zz");
	json_decref(e);

	e = call_err(c, "test.noresult", NULL, CTL_E_FAILED, "EIO");
	assert_contains(detail_of(e), "test.noresult");
	json_decref(e);
	json_decref(call_ok(c, "version", NULL));
	ctl_client_close(c);
}

static void test_help_version(void **state)
{
	struct srv *f = *state;
	struct ctl_client *c = ctl_client_connect(f->path);
	json_t *r, *list, *m;
	const char *prev = "";
	bool seen_help = false, seen_params = false;
	size_t i;

	assert_non_null(c);
	r = call_ok(c, "help", NULL);
	list = json_object_get(r, "methods");
	assert_true(json_array_size(list) >= 13);
	json_array_foreach(list, i, m)
	{
		const char *name = json_string_value(json_object_get(m, "name"));

		assert_non_null(name);
		assert_non_null(json_string_value(json_object_get(m, "help")));
		assert_true(strcmp(prev, name) < 0); /* sorted */
		prev = name;
		seen_help |= strcmp(name, "help") == 0;
		if (strcmp(name, "test.params") == 0) {
			seen_params = true;
			assert_string_equal(json_string_value(json_object_get(m, "help")),
					    "check the param helpers");
		}
	}
	assert_true(seen_help && seen_params);
	json_decref(r);

	r = call_ok(c, "version", json_object());
	assert_string_equal(json_string_value(json_object_get(r, "version")), VALE_VERSION);
	assert_true(json_integer_value(json_object_get(r, "api")) > 0);
	json_decref(r);

	/* Built-ins take no parameters. */
	r = call_err(c, "version", json_pack("{s:i}", "x", 1), CTL_E_PARAMS, "EINVAL");
	assert_contains(detail_of(r), "'x'");
	json_decref(r);
	ctl_client_close(c);
}

static void test_params_errors(void **state)
{
	static const struct {
		const char *params;
		const char *detail;
	} cases[] = {
	    {"{\"name\":\"x\",\"slots\":\"abc\"}",
	     "parameter 'slots' must be an integer in 2..16384, got string \"abc\""},
	    {"{\"name\":\"x\",\"slots\":20000}",
	     "parameter 'slots' must be an integer in 2..16384, got integer 20000"},
	    {"{\"name\":\"x\",\"slots\":-1}",
	     "parameter 'slots' must be an integer in 2..16384, got integer -1"},
	    {"{\"name\":\"x\",\"slots\":1.5}",
	     "parameter 'slots' must be an integer in 2..16384, got number 1.5"},
	    {"{\"name\":\"x\",\"slots\":null}",
	     "parameter 'slots' must be an integer in 2..16384, got null"},
	    {"{\"name\":\"x\",\"slot\":5}", "unknown parameter 'slot' (known: name, slots, flag)"},
	    {"{}", "missing parameter 'name' (a string)"},
	    {"{\"name\":5}", "parameter 'name' must be a string, got integer 5"},
	    {"{\"name\":\"x\",\"flag\":\"yes\"}",
	     "parameter 'flag' must be true or false, got string \"yes\""},
	    {"{\"name\":\"x\",\"flag\":[]}", "parameter 'flag' must be true or false, got array"},
	};
	struct srv *f = *state;
	struct ctl_client *c = ctl_client_connect(f->path);
	json_t *e;

	assert_non_null(c);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = call_err(c, "test.params", json_loads(cases[i].params, 0, NULL), CTL_E_PARAMS,
			     "EINVAL");
		assert_string_equal(json_string_value(json_object_get(e, "message")),
				    "invalid params");
		assert_string_equal(detail_of(e), cases[i].detail);
		json_decref(e);
	}
	/* No params at all: the handler sees an empty object. */
	e = call_err(c, "test.params", NULL, CTL_E_PARAMS, "EINVAL");
	assert_string_equal(detail_of(e), "missing parameter 'name' (a string)");
	json_decref(e);
	ctl_client_close(c);
}

/* ---- tests: raw bytes ---- */

static void test_raw_parse_error(void **state)
{
	struct srv *f = *state;
	struct raw r;
	json_t *res;

	raw_open(&r, f->path);
	raw_sends(&r, "{not json\n");
	expect_error(raw_reply(&r), CTL_E_PARSE, "EINVAL", NULL, "not JSON");
	raw_sends(&r, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"version\"}\n");
	res = expect_result(raw_reply(&r), 2);
	json_decref(res);

	/* Bytes that are not UTF-8, a truncated object, duplicate keys. */
	raw_sends(&r, "\xff\xfe\x80garbage\n");
	expect_error(raw_reply(&r), CTL_E_PARSE, "EINVAL", NULL, NULL);
	raw_sends(&r, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ver\xc3\n");
	expect_error(raw_reply(&r), CTL_E_PARSE, "EINVAL", NULL, NULL);
	raw_sends(&r, "{\"jsonrpc\":\"2.0\",\"id\":4,\"id\":5,\"method\":\"version\"}\n");
	expect_error(raw_reply(&r), CTL_E_PARSE, "EINVAL", NULL, NULL);

	/* Blank lines are skipped; CRLF is accepted. */
	raw_sends(&r, "\n\n  \t\r\n{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"version\"}\r\n");
	res = expect_result(raw_reply(&r), 6);
	json_decref(res);
	raw_silent(&r, 50);
	raw_close(&r);
}

static void test_raw_invalid_request(void **state)
{
	static const struct {
		const char *line;
		json_int_t id; /* 0: the reply's id is null */
		const char *detail;
	} cases[] = {
	    {"[1,2]", 0, "JSON object, got array"},
	    {"42", 0, "JSON object, got integer"},
	    {"\"version\"", 0, "got string"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":3}", 3, "no \"method\""},
	    {"{\"jsonrpc\":\"1.0\",\"id\":4,\"method\":\"version\"}", 4, "\"2.0\""},
	    {"{\"id\":5,\"method\":\"version\"}", 5, "jsonrpc"},
	    {"{\"jsonrpc\":2.0,\"id\":6,\"method\":\"version\"}", 6, "got number"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"version\"}", 0, "\"id\""},
	    {"{\"jsonrpc\":\"2.0\",\"id\":[7],\"method\":\"version\"}", 0, "\"id\""},
	    {"{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":7}", 8, "\"method\" must be a string"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"version\",\"param\":{}}", 9, "'param'"},
	    /* Invalid even without an id: answered, with a null id. */
	    {"{\"jsonrpc\":\"2.0\",\"method\":5}", 0, "\"method\""},
	};
	struct srv *f = *state;
	struct raw r;
	char line[256];

	raw_open(&r, f->path);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *id = cases[i].id ? json_integer(cases[i].id) : NULL;

		snprintf(line, sizeof(line), "%s\n", cases[i].line);
		raw_sends(&r, line);
		expect_error(raw_reply(&r), CTL_E_REQUEST, "EINVAL", id, cases[i].detail);
		json_decref(id);
	}
	raw_silent(&r, 50);
	raw_close(&r);
}

static void test_raw_method_and_params(void **state)
{
	struct srv *f = *state;
	struct raw r;
	json_t *id = json_string("abc"), *res;

	raw_open(&r, f->path);
	raw_sends(&r, "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"nope\"}\n");
	expect_error(raw_reply(&r), CTL_E_METHOD, "ENOSYS", id, "'help'");
	json_decref(id);

	/* params must be an object (named parameters), checked before dispatch. */
	raw_sends(&r, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test.params\",\"params\":[1]}\n");
	id = json_integer(2);
	expect_error(raw_reply(&r), CTL_E_PARAMS, "EINVAL", id, "\"params\" must be an object");
	json_decref(id);
	raw_sends(&r, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"test.params\",\"params\":"
		      "{\"name\":\"x\",\"slots\":\"abc\"}}\n");
	id = json_integer(3);
	expect_error(raw_reply(&r), CTL_E_PARAMS, "EINVAL", id, "'slots'");
	json_decref(id);

	/* "params": {} and a real-valued id are fine. */
	raw_sends(&r, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"version\",\"params\":{}}\n");
	res = expect_result(raw_reply(&r), 4);
	json_decref(res);
	raw_sends(&r, "{\"method\":\"version\",\"id\":1.5,\"jsonrpc\":\"2.0\"}\n");
	res = raw_reply(&r);
	assert_true(json_real_value(json_object_get(res, "id")) == 1.5);
	json_decref(res);
	raw_close(&r);
}

static void test_raw_oversize(void **state)
{
	struct srv *f = *state;
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"version\"";
	size_t big = 70000;
	char *line = malloc(big + 1);
	struct raw r;
	json_t *res;

	assert_non_null(line);
	raw_open(&r, f->path);

	/* Exactly CTL_LINE_MAX bytes: accepted. */
	memset(line, ' ', CTL_LINE_MAX);
	memcpy(line, head, strlen(head));
	line[CTL_LINE_MAX - 1] = '}';
	line[CTL_LINE_MAX] = '\n';
	raw_send(&r, line, CTL_LINE_MAX + 1);
	res = expect_result(raw_reply(&r), 1);
	json_decref(res);

	/* One byte more: an error with a null id, then the connection closes. */
	memset(line, 'a', big);
	line[big] = '\n';
	raw_send(&r, line, big + 1);
	expect_error(raw_reply(&r), CTL_E_REQUEST, "EMSGSIZE", NULL, "65536");
	assert_null(raw_reply(&r));
	raw_close(&r);
	free(line);
}

static void test_raw_notification(void **state)
{
	struct srv *f = *state;
	struct raw r;
	json_t *res;

	raw_open(&r, f->path);
	/* A notification runs but is not answered, not even when it fails. */
	raw_sends(&r, "{\"jsonrpc\":\"2.0\",\"method\":\"test.notify\"}\n"
		      "{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}\n"
		      "{\"jsonrpc\":\"2.0\",\"method\":\"test.fail\"}\n"
		      "{\"jsonrpc\":\"2.0\",\"method\":\"test.fds\"}\n"
		      "{\"jsonrpc\":\"2.0\",\"method\":\"test.notify.reply\"}\n"
		      "{\"jsonrpc\":\"2.0\",\"method\":\"test.params\",\"params\":[]}\n"
		      "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"version\"}\n");
	res = expect_result(raw_reply(&r), 9);
	json_decref(res);
	assert_int_equal(atomic_load(&notified), 1); /* test.notify.reply did not run */
	raw_silent(&r, 50);
	raw_sends(&r, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"test.notify.reply\"}\n");
	res = expect_result(raw_reply(&r), 8);
	json_decref(res);
	assert_int_equal(atomic_load(&notified), 2);

	/* A half-close: the last (even unterminated) request is still answered. */
	raw_sends(&r, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"test.notify\"}");
	assert_int_equal(shutdown(r.fd, SHUT_WR), 0);
	res = expect_result(raw_reply(&r), 10);
	json_decref(res);
	assert_null(raw_reply(&r));
	assert_int_equal(atomic_load(&notified), 3);
	raw_close(&r);
}

static void test_pipelined(void **state)
{
	struct srv *f = *state;
	enum { N = 300 };
	size_t cap = N * 128, len = 0;
	char *buf = malloc(cap);
	struct raw r;

	assert_non_null(buf);
	for (int i = 1; i <= N; i++) {
		static const char *const m[] = {"version", "test.fail", "test.params"};

		len += (size_t)snprintf(
		    buf + len, cap - len,
		    "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\","
		    "\"params\":{%s}}\n%s",
		    i, m[i % 3], i % 3 == 2 ? "\"name\":\"p\"" : "",
		    i % 7 == 0 ? "{\"jsonrpc\":\"2.0\",\"method\":\"version\"}\n" : "");
	}
	raw_open(&r, f->path);
	raw_send(&r, buf, len);
	for (int i = 1; i <= N; i++) {
		json_t *reply = raw_reply(&r);

		assert_non_null(reply);
		assert_int_equal(json_integer_value(json_object_get(reply, "id")), i);
		assert_true(i % 3 == 1 ? json_object_get(reply, "error") != NULL
				       : json_object_get(reply, "result") != NULL);
		json_decref(reply);
	}
	raw_silent(&r, 50);
	raw_close(&r);
	free(buf);
}

/* A client that asks for a lot and does not read must not hold up the others. */
static void test_slow_client(void **state)
{
	struct srv *f = *state;
	enum { N = 32, SIZE = 256 * 1024 };
	char line[128];
	struct raw r;
	struct ctl_client *c;
	struct timespec t0, t1;

	raw_open(&r, f->path);
	for (int i = 1; i <= N; i++) {
		snprintf(line, sizeof(line),
			 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"test.big\","
			 "\"params\":{\"size\":%d}}\n",
			 i, SIZE);
		raw_sends(&r, line);
	}
	usleep(100 * 1000);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	c = ctl_client_connect(f->path);
	assert_non_null(c);
	json_decref(call_ok(c, "version", NULL));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	ctl_client_close(c);

	for (int i = 1; i <= N; i++) {
		json_t *res = expect_result(raw_reply(&r), i);

		assert_int_equal(strlen(json_string_value(json_object_get(res, "data"))), SIZE);
		json_decref(res);
	}
	raw_close(&r);
}

/* ---- tests: connection lifetime ---- */

static void test_closers_on_disconnect(void **state)
{
	struct srv *f = *state;
	struct ctl_client *c = ctl_client_connect(f->path);
	json_t *e, *r;

	assert_non_null(c);
	for (int tag = 1; tag <= 3; tag++)
		json_decref(call_ok(c, "closer.add", json_pack("{s:i}", "tag", tag)));
	json_decref(call_ok(c, "closer.remove", json_pack("{s:i}", "tag", 2)));
	e = call_err(c, "closer.remove", json_pack("{s:i}", "tag", 9), CTL_E_FAILED, "ENOENT");
	json_decref(e);
	assert_int_equal(atomic_load(&closer_n), 0);
	ctl_client_close(c);

	assert_true(wait_for(&closer_n, 2));
	usleep(20 * 1000);
	assert_int_equal(atomic_load(&closer_n), 2);
	assert_int_equal(atomic_load(&closer_log[0]), 3); /* reverse order of addition */
	assert_int_equal(atomic_load(&closer_log[1]), 1);

	c = ctl_client_connect(f->path);
	assert_non_null(c);
	r = call_ok(c, "test.count", NULL);
	assert_int_equal(json_integer_value(json_object_get(r, "conns")), 1);
	json_decref(r);
	ctl_client_close(c);
}

static void test_closers_on_kill(void **state)
{
	struct srv *f = *state;
	static const char req[] =
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"closer.add\",\"params\":{\"tag\":42}}\n";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[512];
	size_t len = 0;
	int pfd[2], status;
	json_t *reply, *res;
	pid_t pid;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Threads were running at fork: only async-signal-safe calls here. */
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		ssize_t n;

		alarm(30);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1)
			_exit(1);
		while (len < sizeof(buf) && !memchr(buf, '\n', len)) {
			n = read(fd, buf + len, sizeof(buf) - len);
			if (n <= 0)
				_exit(1);
			len += (size_t)n;
		}
		if (write(pfd[1], buf, len) != (ssize_t)len)
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	while (!memchr(buf, '\n', len)) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		ssize_t n;

		assert_int_equal(poll(&p, 1, WAIT_MS), 1);
		n = read(pfd[0], buf + len, sizeof(buf) - len);
		assert_true(n > 0);
		len += (size_t)n;
	}
	close(pfd[0]);
	reply = json_loadb(buf, (size_t)((char *)memchr(buf, '\n', len) - buf), 0, NULL);
	res = expect_result(reply, 1);
	assert_int_equal(json_integer_value(json_object_get(res, "pid")), pid);
	json_decref(res);
	assert_int_equal(atomic_load(&closer_n), 0);

	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_true(wait_for(&closer_n, 1));
	assert_int_equal(atomic_load(&closer_log[0]), 42);
}

static void test_destroy_runs_closers(void **state)
{
	struct srv *f = *state;
	struct ctl_client *a = ctl_client_connect(f->path), *b = ctl_client_connect(f->path);
	int pos[5] = {0};
	json_t *result = NULL;
	int rc;

	assert_non_null(a);
	assert_non_null(b);
	json_decref(call_ok(a, "closer.add", json_pack("{s:i}", "tag", 1)));
	json_decref(call_ok(a, "closer.add", json_pack("{s:i}", "tag", 2)));
	json_decref(call_ok(b, "closer.add", json_pack("{s:i}", "tag", 3)));
	json_decref(call_ok(b, "closer.add", json_pack("{s:i}", "tag", 4)));

	srv_stop(f);
	assert_int_equal(atomic_load(&closer_n), 4);
	for (int i = 0; i < 4; i++) {
		int tag = atomic_load(&closer_log[i]);

		assert_true(tag >= 1 && tag <= 4);
		pos[tag] = i + 1;
	}
	assert_true(pos[2] < pos[1] && pos[4] < pos[3]);

	/* The clients see the daemon gone, and the socket is removed. */
	rc = ctl_client_call(a, "version", NULL, &result, NULL, NULL, 0, NULL);
	assert_true(rc == -ECONNRESET || rc == -EPIPE);
	assert_int_equal(ctl_client_call(a, "version", NULL, &result, NULL, NULL, 0, NULL), rc);
	assert_int_equal(access(f->path, F_OK), -1);
	ctl_client_close(a);
	ctl_client_close(b);
}

/* ---- tests: the socket ---- */

static void test_socket_path(void **state)
{
	struct srv *f = *state;
	struct event_base *base = event_base_new();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ctl_server *s;
	struct stat st;
	char longpath[200];
	int fd;

	assert_non_null(base);
	/* Served with the mode asked for... */
	srv_start(f);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);
	/* ...and a second server on the same path finds it alive. */
	errno = 0;
	assert_null(ctl_server_create(base, f->path, -1, 0600));
	assert_int_equal(errno, EADDRINUSE);
	srv_stop(f);
	assert_int_equal(access(f->path, F_OK), -1);

	/* A stale socket (a dead daemon's) is replaced. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(access(f->path, F_OK), 0);
	s = ctl_server_create(base, f->path, -1, 0600);
	assert_non_null(s);
	assert_int_equal(ctl_server_conn_count(s), 0);
	ctl_server_destroy(s);
	assert_int_equal(access(f->path, F_OK), -1);

	/* A file that is not a socket is left alone. */
	fd = open(f->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	errno = 0;
	assert_null(ctl_server_create(base, f->path, -1, 0600));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(unlink(f->path), 0);

	/* Names too long for sun_path, and nobody there. */
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	errno = 0;
	assert_null(ctl_server_create(base, longpath, -1, 0600));
	assert_int_equal(errno, ENAMETOOLONG);
	errno = 0;
	assert_null(ctl_client_connect(longpath));
	assert_int_equal(errno, ENAMETOOLONG);
	errno = 0;
	assert_null(ctl_client_connect(f->path));
	assert_int_equal(errno, ENOENT);
	ctl_server_destroy(NULL);
	event_base_free(base);
}

static void test_listen_fd(void **state)
{
	struct srv *f = *state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct event_base *base = event_base_new();
	struct ctl_client *c;
	int fd;

	/* Not listening: refused, and the fd stays the caller's. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	errno = 0;
	assert_null(ctl_server_create(base, NULL, fd, 0600));
	assert_int_equal(errno, EINVAL);
	assert_true(fcntl(fd, F_GETFD) >= 0);
	close(fd);
	event_base_free(base);

	/* As systemd would pass it. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/other.sock", f->dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	f->listen_fd = fd;
	srv_start(f);
	c = ctl_client_connect(sa.sun_path);
	assert_non_null(c);
	json_decref(call_ok(c, "version", NULL));
	ctl_client_close(c);
	srv_stop(f);
	/* The server closed it but left the path, which it did not create. */
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(access(sa.sun_path, F_OK), 0);
}

static void test_register(void **state)
{
	struct srv *f = *state;
	struct event_base *base = event_base_new();
	struct ctl_server *s = ctl_server_create(base, f->path, -1, 0600);
	struct ctl_method m = {.name = "a.b", .help = "help", .fn = m_notify};

	assert_non_null(s);
	assert_int_equal(ctl_method_register(s, &m), 0);
	assert_int_equal(ctl_method_register(s, &m), -EEXIST);
	m.name = "help";
	assert_int_equal(ctl_method_register(s, &m), -EEXIST);
	m.name = "x";
	m.fn = NULL;
	assert_int_equal(ctl_method_register(s, &m), -EINVAL);
	ctl_server_destroy(s);
	event_base_free(base);
}

/* Whether test.who on a new connection tells uid, gid and exactly groups[0..n). */
static bool who_is(const char *path, uid_t uid, gid_t gid, const gid_t *groups, size_t n)
{
	struct ctl_client *c = ctl_client_connect(path);
	json_t *r = NULL, *g;
	bool same;

	if (!c || ctl_client_call(c, "test.who", NULL, &r, NULL, NULL, 0, NULL) != 0) {
		ctl_client_close(c);
		return false;
	}
	g = json_object_get(r, "groups");
	same = json_integer_value(json_object_get(r, "uid")) == (json_int_t)uid &&
	       json_integer_value(json_object_get(r, "gid")) == (json_int_t)gid &&
	       json_array_size(g) == n;
	for (size_t i = 0; same && i < n; i++)
		same = json_integer_value(json_array_get(g, i)) == (json_int_t)groups[i];
	json_decref(r);
	ctl_client_close(c);
	return same;
}

/*
 * Every connection carries the peer's uid, gid and supplementary groups as
 * the kernel saw them at connect(): ours, and, when we are root, those of a
 * child that took others (more groups than the server's first buffer holds,
 * so the ERANGE retry is taken).
 */
static void test_peer_credentials(void **state)
{
	struct srv *f = *state;
	gid_t own[256], many[40];
	int n = getgroups(256, own), status;
	pid_t pid;

	assert_true(n >= 0);
	assert_true(who_is(f->path, getuid(), getgid(), own, (size_t)n));
	if (geteuid() != 0)
		return;
	for (size_t i = 0; i < 40; i++)
		many[i] = (gid_t)(60000 + i);
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(chmod(f->path, 0666), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(40, many) || setgid(65533) || setuid(65534))
			_exit(2);
		_exit(who_is(f->path, 65534, 65533, many, 40) ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- tests: pure functions ---- */

static void test_request_parse(void **state)
{
	struct ctl_request req;
	struct ctl_error err;
	const char *line;

	(void)state;
	line = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\",\"params\":{\"k\":1}}";
	assert_int_equal(ctl_request_parse(line, strlen(line), &req, &err), 0);
	assert_string_equal(req.method, "a");
	assert_int_equal(json_integer_value(req.id), 1);
	assert_int_equal(json_integer_value(json_object_get(req.params, "k")), 1);
	ctl_request_release(&req);

	line = "{\"jsonrpc\":\"2.0\",\"method\":\"a\"}";
	assert_int_equal(ctl_request_parse(line, strlen(line), &req, &err), 0);
	assert_null(req.id);
	assert_true(json_is_object(req.params) && json_object_size(req.params) == 0);
	ctl_request_release(&req);

	/* Bad params in a notification: an error, but nothing to answer. */
	line = "{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":7}";
	assert_int_equal(ctl_request_parse(line, strlen(line), &req, &err), -1);
	assert_int_equal(err.code, CTL_E_PARAMS);
	assert_null(req.id);
	ctl_request_release(&req);

	line = "";
	assert_int_equal(ctl_request_parse(line, 0, &req, &err), -1);
	assert_int_equal(err.code, CTL_E_PARSE);
	assert_true(json_is_null(req.id));
	ctl_request_release(&req);
}

static void test_helpers(void **state)
{
	static const char *const known[] = {"a", NULL};
	json_t *p = json_pack("{s:s, s:I, s:b}", "s", "v", "big", (json_int_t)INT64_MAX, "b", 1);
	struct ctl_error err;
	const char *s;
	uint64_t u;
	bool b;
	char text[64], xs[300];
	json_t *e;

	(void)state;
	assert_int_equal(ctl_param_string(p, "s", true, NULL, &s, &err), 0);
	assert_string_equal(s, "v");
	assert_int_equal(ctl_param_string(p, "none", false, "def", &s, &err), 0);
	assert_string_equal(s, "def");
	assert_int_equal(ctl_param_uint(p, "big", true, 0, UINT64_MAX, 0, &u, &err), 0);
	assert_true(u == INT64_MAX);
	assert_int_equal(ctl_param_uint(p, "s", true, 5, UINT64_MAX, 0, &u, &err), -1);
	assert_string_equal(err.detail, "parameter 's' must be an integer >= 5, got string \"v\"");
	assert_int_equal(ctl_param_bool(p, "b", false, &b, &err), 0);
	assert_true(b);
	assert_int_equal(ctl_params_only(p, known, &err), -1);
	assert_int_equal(err.code, CTL_E_PARAMS);
	assert_int_equal(err.err, EINVAL);
	json_decref(p);

	/* A detail cut in the middle of a UTF-8 sequence is still a JSON string. */
	memset(xs, 'x', sizeof(xs));
	assert_int_equal(ctl_fail(&err, CTL_E_FAILED, EIO, "%.*s\xc3\xa9", 254, xs), -1);
	assert_int_equal(strlen(err.detail), 254);
	assert_non_null(e = json_string(err.detail));
	json_decref(e);

	/* The client's rendering of errors. */
	e = json_pack("{s:i, s:s, s:{s:s, s:s}}", "code", -32000, "message", "operation failed",
		      "data", "errno", "EBUSY", "detail", "port busy");
	assert_int_equal(ctl_error_text(e, text, sizeof(text)), EBUSY);
	assert_string_equal(text, "EBUSY: port busy");
	json_decref(e);
	e = json_pack("{s:i, s:s, s:{s:s, s:s}}", "code", -32000, "message", "x", "data", "errno",
		      "E200", "detail", "odd");
	assert_int_equal(ctl_error_text(e, text, sizeof(text)), 200);
	json_decref(e);
	e = json_pack("{s:i, s:s}", "code", -32000, "message", "operation failed");
	assert_int_equal(ctl_error_text(e, text, sizeof(text)), EIO);
	assert_string_equal(text, "operation failed");
	json_decref(e);

	setenv("VALE_SOCKET", "/tmp/x.sock", 1);
	assert_string_equal(ctl_default_socket(), "/tmp/x.sock");
	setenv("VALE_SOCKET", "", 1);
	assert_string_equal(ctl_default_socket(), CTL_DEFAULT_SOCKET);
	unsetenv("VALE_SOCKET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_call_ok, setup_server, teardown),
	    cmocka_unit_test_setup_teardown(test_fds, setup_server, teardown),
	    cmocka_unit_test_setup_teardown(test_fail, setup_server, teardown),
	    cmocka_unit_test_setup_teardown(test_help_version, setup_server, teardown),
	    cmocka_unit_test_setup_teardown(test_params_errors, setup_server, teardown),
	    cmocka_unit_test_setup_teardown(test_raw_parse_error, setup_server, teardown),
	    cmocka_unit_test_setup_teardown(test_raw_invalid_request, setup_server, teardown),
	    cmocka_unit_test_setup_teardown(test_raw_method_and_params, setup_server, teardown),
	    cmocka_unit_test_setup_teardown(test_raw_oversize, setup_server, teardown),
	    cmocka_unit_test_setup_teardown(test_raw_notification, setup_server, teardown),
	    cmocka_unit_test_setup_teardown(test_pipelined, setup_server, teardown),
	    cmocka_unit_test_setup_teardown(test_slow_client, setup_server, teardown),
	    cmocka_unit_test_setup_teardown(test_closers_on_disconnect, setup_server, teardown),
	    cmocka_unit_test_setup_teardown(test_peer_credentials, setup_server, teardown),
	    cmocka_unit_test_setup_teardown(test_closers_on_kill, setup_server, teardown),
	    cmocka_unit_test_setup_teardown(test_destroy_runs_closers, setup_server, teardown),
	    cmocka_unit_test_setup_teardown(test_socket_path, setup_dir, teardown),
	    cmocka_unit_test_setup_teardown(test_listen_fd, setup_dir, teardown),
	    cmocka_unit_test_setup_teardown(test_register, setup_dir, teardown),
	    cmocka_unit_test(test_request_parse),
	    cmocka_unit_test(test_helpers),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
