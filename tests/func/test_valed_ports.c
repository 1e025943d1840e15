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

#include "client.h"
#include "frame.h"
#include "harness.h"

/* ---- every packet arrives, across processes ------------------------------ */

#define SEQ_PACKETS 200000

static const struct vale_open_params lossless = {.lossless = true};

static void test_every_packet_arrives(void **state)
{
	struct vale_port *b = open_port("vale0:b", NULL);
	(void)state;

	/* A lossless sender backpressures on b's ring: nothing may be lost. */
	expect_sequence(b, "vale0:a", &lossless, SEQ_PACKETS);
	/* a's ephemeral port went with it. */
	assert_true(eventually_listed(&valed_group, "vale0:a", false, 2000));
	vale_close(b);
}

/* ---- unicast after learning, broadcast to all ----------------------------- */

static void test_learning(void **state)
{
	struct vale_port *a = open_port("vale1:a", NULL);
	struct vale_port *b = open_port("vale1:b", NULL);
	struct vale_port *c = open_port("vale1:c", NULL);
	uint8_t f[2048], mac_b[6] = {0x02, 0, 0, 0, 0, 2};
	(void)state;

	/* b speaks: it is learned; its broadcast reaches a and c. */
	frame_make(f, 60, BCAST, 2, 0);
	assert_true(send_frame(b, f, 60, 1000));
	assert_int_equal(recv_frame(a, f, NULL, 2000), 60);
	assert_int_equal(recv_frame(c, f, NULL, 2000), 60);
	assert_int_equal(recv_frame(b, f, NULL, 100), 0); /* never back to its source */
	/* a to b's MAC: only b gets it. */
	frame_make(f, 60, mac_b, 1, 1);
	assert_true(send_frame(a, f, 60, 1000));
	assert_int_equal(recv_frame(b, f, NULL, 2000), 60);
	assert_int_equal(recv_frame(c, f, NULL, 200), 0);
	/* The table shows b, learned. */
	char out[4096];
	assert_int_equal(valectl(&valed_group, out, sizeof(out), "fdb", "vale1", NULL), 0);
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

	assert_int_equal(valectl(&valed_group, NULL, 0, "create", "vale2:p", NULL), 0);
	assert_int_equal(valectl(&valed_group, NULL, 0, "create", "vale2:p", NULL), 1); /* twice */
	v = open_port("vale2:p", NULL);
	assert_int_equal(valectl(&valed_group, NULL, 0, "delete", "vale2:p", NULL), 1); /* open */
	vale_close(v);
	assert_true(eventually_listed(&valed_group, "vale2:p", true, 500)); /* outlives its client */
	assert_int_equal(valectl(&valed_group, out, sizeof(out), "-g", "vale2:p", NULL), 0);
	assert_non_null(strstr(out, "persistent"));
	assert_true(eventually_listed(&valed_group, "vale2:p", true, 100));
	assert_int_equal(valectl(&valed_group, NULL, 0, "-r", "vale2:p", NULL), 0);
	assert_false(listed(&valed_group, "vale2:p"));

	v = open_port("vale2:e", NULL);
	assert_true(listed(&valed_group, "vale2:e"));
	vale_close(v);
	assert_true(eventually_listed(&valed_group, "vale2:e", false, 2000)); /* goes with it */
	assert_int_equal(valectl(&valed_group, NULL, 0, "delete", "vale2:e", NULL), 1);
}

static void test_exclusive(void **state)
{
	struct vale_port *x = open_port("vale3:x/x", NULL), *y;
	(void)state;

	y = vale_open("vale3:x", NULL);
	assert_null(y);
	assert_int_equal(errno, EBUSY);
	assert_non_null(strstr(vale_last_error(), "exclusive"));
	assert_int_equal(vale_last_error_code(), -32000); /* valed refused, not libvale */
	vale_close(x);
	/* Open shared, then an exclusive open is refused too. */
	x = open_port("vale3:x", NULL);
	y = vale_open("vale3:x/x", NULL);
	assert_null(y);
	assert_int_equal(errno, EBUSY);
	vale_close(x);
	/* The same on a persistent port, which stays after it all. */
	assert_int_equal(valectl(&valed_group, NULL, 0, "create", "vale3:p", NULL), 0);
	x = open_port("vale3:p/x", NULL);
	assert_null(vale_open("vale3:p", NULL));
	assert_int_equal(errno, EBUSY);
	vale_close(x);
	y = open_port("vale3:p", NULL);
	vale_close(y);
	assert_int_equal(valectl(&valed_group, NULL, 0, "delete", "vale3:p", NULL), 0);
}

/* Extra buffers (nr_extra_bufs): the list from ni_bufs_head holds that many
 * distinct valid buffers, on an ephemeral and on a persistent port, and a
 * client can swap one into a TX slot and send from it (NS_BUF_CHANGED). */
static void extra_bufs_on(const char *name, const char *peer)
{
	struct vale_open_params p = {.extra_bufs = 8};
	struct vale_port *v = open_port(name, &p), *w = open_port(peer, NULL);
	struct netmap_if *nifp = vale_nifp(v);
	struct netmap_ring *tx = NETMAP_TXRING(nifp, 0);
	uint32_t idx = nifp->ni_bufs_head, n = 0, first = idx, seen[8];
	uint8_t f[2048];

	while (idx && n < 9) {
		assert_true(idx >= 2);
		for (uint32_t i = 0; i < n; i++)
			assert_int_not_equal(seen[i], idx);
		for (uint32_t j = 0; j < tx->num_slots; j++)
			assert_int_not_equal(tx->slot[j].buf_idx, idx); /* not in a ring */
		seen[n++] = idx;
		memcpy(&idx, NETMAP_BUF(tx, idx), sizeof(idx));
	}
	assert_int_equal(n, 8);
	/* Send from an extra buffer: swap it into the slot at cur. */
	struct netmap_slot *slot = &tx->slot[tx->cur];
	uint32_t old = slot->buf_idx;
	memcpy(&nifp->ni_bufs_head, NETMAP_BUF(tx, first), sizeof(uint32_t)); /* pop it */
	frame_make((uint8_t *)NETMAP_BUF(tx, first), 60, BCAST, 6, 99);
	slot->buf_idx = first;
	slot->len = 60;
	slot->flags = NS_BUF_CHANGED;
	memcpy(NETMAP_BUF(tx, old), &nifp->ni_bufs_head, sizeof(uint32_t)); /* push the old */
	nifp->ni_bufs_head = old;
	tx->head = tx->cur = nm_ring_next(tx, tx->cur);
	assert_int_equal(vale_txsync(v), 0);
	assert_int_equal(recv_frame(w, f, NULL, 2000), 60);
	uint8_t src;
	uint32_t seq;
	frame_fields(f, &src, &seq);
	assert_int_equal(src, 6);
	assert_int_equal(seq, 99);
	vale_close(v);
	vale_close(w);
}

static void test_extra_bufs(void **state)
{
	(void)state;
	extra_bufs_on("vale3:e", "vale3:f");
	/* A persistent port gets its extra buffers when it is created. */
	const char *req = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"vale.newif\","
			  "\"params\":{\"name\":\"vale3:q\",\"extra_bufs\":8}}\n";
	char reply[4096];
	assert_true(raw_request(&valed_group, req, strlen(req), reply, sizeof(reply)) > 0);
	assert_non_null(strstr(reply, "\"persistent\""));
	extra_bufs_on("vale3:q", "vale3:g");
	assert_int_equal(valectl(&valed_group, NULL, 0, "delete", "vale3:q", NULL), 0);
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
	struct vale_port *r = open_port("vale4:r", NULL), *s;
	uint8_t f[2048];
	pid_t pid;
	(void)state;

	pid = fork();
	if (pid == 0)
		flood_child("vale4:k", 7);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(recv_frame(r, f, NULL, 5000), 60);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_true(eventually_listed(&valed_group, "vale4:k", false, 3000));
	assert_true(valed_alive(&valed_group));
	/* Drain what k left, then another port still gets through to r. */
	while (recv_frame(r, f, NULL, 200))
		;
	s = open_port("vale4:s", NULL);
	frame_make(f, 60, BCAST, 8, 42);
	assert_true(send_frame(s, f, 60, 1000));
	assert_int_equal(recv_frame(r, f, NULL, 2000), 60);
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
	struct vale_port *a = open_port("vale5:a", &lossless), *b = open_port("vale5:b", NULL);
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
	assert_int_equal(recv_frame(a, f, NULL, 2000), 60);
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
			len = recv_frame(b, f, NULL, 2000);
			assert_int_equal(len, 60);
			frame_fields(f, &src, &seq);
		} while (src != 1); /* the scribbler's garbage may flood too */
		assert_int_equal(seq, i);
		assert_memory_equal(f, mine, 60);
	}
	/* The garbage was counted as such: the bad port's rings were reinitialised. */
	assert_int_equal(valectl(&valed_group, out, sizeof(out), "--json", "stats", "vale5:bad", NULL),
			 0);
	const char *re = strstr(out, "\"reinits\": ");
	assert_non_null(re);
	assert_true(atol(re + strlen("\"reinits\": ")) > 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_true(valed_alive(&valed_group));
	/* a and b saw no error of their own. */
	assert_int_equal(valectl(&valed_group, out, sizeof(out), "--json", "stats", "vale5:a", NULL), 0);
	assert_non_null(strstr(out, "\"reinits\": 0"));
	assert_non_null(strstr(out, "\"tx_errors\": 0"));
	assert_int_equal(valectl(&valed_group, out, sizeof(out), "status", NULL), 0);
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
	b = open_port("vale7:e", NULL);
	frame_make(f, 60, BCAST, 4, 1);
	assert_true(send_frame(tx, f, 60, 1000));
	assert_int_equal(recv_frame(b, f, NULL, 2000), 60);
	frame_make(f, 60, BCAST, 5, 2);
	assert_true(send_frame(b, f, 60, 1000));
	assert_int_equal(recv_frame(rx, f, NULL, 2000), 60);
	vale_close(b);
	vale_close(tx);
	vale_close(rx);
	both.rx_only = true;
	assert_null(vale_open("vale7:d", &both));
	assert_int_equal(errno, EINVAL);
}

/* As netmap's poll, waiting for POLLIN flushes the TX rings, unless the
 * port was opened with no_tx_poll (NR_NO_TX_POLL). */
static void test_poll_flushes_tx(void **state)
{
	struct vale_open_params lazy = {.no_tx_poll = true};
	struct vale_port *a = open_port("vale8:a", NULL), *b = open_port("vale8:b", NULL);
	struct vale_port *c = open_port("vale8:c", &lazy);
	uint8_t f[2048];
	(void)state;

	for (int i = 0; i < 2; i++) {
		struct vale_port *src = i == 0 ? a : c;
		struct netmap_ring *r = NETMAP_TXRING(vale_nifp(src), 0);
		struct pollfd pfd = {.fd = vale_fd(src), .events = POLLIN};

		/* Queue a frame without any txsync, then wait for input. */
		frame_make((uint8_t *)NETMAP_BUF(r, r->slot[r->cur].buf_idx), 60, BCAST, (uint8_t)(10 + i),
			   0);
		r->slot[r->cur].len = 60;
		r->head = r->cur = nm_ring_next(r, r->cur);
		vale_poll(src, &pfd, 1, 100);
		if (i == 0) {
			assert_int_equal(recv_frame(b, f, NULL, 2000), 60); /* flushed */
		} else {
			assert_int_equal(recv_frame(b, f, NULL, 300), 0); /* still queued */
			assert_int_equal(vale_txsync(src), 0);
			assert_int_equal(recv_frame(b, f, NULL, 2000), 60);
		}
		while (recv_frame(i == 0 ? c : a, f, NULL, 100)) /* the other copy of the flood */
			;
	}
	vale_close(a);
	vale_close(b);
	vale_close(c);
}

/* Ports in valed's shared region (nr_mem_id): same region, traffic flows,
 * and an unknown or private region id is refused. */
static void test_shared_mem(void **state)
{
	char out[4096];
	const char *id;
	struct vale_open_params p = {0};
	struct vale_port *a, *b;
	uint8_t f[2048];
	(void)state;

	assert_int_equal(valectl(&valed_group, out, sizeof(out), "--json", "status", NULL), 0);
	id = strstr(out, "\"shared_mem_id\": ");
	assert_non_null(id);
	p.mem_id = (uint16_t)atoi(id + strlen("\"shared_mem_id\": "));
	assert_true(p.mem_id > 0);
	a = open_port("vale9:sa", &p);
	b = open_port("vale9:sb", &p);
	assert_int_equal(vale_mem_id(a), p.mem_id);
	assert_int_equal(vale_mem_id(b), p.mem_id);
	frame_make(f, 60, BCAST, 3, 7);
	assert_true(send_frame(a, f, 60, 1000));
	assert_int_equal(recv_frame(b, f, NULL, 2000), 60);
	/* A persistent port there too, by valectl -m. */
	snprintf(out, sizeof(out), "%u", p.mem_id);
	assert_int_equal(valectl(&valed_group, NULL, 0, "-n", "vale9:sc", "-m", out, NULL), 0);
	assert_int_equal(valectl(&valed_group, out, sizeof(out), "-g", "vale9:sc", NULL), 0);
	char want[32];
	snprintf(want, sizeof(want), "mem_id %u ", p.mem_id);
	assert_non_null(strstr(out, want));
	assert_int_equal(valectl(&valed_group, NULL, 0, "-r", "vale9:sc", NULL), 0);
	vale_close(a);
	vale_close(b);
	/* Only the shared region can be named. */
	p.mem_id = (uint16_t)(p.mem_id + 1000);
	assert_null(vale_open("vale9:sd", &p));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(vale_last_error(), "shared"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_packet_arrives),
		cmocka_unit_test(test_learning),
		cmocka_unit_test(test_persistent_and_ephemeral),
		cmocka_unit_test(test_exclusive),
		cmocka_unit_test(test_extra_bufs),
		cmocka_unit_test(test_sigkill_client),
		cmocka_unit_test(test_scribbler),
		cmocka_unit_test(test_netmap_program),
		cmocka_unit_test(test_direction_only),
		cmocka_unit_test(test_poll_flushes_tx),
		cmocka_unit_test(test_shared_mem),
	};
	signal(SIGPIPE, SIG_IGN);
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, valed_group_setup, valed_group_teardown);
}
