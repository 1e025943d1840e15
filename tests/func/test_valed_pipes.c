/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Test objective: netmap pipes served by valed, through libvale, as netmap's
 * own pipe tests exercise them: both ends share one region (same mem_id);
 * every packet sent into one end comes out of the other, in order, across
 * processes; a reader that releases fewer slots than it got sees the rest
 * next time; "/x" makes an end exclusive; one end closes and reopens while
 * the pipe lives on; extra buffers of an end are distinct and valid; the
 * pipe is listed with type "pipe" and goes when both ends are closed.
 *
 *     process A                     valed                    process B
 *   [vale0:p{1] --TX--> (swap buf_idx, one region) --RX--> [vale0:p}1]
 *               <--RX--                            <--TX--
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <vale/vale.h>

#include "client.h"
#include "frame.h"
#include "harness.h"

/* Wait up to timeout_ms for RX ring 0 to hold at least want slots; returns
 * how many it holds. */
static uint32_t rx_wait(struct vale_port *v, uint32_t want, int timeout_ms)
{
	struct netmap_ring *r = NETMAP_RXRING(vale_nifp(v), 0);
	uint64_t deadline = ms_now() + (uint64_t)timeout_ms;

	while (nm_ring_space(r) < want && ms_now() < deadline) {
		struct pollfd pfd = {.fd = vale_fd(v), .events = POLLIN};
		vale_poll(v, &pfd, 1, 50);
	}
	return nm_ring_space(r);
}

/* Take the frame at RX cur (copied to out), optionally releasing it. */
static uint32_t take_frame(struct vale_port *v, uint8_t *out, bool release)
{
	struct netmap_ring *r = NETMAP_RXRING(vale_nifp(v), 0);
	struct netmap_slot *slot = &r->slot[r->cur];
	uint32_t len = slot->len;

	memcpy(out, NETMAP_BUF(r, slot->buf_idx), len);
	r->cur = nm_ring_next(r, r->cur);
	if (release)
		r->head = r->cur;
	return len;
}

/* ---- one region, zero copy ------------------------------------------------ */

static void test_same_region(void **state)
{
	struct vale_port *a = open_port("vale0:m{1", NULL), *b = open_port("vale0:m}1", NULL);
	struct vale_port *c = open_port("vale0:m{2", NULL);
	char out[8192];
	(void)state;

	assert_int_equal(vale_mem_id(a), vale_mem_id(b));
	assert_int_not_equal(vale_mem_id(a), vale_mem_id(c)); /* another pipe */
	assert_string_equal(vale_nifp(a)->ni_name, "vale0:m{1");
	assert_string_equal(vale_nifp(b)->ni_name, "vale0:m}1");
	/* The buffer b reads is the one a wrote: same index, same region. */
	uint8_t f[64], g[64];
	frame_make(f, 60, BCAST, 1, 7);
	struct netmap_ring *tx = NETMAP_TXRING(vale_nifp(a), 0);
	uint32_t idx = tx->slot[tx->cur].buf_idx;
	assert_true(send_frame(a, f, 60, 1000));
	assert_int_equal(rx_wait(b, 1, 2000), 1);
	struct netmap_ring *rx = NETMAP_RXRING(vale_nifp(b), 0);
	assert_int_equal(rx->slot[rx->cur].buf_idx, idx);
	assert_true(rx->slot[rx->cur].flags & NS_BUF_CHANGED);
	assert_int_equal(take_frame(b, g, true), 60);
	assert_memory_equal(f, g, 60);
	vale_rxsync(b);
	/* Listed, with type "pipe", and its peer. */
	assert_int_equal(valectl(&valed_group, out, sizeof(out), "--json", "list", NULL), 0);
	assert_non_null(strstr(out, "\"pipe\""));
	assert_non_null(strstr(out, "vale0:m}1"));
	/* A plain X works too. */
	struct vale_port *p = open_port("foo{3", NULL);
	assert_true(listed(&valed_group, "foo{3"));
	vale_close(p);
	vale_close(c);
	vale_close(a);
	assert_true(listed(&valed_group, "vale0:m{1")); /* b still holds the pipe */
	vale_close(b);
	usleep(100000);
	assert_false(listed(&valed_group, "vale0:m{1"));
	assert_false(listed(&valed_group, "foo{3"));
}

/* ---- every packet, in order, across processes ----------------------------- */

#define SEQ_PACKETS 300000

static void test_every_packet_in_order(void **state)
{
	struct vale_port *b = open_port("vale0:s}1", NULL);
	(void)state;

	expect_sequence(b, "vale0:s{1", NULL, SEQ_PACKETS);
	vale_close(b);
}

/* ---- partial read ---------------------------------------------------------- */

static void test_partial_read(void **state)
{
	struct vale_port *a = open_port("vale0:r{1", NULL), *b = open_port("vale0:r}1", NULL);
	uint8_t f[64], g[64], src;
	uint32_t seq;
	(void)state;

	for (uint32_t i = 0; i < 10; i++) {
		frame_make(f, 60, BCAST, 1, i);
		assert_true(send_frame(a, f, 60, 1000));
	}
	assert_int_equal(rx_wait(b, 10, 2000), 10);
	/* Read all ten, release only four. */
	struct netmap_ring *rx = NETMAP_RXRING(vale_nifp(b), 0);
	for (uint32_t i = 0; i < 10; i++)
		take_frame(b, g, false);
	rx->head = (rx->head + 4) % rx->num_slots;
	rx->cur = rx->head;
	vale_rxsync(b);
	assert_int_equal(rx_wait(b, 6, 100), 6);
	for (uint32_t i = 4; i < 10; i++) {
		assert_int_equal(recv_frame(b, g, NULL, 100), 60);
		frame_fields(g, &src, &seq);
		assert_int_equal(seq, i);
	}
	vale_close(a);
	vale_close(b);
}

/* ---- exclusive ends, close and reopen ------------------------------------- */

static void test_exclusive(void **state)
{
	struct vale_port *x = open_port("vale0:x{1/x", NULL), *y;
	(void)state;

	y = vale_open("vale0:x{1", NULL);
	assert_null(y);
	assert_int_equal(errno, EBUSY);
	/* The other end is another port: it opens. */
	y = open_port("vale0:x}1/x", NULL);
	vale_close(y);
	vale_close(x);
	x = open_port("vale0:x{1", NULL);
	y = vale_open("vale0:x{1/x", NULL);
	assert_null(y);
	assert_int_equal(errno, EBUSY);
	vale_close(x);
}

static void test_close_reopen(void **state)
{
	struct vale_port *a = open_port("vale0:c{1", NULL), *b = open_port("vale0:c}1", NULL);
	uint8_t f[64], g[64], src;
	uint32_t seq;
	uint16_t mem = vale_mem_id(a);
	(void)state;

	frame_make(f, 60, BCAST, 1, 1);
	assert_true(send_frame(a, f, 60, 1000));
	assert_int_equal(recv_frame(b, g, NULL, 2000), 60);
	/* b goes; what a sends meanwhile waits in b's ring for the next b. */
	vale_close(b);
	frame_make(f, 60, BCAST, 1, 2);
	assert_true(send_frame(a, f, 60, 1000));
	usleep(50000);
	b = open_port("vale0:c}1", NULL);
	assert_int_equal(vale_mem_id(b), mem); /* the same pipe */
	assert_int_equal(recv_frame(b, g, NULL, 2000), 60);
	frame_fields(g, &src, &seq);
	assert_int_equal(seq, 2);
	/* And the other way. */
	frame_make(f, 60, BCAST, 2, 3);
	assert_true(send_frame(b, f, 60, 1000));
	assert_int_equal(recv_frame(a, g, NULL, 2000), 60);
	frame_fields(g, &src, &seq);
	assert_int_equal(seq, 3);
	vale_close(a);
	vale_close(b);
}

/* ---- extra buffers ---------------------------------------------------------- */

static void test_extra_bufs(void **state)
{
	struct vale_open_params o = {.extra_bufs = 20};
	struct vale_port *a = open_port("vale0:e{1", &o);
	struct netmap_if *nifp = vale_nifp(a);
	struct netmap_ring *r = NETMAP_TXRING(nifp, 0);
	uint32_t seen[20], n = 0;
	(void)state;

	for (uint32_t idx = nifp->ni_bufs_head; idx; n++) {
		assert_true(n < 20);
		assert_true(idx >= 2);
		for (uint32_t i = 0; i < n; i++)
			assert_int_not_equal(seen[i], idx);
		/* Not a ring buffer either. */
		for (uint32_t j = 0; j < r->num_slots; j++)
			assert_int_not_equal(r->slot[j].buf_idx, idx);
		seen[n] = idx;
		idx = *(uint32_t *)NETMAP_BUF(r, idx);
	}
	assert_int_equal(n, 20);
	vale_close(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_region),  cmocka_unit_test(test_every_packet_in_order),
		cmocka_unit_test(test_partial_read), cmocka_unit_test(test_exclusive),
		cmocka_unit_test(test_close_reopen), cmocka_unit_test(test_extra_bufs),
	};
	signal(SIGPIPE, SIG_IGN);
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, valed_group_setup, valed_group_teardown);
}
