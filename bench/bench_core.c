/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench_core: the forwarding core on one thread, beside the memcpy limit.
 *
 * Two VALE ports a and b on one learning switch, in one process. The loop
 * plays both clients and the switch: a's TX ring is pre-filled with frames
 * to b's (learned) address, so each round the client only moves head; the
 * switch forwards the batch (bdg_forward: lookup, lease, copy, publish); b's
 * client releases what it got. What is measured is the core's own cost.
 *
 * Beside it, in the same run, the physical limit: a plain memcpy of the same
 * frames from a's TX buffers into b's RX buffers, slot by slot.
 *
 * Usage: bench_core [-t SECONDS_PER_TRIAL] [-r TRIALS] [-l 60|1514]. Prints one line per
 * measurement and, last, one JSON object with the medians.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bdg.h"
#include "csb.h"
#include "learn.h"
#include "vport.h"

#define SLOTS 1024

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct rig {
	struct bdg *b;
	struct vport *a, *z;
	struct bdg_scratch *s;
	struct netmap_ring *tx, *rx;
};

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void fill_frame(uint8_t *f, uint32_t len, uint8_t dst_last, uint8_t src_last)
{
	memset(f, 0, len);
	f[0] = 0x02, f[5] = dst_last;
	f[6] = 0x02, f[11] = src_last;
	f[12] = 0x08, f[13] = 0x00;
	for (uint32_t i = 14; i < len; i++)
		f[i] = (uint8_t)i;
}

static void rig_create(struct rig *r)
{
	struct vport_params pa = {.name = "a", .tx_slots = SLOTS, .rx_slots = SLOTS};
	struct vport_params pb = {.name = "b", .tx_slots = SLOTS, .rx_slots = SLOTS};
	void *priv = learn_create(FDB_MAX_ENTRIES_DEFAULT, FDB_AGE_DEFAULT);

	r->b = priv ? bdg_create("vale0", &learn_ops, priv) : NULL;
	r->a = vport_create(&pa);
	r->z = vport_create(&pb);
	r->s = bdg_scratch_create();
	if (!r->b || !r->a || !r->z || !r->s)
		die("bench setup");
	if (bdg_attach(r->b, vport_port(r->a)) < 0 || bdg_attach(r->b, vport_port(r->z)) < 0)
		die("attach");
	r->tx = NETMAP_TXRING(vport_if(r->a), 0);
	r->rx = NETMAP_RXRING(vport_if(r->z), 0);

	/* b says hello once, so that the switch learns where b is. */
	struct netmap_ring *btx = NETMAP_TXRING(vport_if(r->z), 0);
	fill_frame((uint8_t *)NETMAP_BUF(btx, btx->slot[0].buf_idx), 60, 0xff, 0xb);
	memset(NETMAP_BUF(btx, btx->slot[0].buf_idx), 0xff, 6);
	btx->slot[0].len = 60;
	btx->head = btx->cur = 1;
	csb_appl_publish(btx, VALE_CSB(btx));
	bdg_forward(vport_port(r->z), 0, r->s);
}

static void rig_destroy(struct rig *r)
{
	bdg_detach(vport_port(r->a));
	bdg_detach(vport_port(r->z));
	vport_destroy(r->a);
	vport_destroy(r->z);
	bdg_destroy(r->b);
	bdg_scratch_destroy(r->s);
}

/* Write len-byte frames from a (0x..0a) to b (0x..0b) into every TX slot. */
static void rig_prefill(struct rig *r, uint32_t len)
{
	for (uint32_t i = 0; i < SLOTS; i++) {
		struct netmap_slot *slot = &r->tx->slot[i];
		fill_frame((uint8_t *)NETMAP_BUF(r->tx, slot->buf_idx), len, 0xb, 0xa);
		slot->len = (uint16_t)len;
		slot->flags = 0;
	}
}

/* Forward for `seconds`; returns packets per second received by b. */
static double run_switch(struct rig *r, double seconds)
{
	struct vale_csb *tcsb = VALE_CSB(r->tx), *rcsb = VALE_CSB(r->rx);
	uint64_t received = 0;
	double t0 = now_s(), t;

	do {
		for (int k = 0; k < 64; k++) {
			/* Client a: hand every free slot to the switch. */
			csb_appl_update_tail(r->tx, tcsb);
			r->tx->head = r->tx->cur = r->tx->tail;
			csb_appl_publish(r->tx, tcsb);
			bdg_forward(vport_port(r->a), 0, r->s);
			/* Client b: consume everything. */
			csb_appl_update_tail(r->rx, rcsb);
			received += nm_ring_space(r->rx);
			r->rx->head = r->rx->cur = r->rx->tail;
			csb_appl_publish(r->rx, rcsb);
		}
		t = now_s() - t0;
	} while (t < seconds);
	return (double)received / t;
}

/* The limit: copy the same frames from a's TX buffers into b's RX buffers. */
static double run_memcpy(struct rig *r, uint32_t len, double seconds)
{
	uint64_t copied = 0;
	double t0 = now_s(), t;

	do {
		for (int k = 0; k < 64; k++) {
			for (uint32_t i = 0; i < SLOTS - 1; i++) {
				struct netmap_slot *s = &r->tx->slot[i], *d = &r->rx->slot[i];
				memcpy(NETMAP_BUF(r->rx, d->buf_idx), NETMAP_BUF(r->tx, s->buf_idx), len);
				d->len = s->len;
			}
			__asm__ volatile("" ::: "memory"); /* keep the copies */
			copied += SLOTS - 1;
		}
		t = now_s() - t0;
	} while (t < seconds);
	return (double)copied / t;
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = {60, 1514};
	double trial = 1.0;
	int trials = 5, opt;
	double mpps[2], cpy[2];
	struct rig r;

	uint32_t only = 0;

	while ((opt = getopt(argc, argv, "t:r:l:")) != -1) {
		if (opt == 't')
			trial = atof(optarg);
		else if (opt == 'r')
			trials = atoi(optarg);
		else if (opt == 'l')
			only = (uint32_t)atoi(optarg);
		else {
			fprintf(stderr, "usage: %s [-t SECONDS_PER_TRIAL] [-r TRIALS] [-l 60|1514]\n", argv[0]);
			return 2;
		}
	}
	if (trials < 1 || trials > 100 || trial <= 0) {
		fprintf(stderr, "bench_core: trials must be 1..100 and seconds > 0\n");
		return 2;
	}
	rig_create(&r);
	for (int i = 0; i < 2; i++) {
		double sw[100], mc[100];
		uint32_t len = sizes[i];

		mpps[i] = cpy[i] = 0;
		if (only && only != len)
			continue;
		rig_prefill(&r, len);
		run_switch(&r, 0.2); /* warm up */
		for (int t = 0; t < trials; t++) {
			sw[t] = run_switch(&r, trial) / 1e6;
			mc[t] = run_memcpy(&r, len, trial) / 1e6;
		}
		mpps[i] = median(sw, trials);
		cpy[i] = median(mc, trials);
		printf("core   %4u B: %7.2f Mpps %7.2f Gbit/s %6.1f ns/pkt (median of %d)\n", len,
		       mpps[i], mpps[i] * len * 8 / 1e3, 1e3 / mpps[i], trials);
		printf("memcpy %4u B: %7.2f Mpps %7.2f Gbit/s %6.1f ns/pkt (the limit; core at %.0f%%)\n",
		       len, cpy[i], cpy[i] * len * 8 / 1e3, 1e3 / cpy[i], 100 * mpps[i] / cpy[i]);
	}
	struct bdg_port_stats st;
	bdg_port_get_stats(vport_port(r.z), &st);
	if (st.rx_drops)
		printf("note: %llu drops at b\n", (unsigned long long)st.rx_drops);
	rig_destroy(&r);
	printf("{\"bench\":\"core\",\"mpps_60\":%.2f,\"mpps_1514\":%.2f,\"gbps_1514\":%.2f,"
	       "\"ns_per_pkt_60\":%.1f,\"memcpy_mpps_60\":%.2f,\"memcpy_mpps_1514\":%.2f,"
	       "\"ratio_60\":%.2f,\"ratio_1514\":%.2f}\n",
	       mpps[0], mpps[1], mpps[1] * 1514 * 8 / 1e3, 1e3 / mpps[0], cpy[0], cpy[1],
	       mpps[0] / cpy[0], mpps[1] / cpy[1]);
	return 0;
}
