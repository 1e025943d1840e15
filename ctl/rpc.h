/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rpc - the server side of valed's control socket (doc/control-protocol.md).
 *
 * Listens on a unix stream socket (bound here, or inherited from systemd),
 * reads one JSON-RPC 2.0 object per line (at most CTL_LINE_MAX bytes),
 * checks it (params.h), dispatches it to the method registered under its
 * name and writes the reply line, with the handler's fds as SCM_RIGHTS on it.
 * Malformed input gets a JSON-RPC error and the connection stays usable (a
 * line over the limit closes it, since its framing is lost). `help` and
 * `version` are built in.
 *
 * A connection is the netmap fd: handlers attach closers to it, which run in
 * reverse order when the peer hangs up or dies (unregistering its ports).
 *
 * Threads: everything here runs on the control thread, inside the libevent
 * loop the server was created on. This is the only JSON parser in valed.
 */
#ifndef VALE_CTL_RPC_H
#define VALE_CTL_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <jansson.h>

#include "params.h" /* struct ctl_error, CTL_E_* */
#include "quota.h"
#include "wire.h" /* CTL_LINE_MAX, CTL_MAX_FDS */

struct ctl_server;
struct ctl_conn;

/* The fds a reply carries, in order, each with the name listed in "fds".
 * The server closes them after sending (handlers pass dup()s). */
struct ctl_fds {
	int fd[CTL_MAX_FDS];
	const char *name[CTL_MAX_FDS];
	int n;
};

/*
 * A method handler. params is an object (an empty one when the request had
 * none). Return 0 with *ret_result set (a new reference to an object), or -1
 * with err filled. fds starts empty; append to it on success only.
 */
typedef int (*ctl_handler_fn)(struct ctl_conn *c, json_t *params, json_t **ret_result,
			      struct ctl_fds *fds, struct ctl_error *err, void *arg);

struct ctl_method {
	const char *name; /* "port.register" */
	const char *help; /* one line */
	ctl_handler_fn fn;
	void *arg;
	/* Its reply is what the call makes (fds): sent as a notification,
	 * which gets no reply, it is not run at all. */
	bool reply_only;
};

/*
 * Serve on path: bind it (removing a stale socket, mode `mode`), or, when
 * listen_fd >= 0, use that already-listening socket (systemd activation).
 * NULL + errno (EADDRINUSE: a live daemon answers on path; EEXIST: path is
 * not a socket; ENAMETOOLONG). On success the server owns listen_fd and
 * closes it in ctl_server_destroy; on failure it is left open.
 */
struct ctl_server *ctl_server_create(struct event_base *base, const char *path, int listen_fd,
				     mode_t mode);

/* Close every connection (running their closers), stop listening, unlink the
 * socket if we bound it. Accepts NULL. Not from inside a handler or closer. */
void ctl_server_destroy(struct ctl_server *s);

/* Register a method (name unique): 0, -EEXIST, -ENOMEM. The struct is copied. */
int ctl_method_register(struct ctl_server *s, const struct ctl_method *m);

/* Connections now open. */
uint32_t ctl_server_conn_count(const struct ctl_server *s);

/*
 * Charge every new connection to its peer's uid in q (one QUOTA_CONNS, given
 * back when it closes). A connection over the limit gets one error line
 * (id null, EDQUOT, or ENOSPC for the host-wide cap, with a sentence) and is
 * closed; nothing of it is run. NULL (the default): no limit.
 */
void ctl_server_set_quota(struct ctl_server *s, struct quota *q);

/* Run fn(c, arg) when c closes, after closers added later. 0 or -ENOMEM. */
int ctl_conn_add_closer(struct ctl_conn *c, void (*fn)(struct ctl_conn *c, void *arg), void *arg);
/* Forget a closer added with the same fn and arg (e.g. the port was closed
 * explicitly). Returns 0 or -ENOENT. */
int ctl_conn_remove_closer(struct ctl_conn *c, void (*fn)(struct ctl_conn *c, void *arg),
			   void *arg);

/* The peer's pid from SO_PEERCRED, for logs. */
pid_t ctl_conn_peer_pid(const struct ctl_conn *c);
/*
 * Who the peer is, as the kernel recorded it when the peer connected
 * (SO_PEERCRED, SO_PEERGROUPS): what authorization decides on. When the
 * kernel could not tell, uid and gid are (uid_t)-1 and (gid_t)-1, which no
 * rule grants anything. ctl_conn_peer_groups sets *ret_groups to the
 * supplementary groups (owned by c, valid while it is open) and returns how
 * many there are (0 on a kernel without SO_PEERGROUPS).
 */
uid_t ctl_conn_peer_uid(const struct ctl_conn *c);
gid_t ctl_conn_peer_gid(const struct ctl_conn *c);
size_t ctl_conn_peer_groups(const struct ctl_conn *c, const gid_t **ret_groups);

#endif /* VALE_CTL_RPC_H */
