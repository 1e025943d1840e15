/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * netns - shell commands and network namespaces for the tests that set up
 * veths, taps and namespaces with ip(8): run a command formatted
 * printf-style, and move the calling thread into a named namespace.
 * Test-only code; nothing here is linked into valed or libvale.
 */
#ifndef VALE_TESTS_NETNS_H
#define VALE_TESTS_NETNS_H

/* Run a shell command built printf-style (truncated to 1023 bytes) with
 * system(3). Returns the shell's exit code, or -1 when it could not be run
 * or did not exit normally (killed by a signal). */
int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* sh() with the command's stdout and stderr sent to /dev/null; fmt must be
 * a string literal (the redirection is pasted onto it). */
#define sh_quiet(fmt, ...) sh(fmt " >/dev/null 2>&1", ##__VA_ARGS__)

/* Move the calling thread into network namespace name (/run/netns/NAME).
 * Returns 0, or -errno (errno left set) when it cannot be opened or joined. */
int netns_enter(const char *name);

#endif /* VALE_TESTS_NETNS_H */
