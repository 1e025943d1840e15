/* SPDX-License-Identifier: BSD-2-Clause */
/* hostile: control calls, /proc probes, pktgen floods and churn for the hostile suite. */
#include "hostile.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client.h"
#include "frame.h"

#define REPLY_MAX (1 << 20)

void child_init(void)
{
	static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS};

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], SIG_DFL);
}

uint32_t rnd(unsigned int *seed, uint32_t n)
{
	return n ? (uint32_t)rand_r(seed) % n : 0;
}

/* The result of method, or NULL if the reply is an error: then ret_errno
 * gets its errno name ("" when the reply is no JSON-RPC error at all). */
static json_t *rpc_call(const struct valed *d, const char *method, const char *params,
			char *ret_errno, size_t size)
{
	char *req = malloc(strlen(method) + (params ? strlen(params) : 0) + 128);
	char *reply = malloc(REPLY_MAX);
	json_t *msg, *result = NULL;
	json_error_t jerr;
	int n;

	assert_non_null(req);
	assert_non_null(reply);
	n = sprintf(req, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"%s%s}\n", method,
		    params ? ",\"params\":" : "", params ? params : "");
	assert_true(raw_request(d, req, (size_t)n, reply, REPLY_MAX) > 0);
	msg = json_loads(reply, 0, &jerr);
	if (!msg)
		fprintf(stderr, "%s: not JSON (%s): %.200s\n", method, jerr.text, reply);
	assert_non_null(msg);
	if (ret_errno && size)
		ret_errno[0] = '\0';
	if (json_object_get(msg, "result")) {
		result = json_incref(json_object_get(msg, "result"));
	} else if (ret_errno && size) {
		const char *e = json_string_value(json_object_get(
		    json_object_get(json_object_get(msg, "error"), "data"), "errno"));
		snprintf(ret_errno, size, "%s", e ? e : "");
	}
	json_decref(msg);
	free(reply);
	free(req);
	return result;
}

json_t *rpc_ok(const struct valed *d, const char *method, const char *params)
{
	char err[32];
	json_t *r = rpc_call(d, method, params, err, sizeof(err));

	if (!r)
		fprintf(stderr, "%s %s: %s\n", method, params ? params : "", err);
	assert_non_null(r);
	return r;
}

uint64_t port_counter(const struct valed *d, const char *name, const char *field)
{
	char params[128];
	json_t *r, *port, *rings, *ring;
	uint64_t v = 0;
	size_t i;

	snprintf(params, sizeof(params), "{\"name\":\"%s\"}", name);
	r = rpc_ok(d, "stats.get", params);
	port = json_array_get(json_object_get(r, "ports"), 0);
	assert_non_null(port);
	if (strcmp(field, "bad_slots") == 0 || strcmp(field, "drops") == 0) {
		rings = json_object_get(port, "rings");
		json_array_foreach(rings, i, ring)
		{
			v += (uint64_t)json_integer_value(json_object_get(ring, field));
		}
	} else {
		assert_true(json_is_integer(json_object_get(port, field)));
		v = (uint64_t)json_integer_value(json_object_get(port, field));
	}
	json_decref(r);
	return v;
}

void port_hdr_set(const struct valed *d, const char *name, unsigned int len)
{
	char params[128];

	snprintf(params, sizeof(params), "{\"name\":\"%s\",\"len\":%u}", name, len);
	json_decref(rpc_ok(d, "port.hdr.set", params));
}

void port_create(const struct valed *d, const char *name, const char *geometry)
{
	char params[512];

	snprintf(params, sizeof(params), "{\"name\":\"%s\"%s%s}", name, *geometry ? "," : "",
		 geometry);
	json_decref(rpc_ok(d, "vale.newif", params));
}

void port_delete(const struct valed *d, const char *name)
{
	char params[128];

	snprintf(params, sizeof(params), "{\"name\":\"%s\"}", name);
	json_decref(rpc_ok(d, "vale.delif", params));
}

unsigned int switch_ports(const struct valed *d, const char *sw, char *out, size_t size)
{
	json_t *r = rpc_ok(d, "vale.list", NULL), *s, *p;
	unsigned int n = 0;
	size_t i, j, used = 0;

	out[0] = '\0';
	json_array_foreach(json_object_get(r, "switches"), i, s)
	{
		if (strcmp(json_string_value(json_object_get(s, "name")), sw) != 0)
			continue;
		json_array_foreach(json_object_get(s, "ports"), j, p)
		{
			const char *name = json_string_value(json_object_get(p, "port"));
			int w = snprintf(out + used, size - used, "%s%s", n ? " " : "", name);
			if (w > 0 && (size_t)w < size - used)
				used += (size_t)w;
			n++;
		}
	}
	json_decref(r);
	return n;
}

uint16_t shared_mem_id(const struct valed *d)
{
	json_t *r = rpc_ok(d, "daemon.status", NULL);
	json_int_t id = json_integer_value(json_object_get(r, "shared_mem_id"));

	json_decref(r);
	assert_true(id > 0 && id <= UINT16_MAX);
	return (uint16_t)id;
}

/* ---- vale-pktgen ------------------------------------------------------- */

/* The read end of each running pktgen's stdout, by pid. */
#define PKTGEN_MAX 8
static struct {
	pid_t pid;
	int out;
} pktgens[PKTGEN_MAX];

pid_t pktgen_start(const struct valed *d, const char *const *args)
{
	const char *argv[32] = {PKTGEN_PATH, "--socket", d->sock, "--json"};
	int n = 4, fds[2], slot = -1;
	pid_t pid;

	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	for (int i = 0; i < PKTGEN_MAX && slot < 0; i++)
		if (pktgens[i].pid == 0)
			slot = i;
	assert_true(slot >= 0);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
		/* Until pktgen installs its handler a SIGTERM is ignored, not
		 * fatal: pktgen_stop repeats it, and the totals get printed. */
		signal(SIGTERM, SIG_IGN);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(PKTGEN_PATH, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	pktgens[slot].pid = pid;
	pktgens[slot].out = fds[0];
	return pid;
}

uint64_t pktgen_stop(pid_t pid)
{
	char out[8192], *at;
	size_t got = 0;
	int status = 0, fd = -1;
	ssize_t r;

	for (int i = 0; i < PKTGEN_MAX; i++)
		if (pktgens[i].pid == pid) {
			fd = pktgens[i].out;
			pktgens[i].pid = 0;
		}
	assert_true(fd >= 0);
	for (int tries = 0; waitpid(pid, &status, WNOHANG) == 0; tries++) {
		if (tries == 100) { /* 10 s: it hangs; the assertion below fails */
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		kill(pid, SIGTERM);
		usleep(100000);
	}
	while (got + 1 < sizeof(out) && (r = read(fd, out + got, sizeof(out) - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = '\0';
	close(fd);
	at = strstr(out, "\"packets\":");
	if (!at)
		fprintf(stderr, "vale-pktgen %d printed no totals (status %#x): %s\n", (int)pid,
			status, out);
	assert_non_null(at);
	return strtoull(at + strlen("\"packets\":"), NULL, 10);
}

/* ---- senders and churn ------------------------------------------------- */

pid_t sender_start(const char *name, uint8_t src)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct vale_port *v;
		uint8_t f[64];

		child_init();
		v = vale_open(name, NULL);
		if (!v)
			_exit(10);
		for (uint32_t seq = 0;; seq++) {
			frame_make(f, 60, BCAST, src, seq);
			send_frame(v, f, 60, 100);
		}
	}
	return pid;
}

bool send_chain(struct vale_port *v, const uint8_t *f, uint32_t len, int timeout_ms)
{
	struct netmap_ring *r = NETMAP_TXRING(vale_nifp(v), vale_first_tx_ring(v));
	uint32_t most = r->nr_buf_size < 65535 ? r->nr_buf_size : 65535;
	uint32_t need = (len + most - 1) / most, off = 0;
	uint64_t deadline = ms_now() + (uint64_t)timeout_ms;

	while (nm_ring_space(r) < need) {
		struct pollfd pfd = {.fd = vale_fd(v), .events = POLLOUT};
		if (ms_now() > deadline)
			return false;
		vale_poll(v, &pfd, 1, 20);
	}
	for (uint32_t i = 0; i < need; i++) {
		struct netmap_slot *slot = &r->slot[r->cur];
		uint32_t n = len - off < most ? len - off : most;

		memcpy(NETMAP_BUF(r, slot->buf_idx), f + off, n);
		slot->len = (uint16_t)n;
		slot->flags = i + 1 < need ? NS_MOREFRAG : 0;
		off += n;
		r->head = r->cur = nm_ring_next(r, r->cur);
	}
	return vale_txsync(v) == 0;
}

static uint64_t us_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

#define CHURN_MAX_PARALLEL 16

unsigned int churn(struct valed *d, const char *sw, const char *prefix, unsigned int first_n,
		   unsigned int cycles, unsigned int parallel, unsigned int max_life_us,
		   unsigned int *seed)
{
	struct {
		pid_t pid;
		uint64_t die_at;
	} kids[CHURN_MAX_PARALLEL] = {{0}};
	unsigned int started = 0, reaped = 0, n = first_n;
	char name[64];

	assert_true(parallel >= 1 && parallel <= CHURN_MAX_PARALLEL);
	while (reaped < cycles) {
		uint64_t now = us_now();

		for (unsigned int i = 0; i < parallel; i++) {
			if (kids[i].pid && now >= kids[i].die_at) {
				kill(kids[i].pid, SIGKILL);
				assert_int_equal(waitpid(kids[i].pid, NULL, 0), kids[i].pid);
				kids[i].pid = 0;
				reaped++;
			}
			if (!kids[i].pid && started < cycles) {
				snprintf(name, sizeof(name), "%s:%s%u", sw, prefix, n++);
				kids[i].pid = sender_start(name, (uint8_t)(0x40 + i));
				kids[i].die_at = now + rnd(seed, max_life_us);
				started++;
			}
		}
		if (!valed_alive(d)) {
			fprintf(stderr, "valed died after %u churn cycles\n", reaped);
			fail();
		}
		usleep(50);
	}
	return n;
}

void probe_forwarding(const char *sw)
{
	char a_name[64], b_name[64];
	struct vale_port *a, *b;
	uint8_t f[2048], want[64], src;
	uint32_t seq, len;
	bool got = false;

	snprintf(a_name, sizeof(a_name), "%s:probe_a", sw);
	snprintf(b_name, sizeof(b_name), "%s:probe_b", sw);
	a = open_port(a_name, NULL);
	b = open_port(b_name, NULL);
	/* Other traffic may fill b's ring and drop a probe: send again until
	 * one arrives, skipping what else comes. */
	for (uint32_t try = 0; try < 20 && !got; try++) {
		frame_make(want, 60, BCAST, 0x7e, try);
		assert_true(send_frame(a, want, 60, 2000));
		for (int i = 0; i < 4096 && !got && (len = recv_frame(b, f, NULL, 500)) > 0; i++) {
			frame_fields(f, &src, &seq);
			got = len == 60 && src == 0x7e && memcmp(f, want, 60) == 0;
		}
	}
	assert_true(got);
	vale_close(a);
	vale_close(b);
}
