/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * offload - the virtio-net offloads done in software, for a destination that
 * cannot take them: completing a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM)
 * and cutting a TCP GSO frame (GSO_TCPV4, GSO_TCPV6) into MSS-sized frames
 * with their own IP and TCP headers and checksums.
 *
 * The header layout and meanings are the virtio specification's (struct
 * virtio_net_hdr, little endian): flags, gso_type, hdr_len, gso_size,
 * csum_start, csum_offset, and num_buffers in the 12-byte form. With
 * NEEDS_CSUM the checksum field already holds the pseudo-header sum, as
 * Linux and virtio leave it; the sum over [csum_start, end) completes it.
 *
 * Pure functions over caller buffers, any thread; frames start with the
 * Ethernet header (the virtio-net header is passed apart, already parsed).
 */
#ifndef VALE_SWITCH_OFFLOAD_H
#define VALE_SWITCH_OFFLOAD_H

#include <stdint.h>

#define VNET_HDR_F_NEEDS_CSUM 1
#define VNET_HDR_F_DATA_VALID 2
#define VNET_HDR_GSO_NONE 0
#define VNET_HDR_GSO_TCPV4 1
#define VNET_HDR_GSO_UDP 3
#define VNET_HDR_GSO_TCPV6 4
#define VNET_HDR_GSO_ECN 0x80

struct vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

/* Parse the first 10 bytes of a virtio-net header (little endian). */
void offload_hdr_parse(const uint8_t *raw, struct vnet_hdr *ret_hdr);

/* True when the header asks for work a plain destination cannot do. */
static inline int offload_needed(const struct vnet_hdr *h)
{
	return (h->flags & VNET_HDR_F_NEEDS_CSUM) || (h->gso_type & ~VNET_HDR_GSO_ECN);
}

/*
 * Complete the checksum at csum_start + csum_offset over [csum_start, len).
 * Returns 0, or -EINVAL when the offsets fall outside the frame.
 */
int offload_csum_complete(uint8_t *frame, uint32_t len, uint16_t csum_start, uint16_t csum_offset);

/*
 * How many frames offload_segment() makes of this GSO frame of len bytes (1
 * when there is no GSO), and in *ret_longest the length of the longest, read
 * from its headers alone: they must lie in the first head_len bytes at head
 * (a frame's first fragment will do). Or -EINVAL / -EOPNOTSUPP (UDP
 * fragmentation offload, unknown types, headers that do not parse or lie
 * beyond head_len).
 */
int offload_segment_plan(const uint8_t *head, uint32_t head_len, uint32_t len,
			 const struct vnet_hdr *h, uint32_t *ret_longest);

/*
 * Segment i of a TCP GSO frame, written to out (room bytes): the Ethernet,
 * IP and TCP headers of the frame with lengths, IPv4 id and checksum, TCP
 * sequence number, flags (FIN and PSH on the last segment only, CWR on the
 * first only) and TCP checksum fixed, then the i-th gso_size bytes of
 * payload. Returns the segment's length, or -EINVAL / -ENOSPC.
 */
int offload_segment(const uint8_t *frame, uint32_t len, const struct vnet_hdr *h, uint32_t i,
		    uint8_t *out, uint32_t room);

#endif /* VALE_SWITCH_OFFLOAD_H */
