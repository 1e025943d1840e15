/* SPDX-License-Identifier: BSD-2-Clause */
/* rpc - valed's JSON-RPC 2.0 control server: connections, framing, dispatch and fd passing. */

#include "rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <vale/netmap.h> /* NETMAP_API */

#ifndef VALE_VERSION
#error "VALE_VERSION is defined by the build (CMakeLists.txt)"
#endif

/*
 * A client that sends requests faster than it reads replies is not read
 * further once this much output is queued for it; the loop serves the others
 * meanwhile and resumes that client when its queue has drained.
 */
#define OUT_HIGH (1u << 20)
#define IN_FIRST 4096		  /* first input buffer; grows up to IN_MAX */
#define IN_MAX (CTL_LINE_MAX + 1) /* the longest line and its '\n' */
#define ACCEPT_BURST 32		  /* accepts per wakeup, so a storm cannot starve clients */
#define ACCEPT_PAUSE_MS 100	  /* back-off when out of fds: the pending connect would spin us */

struct closer {
	void (*fn)(struct ctl_conn *c, void *arg);
	void *arg;
};

/* One reply line; its fds go out with its first byte. */
struct outmsg {
	struct outmsg *next;
	char *buf;
	size_t len, off;
	int fd[CTL_MAX_FDS];
	int nfds;
};

struct ctl_conn {
	struct ctl_server *s;
	struct ctl_conn *prev, *next;
	int fd;
	/* The peer's credentials when it connected (SO_PEERCRED, SO_PEERGROUPS):
	 * the kernel recorded them at connect(), so a peer cannot change them
	 * later. Unreadable ones leave the uid and gid at (uid_t)-1, which no
	 * rule grants anything, and no supplementary groups. */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t n_groups;
	bool charged; /* one QUOTA_CONNS of uid is ours to give back */
	struct event *rev, *wev;
	bool reading, writing; /* rev / wev added */

	char *in; /* unparsed input is in[in_off, in_len) */
	size_t in_off, in_len, in_cap;

	struct outmsg *out_head, **out_tail;
	size_t out_bytes;

	struct closer *closers;
	size_t n_closers, cap_closers;

	bool eof;     /* the peer sends no more: answer what is buffered, then close */
	bool closing; /* framing lost: close once the queued replies are out */
	bool dead;    /* the socket failed or we ran out of memory: close now */
};

struct ctl_server {
	struct event_base *base;
	int lfd;
	struct event *accept_ev, *pause_ev;
	char *path; /* set when we bound the socket (we unlink it) */
	dev_t dev;
	ino_t ino;

	struct ctl_method *methods; /* sorted by name, for bsearch and a sorted help */
	size_t n_methods, cap_methods;

	struct ctl_conn *conns;
	uint32_t n_conns;
	struct quota *quota; /* NULL: connections are not limited */
};

/* ---- replies ---- */

static const char *code_message(int code)
{
	switch (code) {
	case CTL_E_PARSE:
		return "parse error";
	case CTL_E_REQUEST:
		return "invalid request";
	case CTL_E_METHOD:
		return "method not found";
	case CTL_E_PARAMS:
		return "invalid params";
	case CTL_E_FAILED:
		return "operation failed";
	case -32603:
		return "internal error";
	default:
		return "error";
	}
}

static void close_fds(int *fd, int *n)
{
	for (int i = 0; i < *n; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	*n = 0;
}

/*
 * The reply builders add with json_object_set (a new reference) and drop their
 * own at the end, so one exit path is right whichever step ran out of memory.
 */
static json_t *error_reply(json_t *id, const struct ctl_error *e)
{
	json_t *reply = json_object(), *error = json_object(), *data = json_object();
	char buf[ERR_NAME_LEN];
	bool ok = reply && error && data;

	ok = ok && json_object_set_new(data, "errno", json_string(err_name(e->err, buf))) == 0;
	ok = ok && json_object_set_new(data, "detail", json_string(e->detail)) == 0;
	ok = ok && json_object_set_new(error, "code", json_integer(e->code)) == 0;
	ok = ok && json_object_set_new(error, "message", json_string(code_message(e->code))) == 0;
	ok = ok && json_object_set(error, "data", data) == 0;
	ok = ok && json_object_set_new(reply, "jsonrpc", json_string("2.0")) == 0;
	ok = ok && json_object_set(reply, "id", id) == 0;
	ok = ok && json_object_set(reply, "error", error) == 0;
	json_decref(data);
	json_decref(error);
	if (!ok) {
		json_decref(reply);
		return NULL;
	}
	return reply;
}

/* The reply to a successful call; the fds, if any, are named in result.fds. */
static json_t *result_reply(json_t *id, json_t *result, const struct ctl_fds *fds)
{
	json_t *reply = json_object(), *res, *names = NULL;
	bool ok;

	if (fds->n > 0) {
		/* A copy: the handler may have handed out an object it keeps. */
		res = json_copy(result);
		names = json_array();
		ok = res && names && json_object_set(res, "fds", names) == 0;
		for (int i = 0; ok && i < fds->n; i++)
			ok = json_array_append_new(
				 names, json_string(fds->name[i] ? fds->name[i] : "fd")) == 0;
	} else {
		res = json_incref(result);
		ok = true;
	}
	ok = ok && reply && json_object_set_new(reply, "jsonrpc", json_string("2.0")) == 0;
	ok = ok && json_object_set(reply, "id", id) == 0;
	ok = ok && json_object_set(reply, "result", res) == 0;
	json_decref(names);
	json_decref(res);
	if (!ok) {
		json_decref(reply);
		return NULL;
	}
	return reply;
}

/* Queue reply as one line; on success the fds move into the queue. */
static int enqueue(struct ctl_conn *c, json_t *reply, struct ctl_fds *fds)
{
	struct outmsg *m;
	char *text, *line;
	size_t len;

	text = json_dumps(reply, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	line = realloc(text, len + 1); /* the NUL's room becomes the '\n' */
	m = calloc(1, sizeof(*m));
	if (!line || !m) {
		free(line ? line : text);
		free(m);
		return -ENOMEM;
	}
	line[len] = '\n';
	m->buf = line;
	m->len = len + 1;
	if (fds) {
		memcpy(m->fd, fds->fd, sizeof(int) * (size_t)fds->n);
		m->nfds = fds->n;
		fds->n = 0;
	}
	*c->out_tail = m;
	c->out_tail = &m->next;
	c->out_bytes += m->len;
	return 0;
}

static void queue_error(struct ctl_conn *c, json_t *id, const struct ctl_error *e)
{
	json_t *reply = error_reply(id, e);

	if (!reply || enqueue(c, reply, NULL) < 0)
		c->dead = true; /* the client would wait forever for this reply */
	json_decref(reply);
}

/* ---- dispatch ---- */

static int method_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct ctl_method *)elem)->name);
}

static const struct ctl_method *find_method(const struct ctl_server *s, const char *name)
{
	if (s->n_methods == 0)
		return NULL;
	return bsearch(name, s->methods, s->n_methods, sizeof(s->methods[0]), method_cmp);
}

static int dispatch(struct ctl_conn *c, const struct ctl_request *req, json_t **ret_result,
		    struct ctl_fds *fds, struct ctl_error *err)
{
	const struct ctl_method *m = find_method(c->s, req->method);
	const char *mname;
	json_t *result = NULL;
	char name[CTL_SHOW_MAX + 8];
	int rc;

	if (!m) {
		ctl_show_name(req->method, name, sizeof(name));
		return ctl_fail(err, CTL_E_METHOD, ENOSYS,
				"unknown method '%s'; call 'help' for the list of methods", name);
	}
	if (m->reply_only && !req->id)
		return ctl_fail(err, CTL_E_REQUEST, EINVAL,
				"'%s' cannot be a notification: its reply is the result", m->name);
	/* m may move if the handler registers a method; its strings do not. */
	mname = m->name;
	rc = m->fn(c, req->params, &result, fds, err, m->arg);
	if (fds->n < 0 || fds->n > CTL_MAX_FDS) {
		/* A handler bug; clamp so that the copy into the queue stays in bounds. */
		fds->n = fds->n < 0 ? 0 : CTL_MAX_FDS;
		close_fds(fds->fd, &fds->n);
		json_decref(result);
		return ctl_fail_errno(err, EIO, "method '%s' returned a bad fd count", mname);
	}
	if (rc != 0) {
		close_fds(fds->fd, &fds->n);
		json_decref(result);
		if (err->code == 0 || err->err <= 0)
			ctl_fail(err, err->code ? err->code : CTL_E_FAILED, EIO,
				 "method '%s' failed", mname);
		return -1;
	}
	if (!json_is_object(result)) {
		close_fds(fds->fd, &fds->n);
		json_decref(result);
		return ctl_fail_errno(err, EIO, "method '%s' returned no result object", mname);
	}
	*ret_result = result;
	return 0;
}

static void handle_line(struct ctl_conn *c, const char *line, size_t len)
{
	struct ctl_request req;
	struct ctl_error err = {0};
	struct ctl_fds fds = {.n = 0};
	json_t *result = NULL, *reply;

	if (ctl_request_parse(line, len, &req, &err) < 0 ||
	    dispatch(c, &req, &result, &fds, &err) < 0) {
		if (req.id)
			queue_error(c, req.id, &err);
		goto out;
	}
	if (!req.id)
		goto out; /* a notification: executed, never answered */

	reply = result_reply(req.id, result, &fds);
	if (!reply || enqueue(c, reply, &fds) < 0) {
		ctl_fail_errno(&err, ENOMEM, "out of memory while sending the reply");
		queue_error(c, req.id, &err);
	}
	json_decref(reply);
out:
	close_fds(fds.fd, &fds.n);
	json_decref(result);
	ctl_request_release(&req);
}

/* ---- connections ---- */

static const struct quota_amount one_conn = {.n[QUOTA_CONNS] = 1};

static void conn_close(struct ctl_conn *c)
{
	struct ctl_server *s = c->s;
	struct outmsg *m;

	/* One at a time from the end: a closer may remove (or add) others. */
	while (c->n_closers > 0) {
		struct closer cl = c->closers[--c->n_closers];

		cl.fn(c, cl.arg);
	}

	event_free(c->rev);
	event_free(c->wev);
	close(c->fd);
	while ((m = c->out_head)) {
		c->out_head = m->next;
		close_fds(m->fd, &m->nfds);
		free(m->buf);
		free(m);
	}
	free(c->in);
	free(c->closers);
	free(c->groups);
	if (c->charged)
		quota_uncharge(s->quota, c->uid, &one_conn);

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
	free(c);
}

/* Send what is queued; 0 when all is out or the socket is full, -errno on a dead peer. */
static int flush(struct ctl_conn *c)
{
	struct outmsg *m;

	while ((m = c->out_head)) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = {.iov_base = m->buf + m->off, .iov_len = m->len - m->off};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n;

		if (m->nfds > 0) {
			struct cmsghdr *cm;

			/* Only while m->off == 0: fds travel with the first byte of their line. */
			memset(&cbuf, 0, sizeof(cbuf));
			msg.msg_control = cbuf.buf;
			msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)m->nfds);
			cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)m->nfds);
			memcpy(CMSG_DATA(cm), m->fd, sizeof(int) * (size_t)m->nfds);
		}
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!c->writing && event_add(c->wev, NULL) < 0)
					return -ENOMEM;
				c->writing = true;
				return 0;
			}
			return -errno;
		}
		/* The kernel holds its own references to the fds now. */
		close_fds(m->fd, &m->nfds);
		m->off += (size_t)n;
		c->out_bytes -= (size_t)n;
		if (m->off < m->len)
			continue;
		c->out_head = m->next;
		if (!c->out_head)
			c->out_tail = &c->out_head;
		free(m->buf);
		free(m);
	}
	if (c->writing)
		event_del(c->wev);
	c->writing = false;
	return 0;
}

/* The next line in the input buffer (a last unterminated one after EOF); false if none. */
static bool next_line(struct ctl_conn *c, const char **ret_line, size_t *ret_len)
{
	const char *start = c->in + c->in_off;
	size_t avail = c->in_len - c->in_off;
	const char *nl;

	if (avail == 0)
		return false;
	nl = memchr(start, '\n', avail);
	if (nl) {
		*ret_line = start;
		*ret_len = (size_t)(nl - start);
		c->in_off += *ret_len + 1;
		return true;
	}
	if (!c->eof)
		return false;
	*ret_line = start;
	*ret_len = avail;
	c->in_off = c->in_len;
	return true;
}

static bool has_line(const struct ctl_conn *c)
{
	size_t avail = c->in_len - c->in_off;

	return avail > 0 && (c->eof || memchr(c->in + c->in_off, '\n', avail));
}

static bool blank(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

static void process_lines(struct ctl_conn *c)
{
	const char *line;
	size_t len;

	while (!c->dead && !c->closing && c->out_bytes < OUT_HIGH && next_line(c, &line, &len)) {
		if (len > CTL_LINE_MAX) {
			struct ctl_error err;

			ctl_fail(&err, CTL_E_REQUEST, EMSGSIZE,
				 "a request line is at most %d bytes; closing the connection",
				 CTL_LINE_MAX);
			queue_error(c, json_null(), &err);
			c->closing = true;
		} else if (!blank(line, len)) {
			handle_line(c, line, len);
		}
	}
	if (c->in_off == c->in_len) {
		c->in_off = c->in_len = 0;
	} else if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	/* A full buffer without a '\n': this line is over the limit and unframeable. */
	if (!c->dead && !c->closing && c->in_len == IN_MAX && !has_line(c)) {
		struct ctl_error err;

		ctl_fail(&err, CTL_E_REQUEST, EMSGSIZE,
			 "a request line is at most %d bytes; closing the connection",
			 CTL_LINE_MAX);
		queue_error(c, json_null(), &err);
		c->closing = true;
	}
}

/*
 * Answer what can be answered, send it, then decide whether to read more
 * (not while replies pile up) or to close. May free c: callers return after.
 */
static void conn_pump(struct ctl_conn *c)
{
	bool want_read;

	do {
		process_lines(c);
		if (!c->dead && flush(c) < 0)
			c->dead = true;
	} while (!c->dead && !c->closing && c->out_bytes < OUT_HIGH && has_line(c));

	if (c->dead || ((c->closing || (c->eof && !has_line(c))) && !c->out_head)) {
		conn_close(c);
		return;
	}
	want_read = !c->eof && !c->closing && c->out_bytes < OUT_HIGH;
	if (want_read && !c->reading) {
		if (event_add(c->rev, NULL) < 0) {
			conn_close(c);
			return;
		}
		c->reading = true;
	} else if (!want_read && c->reading) {
		event_del(c->rev);
		c->reading = false;
	}
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_conn *c = arg;
	ssize_t n;

	(void)what;
	if (c->in_len == c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap * 2 : IN_FIRST;
		char *in;

		if (c->in_cap == IN_MAX) {
			/* Not reached (the pump stops reading first); recv(0) would look like EOF.
			 */
			conn_pump(c);
			return;
		}
		if (cap > IN_MAX)
			cap = IN_MAX;
		in = realloc(c->in, cap);
		if (!in) {
			conn_close(c);
			return;
		}
		c->in = in;
		c->in_cap = cap;
	}
	n = recv(fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		c->dead = true;
	} else if (n == 0) {
		c->eof = true;
	} else {
		c->in_len += (size_t)n;
	}
	conn_pump(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_pump(arg);
}

/*
 * The peer's supplementary groups. The kernel answers ERANGE with the size
 * it needs when the buffer is short, so a second try always fits (the list
 * was fixed at connect()). A kernel without SO_PEERGROUPS (before 4.13)
 * leaves the peer with its primary group only.
 */
static int read_peer_groups(struct ctl_conn *c)
{
	socklen_t len = 16 * sizeof(gid_t);

	for (int tries = 0; tries < 2; tries++) {
		gid_t *g = malloc(len);
		socklen_t got = len;

		if (!g)
			return -ENOMEM;
		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, g, &got) == 0) {
			c->groups = g;
			c->n_groups = got / sizeof(gid_t);
			return 0;
		}
		free(g);
		if (errno != ERANGE || got <= len)
			return 0;
		len = got;
	}
	return 0;
}

/*
 * Charge a new connection to its uid. Over the limit, the peer gets one
 * error line saying which limit, and the connection closes once it is sent:
 * it reads nothing more, so it can never run a method. May free c.
 */
static void refuse_over_limit(struct ctl_conn *c)
{
	struct ctl_error err = {0};
	char detail[ERR_LEN];
	int e = quota_charge(c->s->quota, c->uid, &one_conn, detail);

	if (e == 0) {
		c->charged = true;
		return;
	}
	ctl_fail_errno(&err, -e, "connection refused: %s", detail);
	queue_error(c, json_null(), &err);
	c->closing = true;
	conn_pump(c);
}

static int conn_create(struct ctl_server *s, int fd)
{
	struct ctl_conn *c = calloc(1, sizeof(*c));
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (!c)
		return -ENOMEM;
	c->s = s;
	c->fd = fd;
	c->out_tail = &c->out_head;
	c->uid = (uid_t)-1;
	c->gid = (gid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		c->pid = cred.pid;
		c->uid = cred.uid;
		c->gid = cred.gid;
	}
	if (read_peer_groups(c) < 0) {
		free(c);
		return -ENOMEM;
	}
	c->rev = event_new(s->base, fd, EV_READ | EV_PERSIST, on_read, c);
	c->wev = event_new(s->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
	if (!c->rev || !c->wev || event_add(c->rev, NULL) < 0)
		goto err_events;
	c->reading = true;

	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	refuse_over_limit(c);
	return 0;

err_events:
	if (c->rev)
		event_free(c->rev);
	if (c->wev)
		event_free(c->wev);
	free(c->groups);
	free(c);
	return -ENOMEM;
}

/* ---- listening ---- */

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_server *s = arg;
	static const struct timeval backoff = {0, ACCEPT_PAUSE_MS * 1000};

	(void)what;
	for (int i = 0; i < ACCEPT_BURST; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* The connection stays pending and would wake us at once. */
				event_del(s->accept_ev);
				evtimer_add(s->pause_ev, &backoff);
			}
			return;
		}
		if (conn_create(s, cfd) < 0)
			close(cfd); /* out of memory: that client sees EOF */
	}
}

static void on_pause_end(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_server *s = arg;

	(void)fd;
	(void)what;
	event_add(s->accept_ev, NULL);
}

/*
 * Make way for our socket at sa: nothing there, or a socket nobody answers on
 * (a daemon that died). A live daemon, or a file that is not a socket, stays.
 */
static int remove_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc, err;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;

	/* Non-blocking: a live daemon with a full backlog must not hang us. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	err = errno;
	close(fd);
	if (rc == 0 || err == EAGAIN || err == EINPROGRESS)
		return -EADDRINUSE;
	if (err != ECONNREFUSED)
		return -err;
	if (unlink(sa->sun_path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int bind_socket(struct ctl_server *s, const char *path, mode_t mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	struct stat st;
	int fd, rc;

	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len + 1);
	rc = remove_stale(&sa);
	if (rc < 0)
		return rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto err_socket;
	}
	/* Before listen(): nobody can connect while the mode is still the umask's. */
	if (chmod(path, mode) < 0 || lstat(path, &st) < 0 || listen(fd, SOMAXCONN) < 0) {
		rc = -errno;
		goto err_bound;
	}
	s->path = strdup(path);
	if (!s->path) {
		rc = -ENOMEM;
		goto err_bound;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->lfd = fd;
	return 0;

err_bound:
	unlink(path);
err_socket:
	close(fd);
	return rc;
}

/* An inherited socket must be a listening unix stream socket (fd passing needs AF_UNIX). */
static int adopt_socket(struct ctl_server *s, int fd)
{
	int val, flags;
	socklen_t len = sizeof(val);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &val, &len) < 0)
		return -errno;
	if (val != AF_UNIX)
		return -EINVAL;
	len = sizeof(val);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &val, &len) < 0)
		return -errno;
	if (val != SOCK_STREAM)
		return -EINVAL;
	len = sizeof(val);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &val, &len) < 0)
		return -errno;
	if (!val)
		return -EINVAL;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	s->lfd = fd;
	return 0;
}

/* ---- built-in methods ---- */

static int do_help(struct ctl_conn *c, json_t *params, json_t **ret_result, struct ctl_fds *fds,
		   struct ctl_error *err, void *arg)
{
	static const char *const none[] = {NULL};
	struct ctl_server *s = arg;
	json_t *list, *result;

	(void)c;
	(void)fds;
	if (ctl_params_only(params, none, err) < 0)
		return -1;
	list = json_array();
	result = json_object();
	if (!list || !result || json_object_set_new(result, "methods", list) < 0)
		goto err_nomem;
	for (size_t i = 0; i < s->n_methods; i++) {
		json_t *m = json_object();

		if (!m || json_array_append_new(list, m) < 0 ||
		    json_object_set_new(m, "name", json_string(s->methods[i].name)) < 0 ||
		    json_object_set_new(m, "help", json_string(s->methods[i].help)) < 0)
			goto err_result;
	}
	*ret_result = result;
	return 0;

err_nomem:
	json_decref(list);
err_result:
	json_decref(result);
	return ctl_fail_errno(err, ENOMEM, "out of memory");
}

static int do_version(struct ctl_conn *c, json_t *params, json_t **ret_result, struct ctl_fds *fds,
		      struct ctl_error *err, void *arg)
{
	static const char *const none[] = {NULL};
	json_t *result;

	(void)c;
	(void)fds;
	(void)arg;
	if (ctl_params_only(params, none, err) < 0)
		return -1;
	result = json_object();
	if (!result || json_object_set_new(result, "version", json_string(VALE_VERSION)) < 0 ||
	    json_object_set_new(result, "api", json_integer(NETMAP_API)) < 0) {
		json_decref(result);
		return ctl_fail_errno(err, ENOMEM, "out of memory");
	}
	*ret_result = result;
	return 0;
}

/* ---- the server ---- */

struct ctl_server *ctl_server_create(struct event_base *base, const char *path, int listen_fd,
				     mode_t mode)
{
	const struct ctl_method builtin[] = {
	    {.name = "help", .help = "list the methods with a one-line help each", .fn = do_help},
	    {.name = "version",
	     .help = "the daemon's version and its ring ABI (netmap API) version",
	     .fn = do_version},
	};
	struct ctl_server *s;
	int rc;

	if (!base || (listen_fd < 0 && !path)) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->base = base;
	s->lfd = -1;
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		struct ctl_method m = builtin[i];

		m.arg = s;
		rc = ctl_method_register(s, &m);
		if (rc < 0)
			goto err_server;
	}

	rc = listen_fd >= 0 ? adopt_socket(s, listen_fd) : bind_socket(s, path, mode);
	if (rc < 0)
		goto err_server;

	s->accept_ev = event_new(base, s->lfd, EV_READ | EV_PERSIST, on_accept, s);
	s->pause_ev = evtimer_new(base, on_pause_end, s);
	if (!s->accept_ev || !s->pause_ev || event_add(s->accept_ev, NULL) < 0) {
		rc = -ENOMEM;
		goto err_listen;
	}
	return s;

err_listen:
	if (s->accept_ev)
		event_free(s->accept_ev);
	if (s->pause_ev)
		event_free(s->pause_ev);
	if (s->path) {
		unlink(s->path);
		close(s->lfd); /* ours: we bound it */
	}
err_server:
	for (size_t i = 0; i < s->n_methods; i++) {
		free((char *)s->methods[i].name);
		free((char *)s->methods[i].help);
	}
	free(s->methods);
	free(s->path);
	free(s);
	errno = -rc;
	return NULL;
}

void ctl_server_destroy(struct ctl_server *s)
{
	struct stat st;

	if (!s)
		return;
	while (s->conns)
		conn_close(s->conns);
	if (s->accept_ev)
		event_free(s->accept_ev);
	if (s->pause_ev)
		event_free(s->pause_ev);
	if (s->lfd >= 0)
		close(s->lfd);
	/* Only our own socket: a newer daemon may have replaced it meanwhile. */
	if (s->path && lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	for (size_t i = 0; i < s->n_methods; i++) {
		free((char *)s->methods[i].name);
		free((char *)s->methods[i].help);
	}
	free(s->methods);
	free(s->path);
	free(s);
}

int ctl_method_register(struct ctl_server *s, const struct ctl_method *m)
{
	struct ctl_method copy = *m;
	size_t pos;

	if (!m->name || !m->name[0] || !m->fn)
		return -EINVAL;
	for (pos = 0; pos < s->n_methods; pos++) {
		int cmp = strcmp(m->name, s->methods[pos].name);

		if (cmp == 0)
			return -EEXIST;
		if (cmp < 0)
			break;
	}
	if (s->n_methods == s->cap_methods) {
		size_t cap = s->cap_methods ? s->cap_methods * 2 : 16;
		struct ctl_method *methods = realloc(s->methods, cap * sizeof(*methods));

		if (!methods)
			return -ENOMEM;
		s->methods = methods;
		s->cap_methods = cap;
	}
	copy.name = strdup(m->name);
	copy.help = strdup(m->help ? m->help : "");
	if (!copy.name || !copy.help) {
		free((char *)copy.name);
		free((char *)copy.help);
		return -ENOMEM;
	}
	memmove(&s->methods[pos + 1], &s->methods[pos],
		(s->n_methods - pos) * sizeof(s->methods[0]));
	s->methods[pos] = copy;
	s->n_methods++;
	return 0;
}

uint32_t ctl_server_conn_count(const struct ctl_server *s)
{
	return s->n_conns;
}

/* ---- connection API for handlers ---- */

int ctl_conn_add_closer(struct ctl_conn *c, void (*fn)(struct ctl_conn *c, void *arg), void *arg)
{
	if (c->n_closers == c->cap_closers) {
		size_t cap = c->cap_closers ? c->cap_closers * 2 : 4;
		struct closer *cl = realloc(c->closers, cap * sizeof(*cl));

		if (!cl)
			return -ENOMEM;
		c->closers = cl;
		c->cap_closers = cap;
	}
	c->closers[c->n_closers].fn = fn;
	c->closers[c->n_closers].arg = arg;
	c->n_closers++;
	return 0;
}

int ctl_conn_remove_closer(struct ctl_conn *c, void (*fn)(struct ctl_conn *c, void *arg), void *arg)
{
	/* The newest first: it is the one a handler most likely undoes. */
	for (size_t i = c->n_closers; i-- > 0;) {
		if (c->closers[i].fn != fn || c->closers[i].arg != arg)
			continue;
		memmove(&c->closers[i], &c->closers[i + 1],
			(c->n_closers - i - 1) * sizeof(c->closers[0]));
		c->n_closers--;
		return 0;
	}
	return -ENOENT;
}

pid_t ctl_conn_peer_pid(const struct ctl_conn *c)
{
	return c->pid;
}

uid_t ctl_conn_peer_uid(const struct ctl_conn *c)
{
	return c->uid;
}

gid_t ctl_conn_peer_gid(const struct ctl_conn *c)
{
	return c->gid;
}

size_t ctl_conn_peer_groups(const struct ctl_conn *c, const gid_t **ret_groups)
{
	*ret_groups = c->groups;
	return c->n_groups;
}

void ctl_server_set_quota(struct ctl_server *s, struct quota *q)
{
	s->quota = q;
}
