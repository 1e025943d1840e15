/* SPDX-License-Identifier: BSD-2-Clause */
/* bdg: switches, their ports and names; the forwarding core is in flush.c. */
#include "bdg_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "portname.h"

static struct bdg *bdg_list; /* guarded by the caller's config lock */

int bdg_parse_name(const char *name, char ret_switch[BDG_NAMSIZ], char ret_port[BDG_NAMSIZ])
{
	return portname_split(name, ret_switch, ret_port, NULL);
}

static uint32_t clock_monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

struct bdg *bdg_create(const char *name, const struct bdg_ops *ops, void *priv)
{
	struct bdg *b;
	size_t len = strlen(name);

	if (len == 0 || !ops || !ops->lookup) {
		errno = EINVAL;
		return NULL;
	}
	if (len >= BDG_NAMSIZ) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (bdg_lookup(name)) {
		errno = EEXIST;
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	memcpy(b->name, name, len + 1);
	b->ops = *ops;
	b->priv = priv;
	b->clock = clock_monotonic_s;
	pthread_rwlock_init(&b->lock, NULL);

	/* Append, so iteration follows creation order. */
	struct bdg **pp = &bdg_list;
	while (*pp)
		pp = &(*pp)->next;
	*pp = b;
	return b;
}

int bdg_destroy(struct bdg *b)
{
	if (!b)
		return 0;
	if (b->n_active)
		return -EBUSY;
	for (struct bdg **pp = &bdg_list; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	}
	if (b->ops.dtor)
		b->ops.dtor(b->priv);
	pthread_rwlock_destroy(&b->lock);
	free(b);
	return 0;
}

struct bdg *bdg_lookup(const char *name)
{
	for (struct bdg *b = bdg_list; b; b = b->next)
		if (strcmp(b->name, name) == 0)
			return b;
	return NULL;
}

struct bdg *bdg_first(void)
{
	return bdg_list;
}

struct bdg *bdg_next(const struct bdg *b)
{
	return b->next;
}

const char *bdg_name(const struct bdg *b)
{
	return b->name;
}

uint32_t bdg_port_count(const struct bdg *b)
{
	return b->n_active;
}

void *bdg_ops_priv(const struct bdg *b)
{
	return b->priv;
}

const struct bdg_ops *bdg_ops(const struct bdg *b)
{
	return &b->ops;
}

void bdg_set_clock(struct bdg *b, bdg_clock_fn clock)
{
	b->clock = clock ? clock : clock_monotonic_s;
}

uint32_t bdg_now(const struct bdg *b)
{
	return b->clock();
}

struct bdg_port *bdg_port_at(const struct bdg *b, uint8_t i)
{
	return i < BDG_MAXPORTS ? b->ports[i] : NULL;
}

struct bdg_port *bdg_find_port(const struct bdg *b, const char *name)
{
	for (uint32_t i = 0; i < b->n_active; i++) {
		struct bdg_port *p = b->ports[b->active[i]];
		if (strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

struct bdg_port *bdg_port_create(const char *name, struct kring *tx, uint32_t n_tx,
				 struct kring *rx, uint32_t n_rx)
{
	struct bdg_port *p;
	size_t len = strlen(name);

	if (len == 0 || n_tx == 0 || n_rx == 0 || n_tx > BDG_MAXRINGS || n_rx > BDG_MAXRINGS ||
	    !tx || !rx) {
		errno = EINVAL;
		return NULL;
	}
	if (len >= BDG_NAMSIZ) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	memcpy(p->name, name, len + 1);
	p->tx = tx;
	p->rx = rx;
	p->n_tx = n_tx;
	p->n_rx = n_rx;
	p->idx = BDG_NOPORT;
	return p;
}

void bdg_port_destroy(struct bdg_port *p)
{
	free(p);
}

void bdg_port_set_notify(struct bdg_port *p, bdg_notify_fn fn, void *arg)
{
	p->notify = fn;
	p->notify_arg = arg;
}

void bdg_port_set_lossless(struct bdg_port *p, bool lossless)
{
	p->lossless = lossless;
}

int bdg_port_set_vnet_hdr_len(struct bdg_port *p, uint16_t len)
{
	if (len != 0 && len != 10 && len != 12)
		return -EINVAL;
	if (p->sw)
		pthread_rwlock_wrlock(&p->sw->lock);
	p->hdr_len = len;
	if (p->sw)
		pthread_rwlock_unlock(&p->sw->lock);
	return 0;
}

uint16_t bdg_port_vnet_hdr_len(const struct bdg_port *p)
{
	return p->hdr_len;
}

bool bdg_port_lossless(const struct bdg_port *p)
{
	return p->lossless;
}

const char *bdg_port_name(const struct bdg_port *p)
{
	return p->name;
}

uint8_t bdg_port_index(const struct bdg_port *p)
{
	return p->idx;
}

struct bdg *bdg_port_switch(const struct bdg_port *p)
{
	return p->sw;
}

uint32_t bdg_port_tx_rings(const struct bdg_port *p)
{
	return p->n_tx;
}

uint32_t bdg_port_rx_rings(const struct bdg_port *p)
{
	return p->n_rx;
}

struct kring *bdg_port_tx_kring(struct bdg_port *p, uint32_t i)
{
	return i < p->n_tx ? &p->tx[i] : NULL;
}

struct kring *bdg_port_rx_kring(struct bdg_port *p, uint32_t i)
{
	return i < p->n_rx ? &p->rx[i] : NULL;
}

static uint64_t load_counter(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

void bdg_port_get_stats(const struct bdg_port *p, struct bdg_port_stats *ret_stats)
{
	struct bdg_port_stats st = {0};

	for (uint32_t i = 0; i < p->n_tx; i++) {
		const struct kring_stats *ks = &p->tx[i].stats;
		st.tx_packets += load_counter(&ks->packets);
		st.tx_bytes += load_counter(&ks->bytes);
		st.tx_errors += load_counter(&ks->bad_slots);
		st.reinits += load_counter(&ks->reinits);
	}
	for (uint32_t i = 0; i < p->n_rx; i++) {
		const struct kring_stats *ks = &p->rx[i].stats;
		st.rx_packets += load_counter(&ks->packets);
		st.rx_bytes += load_counter(&ks->bytes);
		st.rx_drops += load_counter(&ks->drops);
		st.reinits += load_counter(&ks->reinits);
	}
	*ret_stats = st;
}

int bdg_attach(struct bdg *b, struct bdg_port *p)
{
	uint8_t idx;

	if (p->sw || p->monitored)
		return -EBUSY;
	if (bdg_find_port(b, p->name))
		return -EEXIST;
	if (b->n_active >= BDG_MAXPORTS)
		return -ENOSPC;
	for (idx = 0; b->ports[idx]; idx++)
		;
	pthread_rwlock_wrlock(&b->lock);
	p->sw = b;
	p->idx = idx;
	b->ports[idx] = p;
	b->active[b->n_active++] = idx;
	pthread_rwlock_unlock(&b->lock);
	return idx;
}

/* Remove mon from the list at *head: the TX list (linked through
 * mon_next_tx) or the RX list (mon_next_rx). */
static void mon_unlink(struct bdg_port **head, struct bdg_port *mon, bool tx)
{
	struct bdg_port **pp = head;

	while (*pp && *pp != mon)
		pp = tx ? &(*pp)->mon_next_tx : &(*pp)->mon_next_rx;
	if (*pp)
		*pp = tx ? mon->mon_next_tx : mon->mon_next_rx;
}

/* Unlink mon from its port (switch lock held exclusive). */
static void mon_unlink_all(struct bdg_port *mon)
{
	struct bdg_port *port = mon->monitored;

	if (mon->mon_flags & BDG_MON_ZCOPY) {
		if (port->zmon_rx == mon) {
			kring_unhook_release(port->rx, port->n_rx, mon);
			port->zmon_rx = NULL;
		}
		if (port->zmon_tx == mon)
			port->zmon_tx = NULL;
	} else {
		if (mon->mon_flags & BDG_MON_RX)
			mon_unlink(&port->mon_rx, mon, false);
		if (mon->mon_flags & BDG_MON_TX)
			mon_unlink(&port->mon_tx, mon, true);
	}
	mon->mon_next_rx = mon->mon_next_tx = NULL;
	mon->monitored = NULL;
	mon->mon_flags = 0;
}

int bdg_monitor_attach(struct bdg_port *port, struct bdg_port *mon, unsigned flags)
{
	struct bdg *b = port->sw;

	const bool zcopy = flags & BDG_MON_ZCOPY;

	if (!(flags & (BDG_MON_RX | BDG_MON_TX)) ||
	    (flags & ~(BDG_MON_RX | BDG_MON_TX | BDG_MON_ZCOPY)) || port->monitored || port == mon)
		return -EINVAL;
	if (!b)
		return -ENOENT;
	if (mon->sw || mon->monitored)
		return -EBUSY;
	if (zcopy &&
	    ((flags & BDG_MON_RX && port->zmon_rx) || (flags & BDG_MON_TX && port->zmon_tx)))
		return -EBUSY;
	/* Swapping needs one buffer space: the same region. */
	if (zcopy &&
	    (mon->rx[0].buf0 != port->rx[0].buf0 || mon->rx[0].buf_num != port->rx[0].buf_num))
		return -EXDEV;
	pthread_rwlock_wrlock(&b->lock);
	mon->monitored = port;
	mon->mon_flags = flags;
	if (zcopy) {
		if (flags & BDG_MON_RX) {
			port->zmon_rx = mon; /* no hook before: zmon_rx was NULL */
			kring_hook_release(port->rx, port->n_rx, bdg_zmon_release_rx, mon);
		}
		if (flags & BDG_MON_TX)
			port->zmon_tx = mon;
		pthread_rwlock_unlock(&b->lock);
		return 0;
	}
	/* Push at the head: the order among monitors does not matter. */
	if (flags & BDG_MON_RX) {
		mon->mon_next_rx = port->mon_rx;
		port->mon_rx = mon;
	}
	if (flags & BDG_MON_TX) {
		mon->mon_next_tx = port->mon_tx;
		port->mon_tx = mon;
	}
	pthread_rwlock_unlock(&b->lock);
	return 0;
}

void bdg_monitor_detach(struct bdg_port *mon)
{
	struct bdg *b;

	if (!mon->monitored)
		return;
	b = mon->monitored->sw; /* a monitored port is attached: bdg_detach unlinks first */
	pthread_rwlock_wrlock(&b->lock);
	mon_unlink_all(mon);
	pthread_rwlock_unlock(&b->lock);
}

struct bdg_port *bdg_monitor_target(const struct bdg_port *mon)
{
	return mon->monitored;
}

void bdg_detach(struct bdg_port *p)
{
	struct bdg *b = p->sw;

	if (!b)
		return;
	pthread_rwlock_wrlock(&b->lock);
	/* Its monitors stop with it: none keeps a pointer to a detached port. */
	while (p->mon_rx)
		mon_unlink_all(p->mon_rx);
	while (p->mon_tx)
		mon_unlink_all(p->mon_tx);
	if (p->zmon_rx)
		mon_unlink_all(p->zmon_rx);
	if (p->zmon_tx)
		mon_unlink_all(p->zmon_tx);
	for (uint32_t i = 0; i < b->n_active; i++) {
		if (b->active[i] == p->idx) {
			b->active[i] = b->active[--b->n_active];
			break;
		}
	}
	b->ports[p->idx] = NULL;
	if (b->ops.port_detach)
		b->ops.port_detach(b->priv, p->idx);
	p->sw = NULL;
	p->idx = BDG_NOPORT;
	/* Every batch that could name p has ended (we waited for the lock
	 * exclusive) and let go of it (dr_reset); later ones cannot find it. */
	pthread_rwlock_unlock(&b->lock);
}
