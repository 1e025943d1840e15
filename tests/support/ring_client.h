/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ring_client - the client's side of a VALE port's rings, played by a unit
 * test as libvale would: fill TX slots and publish them to the switch, take
 * RX slots and give them back, through the port's CSB (ring/csb.h). Also
 * reads the switch's counters of the port.
 *
 * Each call works on one ring of one port from one thread; the switch side
 * (bdg_forward) may run in another thread.
 */
#ifndef VALE_TESTS_RING_CLIENT_H
#define VALE_TESTS_RING_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "bdg.h"
#include "vport.h"

/* Copy len bytes of data into the next free slot of TX ring i of v, with
 * slot flags, and advance head and cur without publishing them to the
 * switch. Returns false (nothing queued) when the ring is full. */
bool client_queue(struct vport *v, uint32_t i, const uint8_t *data, uint32_t len, uint16_t flags);

/* Publish TX ring i's head and cur to the switch (a client's txsync). */
void client_publish(struct vport *v, uint32_t i);

/* client_queue on TX ring 0 with flags 0, then client_publish. Returns
 * false when the ring is full. */
bool client_send(struct vport *v, const uint8_t *data, uint32_t len);

/* Slots received on RX ring i and not yet taken by client_recv. */
uint32_t client_rx_pending(struct vport *v, uint32_t i);

/* Take the next slot of RX ring i: copy its bytes to out and, if ret_flags
 * is given, its flags there, and give the slot back to the switch. Returns
 * its length, 0 when the ring is empty. */
uint32_t client_recv(struct vport *v, uint32_t i, uint8_t *out, uint16_t *ret_flags);

/* Take every slot waiting on RX ring i (frames of up to 64 KiB); returns
 * how many there were. */
uint32_t client_drain(struct vport *v, uint32_t i);

/* The switch's counters of the port behind v (bdg_port_get_stats). */
struct bdg_port_stats client_port_stats(struct vport *v);

#endif /* VALE_TESTS_RING_CLIENT_H */
