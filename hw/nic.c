/* SPDX-License-Identifier: BSD-2-Clause */
/* nic: the native (AF_XDP) and generic (AF_PACKET) kport backends, and admode. */
#include "nic.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "afp.h"
#include "flowhash.h"
#include "xsk.h"

#define NIC_QUEUES_MAX 16

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

/* One pollable fd over several: an epoll set. */
static int epoll_over(const int *fds, uint32_t n)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);

	for (uint32_t i = 0; ep >= 0 && i < n; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev)) {
			close(ep);
			return -1;
		}
	}
	return ep;
}

/* ---- native: AF_XDP, one socket per queue -------------------------------- */

struct xskbe {
	struct xsk *x[NIC_QUEUES_MAX];
	uint32_t held[NIC_QUEUES_MAX]; /* frames of the last burst, per queue */
	uint32_t n;
	int epfd;
};

static uint32_t xsk_be_rx(void *arg, struct kport_frame *frames, uint32_t max)
{
	struct xskbe *b = arg;
	struct xsk_frame xf[256];
	uint32_t got = 0;

	for (uint32_t q = 0; q < b->n && got < max; q++) {
		uint32_t want = max - got < 256 ? max - got : 256;
		uint32_t k = xsk_rx_burst(b->x[q], xf, want);

		for (uint32_t i = 0; i < k; i++) {
			frames[got + i].data = xf[i].data;
			frames[got + i].len = xf[i].len;
		}
		b->held[q] = k;
		got += k;
	}
	return got;
}

static void xsk_be_release(void *arg, uint32_t n)
{
	struct xskbe *b = arg;

	(void)n;
	for (uint32_t q = 0; q < b->n; q++) {
		if (b->held[q])
			xsk_rx_release(b->x[q], b->held[q]);
		b->held[q] = 0;
	}
}

static uint32_t xsk_be_tx(void *arg, const struct kport_frame *frames, uint32_t n)
{
	struct xskbe *b = arg;
	struct xsk_frame xf[256];
	uint32_t sent = 0;

	while (sent < n) {
		uint32_t k = n - sent < 256 ? n - sent : 256, took;
		for (uint32_t i = 0; i < k; i++) {
			xf[i].data = frames[sent + i].data;
			xf[i].len = frames[sent + i].len;
		}
		took = xsk_tx_burst(b->x[0], xf, k);
		sent += took;
		if (took < k)
			break;
	}
	return sent;
}

static int xsk_be_fd(const void *arg)
{
	return ((const struct xskbe *)arg)->epfd;
}

static void xsk_be_close(void *arg)
{
	struct xskbe *b = arg;

	for (uint32_t q = 0; q < b->n; q++)
		xsk_close(b->x[q]);
	if (b->epfd >= 0)
		close(b->epfd);
	free(b);
}

static const struct kport_ops xsk_ops = {
	.kind = "native",
	.rx_burst = xsk_be_rx,
	.rx_release = xsk_be_release,
	.tx_burst = xsk_be_tx,
	.fd = xsk_be_fd,
	.close = xsk_be_close,
};

static struct xskbe *xsk_be_open(const char *ifname, char *err)
{
	struct xskbe *b = calloc(1, sizeof(*b));
	uint32_t nq = rx_queues(ifname);
	int fds[NIC_QUEUES_MAX];

	if (!b) {
		snprintf(err, 256, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	b->epfd = -1;
	for (b->n = 0; b->n < nq; b->n++) {
		struct xsk_params p = {.ifname = ifname, .queue_id = b->n};
		b->x[b->n] = xsk_open(&p, err);
		if (!b->x[b->n])
			goto err;
		fds[b->n] = xsk_fd(b->x[b->n]);
	}
	b->epfd = epoll_over(fds, b->n);
	if (b->epfd < 0) {
		snprintf(err, 256, "epoll: %s", strerror(errno));
		goto err;
	}
	return b;
err: {
	int e = errno;
	xsk_be_close(b);
	errno = e;
	return NULL;
}
}

/* ---- generic: AF_PACKET, one socket per queue in a fanout group ---------- */

struct afpbe {
	struct afp *a[NIC_QUEUES_MAX];
	uint32_t n;
	int epfd;
};

static uint32_t afp_be_rx(void *arg, struct kport_frame *frames, uint32_t max)
{
	struct afpbe *b = arg;
	struct afp_frame af[256];
	uint32_t got = 0;

	for (uint32_t q = 0; q < b->n && got < max; q++) {
		uint32_t want = max - got < 256 ? max - got : 256;
		uint32_t k = afp_rx_burst(b->a[q], af, want);

		for (uint32_t i = 0; i < k; i++) {
			frames[got + i].data = af[i].data;
			frames[got + i].len = af[i].len;
		}
		got += k;
	}
	return got;
}

static void afp_be_release(void *arg, uint32_t n)
{
	struct afpbe *b = arg;

	(void)n;
	for (uint32_t q = 0; q < b->n; q++)
		afp_rx_release(b->a[q]);
}

static uint32_t afp_be_tx(void *arg, const struct kport_frame *frames, uint32_t n)
{
	struct afpbe *b = arg;
	struct afp_frame af[256];
	uint32_t sent = 0;

	while (sent < n) {
		uint32_t k = n - sent < 256 ? n - sent : 256, took;
		for (uint32_t i = 0; i < k; i++) {
			af[i].data = frames[sent + i].data;
			af[i].len = frames[sent + i].len;
			af[i].flags = 0;
		}
		took = afp_tx_burst(b->a[0], af, k);
		sent += took;
		if (took < k)
			break;
	}
	return sent;
}

static int afp_be_fd(const void *arg)
{
	return ((const struct afpbe *)arg)->epfd;
}

static void afp_be_close(void *arg)
{
	struct afpbe *b = arg;

	for (uint32_t q = 0; q < b->n; q++)
		afp_close(b->a[q]);
	if (b->epfd >= 0)
		close(b->epfd);
	free(b);
}

static const struct kport_ops afp_ops = {
	.kind = "generic",
	.rx_burst = afp_be_rx,
	.rx_release = afp_be_release,
	.tx_burst = afp_be_tx,
	.fd = afp_be_fd,
	.close = afp_be_close,
};

static struct afpbe *afp_be_open(const char *ifname, char *err)
{
	struct afpbe *b = calloc(1, sizeof(*b));
	uint32_t nq = rx_queues(ifname);
	int fds[NIC_QUEUES_MAX];

	if (!b) {
		snprintf(err, 256, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	b->epfd = -1;
	for (b->n = 0; b->n < nq; b->n++) {
		/* The fanout id only has to be unique per interface: its ifindex-ish
		 * hash of the name is enough for one daemon. */
		struct afp_params p = {.ifname = ifname, .vnet_hdr = true, .vnet_hdr_len = 12,
				       .fanout_group = nq > 1 ? (uint16_t)(flowhash_frame(
								(const uint8_t *)ifname,
								(uint32_t)strlen(ifname)) | 1)
							      : 0};
		b->a[b->n] = afp_open(&p, err);
		if (!b->a[b->n])
			goto err;
		fds[b->n] = afp_fd(b->a[b->n]);
	}
	b->epfd = epoll_over(fds, b->n);
	if (b->epfd < 0) {
		snprintf(err, 256, "epoll: %s", strerror(errno));
		goto err;
	}
	return b;
err: {
	int e = errno;
	afp_be_close(b);
	errno = e;
	return NULL;
}
}

struct kport *nic_attach(struct bdg *sw, const char *ifname, enum nic_admode mode, char *reason,
			 char *err)
{
	char xerr[256] = "";

	if (mode != NIC_ADMODE_GENERIC) {
		struct xskbe *x = xsk_be_open(ifname, xerr);
		if (x) {
			snprintf(reason, 256, "native AF_XDP %s, %u queue%s", xsk_mode(x->x[0]), x->n,
				 x->n == 1 ? "" : "s");
			return kport_create(sw, ifname, &xsk_ops, x, 0, 2048, err);
		}
		if (mode == NIC_ADMODE_NATIVE) {
			snprintf(err, 256, "native adapter (AF_XDP) on %.15s: %.200s", ifname, xerr);
			return NULL;
		}
	}
	struct afpbe *a = afp_be_open(ifname, err);
	if (!a)
		return NULL;
	if (mode == NIC_ADMODE_BEST)
		snprintf(reason, 256, "generic AF_PACKET, %u queue%s (native failed: %.180s)", a->n,
			 a->n == 1 ? "" : "s", xerr);
	else
		snprintf(reason, 256, "generic AF_PACKET, %u queue%s (asked for)", a->n,
			 a->n == 1 ? "" : "s");
	/* A 64 KiB GSO frame fits in one chain; slots of 2048 carry MTU 1500. */
	return kport_create(sw, ifname, &afp_ops, a, 12, 2048, err);
}
