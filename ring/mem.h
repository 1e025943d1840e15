/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mem - memory regions: the packet memory valed shares with its clients.
 *
 * A region is one memfd (MFD_CLOEXEC | MFD_ALLOW_SEALING, plus MFD_HUGETLB
 * when asked) mapped shared by the daemon, sealed against shrink and grow at
 * creation, so no client holding its fd can truncate it under the daemon.
 * It holds three pools of fixed-size objects, laid out one after the other:
 *
 *     [ if pool: if_num objects ][ ring pool: ring_num objects ][ buf pool ]
 *
 * Each pool starts on a page boundary. If and ring objects are spaced at
 * their size rounded up to NM_CACHE_ALIGN (clients find them by offset);
 * buffers are exactly buf_size apart (clients compute idx * buf_size). Buffers are indexed from 0; indices
 * 0 and 1 are reserved and never handed out (0 doubles as "no buffer").
 *
 * The free lists and allocation bitmaps live in daemon-private memory, never
 * in the region, so a client cannot corrupt them. Frees are checked: freeing
 * an index or object that is not allocated fails with -EINVAL.
 *
 * Extra buffers (netmap's nr_extra_bufs) form a list threaded through the
 * first 4 bytes of each buffer, ending at index 0. The client owns that list,
 * so mem_extra_bufs_free() treats it as untrusted input.
 *
 * Threads: a region is not internally locked. The daemon allocates and frees
 * under its configuration lock; the data path only reads buffers (mem_buf).
 */
#ifndef VALE_RING_MEM_H
#define VALE_RING_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEM_BUF_SIZE_DEFAULT 2048
#define MEM_BUF_SIZE_MIN 64
#define MEM_BUF_SIZE_MAX 65536
#define MEM_BUF_RESERVED 2 /* indices 0 and 1 */

struct mem_params {
	uint32_t if_num;    /* interface descriptors (struct netmap_if) */
	uint32_t if_size;   /* bytes each, > 0 */
	uint32_t ring_num;  /* rings (struct netmap_ring + slots + CSB) */
	uint32_t ring_size; /* bytes each, > 0; see vale_ring_size() */
	uint32_t buf_num;   /* buffers, the two reserved ones included (> 2) */
	uint32_t buf_size;  /* bytes each, MEM_BUF_SIZE_MIN..MEM_BUF_SIZE_MAX */
	bool hugetlb;       /* back the region with hugepages */
};

enum mem_pool { MEM_POOL_IF, MEM_POOL_RING, MEM_POOL_BUF };

struct mem_region;

/*
 * Create a region with the given pools. Returns NULL and sets errno:
 * EINVAL for a parameter out of range (buf_size not in 64..65536, a zero
 * count or size, a total over 2^40 bytes), ENOMEM or the memfd/mmap errno.
 * The region is sealed (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) on return.
 */
struct mem_region *mem_create(const struct mem_params *p);

/*
 * The size mem_create(p) would map, without creating anything (valed charges
 * a region's bytes to its client before it makes it): 0, or -EINVAL as
 * mem_create would fail.
 */
int mem_layout_size(const struct mem_params *p, size_t *ret_size);

/* Unmap and close the region. Accepts NULL. */
void mem_destroy(struct mem_region *m);

/* The region id (nr_mem_id): unique among live regions, never 0. */
uint16_t mem_id(const struct mem_region *m);

/* The memfd; still owned by the region (dup it before handing it out). */
int mem_fd(const struct mem_region *m);

/* Where the daemon mapped the region, and its total size in bytes. */
void *mem_base(const struct mem_region *m);
size_t mem_size(const struct mem_region *m);

/* The parameters the region was created with. */
const struct mem_params *mem_params(const struct mem_region *m);

/* Offset of p (which must lie in the region) from the region base. */
size_t mem_offset(const struct mem_region *m, const void *p);

/*
 * Interface and ring objects. Alloc returns a zeroed object of the pool's
 * object size, or NULL with errno ENOMEM when the pool is empty. Free
 * returns 0, or -EINVAL if p is not an allocated object of that pool.
 */
void *mem_if_alloc(struct mem_region *m);
int mem_if_free(struct mem_region *m, void *p);
void *mem_ring_alloc(struct mem_region *m);
int mem_ring_free(struct mem_region *m, void *p);

/* Offset of buffer 0 from the region base. */
size_t mem_buf_base_offset(const struct mem_region *m);

/*
 * Address of buffer idx. The caller checks idx < buf_num (the data path
 * validates indices it read from a shared ring before using them).
 */
char *mem_buf(const struct mem_region *m, uint32_t idx);

/*
 * Buffers. mem_buf_alloc returns an index >= 2, or 0 when none is left.
 * mem_bufs_alloc fills idx[0..n) and returns how many it got (all or
 * nothing: on shortage it allocates none and returns 0).
 * mem_buf_free returns 0, or -EINVAL for a reserved, out-of-range or
 * already free index.
 */
uint32_t mem_buf_alloc(struct mem_region *m);
uint32_t mem_bufs_alloc(struct mem_region *m, uint32_t *idx, uint32_t n);
int mem_buf_free(struct mem_region *m, uint32_t idx);

/*
 * Allocate n extra buffers linked through their first 4 bytes (the last one
 * holds 0). Writes the first index to *ret_head (0 when n == 0) and returns
 * n, or returns 0 and leaves *ret_head unchanged if fewer than n are free.
 */
uint32_t mem_extra_bufs_alloc(struct mem_region *m, uint32_t n, uint32_t *ret_head);

/*
 * Free a client-held list of extra buffers starting at head. The list is
 * untrusted: the walk stops at index 0, at the first index that is out of
 * range or not allocated, and after buf_num steps (a loop). Returns how many
 * buffers it freed.
 */
uint32_t mem_extra_bufs_free(struct mem_region *m, uint32_t head);

/* Objects currently free in a pool (for accounting and leak checks). */
uint32_t mem_pool_free_count(const struct mem_region *m, enum mem_pool pool);

#endif /* VALE_RING_MEM_H */
