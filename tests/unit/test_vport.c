/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of ports/vport: a VALE port's region as a client maps it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "csb.h"
#include "fault.h"
#include "learn.h"
#include "vport.h"

/* Map the port's fd as a client would and walk it by offsets only. */
static void test_client_view(void **state)
{
	struct vport_params p = {.name = "a",
				 .tx_rings = 2,
				 .rx_rings = 3,
				 .tx_slots = 64,
				 .rx_slots = 128,
				 .extra_bufs = 5};
	struct vport *v = vport_create(&p);
	struct mem_region *m;
	uint8_t *seen;
	(void)state;

	assert_non_null(v);
	m = vport_mem(v);
	char *base = mmap(NULL, mem_size(m), PROT_READ | PROT_WRITE, MAP_SHARED, mem_fd(m), 0);
	assert_true(base != MAP_FAILED);
	struct netmap_if *nifp = NETMAP_IF(base, vport_if_offset(v));
	assert_string_equal(nifp->ni_name, "a");
	assert_int_equal(nifp->ni_version, NETMAP_API);
	assert_int_equal(nifp->ni_tx_rings, 2);
	assert_int_equal(nifp->ni_rx_rings, 3);

	/* Every slot has its own valid buffer; extra buffers are distinct too. */
	seen = calloc(mem_params(m)->buf_num, 1);
	for (uint32_t i = 0; i < 5; i++) {
		struct netmap_ring *r = i < 2 ? NETMAP_TXRING(nifp, i) : NETMAP_RXRING(nifp, i - 2);
		assert_int_equal(r->num_slots, i < 2 ? 64 : 128);
		assert_int_equal(r->dir, i < 2 ? NR_TX : NR_RX);
		assert_int_equal(r->ringid, i < 2 ? i : i - 2);
		assert_int_equal(r->tail, i < 2 ? 63 : 0);
		assert_int_equal(r->nr_buf_size, MEM_BUF_SIZE_DEFAULT);
		for (uint32_t j = 0; j < r->num_slots; j++) {
			uint32_t idx = r->slot[j].buf_idx;
			assert_true(idx >= 2 && idx < mem_params(m)->buf_num);
			assert_false(seen[idx]);
			seen[idx] = 1;
			/* The client's buffer is the daemon's buffer. */
			NETMAP_BUF(r, idx)[0] = (char)j;
			assert_int_equal(mem_buf(m, idx)[0], (char)j);
		}
	}
	uint32_t n = 0;
	for (uint32_t idx = nifp->ni_bufs_head; idx; n++) {
		struct netmap_ring *r0 = NETMAP_TXRING(nifp, 0);
		assert_true(idx < mem_params(m)->buf_num);
		assert_false(seen[idx]);
		seen[idx] = 1;
		memcpy(&idx, NETMAP_BUF(r0, idx), sizeof(idx));
	}
	assert_int_equal(n, 5);
	/* Left over: exactly the room of one zero-copy monitor, 3 RX rings of
	 * 128 slots and a TX ring of 2: their buffers, and an area for its
	 * netmap_if and rings, which fit there. */
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), 3 * 128 + 2);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_RING), 0);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_IF), 0);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_AREA), 1);
	struct vport_params zp;
	vport_zmon_params(vport_params(v), &zp);
	zp.shared_mem = m;
	struct vport *z = vport_create(&zp);
	assert_non_null(z);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), 0);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_AREA), 0);
	assert_null(vport_create(&zp)); /* room for one only */
	vport_destroy(z);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), 3 * 128 + 2);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_AREA), 1);
	free(seen);
	munmap(base, mem_size(m));
	vport_destroy(v);
}

static void test_bad_params(void **state)
{
	struct vport_params p = {.name = "a"};
	(void)state;

	p.tx_rings = BDG_MAXRINGS + 1;
	assert_null(vport_create(&p));
	assert_int_equal(errno, EINVAL);
	p.tx_rings = 1;
	p.rx_slots = 1;
	assert_null(vport_create(&p));
	assert_int_equal(errno, EINVAL);
	p.rx_slots = 0;
	p.buf_size = 32;
	assert_null(vport_create(&p));
	assert_int_equal(errno, EINVAL);
	p.buf_size = 0;
	p.name = "0123456789abcdef";
	assert_null(vport_create(&p));
	assert_int_equal(errno, ENAMETOOLONG);
	p.name = NULL;
	assert_null(vport_create(&p));
	assert_int_equal(errno, EINVAL);
	/* Defaults. */
	p.name = "b";
	struct vport *v = vport_create(&p);
	assert_non_null(v);
	assert_int_equal(vport_params(v)->tx_slots, VPORT_SLOTS_DEFAULT);
	assert_int_equal(vport_params(v)->buf_size, MEM_BUF_SIZE_DEFAULT);
	assert_int_equal(bdg_port_rx_rings(vport_port(v)), 1);
	vport_destroy(v);
	vport_destroy(NULL);
}

static bool readable(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	uint64_t v;

	if (poll(&pfd, 1, 0) != 1)
		return false;
	assert_int_equal(read(fd, &v, sizeof(v)), sizeof(v));
	return true;
}

/* Send one broadcast frame from a's TX ring 0 and forward it. */
static void send_one(struct vport *a, struct bdg_scratch *s)
{
	struct netmap_ring *r = NETMAP_TXRING(vport_if(a), 0);
	struct netmap_slot *slot = &r->slot[r->head];
	char *f = NETMAP_BUF(r, slot->buf_idx);

	memset(f, 0xff, 6);
	memset(f + 6, 0x02, 6);
	memset(f + 12, 0, 48);
	slot->len = 60;
	r->head = r->cur = nm_ring_next(r, r->head);
	csb_appl_publish(r, VALE_CSB(r));
	assert_int_equal(bdg_forward(vport_port(a), 0, s), 1);
}

/* Each port has its two eventfds; an RX delivery writes notify only when
 * the client asked for it (atok.appl_need_kick). */
static void test_eventfds(void **state)
{
	struct vport_params pa = {.name = "a", .tx_slots = 64}, pb = {.name = "b"};
	struct vport *a = vport_create(&pa), *b = vport_create(&pb);
	struct bdg *sw = bdg_create("vale0", &learn_ops, learn_create(16, 300));
	struct bdg_scratch *s = bdg_scratch_create();
	struct vale_csb *rx_csb;
	(void)state;

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(sw);
	assert_non_null(s);
	int fds[2] = {vport_kick_fd(a), vport_notify_fd(a)};
	for (int i = 0; i < 2; i++) {
		assert_true(fds[i] >= 0);
		assert_true(fcntl(fds[i], F_GETFL) & O_NONBLOCK);
		assert_true(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
	}
	assert_int_not_equal(fds[0], fds[1]);
	assert_true(bdg_attach(sw, vport_port(a)) >= 0);
	assert_true(bdg_attach(sw, vport_port(b)) >= 0);
	rx_csb = VALE_CSB(NETMAP_RXRING(vport_if(b), 0));

	send_one(a, s);
	assert_false(readable(vport_notify_fd(b)));
	__atomic_store_n(&rx_csb->atok.appl_need_kick, 1, __ATOMIC_RELAXED);
	send_one(a, s);
	assert_true(readable(vport_notify_fd(b)));
	assert_false(readable(vport_notify_fd(a))); /* the sender's is not touched */
	assert_false(readable(vport_kick_fd(b)));

	bdg_detach(vport_port(a));
	bdg_detach(vport_port(b));
	vport_destroy(a);
	vport_destroy(b);
	assert_int_equal(bdg_destroy(sw), 0);
	bdg_scratch_destroy(s);
}

/* Two ports in one shared region (netmap's nr_mem_id): distinct objects,
 * everything back to the region when they go, and a clear refusal when the
 * region cannot hold a port. */
static void test_shared_region(void **state)
{
	struct mem_params mp = {.if_num = 4,
				.if_size = 256,
				.ring_num = 8,
				.ring_size = (uint32_t)vale_ring_size(256),
				.buf_num = 2 + 4 * 256,
				.buf_size = 2048};
	struct mem_region *m = mem_create(&mp);
	struct vport_params pa = {.name = "a", .tx_slots = 256, .rx_slots = 256, .shared_mem = m};
	struct vport_params pb = pa;
	struct vport *a, *b;
	uint8_t *seen;
	(void)state;

	assert_non_null(m);
	pb.name = "b";
	a = vport_create(&pa);
	b = vport_create(&pb);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_equal(vport_mem(a), m);
	assert_ptr_equal(vport_mem(b), m);
	assert_int_not_equal(vport_if_offset(a), vport_if_offset(b));
	assert_int_equal(vport_if(a)->ni_flags & NI_PRIV_MEM, 0);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), 0);
	/* No buffer is in two rings. */
	seen = calloc(mp.buf_num, 1);
	for (int k = 0; k < 2; k++) {
		struct netmap_if *nifp = vport_if(k ? b : a);
		for (uint32_t i = 0; i < 2; i++) {
			struct netmap_ring *r = i ? NETMAP_RXRING(nifp, 0) : NETMAP_TXRING(nifp, 0);
			for (uint32_t j = 0; j < r->num_slots; j++) {
				assert_false(seen[r->slot[j].buf_idx]);
				seen[r->slot[j].buf_idx] = 1;
			}
		}
	}
	free(seen);
	/* Full: a third port does not fit, and nothing leaks from trying. */
	pb.name = "c";
	assert_null(vport_create(&pb));
	assert_int_equal(errno, ENOMEM);
	/* Rings larger than the region's ring objects cannot fit at all. */
	pb.tx_slots = 1024;
	assert_null(vport_create(&pb));
	assert_int_equal(errno, EINVAL);
	vport_destroy(a);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), 2 * 256);
	vport_destroy(b);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), 4 * 256);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_RING), 8);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_IF), 4);
	mem_destroy(m);
}

/* Mark in seen[] every buffer index v's client finds in its rings and its
 * extra list (walked through the daemon's mapping, as the client would). */
static uint32_t mark_bufs(struct vport *v, uint8_t *seen, uint32_t buf_num)
{
	struct netmap_if *nifp = vport_if(v);
	struct mem_region *m = vport_mem(v);
	uint32_t n = 0;

	for (uint32_t i = 0; i < nifp->ni_tx_rings + nifp->ni_rx_rings; i++) {
		struct netmap_ring *r = i < nifp->ni_tx_rings
					    ? NETMAP_TXRING(nifp, i)
					    : NETMAP_RXRING(nifp, i - nifp->ni_tx_rings);
		for (uint32_t j = 0; j < r->num_slots; j++, n++) {
			assert_true(r->slot[j].buf_idx < buf_num);
			seen[r->slot[j].buf_idx] = 1;
		}
	}
	for (uint32_t idx = nifp->ni_bufs_head; idx; n++) {
		assert_true(idx < buf_num);
		seen[idx] = 1;
		memcpy(&idx, mem_buf(m, idx), sizeof(idx));
	}
	return n;
}

/* True if a buffer of v is marked in seen[]. */
static bool uses_marked(struct vport *v, const uint8_t *seen, uint32_t buf_num)
{
	uint8_t *mine = calloc(buf_num, 1);
	bool any = false;

	assert_non_null(mine);
	mark_bufs(v, mine, buf_num);
	for (uint32_t i = 0; i < buf_num; i++)
		any |= mine[i] && seen[i];
	free(mine);
	return any;
}

/* What a hostile client of v writes before it closes: victim's buffer
 * indices in every one of its slots, and an extra-buffer list that starts
 * at head (someone else's list, or a loop). */
static void scribble(struct vport *v, const uint8_t *victim, uint32_t buf_num, uint32_t head)
{
	struct netmap_if *nifp = vport_if(v);
	uint32_t k = 0;

	for (uint32_t i = 0; i < nifp->ni_tx_rings + nifp->ni_rx_rings; i++) {
		struct netmap_ring *r = i < nifp->ni_tx_rings
					    ? NETMAP_TXRING(nifp, i)
					    : NETMAP_RXRING(nifp, i - nifp->ni_tx_rings);
		for (uint32_t j = 0; j < r->num_slots; j++) {
			while (!victim[k])
				k = (k + 1) % buf_num;
			r->slot[j].buf_idx = k;
			k = (k + 1) % buf_num;
		}
	}
	nifp->ni_bufs_head = head;
}

/*
 * Finding 5: a port of a shared region whose client wrote another port's
 * buffer indices into its slots and another port's extra list into
 * ni_bufs_head, then closed. The other port keeps its buffers: none is
 * handed to the next port; and the hostile port's own buffers are not
 * lost: the pools are full again once every port is gone.
 */
static void test_hostile_close_shared(void **state)
{
	struct mem_params mp = {.if_num = 4,
				.if_size = 256,
				.ring_num = 8,
				.ring_size = (uint32_t)vale_ring_size(64),
				.buf_num = 2 + 3 * (2 * 64 + 8),
				.buf_size = 2048};
	struct mem_region *m = mem_create(&mp);
	struct vport_params pa = {
	    .name = "a", .tx_slots = 64, .rx_slots = 64, .extra_bufs = 8, .shared_mem = m};
	struct vport_params pb = pa, pc = pa;
	uint8_t *victim = calloc(mp.buf_num, 1);
	uint32_t start[3];
	struct vport *a, *b, *c;
	(void)state;

	assert_non_null(m);
	assert_non_null(victim);
	for (int i = 0; i < 3; i++)
		start[i] = mem_pool_free_count(m, (enum mem_pool)i);
	pb.name = "b";
	pc.name = "c";
	b = vport_create(&pb);
	a = vport_create(&pa);
	assert_non_null(b);
	assert_non_null(a);
	assert_int_equal(mark_bufs(b, victim, mp.buf_num), 2 * 64 + 8);
	scribble(a, victim, mp.buf_num, vport_if(b)->ni_bufs_head);
	vport_destroy(a);

	/* Every buffer b was handed is still b's: the next port gets none. */
	c = vport_create(&pc);
	assert_non_null(c);
	assert_false(uses_marked(c, victim, mp.buf_num));
	vport_destroy(c);
	vport_destroy(b);
	for (int i = 0; i < 3; i++)
		assert_int_equal(mem_pool_free_count(m, (enum mem_pool)i), start[i]);
	free(victim);
	mem_destroy(m);
}

/*
 * The same from a zero-copy monitor, which lives in its port's own region:
 * its client names the port's buffers in its slots and makes ni_bufs_head
 * a loop through one of them. Closing it frees none of the port's buffers,
 * the next monitor gets none of them, and the region's room for a monitor
 * is whole again after it.
 */
static void test_hostile_close_zmon(void **state)
{
	struct vport_params p = {.name = "p", .tx_slots = 64, .rx_slots = 128, .extra_bufs = 4};
	struct vport *v = vport_create(&p), *z;
	struct vport_params zp;
	struct mem_region *m;
	uint8_t *victim;
	uint32_t room, loop;
	(void)state;

	assert_non_null(v);
	m = vport_mem(v);
	victim = calloc(mem_params(m)->buf_num, 1);
	assert_non_null(victim);
	mark_bufs(v, victim, mem_params(m)->buf_num);
	room = mem_pool_free_count(m, MEM_POOL_BUF);
	vport_zmon_params(vport_params(v), &zp);
	zp.shared_mem = m;
	z = vport_create(&zp);
	assert_non_null(z);
	loop = NETMAP_RXRING(vport_if(v), 0)->slot[5].buf_idx;
	memcpy(mem_buf(m, loop), &loop, sizeof(loop)); /* the port's buffer, linked to itself */
	scribble(z, victim, mem_params(m)->buf_num, loop);
	vport_destroy(z);

	z = vport_create(&zp);
	assert_non_null(z);
	assert_false(uses_marked(z, victim, mem_params(m)->buf_num));
	vport_destroy(z);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), room);
	free(victim);
	vport_destroy(v);
}

/* Send one broadcast frame from TX slot head of a, in buffer idx (0: the
 * slot's own), and forward it. */
static void send_in(struct vport *a, struct bdg_scratch *s, uint32_t idx)
{
	struct netmap_ring *r = NETMAP_TXRING(vport_if(a), 0);
	struct netmap_slot *slot = &r->slot[r->head];

	if (idx)
		slot->buf_idx = idx;
	memset(mem_buf(vport_mem(a), slot->buf_idx), 0xff, 60);
	slot->len = 60;
	r->head = r->cur = nm_ring_next(r, r->head);
	csb_appl_publish(r, VALE_CSB(r));
	assert_int_equal(bdg_forward(vport_port(a), 0, s), 1);
}

/*
 * Zero-copy swaps move the owner record with the buffers: a monitor that
 * took a port's sent buffers frees those, not the ones it gave, so the next
 * monitor gets none that the port holds now. And a swap takes only the
 * port's own: buffers of another port of the shared region that the port's
 * client put in its TX slots go out (to the switch) but never to the
 * monitor, so its close does not free them.
 */
static void test_zmon_swaps_move_the_record(void **state)
{
	struct mem_params mp = {.if_num = 4,
				.if_size = 256,
				.ring_num = 8,
				.ring_size = (uint32_t)vale_ring_size(64),
				.buf_num = 2 + 2 * (2 * 64),
				.buf_size = 2048};
	struct vport_params pp = {.name = "p",
				  .tx_rings = 1,
				  .rx_rings = 1,
				  .tx_slots = 64,
				  .rx_slots = 64},
			    pc, pq, zp;
	struct bdg *sw = bdg_create("vale0", &learn_ops, learn_create(16, 300));
	struct bdg_scratch *s = bdg_scratch_create();
	struct vport *p, *c, *q, *z;
	struct mem_region *m;
	uint8_t *theirs;
	uint32_t start[3];
	(void)state;

	vport_zmon_room(&pp, &mp);
	m = mem_create(&mp);
	assert_non_null(m);
	for (int i = 0; i < 3; i++)
		start[i] = mem_pool_free_count(m, (enum mem_pool)i);
	pp.shared_mem = m;
	pc = pp;
	pc.name = "c";
	pq = (struct vport_params){.name = "q"};
	p = vport_create(&pp);
	c = vport_create(&pc);
	q = vport_create(&pq);
	assert_non_null(p);
	assert_non_null(c);
	assert_non_null(q);
	assert_true(bdg_attach(sw, vport_port(p)) >= 0);
	assert_true(bdg_attach(sw, vport_port(q)) >= 0);
	vport_zmon_params(vport_params(p), &zp);
	zp.shared_mem = m;
	z = vport_create(&zp);
	assert_non_null(z);
	assert_int_equal(
	    bdg_monitor_attach(vport_port(p), vport_port(z), BDG_MON_TX | BDG_MON_ZCOPY), 0);
	theirs = calloc(mp.buf_num, 1);
	assert_non_null(theirs);
	mark_bufs(c, theirs, mp.buf_num);
	for (uint32_t k = 0; k < 20; k++) {
		uint32_t idx = 0;

		if (k >= 10) /* c's buffer k, named by p's client */
			idx = NETMAP_RXRING(vport_if(c), 0)->slot[k].buf_idx;
		send_in(p, s, idx);
	}
	assert_int_equal(bdg_port_rx_kring(vport_port(z), 0)->stats.packets, 10);
	bdg_monitor_detach(vport_port(z));
	vport_destroy(z);

	/* What p holds now (the monitor's buffers, for the ones it took) and
	 * what c holds stay theirs. */
	mark_bufs(p, theirs, mp.buf_num);
	z = vport_create(&zp);
	assert_non_null(z);
	assert_false(uses_marked(z, theirs, mp.buf_num));
	vport_destroy(z);
	bdg_detach(vport_port(p));
	bdg_detach(vport_port(q));
	vport_destroy(p);
	vport_destroy(c);
	vport_destroy(q);
	for (int i = 0; i < 3; i++)
		assert_int_equal(mem_pool_free_count(m, (enum mem_pool)i), start[i]);
	assert_int_equal(bdg_destroy(sw), 0);
	bdg_scratch_destroy(s);
	free(theirs);
	mem_destroy(m);
}

/*
 * Finding 3, memory: a zero-copy monitor's client gets its port's region
 * read-only, and write access to its own netmap_if, rings and CSBs only,
 * through an area fd mapped over the same range; offsets are the region's.
 * The port's client, which maps the region read-write, does not reach the
 * monitor's rings: it sees the region's unused pages there.
 */
static void test_zmon_area(void **state)
{
	struct vport_params p = {.name = "p", .tx_slots = 64, .rx_slots = 128};
	struct vport *v = vport_create(&p), *z;
	struct vport_params zp;
	struct netmap_ring *zr, *dr;
	struct mem_region *m;
	size_t aofs = 0, asz = 0, buf;
	char *port, *mon;
	int ro, afd;
	(void)state;

	assert_non_null(v);
	m = vport_mem(v);
	assert_int_equal(vport_client_mem_fd(v), mem_fd(m));
	assert_int_equal(vport_area_fd(v, &aofs, &asz), -1);
	vport_zmon_params(vport_params(v), &zp);
	assert_true(zp.own_area);
	zp.shared_mem = m;
	z = vport_create(&zp);
	assert_non_null(z);
	ro = vport_client_mem_fd(z);
	afd = vport_area_fd(z, &aofs, &asz);
	assert_true(ro >= 0);
	assert_true(afd >= 0);
	assert_int_equal(aofs % (size_t)sysconf(_SC_PAGESIZE), 0);
	assert_true(asz >= vport_zmon_area_size(vport_params(v)));
	/* Everything of the monitor's own is in its area. */
	assert_true(vport_if_offset(z) >= aofs && vport_if_offset(z) < aofs + asz);

	/* The monitor's client: no writable mapping of the region. */
	errno = 0;
	assert_true(mmap(NULL, mem_size(m), PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) ==
		    MAP_FAILED);
	assert_int_equal(errno, EACCES);
	mon = mmap(NULL, mem_size(m), PROT_READ, MAP_SHARED, ro, 0);
	assert_true(mon != MAP_FAILED);
	assert_true(mmap(mon + aofs, asz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, afd, 0) ==
		    mon + aofs);
	zr = NETMAP_RXRING(NETMAP_IF(mon, vport_if_offset(z)), 0);
	dr = NETMAP_RXRING(vport_if(z), 0);
	assert_int_equal(zr->num_slots, 128);
	/* Its rings are its own to write, and the daemon sees them... */
	zr->head = zr->cur = 0;
	VALE_CSB(zr)->atok.appl_need_kick = 1;
	assert_int_equal(VALE_CSB(dr)->atok.appl_need_kick, 1);
	/* ...but not a byte of the buffers it shares with the port. */
	buf = mem_offset(m, mem_buf(m, zr->slot[0].buf_idx));
	assert_true(write_faults(mon + buf));
	assert_true(write_faults(mon + vport_if_offset(v)));

	/* The port's client scribbles where the monitor's rings are in its
	 * mapping: the monitor's rings do not change. */
	port = mmap(NULL, mem_size(m), PROT_READ | PROT_WRITE, MAP_SHARED, mem_fd(m), 0);
	assert_true(port != MAP_FAILED);
	memset(port + aofs, 0xff, asz);
	assert_int_equal(zr->num_slots, 128);
	assert_int_equal(dr->num_slots, 128);
	assert_true(dr->slot[0].buf_idx < mem_params(m)->buf_num);
	assert_string_equal(vport_if(z)->ni_name, "p");
	assert_int_equal(VALE_CSB(dr)->atok.appl_need_kick, 1);

	munmap(mon, mem_size(m));
	vport_destroy(z);
	/* The next monitor gets a fresh area, whatever the port wrote. */
	z = vport_create(&zp);
	assert_non_null(z);
	assert_int_equal(vport_area_fd(z, &aofs, &asz) >= 0, 1);
	assert_int_equal(VALE_CSB(NETMAP_RXRING(vport_if(z), 0))->atok.appl_need_kick, 0);
	vport_destroy(z);
	munmap(port, mem_size(m));
	vport_destroy(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shared_region),
	    cmocka_unit_test(test_client_view),
	    cmocka_unit_test(test_bad_params),
	    cmocka_unit_test(test_eventfds),
	    cmocka_unit_test(test_hostile_close_shared),
	    cmocka_unit_test(test_hostile_close_zmon),
	    cmocka_unit_test(test_zmon_swaps_move_the_record),
	    cmocka_unit_test(test_zmon_area),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
