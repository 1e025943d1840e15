/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * wire - the client side of valed's control socket (doc/control-protocol.md):
 * one JSON-RPC 2.0 object per line over a unix stream socket, with file
 * descriptors arriving as SCM_RIGHTS on the reply line that announces them.
 *
 * Shared by libvale and valectl. Blocking, no event loop, no global state;
 * a ctl_client is used by one thread at a time (callers lock if they share).
 */
#ifndef VALE_CTL_WIRE_H
#define VALE_CTL_WIRE_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"

#define CTL_DEFAULT_SOCKET "/run/vale/valed.sock"
#define CTL_LINE_MAX 65536 /* longest request line valed accepts */
#define CTL_MAX_FDS 16     /* most fds one reply carries */

struct ctl_client;

/* $VALE_SOCKET if set and non-empty, else CTL_DEFAULT_SOCKET. */
const char *ctl_default_socket(void);

/*
 * Connect to the daemon at path (NULL: ctl_default_socket()). NULL + errno
 * (ENOENT: no daemon there; EACCES; ENAMETOOLONG: path over 107 bytes...).
 */
struct ctl_client *ctl_client_connect(const char *path);

/* Close the connection (which unregisters the ports opened on it). NULL ok. */
void ctl_client_close(struct ctl_client *c);

/* The socket, e.g. to poll for hangup. Still owned by the client. */
int ctl_client_fd(const struct ctl_client *c);

/*
 * What the daemon said when it answered a call with an error (the reply's
 * "error" object), kept apart from the client's own -errno: a daemon that
 * refuses with EPERM is not a local EPERM.
 */
struct ctl_daemon_error {
	int code;		 /* JSON-RPC code: -32602 invalid params, -32000 failed... */
	int err;		 /* the errno it names (positive); EIO when it names none */
	char name[ERR_NAME_LEN]; /* the errno name as sent ("ENOENT"); "" when none */
	char detail[ERR_LEN];	 /* the sentence for a person */
};

/* ctl_client_call's result for an error reply; positive, so never a -errno. */
#define CTL_DAEMON_ERROR 1

/*
 * Call method with params (a JSON object, or NULL for none; the reference is
 * stolen) and wait for the reply.
 *   0: *ret_result holds the result (a new reference); the fds that came with
 *      it are in fds[0..*ret_nfds) and belong to the caller.
 *   CTL_DAEMON_ERROR: the daemon answered with an error, described in
 *      *ret_error; the connection stays usable.
 *   -errno: the call did not get an answer (EPIPE/ECONNRESET: the daemon went
 *      away, EPROTO: the reply was not JSON-RPC, EMSGSIZE: more fds than
 *      max_fds, which are closed; EINVAL, ENOMEM: the request was not sent).
 * ret_error, fds and ret_nfds may be NULL when the caller wants none.
 */
int ctl_client_call(struct ctl_client *c, const char *method, json_t *params, json_t **ret_result,
		    struct ctl_daemon_error *ret_error, int *fds, int max_fds, int *ret_nfds);

/*
 * Read a JSON-RPC error object (a reply's "error") into *ret: the code (0 when
 * it has none), the errno its data names, the detail (else the message, else
 * "unknown error"). Returns ret->err.
 */
int ctl_daemon_error_parse(const json_t *error, struct ctl_daemon_error *ret);

/*
 * A one-line text for a daemon's error: "ENOENT: no port vale0:x" (errno
 * name, then the detail; the detail alone when the reply named no errno),
 * written to buf. Returns e->err.
 */
int ctl_error_text(const struct ctl_daemon_error *e, char *buf, size_t size);

#endif /* VALE_CTL_WIRE_H */
