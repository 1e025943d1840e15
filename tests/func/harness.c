/* SPDX-License-Identifier: BSD-2-Clause */
/* harness: start/stop valed, run valectl, raw socket requests. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "netns.h"

struct valed valed_group;
const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static void fatal(const char *what)
{
	perror(what);
	abort();
}

uint64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		fatal("socket");
	strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	close(fd);
	return -1;
}

void valed_start(struct valed *d, const char *const *extra_args)
{
	valed_start_in(d, NULL, extra_args);
}

void valed_start_in(struct valed *d, const char *netns, const char *const *extra_args)
{
	const char *argv[32] = {VALED_PATH, "-s", NULL};
	int n = 3, fd;
	uint64_t deadline;

	d->exited = false;
	strcpy(d->dir, "/tmp/vale-func-XXXXXX");
	if (!mkdtemp(d->dir))
		fatal("mkdtemp");
	snprintf(d->sock, sizeof(d->sock), "%s/valed.sock", d->dir);
	argv[2] = d->sock;
	for (int i = 0; extra_args && extra_args[i] && n < 30; i++)
		argv[n++] = extra_args[i];
	argv[n] = NULL;
	d->pid = fork();
	if (d->pid < 0)
		fatal("fork");
	if (d->pid == 0) {
		if (netns && netns_enter(netns))
			fatal(netns);
		execv(VALED_PATH, (char *const *)argv);
		_exit(127);
	}
	setenv("VALE_SOCKET", d->sock, 1);
	deadline = ms_now() + 10000;
	while ((fd = connect_to(d->sock)) < 0) {
		if (ms_now() > deadline || !valed_alive(d)) {
			fprintf(stderr, "valed did not come up on %s\n", d->sock);
			abort();
		}
		usleep(10000);
	}
	close(fd);
}

/* The exit code of a wait status, or 128 + the signal. */
static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool valed_alive(struct valed *d)
{
	if (d->exited)
		return false;
	if (waitpid(d->pid, &d->status, WNOHANG) == 0)
		return true;
	d->exited = true; /* reaped: valed_stop cannot wait for it again */
	fprintf(stderr, "valed %d is gone: exit code %d\n", (int)d->pid, exit_code(d->status));
	return false;
}

int valed_stop(struct valed *d)
{
	if (!d->exited) {
		kill(d->pid, SIGTERM);
		if (waitpid(d->pid, &d->status, 0) < 0)
			return -1;
		d->exited = true;
	}
	unlink(d->sock);
	rmdir(d->dir);
	return exit_code(d->status);
}

int valed_group_setup(void **state)
{
	(void)state;
	valed_start(&valed_group, NULL);
	return 0;
}

int valed_group_teardown(void **state)
{
	(void)state;
	assert_int_equal(valed_stop(&valed_group), 0);
	return 0;
}

int valectl(const struct valed *d, char *out, size_t size, ...)
{
	const char *argv[32] = {VALECTL_PATH, "--socket", d->sock};
	int n = 3, pipefd[2], status;
	size_t got = 0;
	ssize_t r;
	va_list ap;
	pid_t pid;

	va_start(ap, size);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	if (pipe(pipefd))
		fatal("pipe");
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		execv(VALECTL_PATH, (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		char tmp[4096];
		r = read(pipefd[0], tmp, sizeof(tmp));
		if (r <= 0)
			break;
		for (ssize_t i = 0; out && i < r && got + 1 < size; i++)
			out[got++] = tmp[i];
	}
	close(pipefd[0]);
	if (out)
		out[got] = '\0';
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

ssize_t raw_request(const struct valed *d, const char *bytes, size_t len, char *out, size_t size)
{
	int fd = connect_to(d->sock);
	size_t got = 0;

	if (fd < 0)
		fatal("connect");
	for (size_t off = 0; off < len;) {
		ssize_t w = send(fd, bytes + off, len - off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EPIPE || errno == ECONNRESET)
				break; /* it closed on us, as it may for an oversized line */
			fatal("send");
		}
		off += (size_t)w;
	}
	while (got < size - 1) {
		ssize_t r = read(fd, out + got, 1);
		if (r <= 0 || out[got] == '\n')
			break;
		got++;
	}
	out[got] = '\0';
	close(fd);
	return (ssize_t)got;
}

bool listed(const struct valed *d, const char *text)
{
	char out[16384];

	assert_int_equal(valectl(d, out, sizeof(out), "list", NULL), 0);
	return strstr(out, text) != NULL;
}

bool eventually_listed(const struct valed *d, const char *text, bool want, int ms)
{
	uint64_t deadline = ms_now() + (uint64_t)ms;

	while (listed(d, text) != want) {
		if (ms_now() > deadline)
			return false;
		usleep(20000);
	}
	return true;
}

long proc_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *e;
	long n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	assert_non_null(dir);
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

long proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	assert_true(kb > 0);
	return kb;
}
