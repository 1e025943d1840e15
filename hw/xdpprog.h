/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xdpprog - the XDP program that steers an interface's queues to our AF_XDP
 * sockets (xsk.c), one per interface of one network namespace, shared by
 * the sockets on its queues: loaded and attached (a BPF link) by the first,
 * detached by the last. Why our own six-instruction program and a link,
 * and what that gives up: xsk.h, "The XDP program".
 *
 * libxdp's and libbpf's messages. Both libraries print to stderr unless told
 * otherwise; between xdp_lib_lock and xdp_lib_unlock their warnings go to a
 * per-thread buffer instead, and xdp_lib_unlock appends them to the caller's
 * error sentence when there is one, so a failure quotes what the library
 * (often the kernel) said.
 *
 * Errors: ring/err.h's convention (-errno, a sentence in an ERR_LEN buffer).
 *
 * Threads: xdpprog_get and xdpprog_put only between xdp_lib_lock and
 * xdp_lib_unlock (one mutex serialises every open and close); the accessors
 * from any thread while the reference is held.
 */
#ifndef VALE_HW_XDPPROG_H
#define VALE_HW_XDPPROG_H

#include <stdbool.h>

#include "err.h"
#include "xsk.h" /* struct xsk_params: the interface, queue and modes asked for */

struct xdpprog;

/* Take the lock of every open and close and start capturing the libraries'
 * messages (the buffer starts empty). */
void xdp_lib_lock(void);
/* Stop capturing and release the lock. When err (ERR_LEN) holds a sentence,
 * the captured messages are appended to it, in parentheses. NULL: dropped. */
void xdp_lib_unlock(char *err);

/*
 * A reference to the program steering q's interface (in the calling thread's
 * network namespace) to our sockets: the one its sockets already share, if
 * q's modes agree with it (else EEXIST or EOPNOTSUPP), or a new one, loaded
 * and attached in the mode q asks. An interface running any other XDP
 * program is refused (EEXIST), a queue beyond its XSKMAP too (EINVAL).
 * 0 or -errno with err set.
 */
int xdpprog_get(const struct xsk_params *q, struct xdpprog **ret_prog, char *err);
/* Drop a reference; the last one detaches the program. */
void xdpprog_put(struct xdpprog *p);

/* The XSKMAP a socket goes into, at its queue's index. */
int xdpprog_map_fd(const struct xdpprog *p);
/* Whether the program runs in drv (native) mode, else skb. */
bool xdpprog_drv(const struct xdpprog *p);

/*
 * Set err for an AF_XDP step `what` (e.g. "loading the XDP program") on q's
 * queue that failed with rc (-errno): the causes a person can act on
 * (capabilities, RLIMIT_MEMLOCK, a busy queue) by name. Returns rc.
 */
int xdp_describe(char *err, const struct xsk_params *q, int rc, const char *what);

#endif /* VALE_HW_XDPPROG_H */
