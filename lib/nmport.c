/* SPDX-License-Identifier: BSD-2-Clause */
/* nmport: netmap's nmport_* API and nm_ioctl/nm_poll over libvale ports. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <vale/netmap_user.h>

#include "lverr.h"
#include "portname.h"
#include "lvport.h"

/*
 * The open nmport_d's, so nm_ioctl/nm_poll can map an fd back to its port.
 * A short array: programs open a handful of ports.
 */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nmport_d **reg_ports; /* guarded by reg_lock */
static size_t reg_n, reg_cap;

static int reg_add(struct nmport_d *d)
{
	struct nmport_d **a;
	int rc = 0;

	pthread_mutex_lock(&reg_lock);
	if (reg_n == reg_cap) {
		a = realloc(reg_ports, (reg_cap ? reg_cap * 2 : 8) * sizeof(*a));
		if (!a) {
			rc = -ENOMEM;
			goto out;
		}
		reg_ports = a;
		reg_cap = reg_cap ? reg_cap * 2 : 8;
	}
	reg_ports[reg_n++] = d;
out:
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

static void reg_del(struct nmport_d *d)
{
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < reg_n; i++) {
		if (reg_ports[i] == d) {
			reg_ports[i] = reg_ports[--reg_n];
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
}

/* The libvale port whose fd is fd, or NULL. */
static struct vale_port *reg_find(int fd)
{
	struct vale_port *p = NULL;

	if (fd < 0)
		return NULL;
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < reg_n; i++) {
		if (reg_ports[i]->fd == fd) {
			p = reg_ports[i]->port;
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return p;
}

/* An inclusive ring range from libvale's [first, last). */
static void inclusive_range(uint32_t first, uint32_t last, uint16_t *ret_first, uint16_t *ret_last)
{
	if (first >= last) { /* empty: first > last, as libnetmap */
		*ret_first = 1;
		*ret_last = 0;
		return;
	}
	*ret_first = (uint16_t)first;
	*ret_last = (uint16_t)(last - 1);
}

/* Fill the netmap view of an open port; n is its parsed name. */
static void fill_desc(struct nmport_d *d, const struct portname *n)
{
	struct vale_port *p = d->port;
	struct netmap_if *nifp = p->nifp;

	d->hdr.nr_version = NETMAP_API;
	d->hdr.nr_reqtype = NETMAP_REQ_REGISTER;
	memcpy(d->hdr.nr_name, n->base, strlen(n->base)); /* < sizeof: calloc'd, fits */

	d->reg.nr_offset = (uint64_t)((char *)nifp - (char *)p->mem);
	d->reg.nr_memsize = p->mem_size;
	d->reg.nr_tx_rings = (uint16_t)nifp->ni_tx_rings;
	d->reg.nr_rx_rings = (uint16_t)nifp->ni_rx_rings;
	d->reg.nr_host_tx_rings = (uint16_t)nifp->ni_host_tx_rings;
	d->reg.nr_host_rx_rings = (uint16_t)nifp->ni_host_rx_rings;
	d->reg.nr_tx_slots = p->n_tx ? p->tx[0].ring->num_slots : 0;
	d->reg.nr_rx_slots = p->n_rx ? p->rx[0].ring->num_slots : 0;
	d->reg.nr_mem_id = p->mem_id;
	d->reg.nr_mode = n->ring >= 0 ? NR_REG_ONE_NIC : NR_REG_ALL_NIC;
	d->reg.nr_ringid = n->ring >= 0 ? (uint16_t)n->ring : 0;
	d->reg.nr_flags = n->exclusive ? NR_EXCLUSIVE : 0;

	d->mem_desc.mem_id = p->mem_id;
	d->mem_desc.refcount = 1;
	d->mem_desc.mem = p->mem;
	d->mem_desc.size = p->mem_size;
	d->mem = &d->mem_desc;
	d->memsize = p->mem_size;
	d->register_done = d->mmap_done = 1;

	d->fd = vale_fd(p);
	d->nifp = nifp;
	inclusive_range(p->first_tx, p->last_tx, &d->first_tx_ring, &d->last_tx_ring);
	inclusive_range(p->first_rx, p->last_rx, &d->first_rx_ring, &d->last_rx_ring);
	d->cur_tx_ring = d->first_tx_ring;
	d->cur_rx_ring = d->first_rx_ring;
}

struct nmport_d *nmport_open(const char *portspec)
{
	struct nmport_d *d;
	struct portname n;
	int err;

	d = calloc(1, sizeof(*d));
	if (!d) {
		lverr_set(ENOMEM, "out of memory");
		return NULL;
	}
	d->port = vale_open(portspec, NULL);
	if (!d->port)
		goto err_open;
	portname_parse(portspec, &n, NULL); /* cannot fail: vale_open parsed it */
	fill_desc(d, &n);
	err = reg_add(d);
	if (err) {
		lverr_set(-err, "out of memory for the port table");
		goto err_reg;
	}
	return d;

err_reg:
	vale_close(d->port);
err_open:
	err = errno;
	free(d);
	errno = err;
	return NULL;
}

void nmport_close(struct nmport_d *d)
{
	if (!d)
		return;
	reg_del(d);
	vale_close(d->port);
	free(d);
}

int nmport_txsync(struct nmport_d *d)
{
	return vale_txsync(d->port);
}

int nmport_rxsync(struct nmport_d *d)
{
	return vale_rxsync(d->port);
}

int nmport_inject(struct nmport_d *d, const void *buf, size_t size)
{
	uint32_t nrings, ri = d->cur_tx_ring;
	const char *src = buf;

	if (d->first_tx_ring > d->last_tx_ring)
		return 0;
	nrings = (uint32_t)d->last_tx_ring - d->first_tx_ring + 1;
	for (uint32_t c = 0; c < nrings; c++, ri++) {
		struct netmap_ring *ring;
		uint32_t need, i, chunk;

		if (ri > d->last_tx_ring || ri < d->first_tx_ring)
			ri = d->first_tx_ring;
		ring = NETMAP_TXRING(d->nifp, ri);
		chunk =
		    ring->nr_buf_size < UINT16_MAX ? ring->nr_buf_size : UINT16_MAX; /* slot len */
		need = size ? (uint32_t)((size + chunk - 1) / chunk) : 1;
		if (nm_ring_space(ring) < need)
			continue;
		i = ring->cur;
		for (size_t left = size;; i = nm_ring_next(ring, i)) {
			struct netmap_slot *slot = &ring->slot[i];
			size_t n = left < chunk ? left : chunk;

			memcpy(NETMAP_BUF(ring, slot->buf_idx), src, n);
			slot->len = (uint16_t)n;
			src += n;
			left -= n;
			slot->flags = left ? NS_MOREFRAG : 0;
			if (!left)
				break;
		}
		ring->head = ring->cur = nm_ring_next(ring, i);
		d->cur_tx_ring = (uint16_t)ri;
		return (int)size;
	}
	return 0;
}

int nm_ioctl(int fd, unsigned long req, ...)
{
	struct vale_port *p = reg_find(fd);
	va_list ap;
	void *arg;

	if (!p) {
		va_start(ap, req);
		arg = va_arg(ap, void *);
		va_end(ap);
		return ioctl(fd, req, arg);
	}
	if (req == NIOCTXSYNC)
		return vale_txsync(p);
	if (req == NIOCRXSYNC)
		return vale_rxsync(p);
	return lverr_set(ENOTTY,
			 "nm_ioctl: request %#lx is not served on a vale port (only "
			 "NIOCTXSYNC and NIOCRXSYNC)",
			 req);
}

int nm_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	struct vale_port *stack[32] = {NULL}, **owner = stack;
	int n, err;

	if (nfds > 32) {
		owner = calloc(nfds, sizeof(*owner));
		if (!owner)
			return lverr_set(ENOMEM, "out of memory for %lu poll entries",
					 (unsigned long)nfds);
	}
	for (nfds_t i = 0; i < nfds; i++)
		owner[i] = reg_find(fds[i].fd);
	n = lvport_poll(fds, (unsigned int)nfds, owner, timeout_ms);
	err = errno;
	if (owner != stack)
		free(owner);
	errno = err;
	return n;
}
