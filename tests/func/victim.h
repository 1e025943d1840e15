/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * victim - a port that checks the switch never writes its RX ring outside
 * what the switch gave it.
 *
 * The victim keeps most of its RX ring: after each rxsync it returns only
 * some of the slots it holds, leaving the switch a random number of free
 * slots (1 to free_max), so that every lease the switch takes ends next to
 * slots the victim owns. Before each sync it records what it owns, the
 * slots [head, tail), and writes canary bytes into their buffers; after the
 * sync it checks that none of those slots (buf_idx, len, flags, ptr) nor
 * the canaries changed, and that tail did not move backwards (relative to
 * head) nor past head. The first violation is kept as a sentence.
 *
 * One thread, one RX ring (ring 0 of the port).
 */
#ifndef VALE_TESTS_VICTIM_H
#define VALE_TESTS_VICTIM_H

#include <stdbool.h>
#include <stdint.h>

#include <vale/vale.h>

struct victim;

/* Open name with p (it must have one RX ring) and take its ring as it is. */
struct victim *victim_open(const char *name, const struct vale_open_params *p, uint32_t free_max,
			   unsigned int seed);

/* One round: return some slots, sync, check, take and canary the new slots.
 * Waits up to wait_ms for traffic first. False once a violation was seen. */
bool victim_step(struct victim *v, int wait_ms);

/* The first violation ("" if none). */
const char *victim_failure(const struct victim *v);

/* Slots and whole packets received so far. */
uint64_t victim_slots(const struct victim *v);
uint64_t victim_packets(const struct victim *v);

/* Close the port. Accepts NULL. */
void victim_close(struct victim *v);

#endif /* VALE_TESTS_VICTIM_H */
