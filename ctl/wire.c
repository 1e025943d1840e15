/* SPDX-License-Identifier: BSD-2-Clause */
/* wire - blocking JSON-RPC client for valed's control socket, with SCM_RIGHTS fds. */

#include "wire.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF_FIRST 4096

struct ctl_client {
	int fd;
	int dead; /* a transport error broke the stream: every call fails with it */
	json_int_t last_id;
	char *buf; /* received, not yet consumed: buf[off, len) */
	size_t off, len, cap;
};

/* The fds received while reading one reply. */
struct fdbag {
	int fd[CTL_MAX_FDS];
	int n;
	bool lost; /* more than CTL_MAX_FDS came, or the kernel truncated them */
};

/*
 * The errno names valed sends (ctl/rpc.c has the same list, value to name),
 * plus the aliases another server might use.
 */
/* One entry a line. */
/* clang-format off */
static const struct {
	const char *name;
	int err;
} errno_names[] = {
	{"EPERM", EPERM},
	{"ENOENT", ENOENT},
	{"ESRCH", ESRCH},
	{"EINTR", EINTR},
	{"EIO", EIO},
	{"ENXIO", ENXIO},
	{"E2BIG", E2BIG},
	{"EBADF", EBADF},
	{"EAGAIN", EAGAIN},
	{"EWOULDBLOCK", EWOULDBLOCK},
	{"ENOMEM", ENOMEM},
	{"EACCES", EACCES},
	{"EFAULT", EFAULT},
	{"EBUSY", EBUSY},
	{"EEXIST", EEXIST},
	{"ENODEV", ENODEV},
	{"ENOTDIR", ENOTDIR},
	{"EISDIR", EISDIR},
	{"EINVAL", EINVAL},
	{"ENFILE", ENFILE},
	{"EMFILE", EMFILE},
	{"ENOSPC", ENOSPC},
	{"EDQUOT", EDQUOT},
	{"EROFS", EROFS},
	{"EPIPE", EPIPE},
	{"ERANGE", ERANGE},
	{"EDEADLK", EDEADLK},
	{"ENAMETOOLONG", ENAMETOOLONG},
	{"ENOSYS", ENOSYS},
	{"ENOTEMPTY", ENOTEMPTY},
	{"ELOOP", ELOOP},
	{"ENODATA", ENODATA},
	{"EPROTO", EPROTO},
	{"EOVERFLOW", EOVERFLOW},
	{"ENOTSOCK", ENOTSOCK},
	{"EMSGSIZE", EMSGSIZE},
	{"EPROTONOSUPPORT", EPROTONOSUPPORT},
	{"EOPNOTSUPP", EOPNOTSUPP},
	{"ENOTSUP", ENOTSUP},
	{"EADDRINUSE", EADDRINUSE},
	{"EADDRNOTAVAIL", EADDRNOTAVAIL},
	{"ENETDOWN", ENETDOWN},
	{"ENOBUFS", ENOBUFS},
	{"EISCONN", EISCONN},
	{"ENOTCONN", ENOTCONN},
	{"ETIMEDOUT", ETIMEDOUT},
	{"ECONNREFUSED", ECONNREFUSED},
	{"ECONNRESET", ECONNRESET},
	{"EALREADY", EALREADY},
	{"EINPROGRESS", EINPROGRESS},
	{"ECANCELED", ECANCELED},
};
/* clang-format on */

/* The value of an errno name ("ENOENT", or "E<number>" for one without a name); 0 if none. */
static int errno_value(const char *name)
{
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (strcmp(name, errno_names[i].name) == 0)
			return errno_names[i].err;
	if (name[0] != 'E' || name[1] < '1' || name[1] > '9')
		return 0;
	errno = 0;
	v = strtol(name + 1, &end, 10);
	if (errno || *end || v <= 0 || v > 4095)
		return 0;
	return (int)v;
}

const char *ctl_default_socket(void)
{
	const char *path = getenv("VALE_SOCKET");

	return path && path[0] ? path : CTL_DEFAULT_SOCKET;
}

struct ctl_client *ctl_client_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ctl_client *c;
	size_t len;
	int err;

	if (!path)
		path = ctl_default_socket();
	len = strlen(path);
	if (len == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (len >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(sa.sun_path, path, len + 1);

	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		goto err_client;
	/* A unix connect interrupted while the backlog is full has not connected: retry. */
	while (connect(c->fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EINTR)
			goto err_socket;
	}
	return c;

err_socket:
	err = errno;
	close(c->fd);
	errno = err;
err_client:
	err = errno;
	free(c);
	errno = err;
	return NULL;
}

void ctl_client_close(struct ctl_client *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

int ctl_client_fd(const struct ctl_client *c)
{
	return c->fd;
}

static int send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void bag_close(struct fdbag *bag)
{
	for (int i = 0; i < bag->n; i++)
		close(bag->fd[i]);
	bag->n = 0;
}

/* One recvmsg into the free end of the buffer, keeping any fds that come along. */
static ssize_t recv_some(struct ctl_client *c, struct fdbag *bag)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {.iov_base = c->buf + c->len, .iov_len = c->cap - c->len};
	struct msghdr msg = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = cbuf.buf,
	    .msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *cm;
	ssize_t n;

	do
		n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;

	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		size_t k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (bag->n < CTL_MAX_FDS) {
				bag->fd[bag->n++] = fd;
			} else {
				close(fd);
				bag->lost = true;
			}
		}
	}
	if (msg.msg_flags & MSG_CTRUNC)
		bag->lost = true; /* the kernel closed the ones that did not fit */
	return n;
}

/* Read until buf[off, off + *ret_len) is a whole line (its '\n' not counted). */
static int read_line(struct ctl_client *c, size_t *ret_len, struct fdbag *bag)
{
	size_t scanned = 0;

	for (;;) {
		char *start = c->buf + c->off;
		size_t avail = c->len - c->off - scanned;
		char *nl =
		    avail ? memchr(start + scanned, '\n', avail) : NULL; /* buf may be NULL */
		ssize_t n;

		if (nl) {
			*ret_len = (size_t)(nl - start);
			return 0;
		}
		scanned = c->len - c->off;

		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->len == c->cap) {
			/* Replies have no size limit (a long port list): grow as needed. */
			size_t cap = c->cap ? c->cap * 2 : BUF_FIRST;
			char *buf = realloc(c->buf, cap);

			if (!buf)
				return -ENOMEM;
			c->buf = buf;
			c->cap = cap;
		}
		n = recv_some(c, bag);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -ECONNRESET; /* the daemon went away mid-call */
		c->len += (size_t)n;
	}
}

static void consume(struct ctl_client *c, size_t len)
{
	c->off += len;
	if (c->off == c->len)
		c->off = c->len = 0;
}

static int send_request(struct ctl_client *c, const char *method, json_t *params)
{
	json_t *req = json_object();
	char *text = NULL, *line;
	size_t len;
	int rc;

	if (!req)
		goto err_nomem;
	if (json_object_set_new(req, "jsonrpc", json_string("2.0")) < 0 ||
	    json_object_set_new(req, "id", json_integer(c->last_id + 1)) < 0)
		goto err_nomem;
	if (json_object_set_new(req, "method", json_string(method)) < 0) {
		rc = -EINVAL; /* not UTF-8 */
		goto err_req;
	}
	if (params && json_object_set(req, "params", params) < 0)
		goto err_nomem;
	text = json_dumps(req, JSON_COMPACT);
	if (!text)
		goto err_nomem;
	len = strlen(text);
	/* valed would answer EMSGSIZE and close the connection, unregistering our ports. */
	if (len > CTL_LINE_MAX) {
		rc = -EMSGSIZE;
		goto err_text;
	}
	line = realloc(text, len + 1);
	if (!line)
		goto err_nomem;
	text = line;
	text[len] = '\n';

	c->last_id++;
	rc = send_all(c->fd, text, len + 1);
	if (rc < 0)
		c->dead = -rc;
	goto err_text;

err_nomem:
	rc = -ENOMEM;
err_text:
	free(text);
err_req:
	json_decref(req);
	return rc;
}

/* A reply for our request: its id, or null on an error the daemon could not attribute. */
static bool id_matches(const json_t *id, json_int_t want, bool is_error)
{
	if (is_error && json_is_null(id))
		return true;
	return json_is_integer(id) && json_integer_value(id) == want;
}

int ctl_client_call(struct ctl_client *c, const char *method, json_t *params, json_t **ret_result,
		    json_t **ret_error, int *fds, int max_fds, int *ret_nfds)
{
	struct fdbag bag = {.n = 0};
	json_t *reply = NULL, *result, *error, *names;
	size_t len, announced;
	int rc;

	if (!c || !method || (params && !json_is_object(params))) {
		rc = -EINVAL;
		goto out;
	}
	if (c->dead) {
		rc = -c->dead;
		goto out;
	}
	rc = send_request(c, method, params);
	if (rc < 0)
		goto out;

	/* Skip blank lines; fds are the reply's whichever chunk brought them. */
	do {
		rc = read_line(c, &len, &bag);
		if (rc < 0) {
			c->dead = -rc;
			goto out;
		}
		if (len == 0)
			consume(c, 1);
	} while (len == 0);
	reply = json_loadb(c->buf + c->off, len, 0, NULL);
	consume(c, len + 1);

	rc = -EPROTO;
	if (!json_is_object(reply) || !json_is_string(json_object_get(reply, "jsonrpc")) ||
	    strcmp(json_string_value(json_object_get(reply, "jsonrpc")), "2.0") != 0)
		goto err_proto;
	result = json_object_get(reply, "result");
	error = json_object_get(reply, "error");
	if (!result == !error ||
	    !id_matches(json_object_get(reply, "id"), c->last_id, error != NULL))
		goto err_proto;

	if (error) {
		if (!json_is_object(error) || !json_is_integer(json_object_get(error, "code")))
			goto err_proto;
		bag_close(&bag); /* an error announces no fds */
		if (ret_error)
			*ret_error = json_incref(error);
		rc = -1;
		goto out;
	}

	names = json_is_object(result) ? json_object_get(result, "fds") : NULL;
	announced = json_is_array(names) ? json_array_size(names) : 0;
	if (bag.lost || (fds && bag.n > max_fds)) {
		rc = -EMSGSIZE; /* the stream is intact: the client stays usable */
		goto out;
	}
	if ((size_t)bag.n != announced)
		goto err_proto;
	if (fds)
		memcpy(fds, bag.fd, sizeof(int) * (size_t)bag.n);
	else
		bag_close(&bag); /* the caller wants none */
	if (ret_nfds)
		*ret_nfds = fds ? bag.n : 0;
	bag.n = 0;
	if (ret_result)
		*ret_result = json_incref(result);
	rc = 0;
	goto out;

err_proto:
	c->dead = EPROTO;
out:
	bag_close(&bag);
	json_decref(reply);
	json_decref(params);
	return rc;
}

int ctl_error_text(const json_t *error, char *buf, size_t size)
{
	const json_t *data = json_object_get(error, "data");
	const char *name = json_string_value(json_object_get(data, "errno"));
	const char *detail = json_string_value(json_object_get(data, "detail"));
	int err = name ? errno_value(name) : 0;

	if (!detail)
		detail = json_string_value(json_object_get(error, "message"));
	if (!detail)
		detail = "unknown error";
	if (size > 0) {
		if (name)
			snprintf(buf, size, "%s: %s", name, detail);
		else
			snprintf(buf, size, "%s", detail);
	}
	return err ? err : EIO;
}
