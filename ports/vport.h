/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vport - a VALE port: client rings in a region of their own.
 *
 * A VALE port is what `valeX:Y` opens: a region (ring/mem.h) holding one
 * netmap_if, its TX and RX rings with their CSBs and a buffer for every slot
 * (plus the extra buffers asked for), and the krings over those rings, as a
 * bdg_port ready to attach to a switch. The vport owns all of it; the switch
 * only borrows the krings while the port is attached.
 *
 * Each port also has two eventfds (non-blocking, close-on-exec), owned by the
 * vport and handed to the client with the region:
 *   - kick (client -> switch): "look at my TX rings". The client writes it
 *     after publishing, when ktoa.kern_need_kick is set. The forwarding worker
 *     that serves the port's TX rings polls and drains it (switch/worker.h);
 *     give all TX rings of a port to one worker, since a drained kick is seen
 *     by one reader only.
 *   - notify (switch -> client): "tail moved". vport_create installs the
 *     port's bdg notify callback, which writes it when an RX ring received
 *     packets and the client set atok.appl_need_kick on that ring; the worker
 *     writes it when it reclaimed TX slots of a ring with appl_need_kick set.
 *     The client reads it to re-arm it.
 * Both follow the virtio-style suppression of vale/netmap.h: set the flag,
 * full barrier, re-check the ring, then sleep.
 *
 * Threads: create and destroy under the daemon's configuration lock; the
 * port must be detached from its switch, and no worker may serve it, before
 * vport_destroy. The notify callback runs on forwarding threads.
 */
#ifndef VALE_PORTS_VPORT_H
#define VALE_PORTS_VPORT_H

#include <stddef.h>
#include <stdint.h>

#include <vale/netmap.h>

#include "bdg.h"
#include "mem.h"

#define VPORT_SLOTS_DEFAULT 1024
#define VPORT_SLOTS_MAX 16384

struct vport_params {
	const char *name;    /* port name within its switch ("a") */
	uint32_t tx_rings;   /* 1..BDG_MAXRINGS; 0 means 1 */
	uint32_t rx_rings;   /* 1..BDG_MAXRINGS; 0 means 1 */
	uint32_t tx_slots;   /* 2..VPORT_SLOTS_MAX; 0 means the default */
	uint32_t rx_slots;   /* 2..VPORT_SLOTS_MAX; 0 means the default */
	uint32_t buf_size;   /* MEM_BUF_SIZE_MIN..MAX; 0 means the default */
	uint32_t extra_bufs; /* spare buffers listed from ni_bufs_head */
	bool hugetlb;	     /* back the region with hugepages */
	/*
	 * NULL: the port gets a region of its own. Else the port's netmap_if,
	 * rings and buffers are taken from this region (netmap's nr_mem_id), which
	 * the caller keeps alive longer than the port; they go back to it when the
	 * port is destroyed. Its buffer size wins over buf_size.
	 */
	struct mem_region *shared_mem;
	/*
	 * With shared_mem: the netmap_if, rings and CSBs go in an area of the
	 * region of their own (ring/mem.h), so that the port's client alone can
	 * write them: it gets the region read-only (vport_client_mem_fd) and the
	 * area read-write (vport_area_fd), and the region's other clients see
	 * the region's unused pages where the area is. Zero-copy monitors.
	 */
	bool own_area;
};

struct vport;

/*
 * Fill zero geometry fields of p with the defaults and check the limits
 * (rings, slots, buffer size, extra buffers): 0 or -EINVAL. Every kind of
 * port built on these parameters (VALE ports, pipes) accepts the same.
 */
int vport_geometry_defaults(struct vport_params *p);

/*
 * Zero-copy monitors ("/z") take their buffers from the region of the port
 * they watch, and have their netmap_if and rings in an area of it of their
 * own (own_area), so the monitor's client never gets write access to memory
 * the port's client uses. vport_zmon_params: the geometry of such a monitor
 * of a port with geometry port (one RX ring per ring of the port's busier
 * direction, as many slots as its larger rings, a 2-slot TX ring nobody
 * uses; own_area). vport_zmon_area_size: the area it needs.
 * vport_zmon_room: add the room of one such monitor (an area and its
 * buffers) to mp, which a region for that port is being sized with; a
 * private region keeps it, but not on hugepages, which cannot have areas.
 */
void vport_zmon_params(const struct vport_params *port, struct vport_params *ret);
size_t vport_zmon_area_size(const struct vport_params *port);
void vport_zmon_room(const struct vport_params *port, struct mem_params *mp);

/*
 * The bytes of the region vport_create(p) would make (0 when p names a
 * shared region: the port makes none), computed without allocating, so that
 * they can be charged to the client first: 0, or -EINVAL for a geometry
 * vport_create refuses.
 */
int vport_region_bytes(const struct vport_params *p, size_t *ret_bytes);

/* Create a port (detached). NULL + errno: EINVAL, ENAMETOOLONG, ENOMEM... */
struct vport *vport_create(const struct vport_params *p);

/* Free everything; the port must be detached. Accepts NULL. */
void vport_destroy(struct vport *v);

struct bdg_port *vport_port(const struct vport *v);
struct mem_region *vport_mem(const struct vport *v);
struct netmap_if *vport_if(const struct vport *v);
/* Offset of the netmap_if in the region (netmap's nr_offset). */
size_t vport_if_offset(const struct vport *v);
/*
 * The region's fd to hand the port's client: read-only for a port with an
 * area of its own (own_area), else the region's; owned by the vport.
 */
int vport_client_mem_fd(const struct vport *v);
/*
 * A port with an area of its own: the area's memfd (owned by the region),
 * to be mapped read-write at *ret_offset of the client's mapping of the
 * region, *ret_size bytes. Else -1 (ret_* untouched).
 */
int vport_area_fd(const struct vport *v, size_t *ret_offset, size_t *ret_size);
/* The kick eventfd (client -> switch); owned by the vport. */
int vport_kick_fd(const struct vport *v);
/* The notify eventfd (switch -> client); owned by the vport. */
int vport_notify_fd(const struct vport *v);
/* The parameters after defaults were applied. */
const struct vport_params *vport_params(const struct vport *v);

#endif /* VALE_PORTS_VPORT_H */
