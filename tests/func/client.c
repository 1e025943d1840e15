/* SPDX-License-Identifier: BSD-2-Clause */
/* client: libvale helpers of the functional tests: open, send, receive. */
#include "client.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"
#include "harness.h"

struct vale_port *open_port(const char *name, const struct vale_open_params *p)
{
	struct vale_port *v = vale_open(name, p);

	if (!v)
		fprintf(stderr, "vale_open %s: %s (%s)\n", name, strerror(errno),
			vale_last_error());
	assert_non_null(v);
	return v;
}

bool send_frame(struct vale_port *v, const uint8_t *f, uint32_t len, int timeout_ms)
{
	return send_frame_idx(v, f, len, timeout_ms, NULL);
}

bool send_frame_idx(struct vale_port *v, const uint8_t *f, uint32_t len, int timeout_ms,
		    uint32_t *ret_idx)
{
	struct netmap_ring *r = NETMAP_TXRING(vale_nifp(v), 0);
	uint64_t deadline = ms_now() + (uint64_t)timeout_ms;

	while (nm_ring_space(r) == 0) {
		struct pollfd pfd = {.fd = vale_fd(v), .events = POLLOUT};
		if (ms_now() > deadline)
			return false;
		vale_poll(v, &pfd, 1, 50);
	}
	struct netmap_slot *slot = &r->slot[r->cur];
	memcpy(NETMAP_BUF(r, slot->buf_idx), f, len);
	slot->len = (uint16_t)len;
	slot->flags = 0;
	if (ret_idx)
		*ret_idx = slot->buf_idx;
	r->head = r->cur = nm_ring_next(r, r->cur);
	return vale_txsync(v) == 0;
}

uint32_t recv_frame(struct vale_port *v, uint8_t *out, uint16_t *ret_flags, int timeout_ms)
{
	struct netmap_slot slot;
	uint32_t len = recv_frame_slot(v, out, &slot, timeout_ms);

	if (len && ret_flags)
		*ret_flags = slot.flags;
	return len;
}

uint32_t recv_frame_slot(struct vale_port *v, uint8_t *out, struct netmap_slot *ret_slot,
			 int timeout_ms)
{
	uint64_t deadline = ms_now() + (uint64_t)timeout_ms;

	for (;;) {
		for (uint32_t i = vale_first_rx_ring(v); i < vale_last_rx_ring(v); i++) {
			struct netmap_ring *r = NETMAP_RXRING(vale_nifp(v), i);
			if (nm_ring_empty(r))
				continue;
			struct netmap_slot *slot = &r->slot[r->cur];
			uint32_t len = slot->len;
			memcpy(out, NETMAP_BUF(r, slot->buf_idx), len);
			*ret_slot = *slot;
			r->head = r->cur = nm_ring_next(r, r->cur);
			vale_rxsync(v);
			return len;
		}
		int64_t left = (int64_t)(deadline - ms_now());
		if (left <= 0)
			return 0;
		struct pollfd pfd = {.fd = vale_fd(v), .events = POLLIN};
		vale_poll(v, &pfd, 1, left < 20 ? (int)left : 20);
	}
}

/* The child of expect_sequence: exit 0, 10 if the open failed, 11 if a send
 * timed out. Dies with its parent. */
static void __attribute__((noreturn))
sender_child(const char *name, const struct vale_open_params *p, uint8_t src, uint32_t count)
{
	struct vale_port *v = vale_open(name, p);
	uint8_t f[64];
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */

	if (!v)
		_exit(10);
	for (uint32_t seq = 0; seq < count; seq++) {
		frame_make(f, 60, BCAST, src, seq);
		if (!send_frame(v, f, 60, 5000))
			_exit(11);
	}
	/* Wait until the switch took everything, then close. */
	struct netmap_ring *r = NETMAP_TXRING(vale_nifp(v), 0);
	for (uint64_t end = ms_now() + 5000; nm_tx_pending(r) && ms_now() < end;) {
		struct pollfd pfd = {.fd = vale_fd(v), .events = POLLOUT};
		vale_poll(v, &pfd, 1, 50);
		vale_txsync(v);
	}
	vale_close(v);
	_exit(0);
}

void expect_sequence(struct vale_port *rx, const char *tx_name, const struct vale_open_params *p,
		     uint32_t count)
{
	uint8_t f[2048], src;
	uint32_t seq, next = 0;
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		sender_child(tx_name, p, 1, count);
	while (next < count) {
		uint32_t len = recv_frame(rx, f, NULL, 5000);
		assert_int_equal(len, 60);
		frame_fields(f, &src, &seq);
		assert_int_equal(src, 1);
		assert_int_equal(seq, next);
		next++;
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Nothing more. */
	assert_int_equal(recv_frame(rx, f, NULL, 100), 0);
}
