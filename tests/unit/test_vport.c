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
	 * 128 slots and a TX ring of 2, which fits there. */
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), 3 * 128 + 2);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_RING), 4);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_IF), 1);
	struct vport_params zp;
	vport_zmon_params(vport_params(v), &zp);
	zp.shared_mem = m;
	struct vport *z = vport_create(&zp);
	assert_non_null(z);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), 0);
	assert_null(vport_create(&zp)); /* room for one only */
	vport_destroy(z);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), 3 * 128 + 2);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shared_region),
	    cmocka_unit_test(test_client_view),
	    cmocka_unit_test(test_bad_params),
	    cmocka_unit_test(test_eventfds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
