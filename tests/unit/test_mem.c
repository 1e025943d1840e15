/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for ring/mem: region layout, sealing, sharing and the checked pools. */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mem.h"

#define IF_NUM 4
#define IF_SIZE 256
#define RING_NUM 8
#define RING_SIZE 4096
#define BUF_NUM 64
#define BUF_SIZE 2048

static struct mem_params small_params(void)
{
	struct mem_params p = {
	    .if_num = IF_NUM,
	    .if_size = IF_SIZE,
	    .ring_num = RING_NUM,
	    .ring_size = RING_SIZE,
	    .buf_num = BUF_NUM,
	    .buf_size = BUF_SIZE,
	};
	return p;
}

static size_t page_round(size_t x)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (x + page - 1) / page * page;
}

static int setup_region(void **state)
{
	struct mem_params p = small_params();

	*state = mem_create(&p);
	return *state ? 0 : -1;
}

static int teardown_region(void **state)
{
	mem_destroy(*state);
	return 0;
}

/* Expect mem_create(p) to fail with EINVAL. */
static void assert_rejected(const struct mem_params *p)
{
	struct mem_region *m;

	errno = 0;
	m = mem_create(p);
	assert_null(m);
	assert_int_equal(errno, EINVAL);
}

static void assert_accepted(const struct mem_params *p)
{
	struct mem_region *m = mem_create(p);

	assert_non_null(m);
	assert_int_equal(mem_params(m)->buf_size, p->buf_size);
	mem_destroy(m);
}

static void test_params(void **state)
{
	struct mem_params p;

	(void)state;
	assert_rejected(NULL);

	p = small_params();
	p.buf_size = MEM_BUF_SIZE_MIN - 1;
	assert_rejected(&p);
	p.buf_size = MEM_BUF_SIZE_MAX + 1;
	assert_rejected(&p);
	p.buf_size = 0;
	assert_rejected(&p);
	p.buf_size = MEM_BUF_SIZE_MIN;
	assert_accepted(&p);
	p.buf_size = MEM_BUF_SIZE_MAX;
	assert_accepted(&p);
	p.buf_size = 65; /* odd sizes are in range: buffers need not be aligned */
	assert_accepted(&p);

	p = small_params();
	p.if_num = 0;
	assert_rejected(&p);
	p = small_params();
	p.if_size = 0;
	assert_rejected(&p);
	p = small_params();
	p.ring_num = 0;
	assert_rejected(&p);
	p = small_params();
	p.ring_size = 0;
	assert_rejected(&p);
	p = small_params();
	p.buf_num = 0;
	assert_rejected(&p);
	p.buf_num = MEM_BUF_RESERVED; /* only the reserved ones: nothing to hand out */
	assert_rejected(&p);
	p.buf_num = MEM_BUF_RESERVED + 1;
	assert_accepted(&p);

	/* Over 2^40 bytes: rejected before anything is allocated. */
	p = small_params();
	p.buf_num = UINT32_MAX;
	p.buf_size = MEM_BUF_SIZE_MAX;
	assert_rejected(&p);
	p = small_params();
	p.if_num = UINT32_MAX;
	p.if_size = UINT32_MAX;
	assert_rejected(&p);
	p = small_params();
	p.ring_num = UINT32_MAX;
	p.ring_size = UINT32_MAX;
	assert_rejected(&p);
}

static void test_layout(void **state)
{
	struct mem_region *m = *state;
	struct mem_params want = small_params();
	const struct mem_params *got = mem_params(m);
	size_t ring_start = page_round(IF_NUM * IF_SIZE);
	size_t buf_start = ring_start + page_round(RING_NUM * RING_SIZE);
	struct stat st;

	assert_int_equal(got->if_num, want.if_num);
	assert_int_equal(got->if_size, want.if_size);
	assert_int_equal(got->ring_num, want.ring_num);
	assert_int_equal(got->ring_size, want.ring_size);
	assert_int_equal(got->buf_num, want.buf_num);
	assert_int_equal(got->buf_size, want.buf_size);
	assert_false(got->hugetlb);
	assert_non_null(mem_base(m));
	assert_int_equal(mem_buf_base_offset(m), buf_start);
	assert_int_equal(mem_size(m), buf_start + page_round(BUF_NUM * BUF_SIZE));
	assert_int_equal(fstat(mem_fd(m), &st), 0);
	assert_int_equal((size_t)st.st_size, mem_size(m));
	assert_true(fcntl(mem_fd(m), F_GETFD) & FD_CLOEXEC);

	assert_ptr_equal(mem_buf(m, 0), (char *)mem_base(m) + buf_start);
	assert_ptr_equal(mem_buf(m, 5), (char *)mem_base(m) + buf_start + 5 * BUF_SIZE);
	assert_int_equal(mem_offset(m, mem_buf(m, 3)), buf_start + 3 * BUF_SIZE);
}

static void test_sealed(void **state)
{
	struct mem_region *m = *state;
	int fd = mem_fd(m);
	int seals;

	seals = fcntl(fd, F_GET_SEALS);
	assert_true(seals >= 0);
	assert_true(seals & F_SEAL_SHRINK);
	assert_true(seals & F_SEAL_GROW);
	assert_true(seals & F_SEAL_SEAL);

	errno = 0;
	assert_int_equal(ftruncate(fd, (off_t)mem_size(m) / 2), -1);
	assert_int_equal(errno, EPERM);
	errno = 0;
	assert_int_equal(ftruncate(fd, (off_t)mem_size(m) * 2), -1);
	assert_int_equal(errno, EPERM);
	errno = 0;
	assert_int_equal(ftruncate(fd, 0), -1);
	assert_int_equal(errno, EPERM);
	/* F_SEAL_SEAL: a client cannot take the seals off or add a write seal. */
	errno = 0;
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
	assert_int_equal(errno, EPERM);
}

static void test_shared(void **state)
{
	struct mem_region *m = *state;
	size_t ofs = mem_buf_base_offset(m) + 9 * BUF_SIZE;
	char *daemon = (char *)mem_base(m) + ofs;
	char *client;
	void *map;

	map = mmap(NULL, mem_size(m), PROT_READ | PROT_WRITE, MAP_SHARED, mem_fd(m), 0);
	assert_true(map != MAP_FAILED);
	assert_ptr_not_equal(map, mem_base(m));
	client = (char *)map + ofs;

	memcpy(daemon, "written by the daemon", 22);
	assert_memory_equal(client, "written by the daemon", 22);
	memcpy(client + 100, "and by the client", 18);
	assert_memory_equal(daemon + 100, "and by the client", 18);
	/* The last byte of the region is shared too. */
	((char *)mem_base(m))[mem_size(m) - 1] = 0x5a;
	assert_int_equal(((char *)map)[mem_size(m) - 1], 0x5a);

	assert_int_equal(munmap(map, mem_size(m)), 0);
}

static void test_buf_order_and_reserved(void **state)
{
	struct mem_region *m = *state;
	uint32_t got[BUF_NUM];
	uint32_t n = 0, idx;

	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), BUF_NUM - MEM_BUF_RESERVED);

	/* Reserved indices cannot be freed, even before anything is allocated. */
	assert_int_equal(mem_buf_free(m, 0), -EINVAL);
	assert_int_equal(mem_buf_free(m, 1), -EINVAL);

	while ((idx = mem_buf_alloc(m, MEM_OWNER_CREATOR)) != 0) {
		assert_true(n < BUF_NUM - MEM_BUF_RESERVED);
		assert_true(idx >= MEM_BUF_RESERVED && idx < BUF_NUM);
		/* A fresh region hands out 2, 3, 4, ... */
		assert_int_equal(idx, MEM_BUF_RESERVED + n);
		got[n++] = idx;
	}
	assert_int_equal(n, BUF_NUM - MEM_BUF_RESERVED);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), 0);
	assert_int_equal(mem_buf_alloc(m, MEM_OWNER_CREATOR), 0); /* still nothing */

	assert_int_equal(mem_buf_free(m, 0), -EINVAL);
	assert_int_equal(mem_buf_free(m, 1), -EINVAL);
	assert_int_equal(mem_buf_free(m, BUF_NUM), -EINVAL);
	assert_int_equal(mem_buf_free(m, UINT32_MAX), -EINVAL);

	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(mem_buf_free(m, got[i]), 0);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), BUF_NUM - MEM_BUF_RESERVED);

	/* Double free. */
	assert_int_equal(mem_buf_free(m, got[0]), -EINVAL);
	assert_int_equal(mem_buf_free(m, got[n - 1]), -EINVAL);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), BUF_NUM - MEM_BUF_RESERVED);

	/* After all that, 0 and 1 still never come back. */
	n = 0;
	while ((idx = mem_buf_alloc(m, MEM_OWNER_CREATOR)) != 0) {
		assert_true(idx >= MEM_BUF_RESERVED && idx < BUF_NUM);
		got[n++] = idx;
	}
	assert_int_equal(n, BUF_NUM - MEM_BUF_RESERVED);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(mem_buf_free(m, got[i]), 0);
}

static void test_bufs_alloc_all_or_nothing(void **state)
{
	struct mem_region *m = *state;
	const uint32_t avail = BUF_NUM - MEM_BUF_RESERVED;
	uint32_t idx[BUF_NUM + 1];
	uint32_t one;

	memset(idx, 0xab, sizeof(idx));
	assert_int_equal(mem_bufs_alloc(m, MEM_OWNER_CREATOR, idx, avail + 1), 0);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), avail);
	assert_int_equal(mem_bufs_alloc(m, MEM_OWNER_CREATOR, idx, 0), 0);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), avail);

	one = mem_buf_alloc(m, MEM_OWNER_CREATOR);
	assert_int_not_equal(one, 0);
	/* Exactly as many as are left: the old full amount is now one too many. */
	assert_int_equal(mem_bufs_alloc(m, MEM_OWNER_CREATOR, idx, avail), 0);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), avail - 1);
	assert_int_equal(mem_bufs_alloc(m, MEM_OWNER_CREATOR, idx, avail - 1), avail - 1);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), 0);
	for (uint32_t i = 0; i < avail - 1; i++) {
		assert_true(idx[i] >= MEM_BUF_RESERVED && idx[i] < BUF_NUM);
		assert_int_not_equal(idx[i], one);
		for (uint32_t j = 0; j < i; j++)
			assert_int_not_equal(idx[i], idx[j]);
	}
	assert_int_equal(mem_bufs_alloc(m, MEM_OWNER_CREATOR, idx + avail, 1), 0);

	for (uint32_t i = 0; i < avail - 1; i++)
		assert_int_equal(mem_buf_free(m, idx[i]), 0);
	assert_int_equal(mem_buf_free(m, one), 0);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), avail);
}

/*
 * Shared checks for the if and ring pools: objects are zeroed, at pool_start
 * + k * stride inside [pool_start, pool_end), and frees are checked.
 */
static void check_obj_pool(struct mem_region *m, enum mem_pool pool, uint32_t num, size_t size,
			   size_t pool_start, size_t pool_end, void *(*alloc)(struct mem_region *),
			   int (*release)(struct mem_region *, void *))
{
	void *objs[64];
	char not_ours[64];
	uint32_t n = 0;
	void *o;

	assert_true(num <= 64);
	assert_int_equal(mem_pool_free_count(m, pool), num);
	while ((o = alloc(m)) != NULL) {
		size_t ofs = mem_offset(m, o);

		assert_true(n < num);
		assert_true(ofs >= pool_start);
		assert_true(ofs + size <= pool_end);
		assert_int_equal(ofs % 128, 0); /* NM_CACHE_ALIGN */
		for (uint32_t i = 0; i < n; i++) {
			size_t other = mem_offset(m, objs[i]);

			assert_true(ofs >= other + size || other >= ofs + size);
		}
		for (size_t i = 0; i < size; i++)
			assert_int_equal(((unsigned char *)o)[i], 0);
		memset(o, 0xee, size); /* dirty it for the re-alloc check */
		objs[n++] = o;
	}
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(n, num);
	assert_int_equal(mem_pool_free_count(m, pool), 0);
	/* The first object sits at the start of the pool. */
	assert_int_equal(mem_offset(m, objs[0]), pool_start);

	/* Not objects of this pool. */
	assert_int_equal(release(m, NULL), -EINVAL);
	assert_int_equal(release(m, not_ours), -EINVAL);
	assert_int_equal(release(m, (char *)objs[0] + 1), -EINVAL);
	assert_int_equal(release(m, (char *)mem_base(m) + pool_end), -EINVAL);
	assert_int_equal(release(m, mem_buf(m, 2)), -EINVAL);
	assert_int_equal(mem_pool_free_count(m, pool), 0);

	/* Free one, get it back zeroed. */
	assert_int_equal(release(m, objs[1]), 0);
	assert_int_equal(release(m, objs[1]), -EINVAL);
	o = alloc(m);
	assert_ptr_equal(o, objs[1]);
	for (size_t i = 0; i < size; i++)
		assert_int_equal(((unsigned char *)o)[i], 0);

	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(release(m, objs[i]), 0);
	assert_int_equal(mem_pool_free_count(m, pool), num);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(release(m, objs[i]), -EINVAL);
	assert_int_equal(mem_pool_free_count(m, pool), num);
}

static void test_if_pool(void **state)
{
	struct mem_region *m = *state;
	size_t end = page_round(IF_NUM * IF_SIZE);
	void *r, *i;

	check_obj_pool(m, MEM_POOL_IF, IF_NUM, IF_SIZE, 0, end, mem_if_alloc, mem_if_free);
	/* Ring objects are not if objects, and the other way round. */
	r = mem_ring_alloc(m);
	i = mem_if_alloc(m);
	assert_non_null(r);
	assert_non_null(i);

	assert_int_equal(mem_if_free(m, r), -EINVAL);
	assert_int_equal(mem_ring_free(m, i), -EINVAL);
	assert_int_equal(mem_ring_free(m, r), 0);
	assert_int_equal(mem_if_free(m, i), 0);
}

static void test_ring_pool(void **state)
{
	struct mem_region *m = *state;
	size_t start = page_round(IF_NUM * IF_SIZE);

	check_obj_pool(m, MEM_POOL_RING, RING_NUM, RING_SIZE, start, mem_buf_base_offset(m),
		       mem_ring_alloc, mem_ring_free);
}

/* Sizes that are not multiples of the cache line still give aligned, disjoint objects. */
static void test_odd_object_sizes(void **state)
{
	struct mem_params p = small_params();
	struct mem_region *m;

	(void)state;
	p.if_size = 100;
	p.ring_size = 1000;
	p.if_num = 5;
	p.ring_num = 3;
	m = mem_create(&p);
	assert_non_null(m);
	check_obj_pool(m, MEM_POOL_IF, 5, 100, 0, page_round(5 * 128), mem_if_alloc, mem_if_free);
	check_obj_pool(m, MEM_POOL_RING, 3, 1000, page_round(5 * 128), mem_buf_base_offset(m),
		       mem_ring_alloc, mem_ring_free);
	mem_destroy(m);
}

static void test_no_leak(void **state)
{
	struct mem_region *m = *state;
	uint32_t start[3], bufs[BUF_NUM], head;
	void *ifs[IF_NUM], *rings[RING_NUM];
	uint32_t nb;

	for (int i = 0; i < 3; i++)
		start[i] = mem_pool_free_count(m, (enum mem_pool)i);
	assert_int_equal(start[MEM_POOL_IF], IF_NUM);
	assert_int_equal(start[MEM_POOL_RING], RING_NUM);
	assert_int_equal(start[MEM_POOL_BUF], BUF_NUM - MEM_BUF_RESERVED);

	for (int i = 0; i < IF_NUM; i++)
		assert_non_null(ifs[i] = mem_if_alloc(m));
	for (int i = 0; i < RING_NUM; i++)
		assert_non_null(rings[i] = mem_ring_alloc(m));
	assert_int_equal(mem_extra_bufs_alloc(m, MEM_OWNER_CREATOR, 10, &head), 10);
	nb = mem_bufs_alloc(m, MEM_OWNER_CREATOR, bufs, start[MEM_POOL_BUF] - 10);
	assert_int_equal(nb, start[MEM_POOL_BUF] - 10);
	for (int i = 0; i < 3; i++)
		assert_int_equal(mem_pool_free_count(m, (enum mem_pool)i), 0);

	for (int i = 0; i < RING_NUM; i++)
		assert_int_equal(mem_ring_free(m, rings[i]), 0);
	for (int i = IF_NUM; i-- > 0;)
		assert_int_equal(mem_if_free(m, ifs[i]), 0);
	for (uint32_t i = 0; i < nb; i++)
		assert_int_equal(mem_buf_free(m, bufs[i]), 0);
	assert_int_equal(mem_owner_destroy(m, MEM_OWNER_CREATOR), 10); /* the list */

	for (int i = 0; i < 3; i++)
		assert_int_equal(mem_pool_free_count(m, (enum mem_pool)i), start[i]);
	assert_int_equal(mem_pool_free_count(m, (enum mem_pool)7), 0);
}

static void set_next(struct mem_region *m, uint32_t idx, uint32_t next)
{
	memcpy(mem_buf(m, idx), &next, sizeof(next));
}

/* Collect the n indices of a freshly allocated list into out and check its shape. */
static void walk_list(struct mem_region *m, uint32_t head, uint32_t n, uint32_t *out)
{
	uint32_t idx = head;

	for (uint32_t i = 0; i < n; i++) {
		assert_true(idx >= MEM_BUF_RESERVED && idx < BUF_NUM);
		for (uint32_t j = 0; j < i; j++)
			assert_int_not_equal(idx, out[j]);
		out[i] = idx;
		memcpy(&idx, mem_buf(m, idx), sizeof(idx));
	}
	assert_int_equal(idx, 0);
}

static void test_extra_bufs(void **state)
{
	struct mem_region *m = *state;
	const uint32_t avail = BUF_NUM - MEM_BUF_RESERVED;
	uint32_t list[BUF_NUM], head, before;
	uint16_t o;

	/* n == 0: an empty list. */
	head = 12345;
	assert_int_equal(mem_extra_bufs_alloc(m, MEM_OWNER_CREATOR, 0, &head), 0);
	assert_int_equal(head, 0);

	before = mem_pool_free_count(m, MEM_POOL_BUF);
	assert_int_equal(mem_owner_create(m, &o), 0);
	assert_int_equal(mem_extra_bufs_alloc(m, o, 5, &head), 5);
	walk_list(m, head, 5, list);
	assert_int_equal(head, list[0]);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), before - 5);
	assert_int_equal(mem_owner_bufs(m, o), 5);
	assert_int_equal(mem_owner_destroy(m, o), 5);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), before);
	for (int i = 0; i < 5; i++)
		assert_int_equal(mem_buf_free(m, list[i]), -EINVAL); /* already free */

	/* Shortage: nothing allocated, head untouched. */
	head = 777;
	assert_int_equal(mem_extra_bufs_alloc(m, MEM_OWNER_CREATOR, avail + 1, &head), 0);
	assert_int_equal(head, 777);
	/* No such owner: nothing either. */
	assert_int_equal(mem_extra_bufs_alloc(m, o, 1, &head), 0);
	assert_int_equal(mem_extra_bufs_alloc(m, MEM_OWNER_NONE, 1, &head), 0);
	assert_int_equal(head, 777);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), before);

	/* The whole pool as one list. */
	assert_int_equal(mem_extra_bufs_alloc(m, MEM_OWNER_CREATOR, avail, &head), avail);
	walk_list(m, head, avail, list);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), 0);
	assert_int_equal(mem_owner_destroy(m, MEM_OWNER_CREATOR), avail);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), avail);
}

/*
 * Owners: each gets its own buffers, and destroying one frees exactly what
 * the record gives it, whatever its client did to the list it holds: a
 * loop, a link into another owner's list, an index out of range. Ids run
 * out at one per netmap_if besides the creator, and come back.
 */
static void test_owners(void **state)
{
	struct mem_region *m = *state;
	const uint32_t avail = BUF_NUM - MEM_BUF_RESERVED;
	uint32_t la[BUF_NUM], lb[BUF_NUM], ha, hb, one;
	uint16_t a, b, ids[IF_NUM + 1];
	int n = 0;

	while (n < IF_NUM + 1 && mem_owner_create(m, &ids[n]) == 0) {
		assert_int_not_equal(ids[n], MEM_OWNER_CREATOR);
		assert_int_not_equal(ids[n], MEM_OWNER_NONE);
		for (int j = 0; j < n; j++)
			assert_int_not_equal(ids[n], ids[j]);
		n++;
	}
	assert_int_equal(n, IF_NUM);
	assert_int_equal(mem_owner_create(m, &a), -ENOSPC);
	for (int i = 0; i < n; i++)
		assert_int_equal(mem_owner_destroy(m, ids[i]), 0);
	assert_int_equal(mem_owner_destroy(m, ids[0]), 0); /* gone: nothing */
	assert_int_equal(mem_owner_bufs(m, ids[0]), 0);

	assert_int_equal(mem_owner_create(m, &a), 0);
	assert_int_equal(mem_owner_create(m, &b), 0);
	one = mem_buf_alloc(m, MEM_OWNER_CREATOR);
	assert_int_not_equal(one, 0);
	assert_int_equal(mem_extra_bufs_alloc(m, a, 10, &ha), 10);
	assert_int_equal(mem_extra_bufs_alloc(m, b, 10, &hb), 10);
	walk_list(m, ha, 10, la);
	walk_list(m, hb, 10, lb);
	assert_int_equal(mem_owner_bufs(m, a), 10);
	assert_int_equal(mem_owner_bufs(m, b), 10);
	assert_int_equal(mem_owner_bufs(m, MEM_OWNER_CREATOR), 1);
	/* a's client: a loop, a link into b's list, garbage. */
	set_next(m, la[9], ha);
	set_next(m, la[3], lb[4]);
	set_next(m, la[5], UINT32_MAX);
	assert_int_equal(mem_owner_destroy(m, a), 10);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), avail - 11);
	for (int i = 0; i < 10; i++)
		assert_int_equal(mem_buf_free(m, la[i]), -EINVAL); /* a's: freed */
	/* b's stay b's: the next allocations never return them. */
	for (uint32_t i = 0; i < avail - 11; i++) {
		uint32_t idx = mem_buf_alloc(m, MEM_OWNER_CREATOR);

		assert_int_not_equal(idx, 0);
		for (int j = 0; j < 10; j++)
			assert_int_not_equal(idx, lb[j]);
	}
	assert_int_equal(mem_buf_alloc(m, MEM_OWNER_CREATOR), 0);
	assert_int_equal(mem_owner_bufs(m, MEM_OWNER_CREATOR), avail - 10);
	/* The creator stays when its buffers go. */
	assert_int_equal(mem_owner_destroy(m, MEM_OWNER_CREATOR), avail - 10);
	assert_int_equal(mem_owner_destroy(m, b), 10);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), avail);
	assert_int_not_equal(mem_buf_alloc(m, MEM_OWNER_CREATOR), 0);
	assert_int_equal(mem_buf_alloc(m, b), 0); /* b is gone */
	assert_int_equal(mem_owner_destroy(m, MEM_OWNER_CREATOR), 1);
}

/*
 * Buffers that change hands move in the record: after a swap between two
 * owners each one's destroy frees what it holds now. The record refuses
 * what is not the giver's: a free buffer, a reserved one, a third owner's.
 */
static void test_owner_swap(void **state)
{
	struct mem_region *m = *state;
	uint16_t *rec = mem_owners(m), p, z, q;
	uint32_t bp, bz, bq, free_idx;

	assert_int_equal(mem_owner_create(m, &p), 0);
	assert_int_equal(mem_owner_create(m, &z), 0);
	assert_int_equal(mem_owner_create(m, &q), 0);
	bp = mem_buf_alloc(m, p);
	bz = mem_buf_alloc(m, z);
	bq = mem_buf_alloc(m, q);
	free_idx = mem_buf_alloc(m, MEM_OWNER_CREATOR);
	assert_int_equal(mem_buf_free(m, free_idx), 0);
	assert_true(mem_owned_by(rec, bp, p));
	assert_false(mem_owned_by(rec, bp, z));
	assert_false(mem_owned_by(rec, free_idx, p));
	assert_true(mem_owned_by(rec, free_idx, MEM_OWNER_NONE));
	assert_true(mem_owned_by(rec, 0, MEM_OWNER_NONE));
	assert_true(mem_owned_by(rec, 1, MEM_OWNER_NONE));
	assert_false(mem_owned_by(rec, bq, p));

	mem_hand_over(rec, bp, z);
	mem_hand_over(rec, bz, p);
	assert_int_equal(mem_owner_destroy(m, z), 1);
	assert_int_equal(mem_buf_free(m, bp), -EINVAL); /* went with z */
	assert_int_equal(mem_owner_bufs(m, p), 1);
	assert_int_equal(mem_owner_destroy(m, p), 1);
	assert_int_equal(mem_buf_free(m, bz), -EINVAL); /* went with p */
	assert_int_equal(mem_owner_destroy(m, q), 1);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_BUF), BUF_NUM - MEM_BUF_RESERVED);
}

static void test_ids(void **state)
{
	struct mem_params p = small_params();
	struct mem_region *r[32];
	uint16_t first;

	(void)state;
	for (int i = 0; i < 32; i++) {
		r[i] = mem_create(&p);
		assert_non_null(r[i]);
		assert_int_not_equal(mem_id(r[i]), 0);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(mem_id(r[i]), mem_id(r[j]));
	}
	for (int i = 0; i < 32; i++)
		mem_destroy(r[i]);

	/*
	 * Cycle the 16-bit counter all the way round while one region stays
	 * alive: its id must never be handed out again.
	 */
	r[0] = mem_create(&p);
	assert_non_null(r[0]);
	first = mem_id(r[0]);
	r[1] = mem_create(&p);
	assert_non_null(r[1]);
	for (int i = 0; i < 70000; i++) {
		struct mem_params tiny = {1, 1, 1, 1, 3, 64, false, 0, 0};
		struct mem_region *t = mem_create(&tiny);

		assert_non_null(t);
		assert_int_not_equal(mem_id(t), 0);
		assert_int_not_equal(mem_id(t), first);
		assert_int_not_equal(mem_id(t), mem_id(r[1]));
		mem_destroy(t);
	}
	mem_destroy(r[1]);
	mem_destroy(r[0]);
	mem_destroy(NULL);
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static void test_hugetlb(void **state)
{
	struct mem_params p = small_params();
	struct mem_region *m;
	uint32_t idx;
	int err;

	(void)state;
	p.hugetlb = true;
	errno = 0;
	m = mem_create(&p);
	if (!m) {
		/* Clean failure: an errno, no crash, nothing leaked (valgrind/ASan). */
		err = errno;
		assert_int_not_equal(err, 0);
		if (read_long("/proc/sys/vm/nr_hugepages") <= 0 ||
		    read_long("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") <= 0 ||
		    err == ENOMEM || err == EINVAL || err == ENOSYS) {
			print_message("hugetlb unavailable (errno %d: %s)\n", err, strerror(err));
			skip();
		}
		fail_msg("hugetlb region failed with hugepages free: errno %d", err);
	}
	assert_int_equal(mem_size(m) % (2u << 20), 0);
	assert_true(fcntl(mem_fd(m), F_GET_SEALS) & F_SEAL_GROW);
	idx = mem_buf_alloc(m, MEM_OWNER_CREATOR);
	assert_int_equal(idx, MEM_BUF_RESERVED);
	memset(mem_buf(m, idx), 0x11, BUF_SIZE);
	assert_int_equal(mem_buf_free(m, idx), 0);
	mem_destroy(m);
}

/*
 * Areas: page-aligned, after the buffers; each one, once allocated, is a
 * memfd of its own under the daemon's pointers, which a client that maps the
 * region read-write does not reach, and which a client that maps the area's
 * fd over the same range of its mapping shares with the daemon. Freed, the
 * region's own pages are back.
 */
static void test_areas(void **state)
{
	struct mem_params p = small_params();
	size_t page = page_round(1), area_start, asz;
	struct mem_region *m;
	char *client, *a, *b, *c;
	(void)state;

	p.area_num = 2;
	p.area_size = (uint32_t)page + 1;
	m = mem_create(&p);
	assert_non_null(m);
	asz = mem_area_size(m);
	assert_int_equal(asz, 2 * page);
	area_start = mem_buf_base_offset(m) + page_round(BUF_NUM * BUF_SIZE);
	assert_int_equal(mem_size(m), area_start + 2 * asz);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_AREA), 2);
	client = mmap(NULL, mem_size(m), PROT_READ | PROT_WRITE, MAP_SHARED, mem_fd(m), 0);
	assert_true(client != MAP_FAILED);

	a = mem_area_alloc(m);
	b = mem_area_alloc(m);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(mem_area_alloc(m));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_AREA), 0);
	assert_int_equal(mem_offset(m, a), area_start);
	assert_int_equal(mem_offset(m, b), area_start + asz);
	for (size_t i = 0; i < asz; i++)
		assert_int_equal(a[i], 0);
	assert_true(mem_area_fd(m, a) >= 0);
	assert_int_not_equal(mem_area_fd(m, a), mem_area_fd(m, b));
	assert_int_equal(mem_area_fd(m, a + 1), -1);
	assert_int_equal(mem_area_fd(m, mem_buf(m, 2)), -1);
	assert_true(fcntl(mem_area_fd(m, a), F_GET_SEALS) & F_SEAL_SHRINK);
	assert_int_equal(ftruncate(mem_area_fd(m, a), 0), -1);

	/* The region's other clients and the daemon do not meet in the area. */
	memcpy(a, "the daemon's ring", 18);
	assert_memory_not_equal(client + area_start, "the daemon's ring", 18);
	memcpy(client + area_start + 100, "a port's scribble", 18);
	assert_memory_not_equal(a + 100, "a port's scribble", 18);
	/* Its own client maps the area's fd where the area is. */
	c = mmap(client + area_start, asz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 mem_area_fd(m, a), 0);
	assert_ptr_equal(c, client + area_start);
	assert_memory_equal(c, "the daemon's ring", 18);
	memcpy(c + 200, "the monitor's head", 19);
	assert_memory_equal(a + 200, "the monitor's head", 19);
	/* The region itself is still shared around the area. */
	memcpy(mem_buf(m, 3), "a buffer", 9);
	assert_memory_equal(client + mem_buf_base_offset(m) + 3 * BUF_SIZE, "a buffer", 9);

	assert_int_equal(mem_area_free(m, a), 0);
	assert_int_equal(mem_area_free(m, a), -EINVAL);
	assert_int_equal(mem_area_free(m, a + page), -EINVAL);
	assert_int_equal(mem_area_fd(m, a), -1);
	/* The daemon sees the region's pages there again. */
	munmap(c, asz);
	assert_memory_equal(a + 100, "a port's scribble", 18);
	assert_ptr_equal(mem_area_alloc(m), a);
	for (size_t i = 0; i < asz; i++)
		assert_int_equal(a[i], 0);
	munmap(client, mem_size(m));
	mem_destroy(m); /* with two areas allocated: their memfds close */

	/* None on hugepages; none asked, none there. */
	p.hugetlb = true;
	assert_rejected(&p);
	p = small_params();
	p.area_size = 4096;
	m = mem_create(&p);
	assert_non_null(m);
	assert_int_equal(mem_pool_free_count(m, MEM_POOL_AREA), 0);
	assert_null(mem_area_alloc(m));
	assert_int_equal(mem_area_free(m, (char *)mem_base(m) + mem_size(m)), -EINVAL);
	mem_destroy(m);
}

/*
 * The read-only fd: no shared writable mapping, now or later, and a process
 * of another uid cannot reopen it writable through /proc.
 */
static void test_readonly_fd(void **state)
{
	struct mem_region *m = *state;
	struct stat st;
	char path[32];
	int ro, status;
	char *map;
	pid_t pid;

	ro = mem_fd_readonly(m);
	assert_true(ro >= 0);
	assert_true(fcntl(ro, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(ro, F_GETFL) & O_ACCMODE, O_RDONLY);
	errno = 0;
	assert_true(mmap(NULL, mem_size(m), PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) ==
		    MAP_FAILED);
	assert_int_equal(errno, EACCES);
	map = mmap(NULL, mem_size(m), PROT_READ, MAP_SHARED, ro, 0);
	assert_true(map != MAP_FAILED);
	memcpy(mem_buf(m, 4), "seen", 5);
	assert_memory_equal(map + mem_buf_base_offset(m) + 4 * BUF_SIZE, "seen", 5);
	assert_int_equal(mprotect(map, mem_size(m), PROT_READ | PROT_WRITE), -1);
	assert_int_equal(errno, EACCES);
	assert_int_equal(write(ro, "x", 1), -1);
	assert_int_equal(fstat(ro, &st), 0);
	assert_int_equal(st.st_mode & 07777, S_IRUSR);

	snprintf(path, sizeof(path), "/proc/self/fd/%d", ro);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Another uid, still allowed to look at its own /proc/self. */
		if (getuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(2);
		prctl(PR_SET_DUMPABLE, 1);
		_exit(open(path, O_RDWR) < 0 && errno == EACCES ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	munmap(map, mem_size(m));
	close(ro);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_params),
	    cmocka_unit_test_setup_teardown(test_layout, setup_region, teardown_region),
	    cmocka_unit_test_setup_teardown(test_sealed, setup_region, teardown_region),
	    cmocka_unit_test_setup_teardown(test_shared, setup_region, teardown_region),
	    cmocka_unit_test_setup_teardown(test_buf_order_and_reserved, setup_region,
					    teardown_region),
	    cmocka_unit_test_setup_teardown(test_bufs_alloc_all_or_nothing, setup_region,
					    teardown_region),
	    cmocka_unit_test_setup_teardown(test_if_pool, setup_region, teardown_region),
	    cmocka_unit_test_setup_teardown(test_ring_pool, setup_region, teardown_region),
	    cmocka_unit_test(test_odd_object_sizes),
	    cmocka_unit_test_setup_teardown(test_no_leak, setup_region, teardown_region),
	    cmocka_unit_test_setup_teardown(test_extra_bufs, setup_region, teardown_region),
	    cmocka_unit_test_setup_teardown(test_owners, setup_region, teardown_region),
	    cmocka_unit_test_setup_teardown(test_owner_swap, setup_region, teardown_region),
	    cmocka_unit_test(test_ids),
	    cmocka_unit_test(test_areas),
	    cmocka_unit_test_setup_teardown(test_readonly_fd, setup_region, teardown_region),
	    cmocka_unit_test(test_hugetlb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
