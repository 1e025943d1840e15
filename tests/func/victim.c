/* SPDX-License-Identifier: BSD-2-Clause */
/* victim: a port that checks its RX ring is written only inside what the switch gave it. */
#include "victim.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CANARY_LEN 64 /* the switch writes a buffer from its first byte */

struct victim {
	struct vale_port *port;
	struct netmap_ring *rx;
	uint32_t n;		   /* slots of the ring */
	uint32_t free_max;	   /* most free slots left to the switch */
	uint32_t head;		   /* published: the victim owns [head, tail) */
	uint32_t ret;		   /* head to publish next: [head, ret) go back */
	uint32_t tail;		   /* tail at the last sync */
	uint32_t *idx;		   /* each slot's buffer index at open: the switch keeps them */
	struct netmap_slot *saved; /* owned slots as the victim left them */
	bool *kept;		   /* the slot has a record in saved */
	unsigned int seed;
	uint64_t slots, packets;
	char why[512];
};

static uint32_t dist(const struct victim *v, uint32_t from, uint32_t to)
{
	return to >= from ? to - from : to + v->n - from;
}

static uint32_t next(const struct victim *v, uint32_t i)
{
	return i + 1 == v->n ? 0 : i + 1;
}

static uint8_t canary(uint32_t pos, uint32_t j)
{
	return (uint8_t)(0xc5 ^ (pos * 13 + j));
}

static void failed(struct victim *v, const char *fmt, ...)
{
	va_list ap;

	if (v->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
	fprintf(stderr, "victim: %s\n", v->why);
}

struct victim *victim_open(const char *name, const struct vale_open_params *p, uint32_t free_max,
			   unsigned int seed)
{
	struct victim *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->port = vale_open(name, p);
	if (!v->port) {
		fprintf(stderr, "victim: cannot open %s: %s\n", name, vale_last_error());
		free(v);
		return NULL;
	}
	v->rx = NETMAP_RXRING(vale_nifp(v->port), 0);
	v->n = v->rx->num_slots;
	v->free_max = free_max < v->n - 1 ? free_max : v->n - 1;
	v->head = v->ret = v->rx->head;
	v->tail = v->rx->tail;
	v->seed = seed;
	v->idx = calloc(v->n, sizeof(*v->idx));
	v->saved = calloc(v->n, sizeof(*v->saved));
	v->kept = calloc(v->n, sizeof(*v->kept));
	if (!v->idx || !v->saved || !v->kept) {
		victim_close(v);
		return NULL;
	}
	for (uint32_t i = 0; i < v->n; i++)
		v->idx[i] = v->rx->slot[i].buf_idx;
	return v;
}

/* Slots [from, to), which the victim owns, are as it left them (those it
 * kept: a slot taken and given back in the same round has no record). */
static void check_owned(struct victim *v, uint32_t from, uint32_t to, const char *when)
{
	for (uint32_t pos = from; pos != to && !v->why[0]; pos = next(v, pos)) {
		const struct netmap_slot *s = &v->rx->slot[pos], *was = &v->saved[pos];
		const uint8_t *buf;

		if (!v->kept[pos])
			continue;
		if (memcmp(s, was, sizeof(*s)) != 0) {
			failed(
			    v,
			    "%s: slot %u, owned by the victim ([%u, %u)), was rewritten: buf_idx "
			    "%u -> %u, len %u -> %u, flags %#x -> %#x",
			    when, pos, from, to, was->buf_idx, s->buf_idx, was->len, s->len,
			    was->flags, s->flags);
			return;
		}
		buf = (const uint8_t *)NETMAP_BUF(v->rx, s->buf_idx);
		for (uint32_t j = 0; j < CANARY_LEN; j++)
			if (buf[j] != canary(pos, j)) {
				failed(v,
				       "%s: the buffer of slot %u, owned by the victim ([%u, "
				       "%u)), was written at byte %u",
				       when, pos, from, to, j);
				return;
			}
	}
}

/* The new slots [from, to): well formed, counted, then the victim's. */
static void take(struct victim *v, uint32_t from, uint32_t to)
{
	for (uint32_t pos = from; pos != to && !v->why[0]; pos = next(v, pos)) {
		const struct netmap_slot *s = &v->rx->slot[pos];

		if (s->buf_idx != v->idx[pos])
			failed(v, "received slot %u has buf_idx %u, the switch gave it %u", pos,
			       s->buf_idx, v->idx[pos]);
		else if (s->len > v->rx->nr_buf_size)
			failed(v, "received slot %u has len %u, over the %u-byte buffers", pos,
			       s->len, v->rx->nr_buf_size);
		v->slots++;
		v->packets += !(s->flags & NS_MOREFRAG);
	}
}

/* Canaries into the slots [from, to) the victim keeps, and their record. */
static void keep(struct victim *v, uint32_t from, uint32_t to)
{
	for (uint32_t pos = from; pos != to; pos = next(v, pos)) {
		struct netmap_slot *s = &v->rx->slot[pos];
		uint8_t *buf = (uint8_t *)NETMAP_BUF(v->rx, s->buf_idx);

		for (uint32_t j = 0; j < CANARY_LEN; j++)
			buf[j] = canary(pos, j);
		v->saved[pos] = *s;
		v->kept[pos] = true;
	}
}

bool victim_step(struct victim *v, int wait_ms)
{
	uint32_t h, t, owned, room, start;

	if (v->why[0])
		return false;
	/* What goes back must still be as the victim left it. */
	check_owned(v, v->head, v->ret, "before the sync");
	for (uint32_t pos = v->head; pos != v->ret; pos = next(v, pos))
		v->kept[pos] = false;
	v->head = v->ret;
	/* cur at the old tail: wake up only for new slots. */
	v->rx->head = v->head;
	v->rx->cur = v->tail;
	if (wait_ms > 0) {
		struct pollfd pfd = {.fd = vale_fd(v->port), .events = POLLIN};
		vale_poll(v->port, &pfd, 1, wait_ms);
	} else {
		vale_rxsync(v->port);
	}
	h = v->head;
	t = v->rx->tail;
	if (t >= v->n) {
		failed(v, "tail %u is out of the %u-slot ring", t, v->n);
		return false;
	}
	if (v->rx->head != h)
		failed(v, "head moved from %u to %u under the victim", h, v->rx->head);
	if (dist(v, h, t) < dist(v, h, v->tail))
		failed(v, "tail went from %u to %u, head %u: backwards, or past head", v->tail, t,
		       h);
	check_owned(v, h, v->tail, "after the sync");
	if (v->why[0])
		return false;
	take(v, v->tail, t);
	/* Return what is over the share the victim keeps this round. */
	owned = dist(v, h, t);
	room = v->n - 1 - (1 + (uint32_t)rand_r(&v->seed) % v->free_max);
	v->ret = h;
	for (; owned > room; owned--)
		v->ret = next(v, v->ret);
	start = dist(v, h, v->ret) > dist(v, h, v->tail) ? v->ret : v->tail;
	keep(v, start, t);
	v->tail = t;
	return !v->why[0];
}

const char *victim_failure(const struct victim *v)
{
	return v->why;
}

uint64_t victim_slots(const struct victim *v)
{
	return v->slots;
}

uint64_t victim_packets(const struct victim *v)
{
	return v->packets;
}

void victim_close(struct victim *v)
{
	if (!v)
		return;
	vale_close(v->port);
	free(v->idx);
	free(v->saved);
	free(v->kept);
	free(v);
}
