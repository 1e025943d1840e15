/* SPDX-License-Identifier: BSD-2-Clause */
/* ring_client: the client's side of a VALE port's rings, for unit tests. */
#include "ring_client.h"

#include <string.h>

#include "csb.h"

static struct netmap_ring *txring(struct vport *v, uint32_t i)
{
	return NETMAP_TXRING(vport_if(v), i);
}

static struct netmap_ring *rxring(struct vport *v, uint32_t i)
{
	return NETMAP_RXRING(vport_if(v), i);
}

bool client_queue(struct vport *v, uint32_t i, const uint8_t *data, uint32_t len, uint16_t flags)
{
	struct netmap_ring *r = txring(v, i);
	struct netmap_slot *slot;

	csb_appl_update_tail(r, VALE_CSB(r));
	if (nm_ring_space(r) == 0)
		return false;
	slot = &r->slot[r->head];
	memcpy(NETMAP_BUF(r, slot->buf_idx), data, len);
	slot->len = (uint16_t)len;
	slot->flags = flags;
	r->head = r->cur = nm_ring_next(r, r->head);
	return true;
}

void client_publish(struct vport *v, uint32_t i)
{
	struct netmap_ring *r = txring(v, i);

	csb_appl_publish(r, VALE_CSB(r));
}

bool client_send(struct vport *v, const uint8_t *data, uint32_t len)
{
	if (!client_queue(v, 0, data, len, 0))
		return false;
	client_publish(v, 0);
	return true;
}

uint32_t client_rx_pending(struct vport *v, uint32_t i)
{
	struct netmap_ring *r = rxring(v, i);

	csb_appl_update_tail(r, VALE_CSB(r));
	return nm_ring_space(r);
}

uint32_t client_recv(struct vport *v, uint32_t i, uint8_t *out, uint16_t *ret_flags)
{
	struct netmap_ring *r = rxring(v, i);
	struct netmap_slot *slot;
	uint32_t len;

	csb_appl_update_tail(r, VALE_CSB(r));
	if (nm_ring_empty(r))
		return 0;
	slot = &r->slot[r->head];
	len = slot->len;
	memcpy(out, NETMAP_BUF(r, slot->buf_idx), len);
	if (ret_flags)
		*ret_flags = slot->flags;
	/* The slot is the switch's again once published: read it before. */
	r->head = r->cur = nm_ring_next(r, r->head);
	csb_appl_publish(r, VALE_CSB(r));
	return len;
}

uint32_t client_drain(struct vport *v, uint32_t i)
{
	uint8_t buf[65536];
	uint32_t n = 0;

	while (client_recv(v, i, buf, NULL))
		n++;
	return n;
}

struct bdg_port_stats client_port_stats(struct vport *v)
{
	struct bdg_port_stats st;

	bdg_port_get_stats(vport_port(v), &st);
	return st;
}
