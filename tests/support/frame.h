/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * frame - the numbered test frame the unit and functional tests send
 * through a switch: Ethernet + IPv4 + UDP from MAC 02:00:00:00:00:<src>,
 * carrying (src, seq) in its payload so the receiver can tell which sender
 * and which packet it got.
 */
#ifndef VALE_TESTS_FRAME_H
#define VALE_TESTS_FRAME_H

#include <stdint.h>

/* Build in f (room for at least 50 bytes) a frame of len bytes to dst from
 * MAC 02:00:00:00:00:<src>: zeroes but for the MACs, the IPv4 ethertype,
 * version/IHL, protocol UDP, src at offset 42 and seq at offset 46. */
void frame_make(uint8_t *f, uint32_t len, const uint8_t dst[6], uint8_t src, uint32_t seq);

/* Read back the (src, seq) that frame_make put in f. */
void frame_fields(const uint8_t *f, uint8_t *ret_src, uint32_t *ret_seq);

#endif /* VALE_TESTS_FRAME_H */
