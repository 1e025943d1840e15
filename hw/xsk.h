/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xsk - the native NIC adapter's I/O: one AF_XDP socket on one queue of an
 * interface (rings and UMEM through libxdp), and the XDP program that steers
 * the queue's frames to it.
 *
 * Design. An xsk owns a UMEM (frame_num frames of frame_size bytes, page
 * aligned; allocated here, or an area the caller lends, e.g. part of a memfd
 * region) and one AF_XDP socket bound to (ifname, queue_id). The first half
 * of the frames feeds the kernel through the fill ring (RX), the second half
 * is a private free list for TX; the two never mix, so RX frames can be held
 * by the caller while TX goes on.
 *
 * The XDP program. The first socket on an interface loads our own program
 * (six raw BPF instructions: redirect the frame to the XSKMAP entry of its
 * RX queue, XDP_PASS when that entry is empty) with an XSKMAP sized to the
 * interface's queues, and attaches it through a BPF link; the sockets of the
 * other queues share it (one program per interface, refcounted), and the
 * last one to close detaches it, leaving the interface as it was. Once a
 * queue's socket is in the map, the host stack no longer sees that queue's
 * frames, as in netmap mode. Frames of a queue WITHOUT a socket still go to
 * the host stack: to take a NIC over completely, open one xsk per queue.
 * Why not libxdp's default program: libxdp 1.3 loads it without frags
 * support (BPF_F_XDP_HAS_FRAGS), and drivers refuse such a program in drv
 * mode once a frame can exceed a page (veth: "Peer MTU is too large to set
 * XDP"), so jumbo frames could not be had in drv mode. Ours is always loaded
 * frags-aware, whatever the MTU: one code path; a frame that fits one buffer
 * reaches a frags-aware program as it reaches any other (the flag only lets
 * the driver hand it frames of several). Why a BPF link rather than a
 * netlink attachment: the kernel detaches it when valed dies, so a crash
 * does not leave the interface with a program nobody owns, and nobody can
 * replace it behind valed's back.
 * What this gives up: sharing the interface with other XDP programs through
 * libxdp's dispatcher; an interface that already runs any XDP program is
 * refused (EEXIST).
 *
 * Modes. XDP attach mode: drv (native, in the driver) or skb (generic, after
 * the stack built an skb; works on any interface, slower). Bind mode:
 * zero-copy (the NIC DMAs into the UMEM; needs driver support and drv mode)
 * or copy. XSK_XDP_AUTO tries drv and falls back to skb; XSK_BIND_AUTO lets
 * the kernel try zero-copy and fall back to copy. If our program is already
 * attached to the interface (by an xsk on another queue), the new socket
 * uses that program's mode. On veth: drv + copy and skb + copy both work;
 * zero-copy is not supported.
 *
 * Frame size and multi-buffer. A UMEM frame is 2048 or 4096 bytes, and the
 * kernel keeps 256 bytes of XDP headroom in each RX frame. When the MTU's
 * frames (Ethernet + one VLAN tag) fit one UMEM frame (MTU <= 1774 with 2048,
 * <= 3822 with 4096), every frame is one descriptor. Above that (jumbo
 * frames; 4096-byte UMEM frames by default) the socket is bound with
 * XDP_USE_SG (AF_XDP multi-buffer, Linux 6.6+): a frame arrives as several
 * descriptors chained by XDP_PKT_CONTD, and xsk_tx_burst sends a long frame
 * the same way, at most XSK_TX_FRAGS_MAX descriptors. XDP_USE_SG is set only
 * when the MTU needs it: on a zero-copy driver without multi-buffer support
 * it would turn zero-copy into copy mode even for small frames.
 *
 * Ownership: frames returned by xsk_rx_burst stay in the UMEM and belong to
 * the caller until xsk_rx_release gives them back, oldest first. A frame of
 * several descriptors is made contiguous in a per-socket scratch area
 * (XSK_RX_SCRATCH bytes), valid until the caller has released every frame
 * it holds; when the scratch is full, a burst ends early. Frames given to
 * xsk_tx_burst are copied; the caller keeps its buffers.
 *
 * Threads: xsk_open and xsk_close may be called from any thread (they are
 * serialised internally: they share the per-interface programs and the
 * library print hooks). xsk_open acts in the calling thread's network
 * namespace (a program is shared per interface of one namespace); xsk_close
 * works on file descriptors only, in any namespace. The data path has no
 * locking: the RX side (xsk_rx_burst, xsk_rx_release: RX and fill rings) and
 * the TX side (xsk_tx_burst: TX and completion rings, the TX free list) each
 * belong to one thread at a time, and the two sides may run on two threads
 * at once, as the kernel's rings are single-producer single-consumer. xsk_fd,
 * xsk_mode, xsk_zerocopy and xsk_stats may be called from any thread while
 * the xsk is open.
 *
 * Errors: constructors return NULL and set errno, with a sentence in err;
 * nothing is logged. libxdp's and libbpf's own messages are captured (not
 * printed) and appended to that sentence when they explain a failure.
 */
#ifndef VALE_HW_XSK_H
#define VALE_HW_XSK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "kframe.h"

#define XSK_FRAME_NUM_DEFAULT 4096
#define XSK_FRAME_SIZE_DEFAULT 2048
#define XSK_RING_SIZE_DEFAULT 2048
#define XSK_XDP_HEADROOM 256 /* the kernel's XDP_PACKET_HEADROOM */
/* Descriptors per frame xsk_tx_burst may use: MAX_SKB_FRAGS + 1 with the
 * smallest MAX_SKB_FRAGS a kernel can be built with (17), the copy-mode
 * limit the kernel's AF_XDP documentation gives for portable programs. */
#define XSK_TX_FRAGS_MAX 18
/* Multi-buffer RX: room for the frames of several descriptors made whole
 * in one burst (28 frames of 9 KB, 3 of 64 KB). */
#define XSK_RX_SCRATCH (256u << 10)

enum xsk_bind_mode {
	XSK_BIND_AUTO = 0, /* zero-copy if the driver can, else copy */
	XSK_BIND_COPY,     /* force copy mode */
	XSK_BIND_ZEROCOPY, /* zero-copy or fail (EOPNOTSUPP) */
};

enum xsk_xdp_mode {
	XSK_XDP_AUTO = 0, /* drv, falling back to skb */
	XSK_XDP_SKB,      /* generic XDP */
	XSK_XDP_DRV,      /* native XDP or fail */
};

struct xsk_params {
	const char *ifname; /* interface, in the caller's network namespace */
	uint32_t queue_id;  /* 0..n-1 */
	uint32_t frame_num; /* UMEM frames, 64..2^20; 0: 4096 */
	uint32_t frame_size; /* 2048 or 4096; 0: 2048, or 4096 if the MTU needs it */
	uint32_t rx_size;   /* RX ring entries, power of 2; 0: 2048 */
	uint32_t tx_size;   /* TX ring entries, power of 2; 0: 2048 */
	enum xsk_bind_mode bind;
	enum xsk_xdp_mode xdp;
	/*
	 * Optional UMEM lent by the caller: page aligned, at least
	 * frame_num * frame_size bytes. It stays the caller's, must outlive the
	 * xsk and is never unmapped here. NULL: the xsk allocates its own.
	 */
	void *umem_area;
	size_t umem_size;
};

/*
 * Counters since open, in frames (not descriptors). rx_dropped counts every
 * frame the kernel could not deliver to this socket (RX ring full, fill ring
 * empty, too long, invalid) and frames too long for the RX scratch;
 * rx_ring_full and rx_fill_empty break two causes out. tx_errors counts
 * frames refused by xsk_tx_burst (length 0 or over the frame size), invalid
 * TX descriptors seen by the kernel, and failed kicks. With multi-buffer a
 * frame the kernel finds invalid may count once per descriptor.
 */
struct xsk_stats {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t rx_dropped;
	uint64_t rx_ring_full;
	uint64_t rx_fill_empty;
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t tx_errors;
};

struct xsk;

/*
 * Open an AF_XDP socket on p->ifname queue p->queue_id, with its UMEM, and
 * make sure the XSK program steers that queue's frames to it. err (may be
 * NULL, else ERR_LEN bytes) receives a sentence on failure.
 * Returns NULL and sets errno:
 *   EINVAL      a parameter out of range, or a queue the interface lacks;
 *   ENODEV      no such interface;
 *   EOPNOTSUPP  zero-copy or drv mode forced where the driver lacks it;
 *   EAFNOSUPPORT the kernel has no AF_XDP;
 *   EPERM       missing CAP_NET_ADMIN / CAP_NET_RAW / CAP_BPF;
 *   EBUSY       the queue already has an AF_XDP socket (a socket closed a
 *               moment ago is waited for, up to 0.2 s);
 *   EEXIST      the interface runs an XDP program that is not ours, or ours
 *               in the other mode than the one asked for;
 *   ERANGE      drv mode forced and the driver refuses XDP at this MTU;
 *   ENOMEM, ENOBUFS (UMEM over RLIMIT_MEMLOCK), or libxdp's/libbpf's errno.
 */
struct xsk *xsk_open(const struct xsk_params *p, char *err);

/*
 * Close the socket and free the UMEM (unless lent). When this was the last
 * socket on the interface, the XDP program is detached.
 * Frames still held from xsk_rx_burst become invalid. Accepts NULL.
 */
void xsk_close(struct xsk *x);

/*
 * The socket fd, for epoll: EPOLLIN when the RX ring has frames, EPOLLOUT
 * when the TX ring has room. Owned by the xsk.
 */
int xsk_fd(const struct xsk *x);

/* "zero-copy/drv", "copy/drv" or "copy/skb": what the open obtained. */
const char *xsk_mode(const struct xsk *x);

/* True when bound in zero-copy mode. */
bool xsk_zerocopy(const struct xsk *x);

/* UMEM frame size in bytes. */
uint32_t xsk_frame_size(const struct xsk *x);

/*
 * The longest frame xsk_tx_burst accepts: the frame size, or with
 * multi-buffer XSK_TX_FRAGS_MAX frames.
 */
uint32_t xsk_max_len(const struct xsk *x);

/*
 * Take up to max received frames: frames[i].data points into the UMEM, or
 * into the scratch for a frame of several descriptors (read-write, valid
 * until released), frames[i].len is the whole frame's length, flags 0
 * (ports/kframe.h). Returns the count, 0 when the RX ring is empty (then
 * wait on xsk_fd) or the scratch is full (release what you hold).
 * The caller must give the frames back with xsk_rx_release; frames not
 * released starve the fill ring and the kernel drops (rx_fill_empty).
 */
uint32_t xsk_rx_burst(struct xsk *x, struct kframe *frames, uint32_t max);

/*
 * Give back the n oldest frames taken by xsk_rx_burst (n is clamped to the
 * number held), refilling the fill ring with their descriptors' frames. The
 * scratch is reused once nothing is held.
 */
void xsk_rx_release(struct xsk *x, uint32_t n);

/*
 * Copy frames into free TX frames of the UMEM, submit them and kick the
 * kernel when it asks (copy mode always does); a frame longer than a UMEM
 * frame goes as several descriptors. First reclaims frames the kernel has
 * sent. Returns how many frames were taken from the front of frames: each
 * was queued, or dropped and counted in tx_errors if its length is 0 or over
 * xsk_max_len. When the return is below n, the TX ring or
 * the TX frames are full: keep the rest and retry later (EPOLLOUT).
 * xsk_tx_burst(x, NULL, 0) only reclaims and re-kicks: call it when frames
 * are pending and no more are coming, so copy mode drains its ring.
 */
uint32_t xsk_tx_burst(struct xsk *x, const struct kframe *frames, uint32_t n);

/*
 * Read the counters (ours plus the kernel's XDP_STATISTICS) into *ret.
 * Returns 0, or -errno from getsockopt (then *ret is unchanged).
 */
int xsk_stats(const struct xsk *x, struct xsk_stats *ret);

#endif /* VALE_HW_XSK_H */
