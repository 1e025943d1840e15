/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bdg_impl.h - private to the bdg module (bdg.c: switches and ports;
 * flush.c: the forwarding core). Nothing else includes it.
 */
#ifndef VALE_SWITCH_BDG_IMPL_H
#define VALE_SWITCH_BDG_IMPL_H

#include "bdg.h"

struct bdg_port {
	char name[BDG_NAMSIZ];
	struct bdg *sw; /* NULL while detached */
	uint8_t idx;	/* index in sw->ports, BDG_NOPORT while detached */
	bool lossless;
	uint16_t hdr_len; /* virtio-net header before each frame: 0, 10 or 12 */
	uint32_t n_tx, n_rx;
	struct kring *tx, *rx; /* owned by the adapter that created the port */
	bdg_notify_fn notify;
	void *notify_arg;
	/*
	 * Monitors (bdg_monitor_attach): the lists are changed under the
	 * switch lock held exclusive and read under it shared, so the
	 * forwarding core tests one pointer per batch when there are none.
	 */
	struct bdg_port *mon_rx, *mon_tx;	    /* heads: monitors of this port */
	struct bdg_port *mon_next_rx, *mon_next_tx; /* links, in a monitor */
	struct bdg_port *monitored;		    /* in a monitor: its port */
	/* The zero-copy monitors of this port, per direction; the RX one is
	 * reached through the release hooks of the port's RX krings. */
	struct bdg_port *zmon_rx, *zmon_tx;
	unsigned mon_flags; /* in a monitor: BDG_MON_* */
};

struct bdg {
	char name[BDG_NAMSIZ];
	/* Shared by bdg_forward, exclusive for attach/detach. */
	pthread_rwlock_t lock;
	struct bdg_port *ports[BDG_MAXPORTS];
	/* Dense list of the attached ports' indices, for flooding. */
	uint8_t active[BDG_MAXPORTS];
	uint32_t n_active;
	struct bdg_ops ops;
	void *priv;
	bdg_clock_fn clock;
	struct bdg *next; /* the process's list of switches */
};

#endif /* VALE_SWITCH_BDG_IMPL_H */
