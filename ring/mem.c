/* SPDX-License-Identifier: BSD-2-Clause */
/* mem - sealed memfd regions holding the if, ring and buffer pools (see mem.h). */

#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vale/netmap.h>

/* Largest region mem_create accepts (see mem.h). */
#define MEM_SIZE_MAX ((uint64_t)1 << 40)

/* Hugetlb regions are backed by 2 MiB pages and sized in whole pages. */
#define MEM_HUGEPAGE_SIZE ((uint64_t)2 << 20)
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21U << 26) /* log2(2 MiB) << MFD_HUGE_SHIFT, as <linux/memfd.h> */
#endif

/*
 * If and ring objects are laid out with a stride of their size rounded up to
 * NM_CACHE_ALIGN: struct netmap_ring carries a member aligned to it, and its
 * CSB must not share a cache line with the next ring. Clients find these
 * objects by offset (nr_offset, ring_ofs), so the stride stays private.
 * Buffers keep a stride of exactly buf_size: clients compute idx * buf_size.
 */
#define MEM_OBJ_ALIGN NM_CACHE_ALIGN

/*
 * A pool of num fixed-size objects at offset in the region. The free stack
 * holds the free indices with the lowest on top, so a fresh pool hands out
 * reserved, reserved + 1, ... in order. The bitmap has a bit set for every
 * allocated index, reserved ones included; it is what makes frees checkable.
 */
struct pool {
	uint32_t num;
	size_t stride;
	uint32_t reserved; /* indices [0, reserved) are allocated forever */
	size_t offset;
	uint32_t *free_stack;
	uint32_t nfree;
	uint64_t *bitmap;
};

struct mem_region {
	struct mem_params params;
	uint16_t id;
	int fd;
	char *base;
	size_t size;
	struct pool pools[3]; /* indexed by enum mem_pool */
};

/*
 * Region ids. id_next is the counter ids are drawn from; id_live has a bit per
 * id in use, so after the 16-bit counter wraps an id still held by a live
 * region is skipped rather than handed out twice. Relaxed order suffices: the
 * atomic read-modify-writes on one word are totally ordered, which is all
 * uniqueness needs, and no other data is published through these variables.
 */
#define MEM_ID_COUNT 65536
static atomic_uint id_next = 1;
static atomic_uint_fast64_t id_live[MEM_ID_COUNT / 64];

static uint16_t id_get(void)
{
	for (unsigned int tries = 0; tries < MEM_ID_COUNT; tries++) {
		unsigned int id = atomic_fetch_add_explicit(&id_next, 1, memory_order_relaxed);
		uint64_t bit;

		id %= MEM_ID_COUNT;
		if (id == 0)
			continue;
		bit = (uint64_t)1 << (id % 64);
		if (!(atomic_fetch_or_explicit(&id_live[id / 64], bit, memory_order_relaxed) & bit))
			return (uint16_t)id;
	}
	return 0;
}

static void id_put(uint16_t id)
{
	uint64_t bit = (uint64_t)1 << (id % 64);

	atomic_fetch_and_explicit(&id_live[id / 64], ~bit, memory_order_relaxed);
}

static bool bit_test(const uint64_t *map, uint32_t i)
{
	return map[i / 64] & ((uint64_t)1 << (i % 64));
}

static void bit_set(uint64_t *map, uint32_t i)
{
	map[i / 64] |= (uint64_t)1 << (i % 64);
}

static void bit_clear(uint64_t *map, uint32_t i)
{
	map[i / 64] &= ~((uint64_t)1 << (i % 64));
}

static int pool_init(struct pool *p, uint32_t num, size_t stride, uint32_t reserved, size_t offset)
{
	size_t words = ((size_t)num + 63) / 64;

	p->num = num;
	p->stride = stride;
	p->reserved = reserved;
	p->offset = offset;
	p->free_stack = calloc(num, sizeof(*p->free_stack));
	if (!p->free_stack)
		return -ENOMEM;
	p->bitmap = calloc(words, sizeof(*p->bitmap));
	if (!p->bitmap)
		goto err_stack;

	p->nfree = 0;
	for (uint32_t i = num; i-- > reserved;)
		p->free_stack[p->nfree++] = i;
	for (uint32_t i = 0; i < reserved; i++)
		bit_set(p->bitmap, i);
	return 0;

err_stack:
	free(p->free_stack);
	p->free_stack = NULL;
	return -ENOMEM;
}

static void pool_fini(struct pool *p)
{
	free(p->bitmap);
	free(p->free_stack);
	p->bitmap = NULL;
	p->free_stack = NULL;
	p->nfree = 0;
}

static bool pool_get(struct pool *p, uint32_t *ret_idx)
{
	uint32_t idx;

	if (p->nfree == 0)
		return false;
	idx = p->free_stack[--p->nfree];
	bit_set(p->bitmap, idx);
	*ret_idx = idx;
	return true;
}

/* True if idx is an index the pool handed out and has not taken back. */
static bool pool_owned(const struct pool *p, uint32_t idx)
{
	return idx >= p->reserved && idx < p->num && bit_test(p->bitmap, idx);
}

static int pool_put(struct pool *p, uint32_t idx)
{
	if (!pool_owned(p, idx))
		return -EINVAL;
	bit_clear(p->bitmap, idx);
	p->free_stack[p->nfree++] = idx;
	return 0;
}

static char *pool_obj(const struct mem_region *m, const struct pool *p, uint32_t idx)
{
	return m->base + p->offset + idx * p->stride;
}

/* The index of object ptr in p, or -EINVAL if ptr is not an object start in p. */
static int pool_index(const struct mem_region *m, const struct pool *p, const void *ptr,
		      uint32_t *ret_idx)
{
	uintptr_t start = (uintptr_t)m->base + p->offset;
	uintptr_t q = (uintptr_t)ptr;
	uintptr_t delta;

	if (q < start)
		return -EINVAL;
	delta = q - start;
	if (delta % p->stride != 0 || delta / p->stride >= p->num)
		return -EINVAL;
	*ret_idx = (uint32_t)(delta / p->stride);
	return 0;
}

static uint64_t round_up(uint64_t x, uint64_t align)
{
	return (x + align - 1) / align * align;
}

static bool params_valid(const struct mem_params *p)
{
	return p && p->if_num > 0 && p->if_size > 0 && p->ring_num > 0 && p->ring_size > 0 &&
	       p->buf_num > MEM_BUF_RESERVED && p->buf_size >= MEM_BUF_SIZE_MIN &&
	       p->buf_size <= MEM_BUF_SIZE_MAX;
}

/*
 * Lay the pools out: write each pool's offset and stride and the region size.
 * Every product below is (< 2^32) * (<= 2^32), so it fits in 64 bits; each
 * pool is checked against the limit before the sums, so they cannot wrap.
 */
static int layout(const struct mem_params *p, uint64_t page, size_t ret_offset[3],
		  size_t ret_stride[3], size_t *ret_size)
{
	uint64_t stride[3], bytes[3], offset[3], total = 0;
	const uint32_t num[3] = {p->if_num, p->ring_num, p->buf_num};

	stride[MEM_POOL_IF] = round_up(p->if_size, MEM_OBJ_ALIGN);
	stride[MEM_POOL_RING] = round_up(p->ring_size, MEM_OBJ_ALIGN);
	stride[MEM_POOL_BUF] = p->buf_size;
	for (int i = 0; i < 3; i++) {
		bytes[i] = round_up((uint64_t)num[i] * stride[i], page);
		if (bytes[i] > MEM_SIZE_MAX)
			return -EINVAL;
		offset[i] = total;
		total += bytes[i];
	}
	if (p->hugetlb)
		total = round_up(total, MEM_HUGEPAGE_SIZE);
	if (total > MEM_SIZE_MAX || total > SIZE_MAX)
		return -EINVAL;

	for (int i = 0; i < 3; i++) {
		ret_offset[i] = (size_t)offset[i];
		ret_stride[i] = (size_t)stride[i];
	}
	*ret_size = (size_t)total;
	return 0;
}

int mem_layout_size(const struct mem_params *p, size_t *ret_size)
{
	long page = sysconf(_SC_PAGESIZE); /* as mem_create lays it out */
	size_t offset[3], stride[3];

	if (!params_valid(p))
		return -EINVAL;
	return layout(p, page > 0 ? (uint64_t)page : 4096, offset, stride, ret_size);
}

/* Create the sealed, mapped memfd of m->size bytes. */
static int region_map(struct mem_region *m)
{
	unsigned int flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	char name[32];
	void *base;
	int err;

	if (m->params.hugetlb)
		flags |= MFD_HUGETLB | MFD_HUGE_2MB;
	snprintf(name, sizeof(name), "vale-mem-%u", (unsigned int)m->id);
	m->fd = memfd_create(name, flags);
	if (m->fd < 0)
		return -errno;
	if (ftruncate(m->fd, (off_t)m->size) < 0) {
		err = -errno;
		goto err_memfd;
	}
	base = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	if (base == MAP_FAILED) {
		err = -errno;
		goto err_memfd;
	}
	if (fcntl(m->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		err = -errno;
		goto err_mmap;
	}
	m->base = base;
	return 0;

err_mmap:
	munmap(base, m->size);
err_memfd:
	close(m->fd);
	m->fd = -1;
	return err;
}

struct mem_region *mem_create(const struct mem_params *p)
{
	const uint32_t reserved[3] = {0, 0, MEM_BUF_RESERVED};
	uint32_t num[3];
	size_t offset[3], stride[3];
	struct mem_region *m;
	long page;
	size_t size;
	int err, i;

	if (!params_valid(p)) {
		errno = EINVAL;
		return NULL;
	}
	page = sysconf(_SC_PAGESIZE);
	if (page <= 0)
		page = 4096;
	err = layout(p, (uint64_t)page, offset, stride, &size);
	if (err) {
		errno = -err;
		return NULL;
	}

	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL; /* errno is ENOMEM */
	num[MEM_POOL_IF] = p->if_num;
	num[MEM_POOL_RING] = p->ring_num;
	num[MEM_POOL_BUF] = p->buf_num;
	m->params = *p;
	m->size = size;
	m->fd = -1;
	m->id = id_get();
	if (m->id == 0) {
		err = -ENOMEM;
		goto err_alloc;
	}
	for (i = 0; i < 3; i++) {
		err = pool_init(&m->pools[i], num[i], stride[i], reserved[i], offset[i]);
		if (err)
			goto err_pools;
	}
	err = region_map(m);
	if (err)
		goto err_pools;
	return m;

err_pools:
	while (i-- > 0)
		pool_fini(&m->pools[i]);
	id_put(m->id);
err_alloc:
	free(m);
	errno = -err;
	return NULL;
}

void mem_destroy(struct mem_region *m)
{
	if (!m)
		return;
	if (m->base)
		munmap(m->base, m->size);
	if (m->fd >= 0)
		close(m->fd);
	for (int i = 0; i < 3; i++)
		pool_fini(&m->pools[i]);
	if (m->id)
		id_put(m->id);
	free(m);
}

uint16_t mem_id(const struct mem_region *m)
{
	return m->id;
}

int mem_fd(const struct mem_region *m)
{
	return m->fd;
}

void *mem_base(const struct mem_region *m)
{
	return m->base;
}

size_t mem_size(const struct mem_region *m)
{
	return m->size;
}

const struct mem_params *mem_params(const struct mem_region *m)
{
	return &m->params;
}

size_t mem_offset(const struct mem_region *m, const void *p)
{
	return (size_t)((uintptr_t)p - (uintptr_t)m->base);
}

static void *obj_alloc(struct mem_region *m, enum mem_pool which)
{
	struct pool *p = &m->pools[which];
	uint32_t idx;
	char *obj;

	if (!pool_get(p, &idx)) {
		errno = ENOMEM;
		return NULL;
	}
	obj = pool_obj(m, p, idx);
	memset(obj, 0, p->stride);
	return obj;
}

static int obj_free(struct mem_region *m, enum mem_pool which, void *ptr)
{
	struct pool *p = &m->pools[which];
	uint32_t idx;
	int err;

	err = pool_index(m, p, ptr, &idx);
	if (err)
		return err;
	return pool_put(p, idx);
}

void *mem_if_alloc(struct mem_region *m)
{
	return obj_alloc(m, MEM_POOL_IF);
}

int mem_if_free(struct mem_region *m, void *p)
{
	return obj_free(m, MEM_POOL_IF, p);
}

void *mem_ring_alloc(struct mem_region *m)
{
	return obj_alloc(m, MEM_POOL_RING);
}

int mem_ring_free(struct mem_region *m, void *p)
{
	return obj_free(m, MEM_POOL_RING, p);
}

size_t mem_buf_base_offset(const struct mem_region *m)
{
	return m->pools[MEM_POOL_BUF].offset;
}

char *mem_buf(const struct mem_region *m, uint32_t idx)
{
	return pool_obj(m, &m->pools[MEM_POOL_BUF], idx);
}

uint32_t mem_buf_alloc(struct mem_region *m)
{
	uint32_t idx;

	if (!pool_get(&m->pools[MEM_POOL_BUF], &idx))
		return 0;
	return idx;
}

uint32_t mem_bufs_alloc(struct mem_region *m, uint32_t *idx, uint32_t n)
{
	struct pool *p = &m->pools[MEM_POOL_BUF];

	if (n > p->nfree)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		pool_get(p, &idx[i]);
	return n;
}

int mem_buf_free(struct mem_region *m, uint32_t idx)
{
	return pool_put(&m->pools[MEM_POOL_BUF], idx);
}

/* The link in the first 4 bytes of buffer idx; buffers need not be 4-aligned. */
static uint32_t link_read(const struct mem_region *m, uint32_t idx)
{
	uint32_t next;

	memcpy(&next, mem_buf(m, idx), sizeof(next));
	return next;
}

static void link_write(struct mem_region *m, uint32_t idx, uint32_t next)
{
	memcpy(mem_buf(m, idx), &next, sizeof(next));
}

uint32_t mem_extra_bufs_alloc(struct mem_region *m, uint32_t n, uint32_t *ret_head)
{
	struct pool *p = &m->pools[MEM_POOL_BUF];
	uint32_t head = 0, prev = 0, idx = 0;

	if (n > p->nfree)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		pool_get(p, &idx);
		if (prev)
			link_write(m, prev, idx);
		else
			head = idx;
		prev = idx;
	}
	if (prev)
		link_write(m, prev, 0);
	*ret_head = head;
	return n;
}

/*
 * Each link is read once into a local before the buffer is freed, so a client
 * rewriting the list during the walk changes only which buffers are visited;
 * every one is still checked against the bitmap before it is freed.
 */
uint32_t mem_extra_bufs_free(struct mem_region *m, uint32_t head)
{
	struct pool *p = &m->pools[MEM_POOL_BUF];
	uint32_t idx = head, freed = 0;

	for (uint32_t steps = 0; idx != 0 && steps < p->num; steps++) {
		uint32_t next;

		if (!pool_owned(p, idx))
			break;
		next = link_read(m, idx);
		pool_put(p, idx);
		freed++;
		idx = next;
	}
	return freed;
}

uint32_t mem_pool_free_count(const struct mem_region *m, enum mem_pool pool)
{
	if ((unsigned int)pool > MEM_POOL_BUF)
		return 0;
	return m->pools[pool].nfree;
}
