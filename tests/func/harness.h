/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * harness - what the functional tests share: start and stop a real valed on
 * a private socket (or one valed per cmocka group), run valectl, and talk
 * raw JSON to the socket. Paths to the binaries come from CMake (VALED_PATH,
 * VALECTL_PATH). Test frames are in tests/support/frame.h, shell commands
 * and namespaces in tests/support/netns.h.
 */
#ifndef VALE_TESTS_HARNESS_H
#define VALE_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct valed {
	pid_t pid;
	char sock[108];
	char dir[64];
	int status; /* its wait status, once valed_alive found it gone */
	bool exited;
};

/* Start valed (extra args, NULL-terminated) on a fresh socket in a temp dir,
 * wait until it answers, and export VALE_SOCKET for the test's clients. */
void valed_start(struct valed *d, const char *const *extra_args);
/* The same, with valed running in network namespace netns (/run/netns/NAME). */
void valed_start_in(struct valed *d, const char *netns, const char *const *extra_args);
/* SIGTERM, wait; returns its exit status (0 expected), or 128 + the signal
 * that killed it (a sanitizer report makes valed exit non-zero). */
int valed_stop(struct valed *d);
/* True while the process is alive; once it is not, its status is kept for
 * valed_stop and told on stderr. */
bool valed_alive(struct valed *d);

/* The valed of a cmocka test group: valed_group_setup starts it with no
 * extra args, valed_group_teardown stops it and asserts exit status 0. */
extern struct valed valed_group;
int valed_group_setup(void **state);
int valed_group_teardown(void **state);

/* Run valectl with args (NULL-terminated) against d; returns its exit code
 * and, if out is given, its stdout (NUL-terminated, truncated to size). */
int valectl(const struct valed *d, char *out, size_t size, ...);

/* Send raw bytes on a new connection and read one reply line into out.
 * Returns the reply length, 0 if the daemon closed the connection. */
ssize_t raw_request(const struct valed *d, const char *bytes, size_t len, char *out,
		    size_t size);

/* Whether `valectl list` on d mentions text (asserts valectl succeeds). */
bool listed(const struct valed *d, const char *text);
/* Wait up to ms for listed(d, text) to become want; false on timeout. */
bool eventually_listed(const struct valed *d, const char *text, bool want, int ms);

/* The broadcast MAC. */
extern const uint8_t BCAST[6];

/* A process's open fds (/proc/PID/fd entries) and resident memory (VmRSS,
 * kB); both assert that /proc answers. */
long proc_fd_count(pid_t pid);
long proc_rss_kb(pid_t pid);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t ms_now(void);

#endif /* VALE_TESTS_HARNESS_H */
