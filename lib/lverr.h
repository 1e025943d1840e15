/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lverr - libvale's per-thread error sentence (vale_last_error).
 *
 * Every failing libvale call sets errno and, through lverr_set(), a sentence
 * a person can act on; the sentence survives until the next failure of the
 * same thread. Nothing here prints: the application decides what to show.
 */
#ifndef VALE_LIB_LVERR_H
#define VALE_LIB_LVERR_H

/*
 * Set errno to err (positive) and this thread's error sentence to the
 * formatted text. Returns -1, so callers can `return lverr_set(...)`.
 * errno is restored after formatting, so "%s", strerror(x) args are safe.
 */
int lverr_set(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The same for a failure valed reported (its JSON-RPC code, negative, for
 * vale_last_error_code()); lverr_set() records a local failure (code 0). */
int lverr_set_daemon(int code, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* VALE_LIB_LVERR_H */
