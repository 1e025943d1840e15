/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mem - memory regions: the packet memory valed shares with its clients.
 *
 * A region is one memfd (MFD_CLOEXEC | MFD_ALLOW_SEALING, plus MFD_HUGETLB
 * when asked) mapped shared by the daemon, sealed against shrink and grow at
 * creation, so no client holding its fd can truncate it under the daemon.
 * It holds pools of fixed-size objects, laid out one after the other:
 *
 *     [ if pool: if_num ][ ring pool: ring_num ][ buf pool: buf_num ][ areas ]
 *
 * Each pool starts on a page boundary. If and ring objects are spaced at
 * their size rounded up to NM_CACHE_ALIGN (clients find them by offset);
 * buffers are exactly buf_size apart (clients compute idx * buf_size). Buffers are indexed from 0;
 * indices 0 and 1 are reserved and never handed out (0 doubles as "no buffer").
 *
 * The free lists and allocation bitmaps live in daemon-private memory, never
 * in the region, so a client cannot corrupt them. Frees are checked: freeing
 * an index or object that is not allocated fails with -EINVAL.
 *
 * Owners. Several ports may take their buffers from one region (the shared
 * region, a zero-copy monitor in its port's region), and a client can write
 * any index into its slots and its extra list. So the region also records,
 * in daemon-private memory, which owner it handed each buffer to, and a port
 * that goes frees what the record names (mem_owner_destroy), never indices
 * read from client-writable memory. Owner MEM_OWNER_CREATOR exists from
 * creation: the port or pipe a region was made for. Anyone else taking
 * buffers from the region (a port of the shared region, a zero-copy
 * monitor) first gets an owner of its own (mem_owner_create). Where buffers
 * change hands between two owners (a zero-copy monitor's swaps), the record
 * moves with them: mem_owned_by() and mem_hand_over() on mem_owners(), one
 * check and one store per moved buffer.
 *
 * Areas (area_num of them, whole pages each, none on hugepages) hold the
 * netmap_if, rings and CSBs of a port whose client must be the only one to
 * write them while other clients map the region read-write: a zero-copy
 * monitor, whose client gets the region read-only (mem_fd_readonly) and its
 * area read-write. An allocated area is a memfd of its own mapped over that
 * range of the daemon's mapping (MAP_FIXED), so the daemon's pointers and
 * every offset stay as they are; the region's other clients see the
 * region's own, unused pages there.
 *
 * Extra buffers (netmap's nr_extra_bufs) form a list threaded through the
 * first 4 bytes of each buffer, ending at index 0. The client owns that list;
 * the daemon writes it once, at allocation, and never reads it.
 *
 * Threads: a region is not internally locked. The daemon allocates and frees
 * under its configuration lock; the data path reads buffers (mem_buf) and
 * moves the owner record of buffers of live owners (mem_hand_over), which
 * allocation and mem_owner_destroy never touch.
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
	uint32_t area_num;  /* areas (see above); 0, or > 0 without hugetlb */
	uint32_t area_size; /* bytes each, > 0 when area_num is; rounded to pages */
};

enum mem_pool { MEM_POOL_IF, MEM_POOL_RING, MEM_POOL_BUF, MEM_POOL_AREA, MEM_POOLS };

struct mem_region;

/*
 * Create a region with the given pools. Returns NULL and sets errno:
 * EINVAL for a parameter out of range (buf_size not in 64..65536, a zero
 * count or size, areas on hugepages, a total over 2^40 bytes), ENOMEM or the
 * memfd/mmap errno. The region is sealed (F_SEAL_SHRINK | F_SEAL_GROW |
 * F_SEAL_SEAL) on return, and its memfd has mode 0400 (see mem_fd_readonly).
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

/*
 * A new, read-only fd of the region, the caller's to close: mmap with
 * PROT_WRITE and MAP_SHARED fails on it (EACCES). Reopening it writable
 * through /proc takes valed's uid or CAP_DAC_OVERRIDE (mode 0400). -errno.
 */
int mem_fd_readonly(const struct mem_region *m);

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

/*
 * Areas. mem_area_alloc: an area (mem_area_size bytes, page-aligned, zeroed)
 * backed by a new sealed memfd mapped over it in the daemon's mapping; NULL
 * and errno ENOMEM when none is free, or the memfd/mmap errno. mem_area_fd:
 * that memfd (owned by the region; dup it to hand it out), or -1 if area is
 * not an allocated area. mem_area_free: map the region's own pages back over
 * it and close its memfd: 0, or -EINVAL.
 */
void *mem_area_alloc(struct mem_region *m);
int mem_area_fd(const struct mem_region *m, const void *area);
int mem_area_free(struct mem_region *m, void *area);
size_t mem_area_size(const struct mem_region *m);

/* Offset of buffer 0 from the region base. */
size_t mem_buf_base_offset(const struct mem_region *m);

/*
 * Address of buffer idx. The caller checks idx < buf_num (the data path
 * validates indices it read from a shared ring before using them).
 */
char *mem_buf(const struct mem_region *m, uint32_t idx);

/*
 * Owners (see the top of this file). Ids are below if_num + area_num + 1, so
 * a region has room for an owner per netmap_if it can hold, besides its
 * creator.
 */
#define MEM_OWNER_CREATOR 0	  /* the port or pipe the region was made for */
#define MEM_OWNER_NONE UINT16_MAX /* in the record: free, or reserved */

/* A new owner, holding nothing: 0, or -ENOSPC when every id is taken. */
int mem_owner_create(struct mem_region *m, uint16_t *ret_owner);

/*
 * Free every buffer the record gives to owner, wherever its client put them,
 * and retire owner (MEM_OWNER_CREATOR stays: only its buffers go). Returns
 * how many buffers it freed; 0 for an owner that does not exist.
 */
uint32_t mem_owner_destroy(struct mem_region *m, uint16_t owner);

/* How many buffers the record gives to owner (for accounting and tests). */
uint32_t mem_owner_bufs(const struct mem_region *m, uint16_t owner);

/*
 * The record itself: owners[idx] for idx < buf_num, daemon-private. For the
 * forwarding core, which moves buffers between two live owners of a region
 * with these two; the caller checks idx < buf_num.
 */
uint16_t *mem_owners(struct mem_region *m);

static inline bool mem_owned_by(const uint16_t *owners, uint32_t idx, uint16_t owner)
{
	/* Relaxed: the control thread stores an entry only when no live
	 * owner holds it (allocating a free buffer, destroying a retired
	 * owner), so a racing load fails the test either way. Two threads
	 * moving one buffer at once (a client put it in two slots) can leave
	 * it with either of the two owners of the swap, never with a third. */
	return __atomic_load_n(&owners[idx], __ATOMIC_RELAXED) == owner;
}

/* idx, which mem_owned_by showed to be the giver's, is now owner's. */
static inline void mem_hand_over(uint16_t *owners, uint32_t idx, uint16_t owner)
{
	__atomic_store_n(&owners[idx], owner, __ATOMIC_RELAXED);
}

/*
 * Buffers, handed to owner. mem_buf_alloc returns an index >= 2, or 0 when
 * none is left (or owner does not exist). mem_bufs_alloc fills idx[0..n)
 * and returns how many it got (all or nothing: on shortage it allocates none
 * and returns 0). mem_buf_free returns 0, or -EINVAL for a reserved,
 * out-of-range or already free index.
 */
uint32_t mem_buf_alloc(struct mem_region *m, uint16_t owner);
uint32_t mem_bufs_alloc(struct mem_region *m, uint16_t owner, uint32_t *idx, uint32_t n);
int mem_buf_free(struct mem_region *m, uint32_t idx);

/*
 * Allocate n extra buffers for owner, linked through their first 4 bytes
 * (the last one holds 0). Writes the first index to *ret_head (0 when
 * n == 0) and returns n, or returns 0 and leaves *ret_head unchanged if
 * fewer than n are free (or owner does not exist). They go back with their
 * owner (mem_owner_destroy), not by walking the list, which is the client's.
 */
uint32_t mem_extra_bufs_alloc(struct mem_region *m, uint16_t owner, uint32_t n, uint32_t *ret_head);

/* Objects currently free in a pool (for accounting and leak checks). */
uint32_t mem_pool_free_count(const struct mem_region *m, enum mem_pool pool);

#endif /* VALE_RING_MEM_H */
