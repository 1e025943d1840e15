/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pipe - a netmap pipe: two ports whose rings are cross-linked, zero-copy.
 *
 * `X{N` and `X}N` are the two ends of pipe N of X (end 0 and end 1). Both
 * ends live in ONE region (ring/mem.h), so moving a packet from one end to
 * the other moves a buffer index, never bytes. TX ring i of one end feeds
 * RX ring i of the other; the second end's geometry mirrors the first's
 * (its TX rings/slots are the first end's RX rings/slots and the reverse).
 *
 * Transfer (pipe_forward), as netmap's original pipe txsync: for each new
 * TX slot of the sender, while the peer's RX ring has a free slot, the two
 * slots swap buf_idx/len/flags: the packet's buffer goes to the reader and
 * the reader's free buffer comes back to the sender's TX slot. Both slots
 * get NS_BUF_CHANGED. A full peer leaves the TX slots pending (backpressure,
 * never a drop); NS_MOREFRAG chains move whole, unless a chain is longer than
 * the peer ring can ever hold, which then moves in pieces.
 *
 * Validation: head/cur are read once through the kring prologues and a bad
 * value reinitialises that end's ring only. Every buffer index crossing
 * between the ends is checked (2 <= idx < buf_num). A TX slot with a bad
 * index or length is dropped (counted in bad_slots) and, when the pipe still
 * has a spare buffer (PIPE_SPARES, private to the daemon), repaired with it;
 * a free RX slot with a bad index (the reader scribbled over a slot it did
 * not own) is repaired from the spares and its ring reinitialised; with no
 * spare left the transfer stops there, so the scribbler only hurts its own
 * reception. The same valid index in two slots is not detected: both ends
 * can write every buffer of the region anyway, so it harms no one else.
 *
 * Ownership: the pipe owns its region, rings, krings, spares and the two
 * ends' eventfds (kick and notify, as a vport's). Ring state survives the
 * close of an end: slots in flight stay where they are (the packets already
 * in the peer's RX ring are read by the peer; what the closed end had
 * published on TX still goes out; what reaches the closed end waits in its
 * RX ring for the next opener, and when that ring fills the sender sees
 * backpressure). The pipe goes when both ends are closed (registry.c).
 *
 * Threads: create/destroy on the control thread, with no worker serving the
 * pipe. pipe_forward() is called by the one forwarding worker that serves
 * the pipe; it alone writes the pipe's krings, so the RX krings take no
 * lease and no lock.
 *
 * Monitors (pipe_monitor_attach): copy monitors of an end, as a VALE port's
 * (switch/bdg.h). In pipe_forward from end A to end B the packets moved are
 * A's TX and B's RX: after the swap and before B's RX slots are published,
 * they are copied (bdg_monitor_copy) into A's TX monitors, flagged
 * NS_TXMON, and B's RX monitors. A full monitor drops, never the pipe. The
 * list is under the pipe's rwlock: pipe_forward takes it shared for a batch
 * only when some monitor is attached (one relaxed load otherwise); attach
 * and detach take it exclusive, from the control thread.
 *
 * Zero-copy monitors (BDG_MON_ZCOPY, rings in the pipe's region): a pipe
 * moves A's TX buffers into B's RX ring, so there is no moment when A's sent
 * buffers could go to a monitor. Both directions are taken when the reader
 * returns them instead: A's RX monitor from A's RX slots, A's TX monitor
 * from B's RX slots (NS_TXMON), through the release hooks of those RX krings
 * (kring_rxsync, which pipe_forward calls under the ring lock for this).
 */
#ifndef VALE_PORTS_PIPE_H
#define VALE_PORTS_PIPE_H

#include <stddef.h>
#include <stdint.h>

#include <vale/netmap.h>

#include "bdg.h"
#include "kring.h"
#include "mem.h"
#include "vport.h"

#define PIPE_SPARES 64 /* daemon-private buffers to repair slots a client spoiled */

struct pipe;

/*
 * Create both ends. p gives end 0's geometry (defaults as vport_create;
 * extra_bufs go to each end); name is end 0's "X{N", end 1's ni_name
 * gets '}' instead (both truncated to fit). NULL + errno: EINVAL, ENOMEM...
 */
struct pipe *pipe_create(const char *name, const struct vport_params *p);

/* The bytes of the region pipe_create(p) would make, without making it
 * (valed charges them to the client first): 0 or -EINVAL. */
int pipe_region_bytes(const struct vport_params *p, size_t *ret_bytes);

/* Free everything; no worker may serve the pipe. Accepts NULL. */
void pipe_destroy(struct pipe *p);

struct mem_region *pipe_mem(const struct pipe *p);
struct netmap_if *pipe_if(const struct pipe *p, unsigned end);
size_t pipe_if_offset(const struct pipe *p, unsigned end);
/* The eventfds of an end, owned by the pipe. */
int pipe_kick_fd(const struct pipe *p, unsigned end);
int pipe_notify_fd(const struct pipe *p, unsigned end);
/* The geometry of an end, defaults applied (name is NULL). */
const struct vport_params *pipe_params(const struct pipe *p, unsigned end);
struct kring *pipe_tx_kring(const struct pipe *p, unsigned end, uint32_t i);
struct kring *pipe_rx_kring(const struct pipe *p, unsigned end, uint32_t i);

/*
 * Source rings of the pipe, numbered for pipe_forward: [0, n0) are end 0's
 * TX rings, [n0, n0 + n1) end 1's. pipe_dst_kring(i) is the RX ring fed by
 * source i (its reader freeing slots makes room for source i).
 */
uint32_t pipe_src_count(const struct pipe *p);
struct kring *pipe_src_kring(const struct pipe *p, uint32_t i);
struct kring *pipe_dst_kring(const struct pipe *p, uint32_t i);
/* The end owning source ring i (its notify fd gets TX-reclaim wakeups). */
unsigned pipe_src_end(const struct pipe *p, uint32_t i);

/*
 * Move what source ring i has published into its peer RX ring, by swapping
 * slots, as far as the peer has room. Publishes both rings and writes the
 * peer's notify eventfd when its client asked (atok.appl_need_kick).
 * Returns the TX slots consumed. Forwarding thread only.
 */
uint32_t pipe_forward(struct pipe *p, uint32_t i);

/*
 * mon (a detached port, not a monitor of anything else) watches end `end`
 * in the directions of flags (BDG_MON_RX, BDG_MON_TX, BDG_MON_ZCOPY). 0,
 * -EINVAL (no direction, bad end), -EBUSY (mon already watches this pipe,
 * or a zero-copy monitor already takes one of the RX rings it needs),
 * -EXDEV (zero copy, but mon's rings are not in the pipe's region), -ENOMEM.
 * pipe_monitor_detach accepts a mon that does not watch the pipe; after it
 * returns no copy into mon is running or will start.
 */
int pipe_monitor_attach(struct pipe *p, unsigned end, struct bdg_port *mon, unsigned flags);
void pipe_monitor_detach(struct pipe *p, struct bdg_port *mon);

/* Spare buffers left (for tests and stats). */
uint32_t pipe_spares_left(const struct pipe *p);

#endif /* VALE_PORTS_PIPE_H */
