/* SPDX-License-Identifier: BSD-2-Clause */
/* vport: a VALE port's region, rings, buffers, krings and eventfds. */
#include "vport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct vport {
	struct vport_params params;
	char name[BDG_NAMSIZ];
	struct mem_region *mem;
	uint16_t owner;			   /* who the region's owner record gives our buffers to */
	char *area;			   /* own_area: the area our netmap_if and rings are in */
	size_t ring_ofs[2 * BDG_MAXRINGS]; /* own_area: each ring's place in it */
	int ro_fd;			   /* own_area: the region, read-only, for the client */
	struct netmap_if *nifp;
	struct kring *krings; /* tx_rings TX krings, then rx_rings RX krings */
	uint32_t n_krings;    /* krings initialised so far */
	struct bdg_port *port;
	int kick_fd;   /* client -> switch */
	int notify_fd; /* switch -> client */
};

int vport_geometry_defaults(struct vport_params *p)
{
	p->tx_rings = p->tx_rings ? p->tx_rings : 1;
	p->rx_rings = p->rx_rings ? p->rx_rings : 1;
	p->tx_slots = p->tx_slots ? p->tx_slots : VPORT_SLOTS_DEFAULT;
	p->rx_slots = p->rx_slots ? p->rx_slots : VPORT_SLOTS_DEFAULT;
	p->buf_size = p->buf_size ? p->buf_size : MEM_BUF_SIZE_DEFAULT;
	if (p->tx_rings > BDG_MAXRINGS || p->rx_rings > BDG_MAXRINGS || p->tx_slots < 2 ||
	    p->rx_slots < 2 || p->tx_slots > VPORT_SLOTS_MAX || p->rx_slots > VPORT_SLOTS_MAX ||
	    p->buf_size < MEM_BUF_SIZE_MIN || p->buf_size > MEM_BUF_SIZE_MAX ||
	    p->extra_bufs > VPORT_SLOTS_MAX * BDG_MAXRINGS)
		return -EINVAL;
	return 0;
}

static int apply_defaults(struct vport_params *p)
{
	if (!p->name)
		return -EINVAL;
	if (strlen(p->name) >= BDG_NAMSIZ)
		return -ENAMETOOLONG;
	return vport_geometry_defaults(p);
}

/* Create ring i (TX first) with its slots' buffers, and its kring. Buffers
 * it took go back with the port's owner (vport_destroy), the ring here. */
static int ring_create(struct vport *v, uint32_t i)
{
	const struct vport_params *p = &v->params;
	bool tx = i < p->tx_rings;
	uint32_t slots = tx ? p->tx_slots : p->rx_slots;
	struct netmap_ring *ring =
	    v->area ? (struct netmap_ring *)(v->area + v->ring_ofs[i]) : mem_ring_alloc(v->mem);
	int err = -ENOMEM;

	if (!ring)
		return -errno;
	v->nifp->ring_ofs[i] = (char *)ring - (char *)v->nifp;
	for (uint32_t j = 0; j < slots; j++) {
		ring->slot[j].buf_idx = mem_buf_alloc(v->mem, v->owner);
		if (!ring->slot[j].buf_idx)
			goto err_ring;
	}
	err = kring_init(&v->krings[i], ring, tx ? NR_TX : NR_RX,
			 (uint16_t)(tx ? i : i - p->tx_rings), slots, mem_buf(v->mem, 0),
			 mem_params(v->mem)->buf_size, mem_params(v->mem)->buf_num);
	if (err)
		goto err_ring;
	v->krings[i].owners = mem_owners(v->mem);
	v->krings[i].owner = v->owner;
	v->n_krings++;
	return 0;

err_ring:
	if (!v->area)
		mem_ring_free(v->mem, ring);
	return err;
}

/*
 * Where the netmap_if and the rings of a port with geometry p go in an area
 * of its own: the netmap_if first, then the rings (TX first), each on a
 * multiple of NM_CACHE_ALIGN as in the region's pools. ret_ofs[i] is ring
 * i's offset from the area's start (may be NULL). Returns the bytes used.
 */
static size_t area_layout(const struct vport_params *p, size_t *ret_ofs)
{
	uint32_t nrings = p->tx_rings + p->rx_rings;
	size_t at = sizeof(struct netmap_if) + nrings * sizeof(ssize_t);

	for (uint32_t i = 0; i < nrings; i++) {
		at = (at + NM_CACHE_ALIGN - 1) / NM_CACHE_ALIGN * NM_CACHE_ALIGN;
		if (ret_ofs)
			ret_ofs[i] = at;
		at += vale_ring_size(i < p->tx_rings ? p->tx_slots : p->rx_slots);
	}
	return at;
}

void vport_zmon_params(const struct vport_params *port, struct vport_params *ret)
{
	*ret = (struct vport_params){
	    .name = port->name,
	    .tx_rings = 1,
	    .tx_slots = 2,
	    .rx_rings = port->tx_rings > port->rx_rings ? port->tx_rings : port->rx_rings,
	    .rx_slots = port->tx_slots > port->rx_slots ? port->tx_slots : port->rx_slots,
	    .buf_size = port->buf_size,
	    .own_area = true,
	};
}

size_t vport_zmon_area_size(const struct vport_params *port)
{
	struct vport_params z;

	vport_zmon_params(port, &z);
	return area_layout(&z, NULL);
}

void vport_zmon_room(const struct vport_params *port, struct mem_params *mp)
{
	struct vport_params z;
	size_t area;

	if (port->hugetlb)
		return;
	area = vport_zmon_area_size(port);
	vport_zmon_params(port, &z);
	mp->area_num += 1;
	if (area > mp->area_size)
		mp->area_size = (uint32_t)area; /* < 2^32: 33 rings of at most 16384 slots */
	mp->buf_num += z.tx_rings * z.tx_slots + z.rx_rings * z.rx_slots;
}

/* The pools of a region of its own, sized for this port and one zero-copy
 * monitor of it (untouched pages of a memfd cost nothing). */
static void private_params(const struct vport_params *p, struct mem_params *ret)
{
	uint32_t nrings = p->tx_rings + p->rx_rings;
	uint32_t max_slots = p->tx_slots > p->rx_slots ? p->tx_slots : p->rx_slots;

	*ret = (struct mem_params){
	    .if_num = 1,
	    .if_size = (uint32_t)(sizeof(struct netmap_if) + nrings * sizeof(ssize_t)),
	    .ring_num = nrings,
	    .ring_size = (uint32_t)vale_ring_size(max_slots),
	    .buf_num = MEM_BUF_RESERVED + p->tx_rings * p->tx_slots + p->rx_rings * p->rx_slots +
		       p->extra_bufs,
	    .buf_size = p->buf_size,
	    .hugetlb = p->hugetlb,
	};
	vport_zmon_room(p, ret);
}

static struct mem_region *private_region(const struct vport_params *p)
{
	struct mem_params mp;

	private_params(p, &mp);
	return mem_create(&mp);
}

int vport_region_bytes(const struct vport_params *params, size_t *ret_bytes)
{
	struct vport_params p = *params;
	struct mem_params mp;
	int err = vport_geometry_defaults(&p);

	if (err)
		return err;
	if (p.shared_mem) {
		*ret_bytes = 0;
		return 0;
	}
	private_params(&p, &mp);
	return mem_layout_size(&mp, ret_bytes);
}

/* Can a shared region hold this port's objects? 0 or -EINVAL/-ENOMEM. */
static int shared_fits(const struct vport_params *p, const struct mem_region *m)
{
	const struct mem_params *mp = mem_params(m);
	uint32_t nrings = p->tx_rings + p->rx_rings;
	uint32_t max_slots = p->tx_slots > p->rx_slots ? p->tx_slots : p->rx_slots;
	uint64_t bufs = (uint64_t)p->tx_rings * p->tx_slots + (uint64_t)p->rx_rings * p->rx_slots +
			p->extra_bufs;

	if (p->own_area) {
		if (mp->area_num == 0 || area_layout(p, NULL) > mem_area_size(m))
			return -EINVAL;
		if (mem_pool_free_count(m, MEM_POOL_AREA) < 1 ||
		    mem_pool_free_count(m, MEM_POOL_BUF) < bufs)
			return -ENOMEM;
		return 0;
	}
	if (sizeof(struct netmap_if) + nrings * sizeof(ssize_t) > mp->if_size ||
	    vale_ring_size(max_slots) > mp->ring_size)
		return -EINVAL;
	if (mem_pool_free_count(m, MEM_POOL_IF) < 1 ||
	    mem_pool_free_count(m, MEM_POOL_RING) < nrings ||
	    mem_pool_free_count(m, MEM_POOL_BUF) < bufs)
		return -ENOMEM;
	return 0;
}

/*
 * The bdg notify callback: RX ring `ring` got packets. kring_lease_complete()
 * stored ktoa.hwtail with release before this runs. A client about to sleep
 * does the mirror image: it stores atok.appl_need_kick = 1, issues a full
 * barrier and re-reads hwtail. Each side stores, then fences, then loads what
 * the other stored; with a SEQ_CST fence on both sides at least one load sees
 * the other's store: either the client finds the new hwtail and does not
 * sleep, or we find its flag and wake it. Release/acquire alone would not
 * order our store of hwtail before our load of the flag.
 */
static void rx_notify(struct bdg_port *port, uint32_t ring, void *arg)
{
	const struct vport *v = arg;
	const struct kring *kr = &v->krings[v->params.tx_rings + ring];
	uint64_t one = 1;
	ssize_t n;
	(void)port;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&kr->csb->atok.appl_need_kick, __ATOMIC_RELAXED))
		return;
	/* Only EAGAIN can fail here: the counter is saturated, so the fd is
	 * readable and the client wakes anyway. */
	n = write(v->notify_fd, &one, sizeof(one));
	(void)n;
}

struct vport *vport_create(const struct vport_params *params)
{
	struct vport *v;
	uint32_t nrings;
	int err;

	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->kick_fd = v->notify_fd = v->ro_fd = -1; /* vport_destroy closes only what was opened */
	v->params = *params;
	err = apply_defaults(&v->params);
	if (!err && v->params.own_area && !v->params.shared_mem)
		err = -EINVAL;
	if (err)
		goto err_params;
	memcpy(v->name, params->name, strlen(params->name) + 1);
	v->params.name = v->name;

	nrings = v->params.tx_rings + v->params.rx_rings;
	if (v->params.shared_mem) {
		v->params.buf_size = mem_params(v->params.shared_mem)->buf_size;
		err = shared_fits(&v->params, v->params.shared_mem);
		if (!err)
			err = mem_owner_create(v->params.shared_mem, &v->owner);
		if (err)
			goto err_params;
		v->mem = v->params.shared_mem;
	} else {
		v->owner = MEM_OWNER_CREATOR;
		v->mem = private_region(&v->params);
		if (!v->mem) {
			err = -errno;
			goto err_params;
		}
	}
	if (v->params.own_area) {
		area_layout(&v->params, v->ring_ofs);
		v->area = mem_area_alloc(v->mem);
		if (!v->area) {
			err = -errno;
			goto err_rings;
		}
		v->ro_fd = mem_fd_readonly(v->mem);
		if (v->ro_fd < 0) {
			err = v->ro_fd;
			goto err_rings;
		}
		v->nifp = (struct netmap_if *)v->area;
	} else {
		v->nifp = mem_if_alloc(v->mem);
	}
	v->krings = calloc(nrings, sizeof(*v->krings));
	if (!v->nifp || !v->krings) {
		err = -ENOMEM;
		goto err_rings;
	}
	memcpy(v->nifp->ni_name, v->name, strlen(v->name)); /* < BDG_NAMSIZ: fits, zeroed */
	v->nifp->ni_version = NETMAP_API;
	v->nifp->ni_flags = v->params.shared_mem ? 0 : NI_PRIV_MEM;
	v->nifp->ni_tx_rings = v->params.tx_rings;
	v->nifp->ni_rx_rings = v->params.rx_rings;
	for (uint32_t i = 0; i < nrings; i++) {
		err = ring_create(v, i);
		if (err)
			goto err_rings;
	}
	if (v->params.extra_bufs &&
	    !mem_extra_bufs_alloc(v->mem, v->owner, v->params.extra_bufs, &v->nifp->ni_bufs_head)) {
		err = -ENOMEM;
		goto err_rings;
	}
	v->port = bdg_port_create(v->name, v->krings, v->params.tx_rings,
				  v->krings + v->params.tx_rings, v->params.rx_rings);
	if (!v->port) {
		err = -errno;
		goto err_rings;
	}
	v->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (v->kick_fd < 0) {
		err = -errno;
		goto err_rings;
	}
	v->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (v->notify_fd < 0) {
		err = -errno;
		goto err_rings;
	}
	bdg_port_set_notify(v->port, rx_notify, v);
	return v;

err_rings:
	vport_destroy(v);
	errno = -err;
	return NULL;
err_params:
	free(v);
	errno = -err;
	return NULL;
}

void vport_destroy(struct vport *v)
{
	if (!v)
		return;
	bdg_port_destroy(v->port);
	if (v->notify_fd >= 0)
		close(v->notify_fd);
	if (v->kick_fd >= 0)
		close(v->kick_fd);
	for (uint32_t i = 0; i < v->n_krings; i++) {
		if (v->params.shared_mem && !v->area)
			mem_ring_free(v->mem, v->krings[i].ring);
		kring_fini(&v->krings[i]);
	}
	free(v->krings);
	if (v->ro_fd >= 0)
		close(v->ro_fd);
	if (v->params.shared_mem) {
		/* Everything back to the region, which stays: the buffers the
		 * owner record gives us, wherever our client put them, and
		 * none that it named in its slots or its extra list. */
		mem_owner_destroy(v->mem, v->owner);
		if (v->area)
			mem_area_free(v->mem, v->area); /* our netmap_if and rings */
		else if (v->nifp)
			mem_if_free(v->mem, v->nifp);
	} else {
		mem_destroy(v->mem);
	}
	free(v);
}

struct bdg_port *vport_port(const struct vport *v)
{
	return v->port;
}

struct mem_region *vport_mem(const struct vport *v)
{
	return v->mem;
}

struct netmap_if *vport_if(const struct vport *v)
{
	return v->nifp;
}

size_t vport_if_offset(const struct vport *v)
{
	return mem_offset(v->mem, v->nifp);
}

int vport_client_mem_fd(const struct vport *v)
{
	return v->area ? v->ro_fd : mem_fd(v->mem);
}

int vport_area_fd(const struct vport *v, size_t *ret_offset, size_t *ret_size)
{
	if (!v->area)
		return -1;
	*ret_offset = mem_offset(v->mem, v->area);
	*ret_size = mem_area_size(v->mem);
	return mem_area_fd(v->mem, v->area);
}

int vport_kick_fd(const struct vport *v)
{
	return v->kick_fd;
}

int vport_notify_fd(const struct vport *v)
{
	return v->notify_fd;
}

const struct vport_params *vport_params(const struct vport *v)
{
	return &v->params;
}
