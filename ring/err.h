/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * err - vale's one error convention: a failing function returns -errno and,
 * when its caller gave it a buffer, a sentence a person can act on.
 *
 * The buffer is always ERR_LEN bytes (char err[ERR_LEN]), in valed, libvale
 * and the tools alike, so a sentence moves from one module to the next
 * without being cut differently at each step; a longer sentence is cut at
 * ERR_LEN - 1 bytes. The errno names (err_name, err_value) are the ones the
 * control protocol carries in an error's "data.errno" (doc/control-protocol.md):
 * one table, read both ways, by valed's server and by the client.
 *
 * Depends on libc only; every function is thread-safe (no state).
 */
#ifndef VALE_RING_ERR_H
#define VALE_RING_ERR_H

#include <stddef.h>

/* Every error sentence fits in ERR_LEN bytes, its '\0' included. */
#define ERR_LEN 256

/* Longest errno name err_name writes: "E" and a number up to 4095, or a name. */
#define ERR_NAME_LEN 16

/*
 * Write the formatted sentence to err (ERR_LEN bytes; NULL: no sentence is
 * wanted) and return -e, so error paths are one line:
 *     return err_set(err, ENOENT, "no port %s", name);
 * errno is left as it was, so "%s", strerror(errno) arguments are safe.
 */
int err_set(char *err, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The symbolic name of errno value e ("ENOENT"); for a value the table does
 * not name, "E<number>" written to buf (ERR_NAME_LEN bytes), which is then
 * what is returned. Never NULL.
 */
const char *err_name(int e, char buf[ERR_NAME_LEN]);

/*
 * The errno value a name stands for: a name of the table (including aliases
 * such as EWOULDBLOCK) or "E<number>" (1..4095). 0 when it names none.
 */
int err_value(const char *name);

#endif /* VALE_RING_ERR_H */
