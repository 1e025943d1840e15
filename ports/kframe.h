/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kframe - one frame of a kernel queue, the one type every kernel-facing
 * burst call uses: AF_XDP (hw/xsk.h), AF_PACKET (hw/afp.h) and the kport
 * backends over them and over taps (ports/kport.h). A kport's burst arrays
 * go to the sockets as they are, with no copy between frame types.
 *
 * Received frames (rx_burst): data points into the queue's memory (a UMEM
 * frame, an AF_PACKET block, or a queue's scratch for a frame it had to join)
 * and stays valid until the frames are released; len counts every byte from
 * data (the virtio-net header included, when the queue has one); flags
 * carries what the kernel said of the frame (KFRAME_*, 0 if nothing).
 * Frames to send (tx_burst): data and len are the caller's, read during the
 * call only; flags is ignored, so a sender need not set it.
 */
#ifndef VALE_PORTS_KFRAME_H
#define VALE_PORTS_KFRAME_H

#include <stdint.h>

/* kframe.flags, on received frames only. */
#define KFRAME_CSUM_PARTIAL 0x1 /* L4 checksum not filled in (host's offload) */
#define KFRAME_CSUM_VALID 0x2	/* the interface verified the L4 checksum */

struct kframe {
	uint8_t *data;
	uint32_t len;
	uint32_t flags; /* KFRAME_*: RX only */
};

#endif /* VALE_PORTS_KFRAME_H */
