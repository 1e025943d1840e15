/* SPDX-License-Identifier: BSD-2-Clause */
/* nic: the native (AF_XDP) and generic (AF_PACKET) kport backends, and admode. */
#include "nic.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afp.h"
#include "flowhash.h"
#include "xsk.h"

#define NIC_QUEUES_MAX KPORT_FDS_MAX

int nic_admode_parse(const char *s, enum nic_admode *ret)
{
	if (strcmp(s, "best") == 0)
		*ret = NIC_ADMODE_BEST;
	else if (strcmp(s, "native") == 0)
		*ret = NIC_ADMODE_NATIVE;
	else if (strcmp(s, "generic") == 0)
		*ret = NIC_ADMODE_GENERIC;
	else
		return -EINVAL;
	return 0;
}

const char *nic_admode_name(enum nic_admode m)
{
	return m == NIC_ADMODE_NATIVE ? "native" : m == NIC_ADMODE_GENERIC ? "generic" : "best";
}

/* RX queues of ifname, from sysfs (1 when unknown). */
static uint32_t rx_queues(const char *ifname)
{
	char path[128];
	struct dirent *de;
	uint32_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
	d = opendir(path);
	if (!d)
		return 1;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, "rx-", 3) == 0)
			n++;
	closedir(d);
	return n ? (n > NIC_QUEUES_MAX ? NIC_QUEUES_MAX : n) : 1;
}

/*
 * A NIC backend: one socket per RX queue, all behind one kport. The queue
 * type (AF_XDP or AF_PACKET) is a small table of ops over one socket; the
 * loops over queues and the teardown are shared. Both socket types take the
 * kport's frame arrays as they are (struct kframe): nothing is copied.
 */
struct queue_ops {
	uint32_t (*rx)(void *q, struct kframe *frames, uint32_t max);
	void (*release)(void *q, uint32_t n);
	uint32_t (*tx)(void *q, const struct kframe *frames, uint32_t n);
	int (*fd)(const void *q);
	void (*close)(void *q);
};

struct nicbe {
	const struct queue_ops *qo;
	void *q[NIC_QUEUES_MAX];
	uint32_t held[NIC_QUEUES_MAX]; /* frames of the last burst, per queue */
	uint32_t n;
};

static uint32_t nic_rx(void *arg, struct kframe *frames, uint32_t max)
{
	struct nicbe *b = arg;
	uint32_t got = 0;

	for (uint32_t q = 0; q < b->n && got < max; q++) {
		b->held[q] = b->qo->rx(b->q[q], frames + got, max - got);
		got += b->held[q];
	}
	return got;
}

static void nic_release(void *arg, uint32_t n)
{
	struct nicbe *b = arg;

	(void)n;
	for (uint32_t q = 0; q < b->n; q++) {
		if (b->held[q])
			b->qo->release(b->q[q], b->held[q]);
		b->held[q] = 0;
	}
}

/* Transmit on queue 0: the kernel spreads a NIC's TX queues itself. */
static uint32_t nic_tx(void *arg, const struct kframe *frames, uint32_t n)
{
	struct nicbe *b = arg;
	return b->qo->tx(b->q[0], frames, n);
}

static uint32_t nic_fds(const void *arg, int *ret_fds, uint32_t max)
{
	const struct nicbe *b = arg;
	uint32_t q;

	for (q = 0; q < b->n && q < max; q++)
		ret_fds[q] = b->qo->fd(b->q[q]);
	return q;
}

static void nic_close(void *arg)
{
	struct nicbe *b = arg;

	for (uint32_t q = 0; q < b->n; q++)
		b->qo->close(b->q[q]);
	free(b);
}

static const struct kport_ops nic_ops_native = {
	.kind = "native", .rx_burst = nic_rx, .rx_release = nic_release, .tx_burst = nic_tx,
	.fds = nic_fds, .tx_direct = true, .close = nic_close,
};

static const struct kport_ops nic_ops_generic = {
	.kind = "generic", .rx_burst = nic_rx, .rx_release = nic_release, .tx_burst = nic_tx,
	.fds = nic_fds, .tx_direct = true, .close = nic_close,
};

/* Open one socket per RX queue of ifname with open_queue. NULL + errno + err. */
static struct nicbe *nic_open(const char *ifname, const struct queue_ops *qo,
			      void *(*open_queue)(const char *ifname, uint32_t q, uint32_t nq,
						  char *err),
			      char *err)
{
	struct nicbe *b = calloc(1, sizeof(*b));
	uint32_t nq = rx_queues(ifname);
	int e;

	if (!b) {
		snprintf(err, ERR_LEN, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	b->qo = qo;
	for (b->n = 0; b->n < nq; b->n++) {
		b->q[b->n] = open_queue(ifname, b->n, nq, err);
		if (!b->q[b->n])
			goto err;
	}
	return b;
err:
	e = errno;
	nic_close(b);
	errno = e;
	return NULL;
}

/* ---- native: AF_XDP ------------------------------------------------------ */

static uint32_t xq_rx(void *q, struct kframe *frames, uint32_t max)
{
	return xsk_rx_burst(q, frames, max);
}

static void xq_release(void *q, uint32_t n)
{
	xsk_rx_release(q, n);
}

static uint32_t xq_tx(void *q, const struct kframe *frames, uint32_t n)
{
	return xsk_tx_burst(q, frames, n);
}

static int xq_fd(const void *q)
{
	return xsk_fd(q);
}

static void xq_close(void *q)
{
	xsk_close(q);
}

static const struct queue_ops xsk_queue = {xq_rx, xq_release, xq_tx, xq_fd, xq_close};

static void *xq_open(const char *ifname, uint32_t q, uint32_t nq, char *err)
{
	struct xsk_params p = {.ifname = ifname, .queue_id = q};
	(void)nq;
	return xsk_open(&p, err);
}

/* ---- generic: AF_PACKET, one socket per queue in a fanout group ---------- */

static uint32_t aq_rx(void *q, struct kframe *frames, uint32_t max)
{
	return afp_rx_burst(q, frames, max);
}

static void aq_release(void *q, uint32_t n)
{
	(void)n;
	afp_rx_release(q);
}

static uint32_t aq_tx(void *q, const struct kframe *frames, uint32_t n)
{
	return afp_tx_burst(q, frames, n);
}

static int aq_fd(const void *q)
{
	return afp_fd(q);
}

static void aq_close(void *q)
{
	afp_close(q);
}

static const struct queue_ops afp_queue = {aq_rx, aq_release, aq_tx, aq_fd, aq_close};

static void *aq_open(const char *ifname, uint32_t q, uint32_t nq, char *err)
{
	/* The fanout id only has to be unique per interface within this
	 * daemon: a hash of the name (odd, so never 0) does. */
	struct afp_params p = {.ifname = ifname, .vnet_hdr = true, .vnet_hdr_len = 12};

	(void)q;
	if (nq > 1)
		p.fanout_group = (uint16_t)(flowhash_frame((const uint8_t *)ifname,
							   (uint32_t)strlen(ifname)) |
					    1);
	return afp_open(&p, err);
}

struct kport *nic_attach(struct bdg *sw, const char *ifname, enum nic_admode mode, char *reason,
			 char *err)
{
	char xerr[ERR_LEN] = "";
	struct nicbe *b;

	if (mode != NIC_ADMODE_GENERIC) {
		b = nic_open(ifname, &xsk_queue, xq_open, xerr);
		if (b) {
			snprintf(reason, ERR_LEN, "native AF_XDP %s, %u queue%s", xsk_mode(b->q[0]),
				 b->n, b->n == 1 ? "" : "s");
			return kport_create(sw, ifname, &nic_ops_native, b, 0, 2048, err);
		}
		if (mode == NIC_ADMODE_NATIVE) {
			snprintf(err, ERR_LEN, "native adapter (AF_XDP) on %.15s: %.200s", ifname,
				 xerr);
			return NULL;
		}
	}
	b = nic_open(ifname, &afp_queue, aq_open, err);
	if (!b)
		return NULL;
	if (mode == NIC_ADMODE_BEST)
		snprintf(reason, ERR_LEN, "generic AF_PACKET, %u queue%s (native failed: %.180s)",
			 b->n, b->n == 1 ? "" : "s", xerr);
	else
		snprintf(reason, ERR_LEN, "generic AF_PACKET, %u queue%s (asked for)", b->n,
			 b->n == 1 ? "" : "s");
	/* Frames over a 2048-byte buffer (jumbo, GSO) travel as NS_MOREFRAG chains. */
	return kport_create(sw, ifname, &nic_ops_generic, b, 12, 2048, err);
}
