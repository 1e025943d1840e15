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
#include <sys/stat.h>
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
	struct pool pools[MEM_POOLS]; /* indexed by enum mem_pool */
	int *area_fd;		      /* per area: its memfd while allocated, else -1 */
	/* The owner record (mem.h): per buffer, who holds it. */
	uint16_t *owners;
	bool *owner_live; /* per owner id below owner_num; the creator's always */
	uint32_t owner_num;
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
	p->nfree = 0;
	if (num == 0)
		return 0; /* no areas: nothing to hand out */
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
	       p->buf_size <= MEM_BUF_SIZE_MAX &&
	       (p->area_num == 0 || (p->area_size > 0 && !p->hugetlb));
}

/*
 * Lay the pools out: write each pool's offset and stride and the region size.
 * Every product below is (< 2^32) * (<= 2^32), so it fits in 64 bits; each
 * pool is checked against the limit before the sums, so they cannot wrap.
 */
static int layout(const struct mem_params *p, uint64_t page, size_t ret_offset[MEM_POOLS],
		  size_t ret_stride[MEM_POOLS], size_t *ret_size)
{
	uint64_t stride[MEM_POOLS], bytes[MEM_POOLS], offset[MEM_POOLS], total = 0;
	const uint32_t num[MEM_POOLS] = {p->if_num, p->ring_num, p->buf_num, p->area_num};

	stride[MEM_POOL_IF] = round_up(p->if_size, MEM_OBJ_ALIGN);
	stride[MEM_POOL_RING] = round_up(p->ring_size, MEM_OBJ_ALIGN);
	stride[MEM_POOL_BUF] = p->buf_size;
	/* Whole pages: each area is mapped over on its own (mem_area_alloc). */
	stride[MEM_POOL_AREA] = round_up(p->area_num ? p->area_size : 0, page);
	for (int i = 0; i < MEM_POOLS; i++) {
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

	for (int i = 0; i < MEM_POOLS; i++) {
		ret_offset[i] = (size_t)offset[i];
		ret_stride[i] = (size_t)stride[i];
	}
	*ret_size = (size_t)total;
	return 0;
}

int mem_layout_size(const struct mem_params *p, size_t *ret_size)
{
	long page = sysconf(_SC_PAGESIZE); /* as mem_create lays it out */
	size_t offset[MEM_POOLS], stride[MEM_POOLS];

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
	/*
	 * Read-only for its owner, nothing for others: a client holding a
	 * read-only fd (mem_fd_readonly) could otherwise reopen it writable
	 * through /proc/self/fd, since a memfd starts with mode 0777. Fds
	 * already open keep their access mode: only reopening is checked.
	 */
	if (fchmod(m->fd, S_IRUSR) < 0 ||
	    fcntl(m->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
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

/* The owner record: every buffer free (or reserved), only the creator live. */
static int owners_init(struct mem_region *m)
{
	uint64_t n = (uint64_t)m->params.if_num + m->params.area_num + 1;

	m->owner_num = n < MEM_OWNER_NONE ? (uint32_t)n : MEM_OWNER_NONE;
	m->owners = malloc((size_t)m->params.buf_num * sizeof(*m->owners));
	m->owner_live = calloc(m->owner_num, sizeof(*m->owner_live));
	if (!m->owners || !m->owner_live) {
		free(m->owners);
		free(m->owner_live);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < m->params.buf_num; i++)
		m->owners[i] = MEM_OWNER_NONE;
	m->owner_live[MEM_OWNER_CREATOR] = true;
	return 0;
}

struct mem_region *mem_create(const struct mem_params *p)
{
	const uint32_t reserved[MEM_POOLS] = {0, 0, MEM_BUF_RESERVED, 0};
	uint32_t num[MEM_POOLS];
	size_t offset[MEM_POOLS], stride[MEM_POOLS];
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
	num[MEM_POOL_AREA] = p->area_num;
	m->params = *p;
	m->size = size;
	m->fd = -1;
	m->id = id_get();
	if (m->id == 0) {
		err = -ENOMEM;
		goto err_alloc;
	}
	for (i = 0; i < MEM_POOLS; i++) {
		err = pool_init(&m->pools[i], num[i], stride[i], reserved[i], offset[i]);
		if (err)
			goto err_pools;
	}
	err = owners_init(m);
	if (err)
		goto err_pools;
	m->area_fd = malloc((p->area_num ? p->area_num : 1) * sizeof(*m->area_fd));
	if (!m->area_fd) {
		err = -ENOMEM;
		goto err_owners;
	}
	for (uint32_t a = 0; a < p->area_num; a++)
		m->area_fd[a] = -1;
	err = region_map(m);
	if (err)
		goto err_owners;
	return m;

err_owners:
	free(m->area_fd);
	free(m->owner_live);
	free(m->owners);
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
		munmap(m->base, m->size); /* the areas mapped over it too */
	if (m->fd >= 0)
		close(m->fd);
	for (uint32_t a = 0; m->area_fd && a < m->params.area_num; a++)
		if (m->area_fd[a] >= 0)
			close(m->area_fd[a]);
	free(m->area_fd);
	for (int i = 0; i < MEM_POOLS; i++)
		pool_fini(&m->pools[i]);
	free(m->owner_live);
	free(m->owners);
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

static bool owner_ok(const struct mem_region *m, uint16_t owner)
{
	return owner < m->owner_num && m->owner_live[owner];
}

/* Take a free buffer for owner (which exists): its record says so. */
static bool buf_get(struct mem_region *m, uint16_t owner, uint32_t *ret_idx)
{
	if (!pool_get(&m->pools[MEM_POOL_BUF], ret_idx))
		return false;
	/* Atomic: a forwarding thread may test this entry (mem_owned_by). */
	__atomic_store_n(&m->owners[*ret_idx], owner, __ATOMIC_RELAXED);
	return true;
}

static int buf_put(struct mem_region *m, uint32_t idx)
{
	int err = pool_put(&m->pools[MEM_POOL_BUF], idx);

	if (!err)
		__atomic_store_n(&m->owners[idx], MEM_OWNER_NONE, __ATOMIC_RELAXED);
	return err;
}

int mem_owner_create(struct mem_region *m, uint16_t *ret_owner)
{
	for (uint32_t o = MEM_OWNER_CREATOR + 1; o < m->owner_num; o++) {
		if (!m->owner_live[o]) {
			m->owner_live[o] = true;
			*ret_owner = (uint16_t)o;
			return 0;
		}
	}
	return -ENOSPC;
}

/*
 * A scan of the whole record rather than a count per owner: a client that
 * puts one buffer in two slots can make two concurrent swaps leave an owner
 * with one buffer more or less than it was given (mem.h), and a stale count
 * would stop the scan early and leak.
 */
uint32_t mem_owner_destroy(struct mem_region *m, uint16_t owner)
{
	const struct pool *p = &m->pools[MEM_POOL_BUF];
	uint32_t freed = 0;

	if (!owner_ok(m, owner))
		return 0;
	for (uint32_t idx = p->reserved; idx < p->num; idx++) {
		if (__atomic_load_n(&m->owners[idx], __ATOMIC_RELAXED) == owner) {
			buf_put(m, idx);
			freed++;
		}
	}
	if (owner != MEM_OWNER_CREATOR)
		m->owner_live[owner] = false;
	return freed;
}

uint32_t mem_owner_bufs(const struct mem_region *m, uint16_t owner)
{
	uint32_t n = 0;

	if (!owner_ok(m, owner))
		return 0;
	for (uint32_t idx = 0; idx < m->params.buf_num; idx++)
		n += __atomic_load_n(&m->owners[idx], __ATOMIC_RELAXED) == owner;
	return n;
}

uint16_t *mem_owners(struct mem_region *m)
{
	return m->owners;
}

uint32_t mem_buf_alloc(struct mem_region *m, uint16_t owner)
{
	uint32_t idx;

	if (!owner_ok(m, owner) || !buf_get(m, owner, &idx))
		return 0;
	return idx;
}

uint32_t mem_bufs_alloc(struct mem_region *m, uint16_t owner, uint32_t *idx, uint32_t n)
{
	if (!owner_ok(m, owner) || n > m->pools[MEM_POOL_BUF].nfree)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		buf_get(m, owner, &idx[i]);
	return n;
}

int mem_buf_free(struct mem_region *m, uint32_t idx)
{
	return buf_put(m, idx);
}

/* The link in the first 4 bytes of buffer idx; buffers need not be 4-aligned. */
static void link_write(struct mem_region *m, uint32_t idx, uint32_t next)
{
	memcpy(mem_buf(m, idx), &next, sizeof(next));
}

uint32_t mem_extra_bufs_alloc(struct mem_region *m, uint16_t owner, uint32_t n, uint32_t *ret_head)
{
	uint32_t head = 0, prev = 0, idx = 0;

	if (!owner_ok(m, owner) || n > m->pools[MEM_POOL_BUF].nfree)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		buf_get(m, owner, &idx);
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

int mem_fd_readonly(const struct mem_region *m)
{
	char path[32];
	int fd;

	/* A new open of the same memfd, so its access mode is its own. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", m->fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

size_t mem_area_size(const struct mem_region *m)
{
	return m->pools[MEM_POOL_AREA].stride;
}

/* The sealed memfd of one area, mapped over the area in our mapping. */
static int area_map(struct mem_region *m, char *area)
{
	size_t size = mem_area_size(m);
	char name[32];
	void *at;
	int fd, err;

	snprintf(name, sizeof(name), "vale-area-%u", (unsigned int)m->id);
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	/* Sealed as the region is: its client cannot truncate it under us. */
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto err_fd;
	at = mmap(area, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (at == MAP_FAILED)
		goto err_fd;
	return fd;

err_fd:
	err = -errno;
	close(fd);
	return err;
}

void *mem_area_alloc(struct mem_region *m)
{
	struct pool *p = &m->pools[MEM_POOL_AREA];
	uint32_t idx;
	char *area;
	int fd;

	if (!pool_get(p, &idx)) {
		errno = ENOMEM;
		return NULL;
	}
	area = pool_obj(m, p, idx);
	fd = area_map(m, area);
	if (fd < 0) {
		pool_put(p, idx);
		errno = -fd;
		return NULL;
	}
	m->area_fd[idx] = fd; /* a fresh memfd: the area reads as zeros */
	return area;
}

/* The index of allocated area ptr, or -EINVAL. */
static int area_index(const struct mem_region *m, const void *ptr, uint32_t *ret_idx)
{
	const struct pool *p = &m->pools[MEM_POOL_AREA];
	uint32_t idx;

	if (p->num == 0 || pool_index(m, p, ptr, &idx) || !pool_owned(p, idx))
		return -EINVAL;
	*ret_idx = idx;
	return 0;
}

int mem_area_fd(const struct mem_region *m, const void *area)
{
	uint32_t idx;

	return area_index(m, area, &idx) ? -1 : m->area_fd[idx];
}

int mem_area_free(struct mem_region *m, void *area)
{
	size_t size = mem_area_size(m);
	uint32_t idx;

	if (area_index(m, area, &idx))
		return -EINVAL;
	/*
	 * The region's own pages back over the range. Should that fail, the
	 * range is left as mmap left it (the area's pages, or none): nothing
	 * reads it until the next mem_area_alloc maps a fresh memfd over it.
	 */
	mmap(area, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, m->fd,
	     (off_t)mem_offset(m, area));
	close(m->area_fd[idx]);
	m->area_fd[idx] = -1;
	return pool_put(&m->pools[MEM_POOL_AREA], idx);
}

uint32_t mem_pool_free_count(const struct mem_region *m, enum mem_pool pool)
{
	if ((unsigned int)pool >= MEM_POOLS)
		return 0;
	return m->pools[pool].nfree;
}
