/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tapport - tap and container ports: a tap interface (ports/tap.h), optionally
 * moved into a network namespace, as a switch port through a kport.
 *
 * Frames cross the switch with the tap's 12-byte virtio-net header, so the
 * checksum and TSO offloads the kernel hands us reach the other side intact
 * (another tap, a vhost-user guest) or are done in software for ports
 * without a header (switch/offload.h). Multi-queue taps read every queue
 * and write on the queue of the frame's flow.
 *
 * Threads: create/destroy on the control thread.
 */
#ifndef VALE_PORTS_TAPPORT_H
#define VALE_PORTS_TAPPORT_H

#include "kport.h"
#include "tap.h"

/* Create the tap and its port `name` on switch sw. NULL + errno + err. */
struct kport *tapport_create(struct bdg *sw, const char *name, const struct tap_params *p,
			     char *err);

#endif /* VALE_PORTS_TAPPORT_H */
