/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Test objective: valed with real client processes through libvale. Every
 * packet sent below the switch's rate arrives; after learning, unicast
 * reaches only its port and broadcast all; a persistent port outlives its
 * client and an ephemeral one goes with it; "/x" refuses a second open; a
 * client killed with SIGKILL mid-stream frees its port while valed and the
 * other ports go on; a client scribbling over its ring gets it reinitialised
 * and the others see no error.
 *
 *     process A                 valed                 process B
 *   [vale0:a] --TX--> [ vale0 learning bridge ] --RX--> [vale0:b]
 *                              |  \
 *                          [vale0:c] (other ports, other processes)
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
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <vale/netmap_user.h>
#include <vale/vale.h>

#include "harness.h"

static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static struct valed daemon_;

static int setup(void **state)
{
	(void)state;
	valed_start(&daemon_, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(valed_stop(&daemon_), 0);
	return 0;
}

static struct vale_port *open_port(const char *name, bool lossless)
{
	struct vale_open_params p = {.lossless = lossless};
	struct vale_port *v = vale_open(name, &p);

	if (!v)
		fprintf(stderr, "vale_open %s: %s (%s)\n", name, strerror(errno),
			vale_last_error());
	assert_non_null(v);
	return v;
}

/* Queue one frame on TX ring 0, waiting up to timeout_ms for room; sync. */
static bool send_frame(struct vale_port *v, const uint8_t *f, uint32_t len, int timeout_ms)
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
	r->head = r->cur = nm_ring_next(r, r->cur);
	return vale_txsync(v) == 0;
}

/* Receive one frame from RX ring 0 within timeout_ms; 0 if none. */
static uint32_t recv_frame(struct vale_port *v, uint8_t *out, int timeout_ms)
{
	struct netmap_ring *r = NETMAP_RXRING(vale_nifp(v), 0);
	uint64_t deadline = ms_now() + (uint64_t)timeout_ms;

	for (;;) {
		if (!nm_ring_empty(r)) {
			struct netmap_slot *slot = &r->slot[r->cur];
			uint32_t len = slot->len;
			memcpy(out, NETMAP_BUF(r, slot->buf_idx), len);
			r->head = r->cur = nm_ring_next(r, r->cur);
			vale_rxsync(v);
			return len;
		}
		int left = (int)(deadline - ms_now());
		if ((int64_t)(deadline - ms_now()) <= 0)
			return 0;
		struct pollfd pfd = {.fd = vale_fd(v), .events = POLLIN};
		vale_poll(v, &pfd, 1, left < 50 ? left : 50);
	}
}

static bool listed(const char *name)
{
	char out[8192];
	assert_int_equal(valectl(&daemon_, out, sizeof(out), "list", NULL), 0);
	return strstr(out, name) != NULL;
}

/* Wait up to ms for a port to (dis)appear from the list. */
static bool eventually_listed(const char *name, bool want, int ms)
{
	uint64_t deadline = ms_now() + (uint64_t)ms;
	while (listed(name) != want) {
		if (ms_now() > deadline)
			return false;
		usleep(20000);
	}
	return true;
}

/* ---- every packet arrives, across processes ------------------------------ */

#define SEQ_PACKETS 200000

static void sender_child(const char *name, uint8_t src, uint32_t count)
{
	struct vale_open_params p = {.lossless = true};
	struct vale_port *v = vale_open(name, &p);
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

static void test_every_packet_arrives(void **state)
{
	struct vale_port *b = open_port("vale0:b", false);
	uint8_t f[2048], src;
	uint32_t seq, next = 0;
	int status;
	pid_t pid;
	(void)state;

	pid = fork();
	if (pid == 0)
		sender_child("vale0:a", 1, SEQ_PACKETS);
	/* A lossless sender backpressures on b's ring: nothing may be lost. */
	while (next < SEQ_PACKETS) {
		uint32_t len = recv_frame(b, f, 5000);
		assert_int_equal(len, 60);
		frame_fields(f, &src, &seq);
		assert_int_equal(src, 1);
		assert_int_equal(seq, next);
		next++;
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Nothing more, and a's ephemeral port went with it. */
	assert_int_equal(recv_frame(b, f, 100), 0);
	assert_true(eventually_listed("vale0:a", false, 2000));
	vale_close(b);
}

/* ---- unicast after learning, broadcast to all ----------------------------- */

static void test_learning(void **state)
{
	struct vale_port *a = open_port("vale1:a", false);
	struct vale_port *b = open_port("vale1:b", false);
	struct vale_port *c = open_port("vale1:c", false);
	uint8_t f[2048], mac_b[6] = {0x02, 0, 0, 0, 0, 2};
	(void)state;

	/* b speaks: it is learned; its broadcast reaches a and c. */
	frame_make(f, 60, BCAST, 2, 0);
	assert_true(send_frame(b, f, 60, 1000));
	assert_int_equal(recv_frame(a, f, 2000), 60);
	assert_int_equal(recv_frame(c, f, 2000), 60);
	assert_int_equal(recv_frame(b, f, 100), 0); /* never back to its source */
	/* a to b's MAC: only b gets it. */
	frame_make(f, 60, mac_b, 1, 1);
	assert_true(send_frame(a, f, 60, 1000));
	assert_int_equal(recv_frame(b, f, 2000), 60);
	assert_int_equal(recv_frame(c, f, 200), 0);
	/* The table shows b, learned. */
	char out[4096];
	assert_int_equal(valectl(&daemon_, out, sizeof(out), "fdb", "vale1", NULL), 0);
	assert_non_null(strstr(out, "02:00:00:00:00:02"));
	vale_close(a);
	vale_close(b);
	vale_close(c);
}

/* ---- persistent and ephemeral ports, exclusive opens ---------------------- */

static void test_persistent_and_ephemeral(void **state)
{
	struct vale_port *v;
	char out[4096];
	(void)state;

	assert_int_equal(valectl(&daemon_, NULL, 0, "create", "vale2:p", NULL), 0);
	assert_int_equal(valectl(&daemon_, NULL, 0, "create", "vale2:p", NULL), 1); /* twice */
	v = open_port("vale2:p", false);
	assert_int_equal(valectl(&daemon_, NULL, 0, "delete", "vale2:p", NULL), 1); /* open */
	vale_close(v);
	assert_true(eventually_listed("vale2:p", true, 500)); /* outlives its client */
	assert_int_equal(valectl(&daemon_, out, sizeof(out), "-g", "vale2:p", NULL), 0);
	assert_non_null(strstr(out, "persistent"));
	assert_true(eventually_listed("vale2:p", true, 100));
	assert_int_equal(valectl(&daemon_, NULL, 0, "-r", "vale2:p", NULL), 0);
	assert_false(listed("vale2:p"));

	v = open_port("vale2:e", false);
	assert_true(listed("vale2:e"));
	vale_close(v);
	assert_true(eventually_listed("vale2:e", false, 2000)); /* goes with it */
	assert_int_equal(valectl(&daemon_, NULL, 0, "delete", "vale2:e", NULL), 1);
}

static void test_exclusive(void **state)
{
	struct vale_port *x = open_port("vale3:x/x", false), *y;
	(void)state;

	y = vale_open("vale3:x", NULL);
	assert_null(y);
	assert_int_equal(errno, EBUSY);
	assert_non_null(strstr(vale_last_error(), "exclusive"));
	vale_close(x);
	/* Open shared, then an exclusive open is refused too. */
	x = open_port("vale3:x", false);
	y = vale_open("vale3:x/x", NULL);
	assert_null(y);
	assert_int_equal(errno, EBUSY);
	vale_close(x);
}

/* ---- a client killed mid-stream ------------------------------------------- */

static void flood_child(const char *name, uint8_t src)
{
	struct vale_port *v = vale_open(name, NULL);
	uint8_t f[64];
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */

	if (!v)
		_exit(10);
	for (uint32_t seq = 0;; seq++) {
		frame_make(f, 60, BCAST, src, seq);
		send_frame(v, f, 60, 1000);
	}
}

static void test_sigkill_client(void **state)
{
	struct vale_port *r = open_port("vale4:r", false), *s;
	uint8_t f[2048];
	pid_t pid;
	(void)state;

	pid = fork();
	if (pid == 0)
		flood_child("vale4:k", 7);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(recv_frame(r, f, 5000), 60);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_true(eventually_listed("vale4:k", false, 3000));
	assert_true(valed_alive(&daemon_));
	/* Drain what k left, then another port still gets through to r. */
	while (recv_frame(r, f, 200))
		;
	s = open_port("vale4:s", false);
	frame_make(f, 60, BCAST, 8, 42);
	assert_true(send_frame(s, f, 60, 1000));
	assert_int_equal(recv_frame(r, f, 2000), 60);
	uint8_t src;
	uint32_t seq;
	frame_fields(f, &src, &seq);
	assert_int_equal(src, 8);
	assert_int_equal(seq, 42);
	vale_close(s);
	vale_close(r);
}

/* ---- a client scribbling over its ring ------------------------------------ */

static void scribbler_child(const char *name)
{
	struct vale_port *v = vale_open(name, NULL);
	struct netmap_ring *r;
	uint32_t x = 12345;
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */

	if (!v)
		_exit(10);
	r = NETMAP_TXRING(vale_nifp(v), 0);
	for (;;) {
		x = x * 1103515245 + 12345;
		r->head = x % 3000;
		r->cur = (x >> 8) % 3000;
		r->tail = (x >> 16) % 3000;
		r->slot[x % r->num_slots].buf_idx = x;
		r->slot[(x >> 4) % r->num_slots].len = (uint16_t)(x >> 3);
		vale_txsync(v);
		vale_rxsync(v);
	}
}

static void test_scribbler(void **state)
{
	struct vale_port *a = open_port("vale5:a", true), *b = open_port("vale5:b", false);
	uint8_t f[2048], src;
	uint32_t seq;
	pid_t pid;
	char out[8192];
	(void)state;

	/* b is learned first, so that a's frames go to b alone: a lossless
	 * broadcaster would wait for the scribbler's ring, which never drains. */
	uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 2};
	frame_make(f, 60, BCAST, 2, 0);
	assert_true(send_frame(b, f, 60, 1000));
	assert_int_equal(recv_frame(a, f, 2000), 60);
	pid = fork();
	if (pid == 0)
		scribbler_child("vale5:bad");
	usleep(200000);
	/* Meanwhile a and b talk: everything a sends arrives, in order, intact. */
	for (uint32_t i = 0; i < 5000; i++) {
		uint8_t mine[64];
		frame_make(mine, 60, mac_b, 1, i);
		assert_true(send_frame(a, mine, 60, 2000));
		uint32_t len;
		do {
			len = recv_frame(b, f, 2000);
			assert_int_equal(len, 60);
			frame_fields(f, &src, &seq);
		} while (src != 1); /* the scribbler's garbage may flood too */
		assert_int_equal(seq, i);
		assert_memory_equal(f, mine, 60);
	}
	/* The garbage was counted as such: the bad port's rings were reinitialised. */
	assert_int_equal(valectl(&daemon_, out, sizeof(out), "--json", "stats", "vale5:bad", NULL),
			 0);
	const char *re = strstr(out, "\"reinits\": ");
	assert_non_null(re);
	assert_true(atol(re + strlen("\"reinits\": ")) > 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_true(valed_alive(&daemon_));
	/* a and b saw no error of their own. */
	assert_int_equal(valectl(&daemon_, out, sizeof(out), "--json", "stats", "vale5:a", NULL), 0);
	assert_non_null(strstr(out, "\"reinits\": 0"));
	assert_non_null(strstr(out, "\"tx_errors\": 0"));
	assert_int_equal(valectl(&daemon_, out, sizeof(out), "status", NULL), 0);
	vale_close(a);
	vale_close(b);
}

/* ---- a netmap program, ported by recompiling ----------------------------- */

/* The receive loop of a typical netmap program: poll, walk the RX rings from
 * cur to tail, release, sync. Returns how many frames with seq 0..n-1 from
 * src it saw in order. */
static uint32_t netmap_style_receive(struct nmport_d *d, uint8_t src, uint32_t n)
{
	uint32_t next = 0;
	uint64_t deadline = ms_now() + 5000;

	while (next < n && ms_now() < deadline) {
		struct pollfd pfd = {.fd = d->fd, .events = POLLIN};
		if (nm_poll(&pfd, 1, 100) <= 0)
			continue;
		for (int ri = d->first_rx_ring; ri <= d->last_rx_ring; ri++) {
			struct netmap_ring *ring = NETMAP_RXRING(d->nifp, ri);
			while (!nm_ring_empty(ring)) {
				struct netmap_slot *slot = &ring->slot[ring->cur];
				uint8_t s;
				uint32_t seq;
				frame_fields((uint8_t *)NETMAP_BUF(ring, slot->buf_idx), &s, &seq);
				if (s == src && seq == next)
					next++;
				ring->head = ring->cur = nm_ring_next(ring, ring->cur);
			}
		}
		nm_ioctl(d->fd, NIOCRXSYNC, NULL);
	}
	return next;
}

static void test_netmap_program(void **state)
{
	struct nmport_d *tx = nmport_open("vale6:tx");
	struct nmport_d *rx = nmport_open("vale6:rx");
	uint8_t f[64];
	(void)state;

	assert_non_null(tx);
	assert_non_null(rx);
	assert_int_equal(tx->first_tx_ring, 0);
	assert_int_equal(tx->last_tx_ring, 0); /* inclusive, as libnetmap */
	/* Half with nmport_inject, half by hand with ioctl-style syncs. */
	for (uint32_t seq = 0; seq < 100; seq++) {
		frame_make(f, 60, BCAST, 9, seq);
		if (seq % 2 == 0) {
			while (nmport_inject(tx, f, 60) != 60)
				nm_ioctl(tx->fd, NIOCTXSYNC, NULL);
		} else {
			struct netmap_ring *ring = NETMAP_TXRING(tx->nifp, 0);
			while (nm_ring_space(ring) == 0)
				nm_ioctl(tx->fd, NIOCTXSYNC, NULL);
			struct netmap_slot *slot = &ring->slot[ring->cur];
			memcpy(NETMAP_BUF(ring, slot->buf_idx), f, 60);
			slot->len = 60;
			ring->head = ring->cur = nm_ring_next(ring, ring->cur);
		}
		assert_int_equal(nm_ioctl(tx->fd, NIOCTXSYNC, NULL), 0);
	}
	assert_int_equal(netmap_style_receive(rx, 9, 100), 100);
	nmport_close(tx);
	nmport_close(rx);
	/* nm_ioctl on an fd that is not a port falls through to ioctl(). */
	assert_int_equal(nm_ioctl(-1, NIOCTXSYNC, NULL), -1);
}

/* TX-only and RX-only registrations (netmap's NR_TX_RINGS_ONLY, NR_RX_RINGS_ONLY). */
static void test_direction_only(void **state)
{
	struct vale_open_params ptx = {.tx_only = true}, prx = {.rx_only = true}, both = ptx;
	struct vale_port *tx = vale_open("vale7:d", &ptx), *rx = vale_open("vale7:d", &prx), *b;
	uint8_t f[2048];
	(void)state;

	assert_non_null(tx);
	assert_non_null(rx);
	assert_int_equal(vale_last_tx_ring(tx) - vale_first_tx_ring(tx), 1);
	assert_int_equal(vale_last_rx_ring(tx) - vale_first_rx_ring(tx), 0);
	assert_int_equal(vale_last_tx_ring(rx) - vale_first_tx_ring(rx), 0);
	assert_int_equal(vale_last_rx_ring(rx) - vale_first_rx_ring(rx), 1);
	/* The port works through the two halves. */
	b = open_port("vale7:e", false);
	frame_make(f, 60, BCAST, 4, 1);
	assert_true(send_frame(tx, f, 60, 1000));
	assert_int_equal(recv_frame(b, f, 2000), 60);
	frame_make(f, 60, BCAST, 5, 2);
	assert_true(send_frame(b, f, 60, 1000));
	assert_int_equal(recv_frame(rx, f, 2000), 60);
	vale_close(b);
	vale_close(tx);
	vale_close(rx);
	both.rx_only = true;
	assert_null(vale_open("vale7:d", &both));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_packet_arrives),
		cmocka_unit_test(test_learning),
		cmocka_unit_test(test_persistent_and_ephemeral),
		cmocka_unit_test(test_exclusive),
		cmocka_unit_test(test_sigkill_client),
		cmocka_unit_test(test_scribbler),
		cmocka_unit_test(test_netmap_program),
		cmocka_unit_test(test_direction_only),
	};
	signal(SIGPIPE, SIG_IGN);
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
