/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * flowhash - the hash that spreads packets over a port's RX rings, as RSS
 * does on a NIC: every packet of one flow gets the same value, so a flow
 * stays in order on one ring.
 *
 * The flow is the Ethernet addresses and, when the frame carries IPv4 or
 * IPv6 (behind at most two VLAN tags), the IP addresses, the protocol and,
 * for TCP, UDP and SCTP in an unfragmented packet, the ports. A frame too
 * short for a header stops the parse there: it still hashes, on what it has.
 *
 * Pure function, any thread.
 */
#ifndef VALE_SWITCH_FLOWHASH_H
#define VALE_SWITCH_FLOWHASH_H

#include <stdint.h>

uint32_t flowhash_frame(const uint8_t *frame, uint32_t len);

#endif /* VALE_SWITCH_FLOWHASH_H */
