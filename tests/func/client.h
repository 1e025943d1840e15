/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * client - what the functional tests that are libvale clients share: open a
 * port, send and receive one frame, and check a numbered sequence of frames
 * sent by another process.
 */
#ifndef VALE_TESTS_CLIENT_H
#define VALE_TESTS_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <vale/vale.h>

/* vale_open(name, p), asserting success (the reason goes to stderr). */
struct vale_port *open_port(const char *name, const struct vale_open_params *p);

/* Queue one frame on TX ring 0, waiting up to timeout_ms for room; sync. */
bool send_frame(struct vale_port *v, const uint8_t *f, uint32_t len, int timeout_ms);

/* The same, telling the buffer index the frame was sent from. */
bool send_frame_idx(struct vale_port *v, const uint8_t *f, uint32_t len, int timeout_ms,
		    uint32_t *ret_idx);

/* Next frame from any RX ring of v within timeout_ms, copied to out, its
 * slot flags to ret_flags if given: its length (0: none). The slot is
 * returned to the switch at once. */
uint32_t recv_frame(struct vale_port *v, uint8_t *out, uint16_t *ret_flags, int timeout_ms);

/* The same, with a copy of the slot it came in (buffer index, flags). */
uint32_t recv_frame_slot(struct vale_port *v, uint8_t *out, struct netmap_slot *ret_slot,
			 int timeout_ms);

/* Fork a child that opens tx_name with p and sends count 60-byte broadcast
 * frames from src 1, seq 0..count-1; assert that rx receives every one, in
 * order, that the child exits 0, and that nothing more arrives. */
void expect_sequence(struct vale_port *rx, const char *tx_name, const struct vale_open_params *p,
		     uint32_t count);

#endif /* VALE_TESTS_CLIENT_H */
