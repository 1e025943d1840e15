/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of libvale (lib/): port-name parsing, the ring layout check, and
 * the client half of the data path (vale_txsync, vale_rxsync, vale_poll)
 * against the daemon's real rings: VALE ports (ports/vport) on a learning
 * switch, forwarded synchronously with bdg_forward() or by a real worker
 * thread. Only the control connection is missing: the test builds the
 * struct vale_port that vale_open() would have built from port.register.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <vale/netmap_user.h>
#include <vale/vale.h>

#include "bdg.h"
#include "fault.h"
#include "learn.h"
#include "portname.h"
#include "lvport.h"
#include "vport.h"
#include "worker.h"

#define WAIT_MS 5000 /* "eventually": the machine may be loaded */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(uint32_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- names ------------------------------------------------------------------- */

static void name_ok(const char *s, const char *base, const char *sw, const char *port, int32_t ring,
		    bool excl)
{
	struct portname n;
	char err[ERR_LEN] = "";

	assert_int_equal(portname_parse(s, &n, err), 0);
	assert_string_equal(n.base, base);
	assert_string_equal(n.sw, sw);
	assert_string_equal(n.port, port);
	assert_int_equal(n.ring, ring);
	assert_int_equal(n.exclusive, excl);
}

/* Refused with code; the sentence names the input and contains what. */
static void name_bad(const char *s, int code, const char *what)
{
	struct portname n = {.ring = 42};
	char err[ERR_LEN] = "";

	assert_int_equal(portname_parse(s, &n, err), -code);
	assert_int_equal(n.ring, 42); /* untouched */
	assert_non_null(strstr(err, what));
}

static void test_name_valid(void **state)
{
	(void)state;
	name_ok("vale0:a", "vale0:a", "vale0", "a", -1, false);
	name_ok("vale0:a-1", "vale0:a", "vale0", "a", 1, false);
	name_ok("vale0:a-15/x", "vale0:a", "vale0", "a", 15, true);
	name_ok("vale0:a/x", "vale0:a", "vale0", "a", -1, true);
	name_ok("vale0:a-b", "vale0:a-b", "vale0", "a-b", -1, false); /* '-' inside a name */
	name_ok("vale0:a-b-2", "vale0:a-b", "vale0", "a-b", 2, false);
	name_ok("vale0:5", "vale0:5", "vale0", "5", -1, false);
	name_ok("valeX.y_z:my.port_1", "valeX.y_z:my.port_1", "valeX.y_z", "my.port_1", -1, false);
	name_ok("vale01234567890:012345678901234", "vale01234567890:012345678901234",
		"vale01234567890", "012345678901234", -1, false); /* 15 + 15 */
	/* A NULL error buffer is fine. */
	assert_int_equal(portname_parse("nope", &(struct portname){0}, NULL), -EINVAL);
	/* Monitors: the letters normalised; "/z" is zero copy of both ways,
	 * "/zr" or "/rz" of one, "/zrt" of both again. */
	static const char *const mons[][2] = {
	    {"vale0:a/r", "r"},	  {"vale0:a/t", "t"},	{"vale0:a/tr", "rt"}, {"vale0:a/z", "z"},
	    {"vale0:a/rz", "zr"}, {"vale0:a/zt", "zt"}, {"vale0:a/zrt", "z"}, {"vale0:a/rx", "r"}};
	for (size_t i = 0; i < sizeof(mons) / sizeof(mons[0]); i++) {
		struct portname n;
		assert_int_equal(portname_parse(mons[i][0], &n, NULL), 0);
		assert_string_equal(n.base, "vale0:a");
		assert_string_equal(n.monitor, mons[i][1]);
	}
}

/* Pipe ends: any X, then '{' or '}' and an id, with "-N" and "/x". */
static void test_name_pipes(void **state)
{
	struct portname n;
	(void)state;

	assert_int_equal(portname_parse("vale0:a{1", &n, NULL), 0);
	assert_true(n.pipe);
	assert_string_equal(n.base, "vale0:a{1");
	assert_int_equal(n.ring, -1);
	assert_false(n.exclusive);
	assert_int_equal(portname_parse("p}3-0/x", &n, NULL), 0);
	assert_true(n.pipe);
	assert_string_equal(n.base, "p}3");
	assert_int_equal(n.ring, 0);
	assert_true(n.exclusive);
	/* Monitors of pipe ends. */
	assert_int_equal(portname_parse("vale0:a{1/r", &n, NULL), 0);
	assert_true(n.pipe);
	assert_string_equal(n.base, "vale0:a{1");
	assert_string_equal(n.monitor, "r");
	assert_int_equal(portname_parse("p}2/t", &n, NULL), 0);
	assert_string_equal(n.monitor, "t");
	assert_int_equal(portname_parse("p}2/z", &n, NULL), 0);
	assert_string_equal(n.monitor, "z");
	assert_int_equal(portname_parse("vale0:a-b}x_1.2", &n, NULL), 0);
	assert_string_equal(n.base, "vale0:a-b}x_1.2");
}

static void test_name_refused(void **state)
{
	(void)state;
	name_bad("", EINVAL, "no port name");
	name_bad("eth0", EINVAL, "VALE ports");
	name_bad("netmap:eth0", EINVAL, "valectl");
	name_bad("vale:a", EINVAL, "switch needs a name");
	name_bad("vale0", EINVAL, "no ':'");
	name_bad("vale0:", EINVAL, "port name is empty");
	name_bad("vale0:-1", EINVAL, "port name is empty");
	name_bad("{1", EINVAL, "a name before");
	name_bad("vale0:a}", EINVAL, "no pipe number");
	name_bad("p{1{2", EINVAL, "character '{'");
	name_bad("p{a-b", EINVAL, "character '-'");
	name_bad("p{1-0/r", EINVAL, "every ring");
	name_bad("vale0:a*", EINVAL, "host rings");
	name_bad("vale0:a^", EINVAL, "host rings");
	name_bad("vale0:a@2", EINVAL, "options");
	name_bad("vale0:a/R", EINVAL, "'/R'");
	name_bad("vale0:a/xq", EINVAL, "only '/x'");
	/* An X with a ':' must be a VALE name, as valed holds it (one grammar). */
	name_bad("foo:bar{1", EINVAL, "VALE ports");
	name_bad("vale0:a-1/r", EINVAL, "every ring");
	name_bad("vale0:a/", EINVAL, "empty '/'");
	name_bad("vale0:a b", EINVAL, "character ' '");
	name_bad("vale0:a-99999999", EINVAL, "out of range");
	name_bad("vale0:0123456789abcdef", ENAMETOOLONG, "at most 15");
	name_bad("vale0123456789ab:a", ENAMETOOLONG, "switch name is 16");
	assert_int_equal(portname_parse(NULL, &(struct portname){0}, NULL), -EINVAL);
}

/* vale_open and nmport_open refuse before connecting, and say why. */
static void test_open_errors(void **state)
{
	struct vale_open_params o = {.socket = "/nonexistent/vale/valed.sock"};

	(void)state;
	errno = 0;
	assert_null(vale_open("eth0", &o));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(vale_last_error(), "VALE ports"));

	errno = 0;
	assert_null(vale_open("vale0:a", &o));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(vale_last_error_code(), 0); /* the connection's, not valed's */
	assert_non_null(strstr(vale_last_error(), "/nonexistent/vale/valed.sock"));
	assert_non_null(strstr(vale_last_error(), "is valed running"));

	errno = 0;
	assert_null(nmport_open("vale0:a{"));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(vale_last_error(), "pipe"));
}

/* ---- a switch with two ports, and their client views --------------------------- */

struct rig {
	struct bdg *b;
	struct vport *v[2];
	struct vale_port cl[2]; /* what vale_open would have built */
	struct bdg_scratch *scratch;
	struct worker *w;
};

/* The client's view of v, as vale_open builds it from port.register. */
static void client_of(struct vale_port *cl, struct vport *v)
{
	struct mem_region *m = vport_mem(v);

	memset(cl, 0, sizeof(*cl));
	cl->mem = mem_base(m);
	cl->mem_size = mem_size(m);
	cl->mem_id = mem_id(m);
	cl->kick_fd = vport_kick_fd(v);
	cl->notify_fd = vport_notify_fd(v);
	cl->first_tx = 0;
	cl->last_tx = vport_params(v)->tx_rings;
	cl->first_rx = 0;
	cl->last_rx = vport_params(v)->rx_rings;
	assert_int_equal(lvport_layout(cl, cl->mem, cl->mem_size, vport_if_offset(v)), 0);
}

static int rig_setup(void **state)
{
	static const char *const names[2] = {"a", "b"};
	struct rig *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	g->b = bdg_create("vale0", &learn_ops, learn_create(1024, 300));
	assert_non_null(g->b);
	for (int i = 0; i < 2; i++) {
		struct vport_params p = {.name = names[i], .tx_slots = 64, .rx_slots = 64};

		g->v[i] = vport_create(&p);
		assert_non_null(g->v[i]);
		assert_true(bdg_attach(g->b, vport_port(g->v[i])) >= 0);
		client_of(&g->cl[i], g->v[i]);
	}
	g->scratch = bdg_scratch_create();
	assert_non_null(g->scratch);
	*state = g;
	return 0;
}

static int rig_teardown(void **state)
{
	struct rig *g = *state;

	for (int i = 0; i < 2; i++) {
		if (g->w)
			worker_remove(g->w, vport_port(g->v[i]));
		lvport_layout_free(&g->cl[i]);
		bdg_detach(vport_port(g->v[i]));
		vport_destroy(g->v[i]);
	}
	worker_destroy(g->w);
	bdg_scratch_destroy(g->scratch);
	assert_int_equal(bdg_destroy(g->b), 0);
	free(g);
	return 0;
}

/* Start a worker serving both ports' TX rings. */
static void rig_worker(struct rig *g)
{
	struct worker_params p = {.cpu = -1, .poll_us = 0, .name = "test-fwd"};

	g->w = worker_create(&p);
	assert_non_null(g->w);
	for (int i = 0; i < 2; i++)
		assert_int_equal(worker_add(g->w, vport_port(g->v[i]), 0, 1, vport_kick_fd(g->v[i]),
					    vport_notify_fd(g->v[i])),
				 0);
}

static struct netmap_ring *txr(struct vale_port *cl)
{
	return NETMAP_TXRING(vale_nifp(cl), 0);
}

static struct netmap_ring *rxr(struct vale_port *cl)
{
	return NETMAP_RXRING(vale_nifp(cl), 0);
}

/* Queue n broadcast frames tagged seq.. on cl's TX ring 0 (not synced). */
static uint32_t queue(struct vale_port *cl, uint32_t seq, uint32_t n)
{
	struct netmap_ring *r = txr(cl);
	uint32_t i;

	for (i = 0; i < n && !nm_ring_empty(r); i++) {
		struct netmap_slot *s = &r->slot[r->head];
		uint8_t *f = (uint8_t *)NETMAP_BUF(r, s->buf_idx);

		memset(f, 0, 60);
		memset(f, 0xff, 6);					  /* broadcast */
		memcpy(f + 6, (const uint8_t[]){0x02, 0, 0, 0, 0, 1}, 6); /* source */
		f[12] = 0x08;
		memcpy(f + 42, &seq, 4);
		seq++;
		s->len = 60;
		s->flags = 0;
		r->head = r->cur = nm_ring_next(r, r->head);
	}
	return i;
}

/* Consume what cl's RX ring 0 shows, checking the tags run from *seq on. */
static uint32_t consume(struct vale_port *cl, uint32_t *seq)
{
	struct netmap_ring *r = rxr(cl);
	uint32_t n = 0, tag;

	while (!nm_ring_empty(r)) {
		const uint8_t *f = (const uint8_t *)NETMAP_BUF(r, r->slot[r->cur].buf_idx);

		memcpy(&tag, f + 42, 4);
		assert_int_equal(tag, *seq);
		(*seq)++;
		r->head = r->cur = nm_ring_next(r, r->cur);
		n++;
	}
	return n;
}

/* Read an eventfd without blocking: its count, 0 if none. */
static uint64_t efd_take(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* ---- layout ------------------------------------------------------------------- */

static void test_layout_matches_daemon(void **state)
{
	struct rig *g = *state;
	struct vale_port *cl = &g->cl[0];

	assert_int_equal(cl->n_tx, 1);
	assert_int_equal(cl->n_rx, 1);
	assert_ptr_equal(cl->tx[0].ring, NETMAP_TXRING(vport_if(g->v[0]), 0));
	assert_ptr_equal(cl->rx[0].ring, NETMAP_RXRING(vport_if(g->v[0]), 0));
	assert_ptr_equal(cl->tx[0].csb, VALE_CSB(cl->tx[0].ring));
	assert_int_equal(txr(cl)->num_slots, 64);
	assert_int_equal(txr(cl)->tail, 63); /* a fresh TX ring: all slots but one are ours */
	assert_true(nm_ring_empty(rxr(cl)));
	assert_int_equal(vale_first_tx_ring(cl), 0);
	assert_int_equal(vale_last_tx_ring(cl), 1);
	assert_int_equal(vale_fd(cl), vport_notify_fd(g->v[0]));
	assert_int_equal(vale_mem_id(cl), mem_id(vport_mem(g->v[0])));
}

static void test_layout_refuses(void **state)
{
	struct rig *g = *state;
	struct vale_port t;
	struct netmap_if *nifp = vport_if(g->v[0]);
	uint32_t version = nifp->ni_version;
	ssize_t ofs = nifp->ring_ofs[0];

	memcpy(&t, &g->cl[0], sizeof(t));
	t.tx = t.rx = NULL;
	/* The if beyond the region. */
	assert_int_equal(lvport_layout(&t, t.mem, t.mem_size, t.mem_size), -1);
	assert_int_equal(errno, EPROTO);
	/* Another ABI version. */
	nifp->ni_version = NETMAP_API + 1;
	assert_int_equal(lvport_layout(&t, t.mem, t.mem_size, vport_if_offset(g->v[0])), -1);
	nifp->ni_version = version;
	assert_int_equal(errno, EPROTO);
	assert_non_null(strstr(vale_last_error(), "ABI mismatch"));
	/* A ring outside the region. */
	nifp->ring_ofs[0] = (ssize_t)t.mem_size;
	assert_int_equal(lvport_layout(&t, t.mem, t.mem_size, vport_if_offset(g->v[0])), -1);
	nifp->ring_ofs[0] = ofs;
	assert_int_equal(errno, EPROTO);
	assert_null(t.tx);
	/* A range past the rings. */
	t.last_rx = 2;
	assert_int_equal(lvport_layout(&t, t.mem, t.mem_size, vport_if_offset(g->v[0])), -1);
	assert_non_null(strstr(vale_last_error(), "ring range"));
}

/* ---- syncs --------------------------------------------------------------------- */

static void test_sync_forwards(void **state)
{
	struct rig *g = *state;
	struct vale_port *a = &g->cl[0], *b = &g->cl[1];
	uint32_t seq = 0;

	assert_int_equal(queue(a, 0, 10), 10);
	/* Nothing moves until the sync: the CSB still has the old head. */
	assert_int_equal(a->tx[0].csb->atok.head, 0);
	assert_int_equal(vale_txsync(a), 0);
	assert_int_equal(a->tx[0].csb->atok.head, 10);
	assert_int_equal(a->tx[0].csb->atok.cur, 10);

	assert_int_equal(bdg_forward(vport_port(g->v[0]), 0, g->scratch), 10);
	/* tail changes only inside a sync. */
	assert_true(nm_ring_empty(rxr(b)));
	assert_int_equal(vale_rxsync(b), 0);
	assert_int_equal(nm_ring_space(rxr(b)), 10);
	assert_int_equal(consume(b, &seq), 10);
	assert_int_equal(vale_rxsync(b), 0); /* returns the slots */
	assert_int_equal(b->rx[0].csb->atok.head, 10);

	/* The sent slots come back to the sender at its next sync. */
	assert_int_equal(nm_ring_space(txr(a)), 53);
	assert_int_equal(vale_txsync(a), 0);
	assert_int_equal(nm_ring_space(txr(a)), 63);

	/* Around the ring a few times. */
	for (uint32_t round = 0; round < 5; round++) {
		uint32_t n = queue(a, 10 + round * 40, 40);

		assert_int_equal(n, 40);
		assert_int_equal(vale_txsync(a), 0);
		assert_int_equal(bdg_forward(vport_port(g->v[0]), 0, g->scratch), 40);
		assert_int_equal(vale_rxsync(b), 0);
		assert_int_equal(consume(b, &seq), 40);
		assert_int_equal(vale_rxsync(b), 0);
		assert_int_equal(vale_txsync(a), 0);
	}
	assert_int_equal(seq, 210);
}

static void test_sync_kicks_only_when_asked(void **state)
{
	struct rig *g = *state;
	struct vale_port *a = &g->cl[0];
	struct vale_csb *csb = a->tx[0].csb;

	/* The switch is awake: no kick. */
	efd_take(a->kick_fd);
	queue(a, 0, 1);
	assert_int_equal(vale_txsync(a), 0);
	assert_int_equal(efd_take(a->kick_fd), 0);

	/* The switch sleeps: one kick per sync, however many rings moved. */
	__atomic_store_n(&csb->ktoa.kern_need_kick, 1, __ATOMIC_RELAXED);
	queue(a, 1, 3);
	assert_int_equal(vale_txsync(a), 0);
	assert_int_equal(efd_take(a->kick_fd), 1);

	/* Nothing new published: nothing to kick for. */
	assert_int_equal(vale_txsync(a), 0);
	assert_int_equal(efd_take(a->kick_fd), 0);

	/* An RX ring whose switch side sleeps is kicked when slots come back. */
	__atomic_store_n(&csb->ktoa.kern_need_kick, 0, __ATOMIC_RELAXED);
	assert_int_equal(bdg_forward(vport_port(g->v[0]), 0, g->scratch), 4);
	{
		struct vale_port *b = &g->cl[1];
		uint32_t seq = 0;

		efd_take(b->kick_fd);
		__atomic_store_n(&b->rx[0].csb->ktoa.kern_need_kick, 1, __ATOMIC_RELAXED);
		assert_int_equal(vale_rxsync(b), 0);
		assert_int_equal(efd_take(b->kick_fd), 0); /* nothing returned yet */
		assert_int_equal(consume(b, &seq), 4);
		assert_int_equal(vale_rxsync(b), 0);
		assert_int_equal(efd_take(b->kick_fd), 1);
		__atomic_store_n(&b->rx[0].csb->ktoa.kern_need_kick, 0, __ATOMIC_RELAXED);
	}
}

static void test_rxsync_timestamp(void **state)
{
	struct rig *g = *state;
	struct vale_port *b = &g->cl[1];

	rxr(b)->ts.tv_sec = 0;
	assert_int_equal(vale_rxsync(b), 0);
	assert_int_equal(rxr(b)->ts.tv_sec, 0);
	rxr(b)->flags |= NR_TIMESTAMP;
	assert_int_equal(vale_rxsync(b), 0);
	assert_true(rxr(b)->ts.tv_sec > 0);
}

/* ---- poll ---------------------------------------------------------------------- */

static void test_poll_immediate(void **state)
{
	struct rig *g = *state;
	struct vale_port *a = &g->cl[0], *b = &g->cl[1];
	struct pollfd pfd[2] = {{.fd = vale_fd(a), .events = POLLOUT},
				{.fd = vale_fd(b), .events = POLLIN}};
	uint32_t seq = 0;

	/* A fresh TX ring has room; an empty RX ring with timeout 0 is not ready. */
	assert_int_equal(vale_poll(a, &pfd[0], 1, 0), 1);
	assert_int_equal(pfd[0].revents, POLLOUT);
	assert_int_equal(vale_poll(b, &pfd[1], 1, 0), 0);
	assert_int_equal(pfd[1].revents, 0);
	assert_int_equal(b->rx[0].csb->atok.appl_need_kick, 0);

	/* poll's POLLOUT side pushes queued packets (txsync), POLLIN pulls (rxsync). */
	queue(a, 0, 5);
	assert_int_equal(vale_poll(a, &pfd[0], 1, 0), 1);
	assert_int_equal(a->tx[0].csb->atok.head, 5);
	assert_int_equal(bdg_forward(vport_port(g->v[0]), 0, g->scratch), 5);
	assert_int_equal(vale_poll(b, &pfd[1], 1, 0), 1);
	assert_int_equal(pfd[1].revents, POLLIN);
	assert_int_equal(consume(b, &seq), 5);
	assert_int_equal(vale_rxsync(b), 0);
}

static void test_poll_timeout_and_others(void **state)
{
	struct rig *g = *state;
	struct vale_port *b = &g->cl[1];
	struct pollfd pfd[2];
	uint64_t t0;
	int pipefd[2];

	/* Nothing comes: poll sleeps for its timeout, then disarms. */
	pfd[0] = (struct pollfd){.fd = vale_fd(b), .events = POLLIN};
	t0 = now_ms();
	assert_int_equal(vale_poll(b, pfd, 1, 100), 0);
	assert_true(now_ms() - t0 >= 90);
	assert_int_equal(pfd[0].revents, 0);
	assert_int_equal(b->rx[0].csb->atok.appl_need_kick, 0);

	/* Other fds pass through, alone or beside the port. */
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(write(pipefd[1], "x", 1), 1);
	pfd[1] = (struct pollfd){.fd = pipefd[0], .events = POLLIN};
	assert_int_equal(vale_poll(b, pfd, 2, 1000), 1);
	assert_int_equal(pfd[0].revents, 0);
	assert_int_equal(pfd[1].revents, POLLIN);
	assert_int_equal(vale_poll(NULL, &pfd[1], 1, 0), 1);
	close(pipefd[0]);
	close(pipefd[1]);
}

struct sender_arg {
	struct vale_port *cl;
	uint32_t delay_ms;
	uint32_t n;
};

static void *sender_main(void *arg)
{
	struct sender_arg *s = arg;

	sleep_ms(s->delay_ms);
	queue(s->cl, 0, s->n);
	vale_txsync(s->cl);
	return NULL;
}

/* A sleeping receiver is woken by the switch's notify when packets land. */
static void test_poll_wakes_on_rx(void **state)
{
	struct rig *g = *state;
	struct vale_port *a = &g->cl[0], *b = &g->cl[1];
	struct sender_arg s = {.cl = a, .delay_ms = 50, .n = 3};
	struct pollfd pfd = {.fd = vale_fd(b), .events = POLLIN};
	uint32_t got = 0, seq = 0;
	pthread_t th;
	uint64_t t0;

	rig_worker(g);
	assert_int_equal(pthread_create(&th, NULL, sender_main, &s), 0);
	t0 = now_ms();
	while (got < 3 && now_ms() - t0 < WAIT_MS) {
		int n = vale_poll(b, &pfd, 1, WAIT_MS);

		assert_true(n >= 0);
		if (n == 1) {
			assert_int_equal(pfd.revents, POLLIN);
			got += consume(b, &seq);
		}
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(got, 3);
	assert_true(now_ms() - t0 < WAIT_MS);
	assert_int_equal(b->rx[0].csb->atok.appl_need_kick, 0);
}

/* Start the worker late, from another thread (no cmocka asserts here). */
static void *late_worker_main(void *arg)
{
	struct rig *g = arg;
	struct worker_params p = {.cpu = -1, .poll_us = 0, .name = "test-late"};

	sleep_ms(50);
	g->w = worker_create(&p);
	for (int i = 0; g->w && i < 2; i++)
		worker_add(g->w, vport_port(g->v[i]), 0, 1, vport_kick_fd(g->v[i]),
			   vport_notify_fd(g->v[i]));
	return NULL;
}

/* A sender with a full TX ring sleeps until the switch reclaims slots. */
static void test_poll_wakes_on_tx_room(void **state)
{
	struct rig *g = *state;
	struct vale_port *a = &g->cl[0];
	struct pollfd pfd = {.fd = vale_fd(a), .events = POLLOUT};
	pthread_t th;
	uint64_t t0;
	int n;

	assert_int_equal(queue(a, 0, 100), 63); /* fill it */
	assert_int_equal(vale_poll(a, &pfd, 1, 0), 0);
	assert_int_equal(pthread_create(&th, NULL, late_worker_main, g), 0);
	t0 = now_ms();
	do
		n = vale_poll(a, &pfd, 1, WAIT_MS);
	while (n == 0 && now_ms() - t0 < WAIT_MS);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_non_null(g->w);
	assert_int_equal(n, 1);
	assert_int_equal(pfd.revents, POLLOUT);
	assert_true(nm_ring_space(txr(a)) > 0);
	assert_int_equal(a->tx[0].csb->atok.appl_need_kick, 0);
}

/* ---- vale_open against a fake daemon ------------------------------------------ */

/* FAKE_ZMON: v is a zero-copy monitor, answered as valed does (its region
 * read-only and its area); FAKE_BAD_AREA: the same with an area offset that
 * is not on a page. */
enum fake_reply { FAKE_OK, FAKE_ERROR, FAKE_NO_KICK, FAKE_ZMON, FAKE_BAD_AREA };

/*
 * One connection's worth of valed: reads the port.register line, keeps its
 * params, and answers with v's region and eventfds, announced in an order
 * of its own and with an fd the client does not know, or with an error.
 */
struct fake {
	char path[64];
	int lfd;
	pthread_t th;
	struct vport *v;
	enum fake_reply reply;
	json_t *params; /* what the client sent */
	bool saw_eof;	/* the client closed the connection */
};

static int send_line(int fd, json_t *msg, const int *fds, int nfds)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	size_t len = strlen(text);
	char cbuf[CMSG_SPACE(sizeof(int) * 8)] = {0};
	struct iovec iov;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;
	ssize_t n;

	text = realloc(text, len + 2);
	text[len++] = '\n';
	iov = (struct iovec){.iov_base = text, .iov_len = len};
	if (nfds) {
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	free(text);
	return n == (ssize_t)len ? 0 : -1;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	struct mem_region *m = vport_mem(f->v);
	char line[4096];
	size_t len = 0;
	json_t *req, *reply;
	int cfd, junk[2], fds[5];

	cfd = accept(f->lfd, NULL, NULL);
	if (cfd < 0)
		return NULL;
	while (len < sizeof(line) - 1 && read(cfd, line + len, 1) == 1 && line[len] != '\n')
		len++;
	line[len] = '\0';
	req = json_loads(line, 0, NULL);
	f->params = json_incref(json_object_get(req, "params"));
	if (f->reply == FAKE_ERROR) {
		reply = json_pack("{s:s, s:O, s:{s:i, s:s, s:{s:s, s:s}}}", "jsonrpc", "2.0", "id",
				  json_object_get(req, "id"), "error", "code", -32000, "message",
				  "operation failed", "data", "errno", "EBUSY", "detail",
				  "vale0:a is open exclusively by another client");
		send_line(cfd, reply, NULL, 0);
	} else if (f->reply == FAKE_ZMON || f->reply == FAKE_BAD_AREA) {
		size_t aofs = 0, asz = 0;

		fds[0] = vport_client_mem_fd(f->v);
		fds[1] = vport_kick_fd(f->v);
		fds[2] = vport_notify_fd(f->v);
		fds[3] = vport_area_fd(f->v, &aofs, &asz);
		if (f->reply == FAKE_BAD_AREA)
			aofs += 8;
		reply = json_pack(
		    "{s:s, s:O, s:{s:I, s:I, s:i, s:i, s:i, s:i, s:i, s:I, s:I, s:[ssss]}}",
		    "jsonrpc", "2.0", "id", json_object_get(req, "id"), "result", "mem_size",
		    (json_int_t)mem_size(m), "if_offset", (json_int_t)vport_if_offset(f->v),
		    "mem_id", (int)mem_id(m), "first_tx_ring", 0, "last_tx_ring", 1,
		    "first_rx_ring", 0, "last_rx_ring", 1, "area_offset", (json_int_t)aofs,
		    "area_size", (json_int_t)asz, "fds", "mem", "kick", "notify", "area");
		send_line(cfd, reply, fds, 4);
	} else {
		if (pipe(junk))
			junk[0] = junk[1] = -1;
		/* Not valed's order, and an extra fd the client must close. */
		fds[0] = vport_notify_fd(f->v);
		fds[1] = junk[0];
		fds[2] = mem_fd(m);
		fds[3] = vport_kick_fd(f->v);
		reply = json_pack(
		    "{s:s, s:O, s:{s:I, s:I, s:i, s:i, s:i, s:i, s:i, s:[ssss]}}", "jsonrpc", "2.0",
		    "id", json_object_get(req, "id"), "result", "mem_size", (json_int_t)mem_size(m),
		    "if_offset", (json_int_t)vport_if_offset(f->v), "mem_id", (int)mem_id(m),
		    "first_tx_ring", 0, "last_tx_ring", 1, "first_rx_ring", 0, "last_rx_ring", 1,
		    "fds", "notify", "junk", "mem", f->reply == FAKE_NO_KICK ? "spare" : "kick");
		send_line(cfd, reply, fds, 4);
		close(junk[0]);
		close(junk[1]);
	}
	json_decref(reply);
	json_decref(req);
	/* A connection is the netmap fd: it ends when the client closes it. */
	while (read(cfd, line, sizeof(line)) > 0)
		;
	f->saw_eof = true;
	close(cfd);
	return NULL;
}

static void fake_start(struct fake *f, struct vport *v, enum fake_reply reply)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(f, 0, sizeof(*f));
	f->v = v;
	f->reply = reply;
	snprintf(f->path, sizeof(f->path), "/tmp/test_libvale.%d.sock", (int)getpid());
	unlink(f->path);
	memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 1), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR); /* unblocks accept() if nobody came */
	assert_int_equal(pthread_join(f->th, NULL), 0);
	close(f->lfd);
	unlink(f->path);
	json_decref(f->params);
}

/* Open descriptors of this process, to catch leaks. */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static const char *param_str(const json_t *params, const char *key)
{
	return json_string_value(json_object_get(params, key));
}

static void test_open_registers(void **state)
{
	struct rig *g = *state;
	struct vale_open_params o = {.tx_slots = 128, .lossless = true};
	struct vale_port *p;
	struct netmap_ring *ring;
	struct fake f;
	int fl, nfd = open_fds();

	fake_start(&f, g->v[0], FAKE_OK);
	o.socket = f.path;
	p = vale_open("vale0:a-0/x", &o);
	assert_non_null(p);

	/* Only what was set, with the suffixes turned into params. */
	assert_string_equal(param_str(f.params, "name"), "vale0:a");
	assert_string_equal(param_str(f.params, "mode"), "one");
	assert_int_equal(json_integer_value(json_object_get(f.params, "ring")), 0);
	assert_true(json_is_true(json_object_get(f.params, "exclusive")));
	assert_true(json_is_true(json_object_get(f.params, "lossless")));
	assert_int_equal(json_integer_value(json_object_get(f.params, "tx_slots")), 128);
	assert_int_equal(json_object_size(f.params), 6);

	/* The fds went where their names say, whatever the order. */
	fl = fcntl(vale_fd(p), F_GETFL);
	assert_true(fl >= 0 && (fl & O_NONBLOCK));
	assert_int_equal(vale_mem_id(p), mem_id(vport_mem(g->v[0])));
	assert_int_equal(vale_last_tx_ring(p), 1);

	/* Our own mapping of the same region: a frame written through it is
	 * seen by the switch's view, and the kick reaches the daemon's fd. */
	ring = NETMAP_TXRING(vale_nifp(p), 0);
	assert_ptr_not_equal(ring, NETMAP_TXRING(vport_if(g->v[0]), 0));
	assert_int_equal(ring->tail, 63);
	memset(NETMAP_BUF(ring, ring->slot[0].buf_idx), 0xab, 60);
	ring->slot[0].len = 60;
	ring->head = ring->cur = 1;
	__atomic_store_n(&VALE_CSB(ring)->ktoa.kern_need_kick, 1, __ATOMIC_RELAXED);
	efd_take(vport_kick_fd(g->v[0]));
	assert_int_equal(vale_txsync(p), 0);
	assert_int_equal(efd_take(vport_kick_fd(g->v[0])), 1);
	ring = NETMAP_TXRING(vport_if(g->v[0]), 0);
	assert_int_equal(VALE_CSB(ring)->atok.head, 1);
	assert_int_equal(((uint8_t *)NETMAP_BUF(ring, ring->slot[0].buf_idx))[59], 0xab);

	vale_close(p); /* closes the connection: the daemon sees the port go */
	fake_stop(&f);
	assert_true(f.saw_eof);
	assert_int_equal(open_fds(), nfd);
}

static void test_open_daemon_errors(void **state)
{
	struct rig *g = *state;
	struct vale_open_params o = {0};
	struct fake f;
	int nfd = open_fds();

	fake_start(&f, g->v[0], FAKE_ERROR);
	o.socket = f.path;
	errno = 0;
	assert_null(vale_open("vale0:a", &o));
	assert_int_equal(errno, EBUSY);
	assert_non_null(strstr(vale_last_error(), "cannot open vale0:a"));
	assert_non_null(strstr(vale_last_error(), "EBUSY"));
	assert_non_null(strstr(vale_last_error(), "open exclusively by another client"));
	assert_int_equal(json_object_size(f.params), 1); /* just the name */
	fake_stop(&f);
	assert_true(f.saw_eof); /* the failed open closed its connection */

	fake_start(&f, g->v[0], FAKE_NO_KICK);
	o.socket = f.path;
	errno = 0;
	assert_null(vale_open("vale0:a", &o));
	assert_int_equal(errno, EPROTO);
	assert_non_null(strstr(vale_last_error(), "mem, kick, notify"));
	fake_stop(&f);
	assert_true(f.saw_eof);
	assert_int_equal(open_fds(), nfd); /* every received fd was closed */
}

/*
 * A zero-copy monitor's reply carries its region read-only and an "area"
 * fd: libvale maps the region read-only and the area read-write over the
 * same range. The monitor's rings and CSBs work as any port's; its buffers,
 * which its port uses, cannot be written. A bad area is EPROTO, with every
 * fd closed.
 */
static void test_open_zmon(void **state)
{
	struct rig *g = *state;
	struct vale_open_params o = {0};
	struct vport_params zp;
	struct vport *z;
	struct vale_port *p;
	struct netmap_ring *ring;
	struct fake f;
	int nfd = open_fds();

	vport_zmon_params(vport_params(g->v[0]), &zp);
	zp.shared_mem = vport_mem(g->v[0]);
	z = vport_create(&zp);
	assert_non_null(z);
	fake_start(&f, z, FAKE_ZMON);
	o.socket = f.path;
	p = vale_open("vale0:a/z", &o);
	assert_non_null(p);
	assert_string_equal(param_str(f.params, "name"), "vale0:a/z");
	ring = NETMAP_RXRING(vale_nifp(p), 0);
	assert_int_equal(ring->num_slots, vport_params(z)->rx_slots);
	ring->head = ring->cur = 0;
	assert_int_equal(vale_rxsync(p), 0); /* writes its CSB */
	__atomic_store_n(&VALE_CSB(ring)->atok.appl_need_kick, 1, __ATOMIC_RELAXED);
	assert_int_equal(VALE_CSB(NETMAP_RXRING(vport_if(z), 0))->atok.appl_need_kick, 1);
	assert_true(write_faults(NETMAP_BUF(ring, ring->slot[0].buf_idx)));
	/* Nor its port's rings, beside its own in the same mapping. */
	assert_true(
	    write_faults((char *)vale_nifp(p) - vport_if_offset(z) + vport_if_offset(g->v[0])));
	vale_close(p);
	fake_stop(&f);

	fake_start(&f, z, FAKE_BAD_AREA);
	o.socket = f.path;
	errno = 0;
	assert_null(vale_open("vale0:a/z", &o));
	assert_int_equal(errno, EPROTO);
	assert_non_null(strstr(vale_last_error(), "bad area"));
	fake_stop(&f);
	assert_true(f.saw_eof);
	vport_destroy(z);
	assert_int_equal(open_fds(), nfd);
}

/* ---- netmap compat without a daemon ------------------------------------------ */

static void test_nm_passthrough(void **state)
{
	struct pollfd pfd;
	int pipefd[2], avail = -1;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(write(pipefd[1], "abc", 3), 3);
	/* Not a port: ioctl and poll as usual. */
	assert_int_equal(nm_ioctl(pipefd[0], FIONREAD, &avail), 0);
	assert_int_equal(avail, 3);
	pfd = (struct pollfd){.fd = pipefd[0], .events = POLLIN};
	assert_int_equal(nm_poll(&pfd, 1, 0), 1);
	assert_int_equal(pfd.revents, POLLIN);
	assert_int_equal(NIOCTXSYNC, _IO('i', 148));
	assert_int_equal(NIOCRXSYNC, _IO('i', 149));
	close(pipefd[0]);
	close(pipefd[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_valid),
	    cmocka_unit_test(test_name_pipes),
	    cmocka_unit_test(test_name_refused),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test(test_nm_passthrough),
	    cmocka_unit_test_setup_teardown(test_layout_matches_daemon, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_layout_refuses, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_sync_forwards, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_sync_kicks_only_when_asked, rig_setup,
					    rig_teardown),
	    cmocka_unit_test_setup_teardown(test_rxsync_timestamp, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_poll_immediate, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_poll_timeout_and_others, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_poll_wakes_on_rx, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_poll_wakes_on_tx_room, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_open_registers, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_open_daemon_errors, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_open_zmon, rig_setup, rig_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
