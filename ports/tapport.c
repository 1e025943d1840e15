/* SPDX-License-Identifier: BSD-2-Clause */
/* tapport: the kport backend over a (multi-queue) tap interface. */
#include "tapport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "flowhash.h"

_Static_assert(TAP_QUEUES_MAX <= KPORT_FDS_MAX, "every tap queue is polled");

struct tapbe {
	struct tap *t;
	uint32_t next_q;
};

static int tap_rx_into(void *arg, const struct iovec *iov, uint32_t n)
{
	struct tapbe *b = arg;
	uint32_t nq = tap_queues(b->t);

	/* Round robin over the queues: the first with a frame gives it. */
	for (uint32_t tries = 0; tries < nq; tries++) {
		uint32_t q = b->next_q;
		ssize_t len = tap_readv(b->t, q, iov, (int)n);

		b->next_q = q + 1 == nq ? 0 : q + 1;
		if (len > 0)
			return (int)len;
	}
	return 0;
}

static uint32_t tap_tx_burst(void *arg, const struct kframe *frames, uint32_t n)
{
	struct tapbe *b = arg;
	uint32_t nq = tap_queues(b->t), sent = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t q = 0;

		/* Keep a flow on one queue, as a multi-queue NIC would. */
		if (nq > 1 && frames[i].len > TAP_VNET_HDR_LEN)
			q = flowhash_frame(frames[i].data + TAP_VNET_HDR_LEN,
					   frames[i].len - TAP_VNET_HDR_LEN) % nq;
		if (tap_write(b->t, q, frames[i].data, frames[i].len) > 0)
			sent++;
	}
	return sent;
}

static uint32_t tap_tx_chain(void *arg, const struct iovec *iov, uint32_t n)
{
	struct tapbe *b = arg;
	uint32_t nq = tap_queues(b->t), q = 0;

	if (nq > 1 && iov[0].iov_len > TAP_VNET_HDR_LEN)
		q = flowhash_frame((const uint8_t *)iov[0].iov_base + TAP_VNET_HDR_LEN,
				   (uint32_t)iov[0].iov_len - TAP_VNET_HDR_LEN) % nq;
	return tap_writev(b->t, q, iov, (int)n) > 0;
}

static uint32_t tap_be_fds(const void *arg, int *ret_fds, uint32_t max)
{
	const struct tapbe *b = arg;
	uint32_t q;

	for (q = 0; q < tap_queues(b->t) && q < max; q++)
		ret_fds[q] = tap_fd(b->t, q);
	return q;
}

static void tap_be_close(void *arg)
{
	struct tapbe *b = arg;

	tap_destroy(b->t);
	free(b);
}

static const struct kport_ops tap_ops = {
	.kind = "tap",
	.rx_into = tap_rx_into,
	.tx_burst = tap_tx_burst,
	.tx_chain = tap_tx_chain,
	.fds = tap_be_fds,
	.close = tap_be_close,
};

struct kport *tapport_create(struct bdg *sw, const char *name, const struct tap_params *p,
			     char *err)
{
	struct tapbe *b = calloc(1, sizeof(*b));
	uint32_t mtu = p->mtu ? p->mtu : TAP_MTU_DEFAULT;
	int e;

	if (!b) {
		snprintf(err, ERR_LEN, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	b->t = tap_create(p, err);
	if (!b->t) {
		e = errno;
		goto err;
	}
	/* Buffers that hold a whole MTU-sized frame and its header in one slot. */
	uint32_t buf = (TAP_VNET_HDR_LEN + 18 + mtu + 63) & ~63u;
	return kport_create(sw, name, &tap_ops, b, (uint16_t)tap_hdr_len(b->t),
			    buf < 2048 ? 2048 : buf, err);

err:
	free(b);
	errno = e;
	return NULL;
}
