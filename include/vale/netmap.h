/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vale/netmap.h - the shared-ring ABI between valed and its clients.
 *
 * This header keeps netmap's layout and semantics, so that netmap code ports
 * by recompiling. It is written from netmap's documented ABI, not copied.
 *
 * A port's memory is one region (a memfd) that both sides map. Everything in
 * it is addressed by offsets, never pointers, because the two sides map it at
 * different addresses:
 *
 *     region base
 *     +------------------+  <- nr_offset (from port.register)
 *     | struct netmap_if |  ni_name, ring counts, ring_ofs[] (from the if)
 *     +------------------+
 *     :                  :
 *     +------------------+  <- if + ring_ofs[i]
 *     | struct netmap_ring |  head/cur/tail, buf_ofs, slot[num_slots]
 *     |  slot[0..n-1]    |
 *     | struct vale_csb  |  <- VALE_CSB(ring): kick/notify control block
 *     +------------------+
 *     :                  :
 *     +------------------+  <- ring + buf_ofs = buffer 0
 *     | buffer 0, 1 ...  |  fixed-size buffers of nr_buf_size bytes;
 *     |                  |  indices 0 and 1 are reserved (never valid)
 *     +------------------+
 *
 * Slot ownership: the slots in [head, tail) belong to the application, the
 * rest to the switch. On a TX ring the application fills slots from head,
 * moves head forward and syncs; the switch sends them and moves tail. On an
 * RX ring the switch fills slots and moves tail; the application consumes
 * them from head and moves head forward to return them. One slot is always
 * left empty, so head == tail means "empty" on RX and "full" on TX.
 *
 * Field notes: (c) the client writes it, (s) the switch writes it, (-) fixed
 * at creation. The switch never trusts (c) fields: it reads them once and
 * validates them (see ring/kring.h).
 */
#ifndef VALE_NETMAP_H
#define VALE_NETMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever the layout below changes; checked when a port is opened. */
#define NETMAP_API 14
#define VALE_ABI_VERSION NETMAP_API

#define NM_CACHE_ALIGN 128
#define NETMAP_IFNAMSIZ 16
#define NETMAP_REQ_IFNAMSIZ 64

/*
 * One slot of a ring: 16 bytes.
 */
struct netmap_slot {
	uint32_t buf_idx; /* (c/s) buffer index in the region */
	uint16_t len;     /* (c/s) bytes in the buffer */
	uint16_t flags;   /* (c/s) NS_* below */
	uint64_t ptr;     /* (c) user pointer or offset; unused by the switch */
};

/* The buffer index changed: the switch must reload its mapping. */
#define NS_BUF_CHANGED 0x0001
/* Ask the switch to notify when this slot has been sent. */
#define NS_REPORT 0x0002
/* Forward this packet to the other side (host rings). */
#define NS_FORWARD 0x0004
/* The switch must not learn this packet's source address. */
#define NS_NO_LEARN 0x0008
/* Pass the slot through as indirect (unused by vale, reserved). */
#define NS_INDIRECT 0x0010
/* More fragments of the same packet follow in the next slot. */
#define NS_MOREFRAG 0x0020
/* On a monitor ring: the slot carries a packet the port sent. */
#define NS_TXMON 0x0040

/* Port number carried in the high byte of flags on a VALE RX slot. */
#define NS_PORT_SHIFT 8
#define NS_PORT_MASK (0xff << NS_PORT_SHIFT)
#define NS_RFRAGS(_slot) (((_slot)->flags >> 8) & 0xff)

/*
 * A ring: header, then num_slots slots.
 */
struct netmap_ring {
	int64_t buf_ofs;      /* (-) offset of buffer 0 from this ring */
	uint32_t num_slots;   /* (-) slots in the ring */
	uint32_t nr_buf_size; /* (-) bytes per buffer */
	uint16_t ringid;      /* (-) index of this ring in its direction */
	uint16_t dir;         /* (-) 0: TX ring, 1: RX ring */

	uint32_t head; /* (c) first slot the application owns */
	uint32_t cur;  /* (c) wakeup point; head <= cur <= tail */
	uint32_t tail; /* (s) first slot the switch owns; set only in sync */

	uint32_t flags; /* (c) NR_* below */

	struct timeval ts; /* (s) time of the last rxsync */

	uint64_t offset_mask; /* (-) netmap buffer offsets: always 0 in vale */
	uint64_t buf_align;   /* (-) netmap buffer offsets: always 0 in vale */

	/* Opaque room for application synchronisation, as in netmap. */
	uint8_t __attribute__((__aligned__(NM_CACHE_ALIGN))) sem[128];

	struct netmap_slot slot[]; /* num_slots of them */
};

#define NR_TIMESTAMP 0x0002 /* set ts on every rxsync */
#define NR_FORWARD 0x0004   /* enable NS_FORWARD on the ring */

#define NR_TX 0
#define NR_RX 1

/*
 * A port: its name, ring counts and the offsets of its rings. The TX rings
 * come first, then the RX rings (hardware rings, then host rings, in each
 * direction).
 */
struct netmap_if {
	char ni_name[NETMAP_IFNAMSIZ]; /* (-) port name (may be truncated) */
	uint32_t ni_version;           /* (-) NETMAP_API */
	uint32_t ni_flags;             /* (-) NI_* */
	uint32_t ni_tx_rings;          /* (-) hardware TX rings */
	uint32_t ni_rx_rings;          /* (-) hardware RX rings */
	uint32_t ni_bufs_head;         /* (c/s) head of the extra-buffer list */
	uint32_t ni_host_tx_rings;     /* (-) host TX rings */
	uint32_t ni_host_rx_rings;     /* (-) host RX rings */
	uint32_t ni_spare1[3];
	ssize_t ring_ofs[]; /* (-) offset of each ring from this struct */
};

#define NI_PRIV_MEM 0x1 /* the region is private to this port */

/*
 * The control/status block of a ring (netmap's sync-kloop CSB), right after
 * the ring's last slot, 128-byte aligned. The two halves sit on separate
 * cache lines so that each side writes only its own line.
 *
 * The library copies ring->head/cur into atok on every sync and takes
 * ring->tail from ktoa.hwtail, so ring->tail changes only inside a sync call.
 *
 * Notification suppression (virtio style): a side that is about to sleep
 * sets its need_kick flag, issues a full barrier, re-checks the ring and only
 * then sleeps; the other side writes the eventfd only when the flag is set.
 */
struct nm_csb_atok {
	uint32_t head;           /* (c) like ring->head */
	uint32_t cur;            /* (c) like ring->cur */
	uint32_t appl_need_kick; /* (c) the application sleeps: notify it */
	uint32_t sync_flags;     /* (c) NAF_FORCE_* */
	uint32_t pad[12];
};

struct nm_csb_ktoa {
	uint32_t hwcur;          /* (s) first slot not yet processed by the switch */
	uint32_t hwtail;         /* (s) becomes ring->tail at the next sync */
	uint32_t kern_need_kick; /* (s) the switch sleeps: kick it */
	uint32_t reinits;        /* (s) times the switch reinitialised this ring */
	uint32_t pad[12];
};

struct vale_csb {
	struct nm_csb_atok __attribute__((__aligned__(64))) atok;
	struct nm_csb_ktoa __attribute__((__aligned__(64))) ktoa;
};

/* Bytes a ring with n slots occupies, CSB included. */
static inline size_t vale_ring_size(uint32_t num_slots)
{
	size_t sz = sizeof(struct netmap_ring) + (size_t)num_slots * sizeof(struct netmap_slot);
	sz = (sz + NM_CACHE_ALIGN - 1) & ~(size_t)(NM_CACHE_ALIGN - 1);
	return sz + sizeof(struct vale_csb);
}

/* The CSB of a ring with n slots. The switch passes its own trusted n. */
#define VALE_CSB_AT(ring, n)                                                                       \
	((struct vale_csb *)((char *)(ring) + vale_ring_size(n) - sizeof(struct vale_csb)))
#define VALE_CSB(ring) VALE_CSB_AT(ring, (ring)->num_slots)

/*
 * Accessors, as netmap_user.h: base is the address the region is mapped at.
 */
#define _NETMAP_OFFSET(type, ptr, offset) ((type)(void *)((char *)(ptr) + (offset)))
#define NETMAP_IF(base, ofs) _NETMAP_OFFSET(struct netmap_if *, base, ofs)
#define NETMAP_TXRING(nifp, index) _NETMAP_OFFSET(struct netmap_ring *, nifp, (nifp)->ring_ofs[index])
#define NETMAP_RXRING(nifp, index)                                                                 \
	_NETMAP_OFFSET(struct netmap_ring *, nifp,                                                 \
		       (nifp)->ring_ofs[(index) + (nifp)->ni_tx_rings + (nifp)->ni_host_tx_rings])
#define NETMAP_BUF(ring, index)                                                                    \
	((char *)(ring) + (ring)->buf_ofs + ((size_t)(index) * (ring)->nr_buf_size))
#define NETMAP_BUF_IDX(ring, buf)                                                                  \
	((uint32_t)(((char *)(buf) - ((char *)(ring) + (ring)->buf_ofs)) / (ring)->nr_buf_size))

/* The slot after i. */
static inline uint32_t nm_ring_next(const struct netmap_ring *r, uint32_t i)
{
	return i + 1 == r->num_slots ? 0 : i + 1;
}

/* Slots the application owns: free slots on TX, received slots on RX. */
static inline uint32_t nm_ring_space(const struct netmap_ring *r)
{
	int64_t n = (int64_t)r->tail - r->cur;
	if (n < 0)
		n += r->num_slots;
	return (uint32_t)n;
}

/* True when the application owns no slot past cur. */
static inline int nm_ring_empty(const struct netmap_ring *r)
{
	return r->cur == r->tail;
}

/* TX: slots handed to the switch that it has not sent yet. */
static inline int nm_tx_pending(const struct netmap_ring *r)
{
	return nm_ring_next(r, r->tail) != r->head;
}

#ifdef __cplusplus
}
#endif

#endif /* VALE_NETMAP_H */
