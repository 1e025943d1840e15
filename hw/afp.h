/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * afp - the generic NIC adapter's I/O: one AF_PACKET socket on one interface.
 *
 * Works on any Ethernet-type interface (physical NICs, veth, vxlan, geneve,
 * bonds, ...), where AF_XDP (hw/xsk.h) is not available. One socket has:
 *
 *   RX  a TPACKET_V3 block ring: the kernel packs frames into blocks and
 *       hands a block over when it is full or when the retire timeout
 *       expires, so light traffic waits at most rx_timeout_ms.
 *   TX  a frame ring of the same socket (TPACKET_V3 tx rings are fixed-size
 *       slots, as V2), sent with PACKET_QDISC_BYPASS: the frames go to the
 *       driver directly, as from a switch, not through the host's qdisc.
 *
 * Both rings are one mapping. Frames received are handed out in place (zero
 * copy); frames sent are copied into the TX ring and pushed with one send().
 * TX slots are sized for the MTU, so a ring of 2 MiB has 1024 of them; frames
 * longer than a slot (GSO frames, with vnet_hdr) go out with sendmsg() on a
 * second, ring-less socket of the same interface that receives nothing,
 * after the ring's queued frames, so the order holds.
 *
 * A switch port must see every frame on the wire, so the socket holds a
 * PACKET_MR_PROMISC membership (a reference on the interface's promiscuity
 * count, dropped on close: the interface is given back as it was). Frames
 * the host itself transmits on the interface (and our own) are not received
 * (PACKET_IGNORE_OUTGOING). Frames come and go with their 802.1Q tag in the
 * data: the kernel strips the outer tag on receive and reports it apart, and
 * afp_rx_burst() writes it back in front of the ethertype.
 *
 * Queues: several afps opened on one interface with the same fanout group
 * id form a PACKET_FANOUT_HASH group. The kernel spreads the received frames
 * over them by flow hash (symmetric: both directions of a flow meet on one
 * socket); each afp is then one "queue", served by its own thread. Group ids
 * are per network namespace: use one id per interface (its ifindex, say).
 * IP fragments of one datagram may land on different queues.
 *
 * Offloads: with vnet_hdr, every frame is preceded by a virtio-net header
 * in both directions (10 bytes, or 12 with num_buffers as tap and
 * vhost-user use it: set to 1 on RX, ignored on TX), so GSO frames (up to
 * 64 KiB, from local TCP or GRO) and frames with a partial checksum cross
 * as they are. Without it, such frames still arrive whole: a GSO frame
 * bigger than the MTU, or a frame whose L4 checksum is not filled in
 * (KFRAME_CSUM_PARTIAL); open without vnet_hdr only where the interface
 * does no GRO and the host sends no offloaded frames through it, or turn
 * those off (ethtool -K).
 *
 * Sizes: the MTU is read at open (SIOCGIFMTU) and sizes the TX slots and
 * RX blocks: 2048-byte slots up to MTU 1982, larger powers of two above
 * (16 KiB for MTU 9000). With vnet_hdr an RX block holds a 64 KiB frame
 * (128 KiB blocks) and the RX ring is 16 MiB, so that 128 GSO frames fit.
 * Reopen after an MTU change.
 *
 * Threads: an afp has no lock. Its RX side (afp_rx_burst, afp_rx_release)
 * and its TX side (afp_tx_burst) keep separate state: one thread at a time
 * on each side, the two sides possibly on two threads at once.
 * afp_get_stats() belongs to the RX side's thread (it reads TX counters
 * without a lock: good enough for statistics). afp_open() and afp_close()
 * may run on any thread (the control thread, typically). Different afps are
 * independent.
 */
#ifndef VALE_HW_AFP_H
#define VALE_HW_AFP_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "kframe.h"

#define AFP_FRAME_SIZE_DEFAULT 2048
#define AFP_RX_TIMEOUT_MS_DEFAULT 1

struct afp_params {
	const char *ifname;
	/* Fanout group id shared by the afps (queues) of one interface; 0 = none. */
	uint16_t fanout_group;
	/*
	 * Largest TX slot, bytes, headers included (multiple of 16, 256 to
	 * 1 MiB); 0 = from the MTU (2048 up to MTU 1982, 64 KiB with
	 * vnet_hdr). Too small for the MTU is EINVAL.
	 */
	uint32_t frame_size;
	uint32_t rx_block_size; /* power of two >= 2 frames; 0 = max(128 KiB, 2 frames) */
	uint32_t rx_blocks;	/* 0 = a 4 MiB ring, at least 8 blocks */
	uint32_t rx_timeout_ms; /* block retire timeout; 0 = AFP_RX_TIMEOUT_MS_DEFAULT */
	uint32_t tx_frames;	/* 0 = a 2 MiB ring, at least 64 slots */
	/* (Longer frames than a TX slot holds take the side socket, see above.) */
	/* Prefix every frame with a virtio-net header (off by default). */
	bool vnet_hdr;
	uint8_t vnet_hdr_len; /* 10 or 12 with vnet_hdr; 0 = 10 */
};

struct afp_stats {
	uint64_t rx_packets;   /* frames handed out by afp_rx_burst */
	uint64_t rx_bytes;     /* their lengths, virtio-net headers excluded */
	uint64_t rx_drops;     /* frames the kernel dropped: RX ring full (tp_drops) */
	uint64_t rx_truncated; /* frames longer than an RX block, dropped */
	uint64_t tx_packets;   /* frames the kernel took from the TX ring */
	uint64_t tx_bytes;     /* their lengths, virtio-net headers excluded */
	uint64_t tx_errors;    /* frames dropped: too short or long, or link down */
};

struct afp;

/*
 * Open an AF_PACKET socket on p->ifname with both rings, in the calling
 * thread's network namespace, and join the fanout group if any. The
 * interface may be down: the socket then starts working when it comes up.
 * Returns the afp, or NULL with errno and, when err is not NULL, a sentence
 * for the operator in err (ERR_LEN bytes):
 *   ENODEV  no such interface        EPERM  CAP_NET_RAW missing
 *   EINVAL  bad params, not Ethernet, frame_size too small for the MTU,
 *           fanout group in use on another interface
 *   ENOMEM  rings could not be allocated or mapped
 */
struct afp *afp_open(const struct afp_params *p, char *err);

/*
 * Close the socket: drops the promiscuity reference and the fanout
 * membership, unmaps the rings (every frame handed out becomes invalid).
 * Accepts NULL.
 */
void afp_close(struct afp *a);

/*
 * The socket, for epoll. EPOLLIN: an RX block is ready for afp_rx_burst.
 * EPOLLOUT: the TX ring's next slot is free or the socket's send buffer is
 * below half; a wakeup may still find the ring full (afp_tx_burst then
 * takes nothing: wait again). EPOLLERR: see afp_get_error().
 */
int afp_fd(const struct afp *a);

/*
 * Up to max received frames into frames[] (ports/kframe.h); returns how
 * many. A frame's data is its first byte (the virtio-net header with
 * vnet_hdr, else the Ethernet header), len counts all of it, flags has
 * KFRAME_CSUM_PARTIAL or KFRAME_CSUM_VALID as the kernel said. The frames
 * point into the RX ring and stay valid, and writable, until the next
 * afp_rx_release() (or afp_close()); afp_rx_burst() may be called several
 * times before it. Blocks the kernel delivered stay ours until released, so
 * release promptly: a ring full of held blocks makes the kernel drop.
 */
uint32_t afp_rx_burst(struct afp *a, struct kframe *frames, uint32_t max);

/*
 * Give the ring's blocks back to the kernel. Every frame afp_rx_burst()
 * returned so far becomes invalid. Cheap when there is nothing to return.
 */
void afp_rx_release(struct afp *a);

/*
 * Copy frames[0, n) into the TX ring and push them to the interface with one
 * non-blocking send() (one more each time the ring fills up, as most
 * drivers free a frame within the send() that pushed it; frames longer than
 * a slot go by the side socket). Returns how many were taken: queued, or
 * dropped and counted in tx_errors (shorter than an Ethernet header, longer
 * than the MTU allows or than a TX slot holds, or the link is down). The
 * rest found the ring full and stay with the caller: retry them on EPOLLOUT.
 * Frames the kernel could not send right away stay queued in the ring; call
 * afp_tx_burst(a, NULL, 0) on EPOLLOUT to push them again.
 */
uint32_t afp_tx_burst(struct afp *a, const struct kframe *frames, uint32_t n);

/*
 * Counters since open. Reading the kernel's drop counter resets it, so it
 * is folded into the afp, hence the non-const afp.
 */
void afp_get_stats(struct afp *a, struct afp_stats *ret_stats);

/*
 * Read and clear the socket's pending error (EPOLLERR): -ENETDOWN when the
 * interface went down, -ENXIO/-ENODEV when it went away (close the afp),
 * 0 if none.
 */
int afp_get_error(struct afp *a);

/* The virtio-net header length in front of every frame: 0, 10 or 12. */
uint32_t afp_vnet_hdr_len(const struct afp *a);

/* Largest frame afp_tx_burst() accepts, virtio-net header included. */
uint32_t afp_max_frame(const struct afp *a);

/* The interface's MTU, as read at open. */
uint32_t afp_mtu(const struct afp *a);

#endif /* VALE_HW_AFP_H */
