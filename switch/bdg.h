/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bdg - a VALE switch: its ports, its lookup ops and the forwarding core.
 *
 * A switch (`vale0`) has up to BDG_MAXPORTS ports (`vale0:a`). A port is a
 * set of krings (ring/kring.h) that some adapter created: a VALE port with
 * client rings in a region, later a NIC, tap or vhost-user adapter. The
 * switch does not own the krings; it forwards between them:
 *
 *   bdg_forward(src port, TX ring)
 *     preflush: take up to BDG_BATCH slots [hwcur, head) of the TX ring;
 *               NS_MOREFRAG chains form one packet
 *     lookup:   the switch's ops->lookup once per packet -> a port, or
 *               BDG_BROADCAST (all ports but the source), or BDG_NOPORT;
 *               a destination with several RX rings gets the packet on the
 *               ring chosen by its flow hash (one flow stays on one ring)
 *     flush:    per destination ring, reserve slots (a lease) under the ring
 *               lock, copy outside the lock, complete the lease under the
 *               lock, so several threads fill one RX ring at once
 *
 * A destination without room gets what fits; the rest is dropped and counted
 * on that RX ring, after one retry that re-reads the client's head. A port
 * marked lossless never loses packets to a full destination: its TX slots
 * from the first packet that does not fit stay unconsumed, so the sender
 * sees backpressure, and a later bdg_forward() carries on from there.
 *
 * The lookup is a table of ops per switch, as netmap's netmap_bdg_ops, so a
 * forwarding policy plugs in without touching the core (learn.h is the
 * learning bridge, the default).
 *
 * Locking: the caller serialises configuration (create, destroy, attach,
 * detach) with its own global lock. Each switch has a read/write lock: taken
 * shared by bdg_forward() and exclusive by attach and detach. Each TX kring is
 * used by one forwarding thread at a time; RX krings have their lease lock.
 *
 * Lifetime (what lets an adapter free a port and its krings):
 *   - A batch reaches other ports only through the switch's port table, and
 *     only with the switch lock held shared. Everything it keeps about them
 *     (its destination list in the scratch space) is forgotten before it
 *     lets the lock go; after the unlock it touches only its source port.
 *   - bdg_detach(p) takes the lock exclusive: it waits for every batch in
 *     flight, so once it returns no batch names p, and no later one can.
 *     The same holds for p's monitors (bdg_monitor_detach, and bdg_detach of
 *     the port they watch), the notify callbacks (called with the lock held)
 *     and the release hooks of zero-copy monitors (kring_unhook_release waits
 *     for a hook running under the ring lock).
 *   - p's own TX rings are forwarded outside that rule (bdg_forward reads
 *     p->sw and p's TX kring before and after the lock): the one thread that
 *     forwards p must have stopped (worker_remove, a kport's join) before
 *     bdg_detach(p).
 *   - So the order is: stop the thread forwarding p; bdg_detach(p) (after its
 *     monitors); then bdg_port_destroy(p) and free its krings. An adapter
 *     calling bdg_monitor_copy or installing release hooks (pipes) keeps the
 *     monitor alive with its own lock until it has detached it.
 */
#ifndef VALE_SWITCH_BDG_H
#define VALE_SWITCH_BDG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kring.h"

#define BDG_MAXPORTS 254
#define BDG_BROADCAST 254 /* lookup result: every port but the source */
#define BDG_NOPORT 255	  /* lookup result: drop */
#define BDG_MAXRINGS 16	  /* rings per direction per port */
#define BDG_BATCH 1024	  /* slots taken from a TX ring per bdg_forward */
#define BDG_MAXFRAGS 64	  /* slots per packet; longer chains are dropped */
#define BDG_NAMSIZ 16	  /* switch and port names, NUL included */
#define BDG_FULLNAMSIZ 64 /* "switch:port", NUL included (NETMAP_REQ_IFNAMSIZ) */

struct bdg;
struct bdg_port;

/* What a lookup sees of a packet. */
struct bdg_pkt {
	const uint8_t *data; /* first fragment: starts with the Ethernet header */
	uint32_t len;	     /* bytes in the first fragment */
	uint32_t total_len;  /* bytes in the whole packet */
	uint16_t slot_flags; /* flags of the first slot (NS_NO_LEARN...) */
	uint8_t src_port;
};

/*
 * Forwarding policy of a switch. Called with the switch lock held shared
 * (lookup, from forwarding threads, concurrently) or exclusive (port_detach).
 * config and expire come from the control thread. NULL optional ops do
 * nothing.
 */
struct bdg_ops {
	/* Destination of pkt: a port index, BDG_BROADCAST or BDG_NOPORT. */
	uint8_t (*lookup)(void *priv, const struct bdg_pkt *pkt, uint32_t now_s);
	/* Set a policy parameter from text: 0 or -errno. Optional. */
	int (*config)(void *priv, const char *key, const char *value);
	/* Periodic housekeeping (aging). Optional. */
	void (*expire)(void *priv, uint32_t now_s);
	/* A port left the switch: forget what points at it. Optional. */
	void (*port_detach)(void *priv, uint8_t port);
	/* The switch is being destroyed: release priv. Optional. */
	void (*dtor)(void *priv);
};

/* Monotonic seconds; tests substitute their own clock. */
typedef uint32_t (*bdg_clock_fn)(void);

/*
 * Called when packets were published on RX ring `ring` of port (hwtail
 * moved). Runs on a forwarding thread with the switch lock held shared (so
 * a detached port never gets a late call) and no ring lock.
 */
typedef void (*bdg_notify_fn)(struct bdg_port *port, uint32_t ring, void *arg);

struct bdg_port_stats {
	uint64_t tx_packets, tx_bytes; /* sent by the port into the switch */
	uint64_t rx_packets, rx_bytes; /* delivered to the port */
	uint64_t rx_drops;	       /* lost because the port's RX ring was full */
	uint64_t tx_errors;	       /* bad slots or packets the port sent */
	uint64_t reinits;	       /* ring reinitialisations */
};

/*
 * Split "vale0:a" into "vale0" and "a": ring/portname.h's portname_split
 * (a bare name, no suffix read), without a sentence. Returns 0, -EINVAL or
 * -ENAMETOOLONG; ret_* are written only on success.
 */
int bdg_parse_name(const char *name, char ret_switch[BDG_NAMSIZ], char ret_port[BDG_NAMSIZ]);

/*
 * Create a switch named name ("vale0") with the given ops (copied) and their
 * private data (owned by the switch from now on: ops->dtor releases it).
 * NULL + errno EINVAL or ENOMEM; on failure priv is not released.
 */
struct bdg *bdg_create(const char *name, const struct bdg_ops *ops, void *priv);

/* Destroy a switch with no ports left (-EBUSY otherwise). Accepts NULL. */
int bdg_destroy(struct bdg *b);

/*
 * The switches of this process, in creation order; there is no fixed limit.
 * bdg_create fails with EEXIST for a name in use. Caller holds the config lock.
 */
struct bdg *bdg_lookup(const char *name);
struct bdg *bdg_first(void);
struct bdg *bdg_next(const struct bdg *b);

const char *bdg_name(const struct bdg *b);
uint32_t bdg_port_count(const struct bdg *b);
void *bdg_ops_priv(const struct bdg *b);
const struct bdg_ops *bdg_ops(const struct bdg *b);
void bdg_set_clock(struct bdg *b, bdg_clock_fn clock);
uint32_t bdg_now(const struct bdg *b);

/* Port i of the switch, or NULL (caller holds the config lock). */
struct bdg_port *bdg_port_at(const struct bdg *b, uint8_t i);
/* The port named name ("a"), or NULL. */
struct bdg_port *bdg_find_port(const struct bdg *b, const char *name);

/*
 * Describe a port over existing krings (owned by the caller, who keeps them
 * alive until bdg_port_destroy). n_tx/n_rx are 1..BDG_MAXRINGS. NULL + errno.
 */
struct bdg_port *bdg_port_create(const char *name, struct kring *tx, uint32_t n_tx,
				 struct kring *rx, uint32_t n_rx);
/* Destroy a detached port. Accepts NULL. */
void bdg_port_destroy(struct bdg_port *p);

void bdg_port_set_notify(struct bdg_port *p, bdg_notify_fn fn, void *arg);
void bdg_port_set_lossless(struct bdg_port *p, bool lossless);
/*
 * Each frame of the port starts with a virtio-net header of len bytes (0, 10
 * or 12; -EINVAL otherwise). Between ports with equal lengths the header is
 * copied as data; otherwise the destination gets a header saying "no
 * offload". Takes the switch lock, so no batch sees half a change.
 */
int bdg_port_set_vnet_hdr_len(struct bdg_port *p, uint16_t len);
uint16_t bdg_port_vnet_hdr_len(const struct bdg_port *p);
bool bdg_port_lossless(const struct bdg_port *p);
const char *bdg_port_name(const struct bdg_port *p);
uint8_t bdg_port_index(const struct bdg_port *p);
struct bdg *bdg_port_switch(const struct bdg_port *p);
uint32_t bdg_port_tx_rings(const struct bdg_port *p);
uint32_t bdg_port_rx_rings(const struct bdg_port *p);
struct kring *bdg_port_tx_kring(struct bdg_port *p, uint32_t i);
struct kring *bdg_port_rx_kring(struct bdg_port *p, uint32_t i);
void bdg_port_get_stats(const struct bdg_port *p, struct bdg_port_stats *ret_stats);

/*
 * Attach p to switch b (exclusive switch lock). Returns the port index, or
 * -EEXIST (a port of that name is attached), -ENOSPC (BDG_MAXPORTS ports),
 * -EBUSY (p is attached elsewhere).
 */
int bdg_attach(struct bdg *b, struct bdg_port *p);

/*
 * Detach p from its switch (exclusive switch lock): no forwarding runs on it
 * afterwards, and the lookup ops forget it (learning table flushed for it).
 * When it returns, no batch of any thread names p or its krings any more
 * (see Lifetime above): p and its krings may be freed. The thread that
 * forwards p's TX rings must have stopped (worker_remove) before:
 * bdg_forward reads p's switch without the lock.
 */
void bdg_detach(struct bdg_port *p);

/*
 * Monitors (netmap's copy monitors, "valeX:Y/r", "/t", "/rt"). A monitor is
 * a detached port whose RX rings the forwarding core fills with copies of
 * what the monitored port receives (BDG_MON_RX: copied when a batch is
 * published on the port's RX ring i, into the monitor's RX ring i modulo its
 * ring count) or sends (BDG_MON_TX: copied when bdg_forward consumes the
 * port's TX ring i, in ring order, slots flagged NS_TXMON). Copies carry the
 * port's own framing (its virtio-net header included). A monitor never
 * slows the port beyond the copy: a full monitor ring drops the copy,
 * counted in the monitor's RX drops, and is never waited for, even when the
 * monitored port is lossless. Copies keep each source ring's order; when
 * two workers fill one monitored RX ring at once, the monitor may see their
 * batches in another interleaving than the port did.
 *
 * bdg_monitor_attach: mon watches port (attached to a switch) in the
 * directions of flags. -EINVAL: flags empty, or port is itself a monitor;
 * -ENOENT: port is detached; -EBUSY: mon is attached or already monitors.
 * bdg_monitor_detach: mon stops watching (accepts a mon that does not).
 * Both take the port's switch lock exclusively, so no batch sees half a
 * change; the caller serialises them with attach and detach (config lock).
 * bdg_detach of a monitored port detaches its monitors first.
 */
#define BDG_MON_RX 1u
#define BDG_MON_TX 2u
/*
 * Zero-copy monitors (netmap's "/z"): with BDG_MON_ZCOPY the monitor takes
 * the port's buffers instead of copies, giving the port its own free
 * buffers in exchange, so both must be rings of one region (-EXDEV
 * otherwise). TX: the slots bdg_forward consumed, after every destination
 * and copy monitor got its copy, just before they go back to the client.
 * RX: the slots the port's client returned, when the switch takes them back
 * (kring_rxsync, through the ring's release hook); whoever serves the port
 * should call kring_rxsync_locked on its RX rings when their head moves, so
 * the monitor does not wait for the next packet to the port. Slots flagged
 * NS_BUF_CHANGED on both sides, TX ones NS_TXMON. A full monitor ring never
 * holds the port back: what does not fit stays with the port and counts as
 * a drop of the monitor. One zero-copy monitor per port and direction
 * (-EBUSY for a second).
 */
#define BDG_MON_ZCOPY 4u
int bdg_monitor_attach(struct bdg_port *port, struct bdg_port *mon, unsigned flags);
void bdg_monitor_detach(struct bdg_port *mon);
/* The port mon watches, or NULL. */
struct bdg_port *bdg_monitor_target(const struct bdg_port *mon);

/*
 * Copy the slots [from, to) of kring src (npkts whole packets; the caller
 * owns them and their client cannot touch them yet) into RX ring `ring`
 * modulo its ring count of monitor mon, slot for slot, each copy's flags
 * its NS_MOREFRAG plus flags (NS_TXMON for TX copies). What does not fit
 * after one re-read of the monitor client's head is dropped at a packet
 * boundary and counted in mon's RX drops; never waits. For adapters whose
 * data path is not bdg_forward (pipes); the caller keeps mon alive while
 * it copies. Several threads may copy into one monitor (leases).
 */
void bdg_monitor_copy(struct bdg_port *mon, uint32_t ring, struct kring *src, uint32_t from,
		      uint32_t to, uint64_t npkts, uint16_t flags);

/*
 * Release hooks of a zero-copy monitor (arg: the monitor), for adapters
 * whose data path is not bdg_forward (pipes): installed with
 * kring_hook_release on RX rings, they move the returned slots' buffers
 * into the monitor's RX ring k->ringid modulo its ring count, as what was
 * received (_rx) or as what the peer sent (_tx, flagged NS_TXMON).
 */
void bdg_zmon_release_rx(void *mon, struct kring *k, uint32_t from, uint32_t to);
void bdg_zmon_release_tx(void *mon, struct kring *k, uint32_t from, uint32_t to);

/*
 * Per-thread scratch space for bdg_forward (about 580 KiB, most of it touched
 * only by offloaded packets and lossless sources). NULL + errno.
 */
struct bdg_scratch *bdg_scratch_create(void);
void bdg_scratch_destroy(struct bdg_scratch *s);

/*
 * Forward what port src queued on its TX ring `ring`: one batch of up to
 * BDG_BATCH slots. Runs on the forwarding thread that owns that TX ring.
 * Returns the number of TX slots consumed (sent or dropped); with a lossless
 * port, fewer than were queued when a destination is full.
 */
uint32_t bdg_forward(struct bdg_port *src, uint32_t ring, struct bdg_scratch *s);

#endif /* VALE_SWITCH_BDG_H */
