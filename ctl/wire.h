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

#include <jansson.h>

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
 * Call method with params (a JSON object, or NULL for none; the reference is
 * stolen) and wait for the reply.
 *   0: *ret_result holds the result (a new reference); the fds that came with
 *      it are in fds[0..*ret_nfds) and belong to the caller.
 *   -1: the daemon answered with an error: *ret_error holds the error object
 *      (a new reference; see ctl_error_text).
 *   -errno: transport failure (EPIPE/ECONNRESET: the daemon went away,
 *      EPROTO: the reply was not JSON-RPC, EMSGSIZE: more fds than max_fds,
 *      which are closed).
 * ret_error, fds and ret_nfds may be NULL when the caller wants none.
 */
int ctl_client_call(struct ctl_client *c, const char *method, json_t *params, json_t **ret_result,
		    json_t **ret_error, int *fds, int max_fds, int *ret_nfds);

/*
 * A one-line text for an error object: "ENOENT: no port vale0:x" (errno name,
 * then the detail), written to buf. Returns the errno value (positive) it
 * names, or EIO when it names none.
 */
int ctl_error_text(const json_t *error, char *buf, size_t size);

#endif /* VALE_CTL_WIRE_H */
