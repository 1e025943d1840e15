/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of switch/bdg: names and the port registry, and the forwarding
 * core driven through real VALE port regions, with the client's side of
 * each ring played by the test (as libvale would). The clock is the test's.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "bdg.h"
#include "csb.h"
#include "learn.h"
#include "ring_client.h"
#include "vport.h"

static uint32_t test_now;

static uint32_t test_clock(void)
{
	return __atomic_load_n(&test_now, __ATOMIC_RELAXED);
}

static const uint8_t MAC_BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static void mac_of(uint8_t mac[6], uint32_t host)
{
	mac[0] = 0x02; /* locally administered unicast */
	mac[1] = 0;
	mac[2] = (uint8_t)(host >> 24);
	mac[3] = (uint8_t)(host >> 16);
	mac[4] = (uint8_t)(host >> 8);
	mac[5] = (uint8_t)host;
}

/* An Ethernet + IPv4 + UDP frame of len bytes carrying (src, seq) at 42. */
static uint32_t frame_build(uint8_t *f, uint32_t len, const uint8_t dst[6], uint32_t src_host,
			    uint16_t sport, uint32_t seq)
{
	memset(f, 0, len);
	memcpy(f, dst, 6);
	mac_of(f + 6, src_host);
	f[12] = 0x08;
	f[13] = 0x00;
	f[14] = 0x45;
	f[23] = 17; /* UDP */
	f[26] = 10;
	f[29] = (uint8_t)src_host;
	f[30] = 10;
	f[33] = 1;
	f[34] = (uint8_t)(sport >> 8);
	f[35] = (uint8_t)sport;
	f[37] = 53;
	memcpy(f + 42, &src_host, 4);
	memcpy(f + 46, &seq, 4);
	return len;
}

/* TX ring i of v, for the tests that look at its slots and tail directly. */
static struct netmap_ring *txring(struct vport *v, uint32_t i)
{
	return NETMAP_TXRING(vport_if(v), i);
}

/* ---- fixture: a switch with learning ops and some ports --------------- */

#define MAXP 8

struct sw {
	struct bdg *b;
	struct vport *v[MAXP];
	uint32_t n;
	struct bdg_scratch *s;
};

static struct sw *sw_new(const char *name)
{
	struct sw *w = calloc(1, sizeof(*w));
	void *priv = learn_create(1024, 300);

	assert_non_null(w);
	assert_non_null(priv);
	w->b = bdg_create(name, &learn_ops, priv);
	assert_non_null(w->b);
	bdg_set_clock(w->b, test_clock);
	w->s = bdg_scratch_create();
	assert_non_null(w->s);
	return w;
}

static struct vport *sw_port(struct sw *w, const struct vport_params *params)
{
	struct vport *v = vport_create(params);

	assert_non_null(v);
	assert_true(bdg_attach(w->b, vport_port(v)) >= 0);
	w->v[w->n++] = v;
	return v;
}

static struct vport *sw_port_simple(struct sw *w, const char *name, uint32_t slots)
{
	struct vport_params p = {.name = name, .tx_slots = slots, .rx_slots = slots};
	return sw_port(w, &p);
}

static void sw_free(struct sw *w)
{
	for (uint32_t i = 0; i < w->n; i++) {
		bdg_detach(vport_port(w->v[i]));
		vport_destroy(w->v[i]);
	}
	assert_int_equal(bdg_destroy(w->b), 0);
	bdg_scratch_destroy(w->s);
	free(w);
}

static uint32_t fwd(struct sw *w, struct vport *src)
{
	return bdg_forward(vport_port(src), 0, w->s);
}

/* ---- names and registry ------------------------------------------------ */

static void test_parse_name(void **state)
{
	char sw[BDG_NAMSIZ], port[BDG_NAMSIZ];
	(void)state;

	assert_int_equal(bdg_parse_name("vale0:a", sw, port), 0);
	assert_string_equal(sw, "vale0");
	assert_string_equal(port, "a");
	assert_int_equal(bdg_parse_name("valeX_1:port-2.b", sw, port), 0);
	assert_string_equal(sw, "valeX_1");
	assert_string_equal(port, "port-2.b");
	assert_int_equal(bdg_parse_name("eth0", sw, port), -EINVAL);
	assert_int_equal(bdg_parse_name("vale:a", sw, port), -EINVAL);
	assert_int_equal(bdg_parse_name("vale0", sw, port), -EINVAL);
	assert_int_equal(bdg_parse_name("vale0:", sw, port), -EINVAL);
	assert_int_equal(bdg_parse_name("vale0:a b", sw, port), -EINVAL);
	assert_int_equal(bdg_parse_name("vale0:a/b", sw, port), -EINVAL);
	assert_int_equal(bdg_parse_name("vale0123456789ab:a", sw, port), -ENAMETOOLONG);
	assert_int_equal(bdg_parse_name("vale0:0123456789abcdef", sw, port), -ENAMETOOLONG);
	assert_int_equal(bdg_parse_name("vale0:0123456789abcde", sw, port), 0);
	char longname[200];
	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "vale0:", 6);
	longname[199] = '\0';
	assert_int_equal(bdg_parse_name(longname, sw, port), -ENAMETOOLONG);
}

static void test_registry(void **state)
{
	struct bdg *a, *b;
	(void)state;

	a = bdg_create("vale1", &learn_ops, learn_create(16, 300));
	b = bdg_create("vale2", &learn_ops, learn_create(16, 300));
	assert_non_null(a);
	assert_non_null(b);
	assert_null(bdg_create("vale1", &learn_ops, NULL));
	assert_int_equal(errno, EEXIST);
	assert_null(bdg_create("vale0123456789abc", &learn_ops, NULL));
	assert_int_equal(errno, ENAMETOOLONG);
	assert_ptr_equal(bdg_lookup("vale2"), b);
	assert_ptr_equal(bdg_first(), a);
	assert_ptr_equal(bdg_next(a), b);
	assert_null(bdg_lookup("vale3"));
	assert_int_equal(bdg_destroy(a), 0);
	assert_int_equal(bdg_destroy(b), 0);
	assert_null(bdg_first());
}

/* Many switches: no fixed limit. */
static void test_many_switches(void **state)
{
	struct bdg *b[300];
	char name[BDG_NAMSIZ];
	(void)state;

	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "vale%d", i);
		b[i] = bdg_create(name, &learn_ops, learn_create(16, 300));
		assert_non_null(b[i]);
	}
	assert_ptr_equal(bdg_lookup("vale299"), b[299]);
	for (int i = 0; i < 300; i++)
		assert_int_equal(bdg_destroy(b[i]), 0);
}

/* 254 ports attach; the 255th gets ENOSPC; names are unique per switch. */
static void test_port_limit(void **state)
{
	struct bdg *b = bdg_create("vale0", &learn_ops, learn_create(16, 300));
	static struct kring kr[2];
	struct bdg_port *p[BDG_MAXPORTS + 1];
	char name[BDG_NAMSIZ];
	(void)state;

	for (int i = 0; i <= BDG_MAXPORTS; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		p[i] = bdg_port_create(name, &kr[0], 1, &kr[1], 1);
		assert_non_null(p[i]);
	}
	for (int i = 0; i < BDG_MAXPORTS; i++)
		assert_int_equal(bdg_attach(b, p[i]), i);
	assert_int_equal(bdg_attach(b, p[BDG_MAXPORTS]), -ENOSPC);
	assert_int_equal(bdg_port_count(b), BDG_MAXPORTS);
	assert_int_equal(bdg_destroy(b), -EBUSY);
	/* A freed index is reused; a taken name is refused. */
	bdg_detach(p[7]);
	assert_null(bdg_find_port(b, "p7"));
	assert_int_equal(bdg_attach(b, p[BDG_MAXPORTS]), 7);
	struct bdg_port *dup = bdg_port_create("p8", &kr[0], 1, &kr[1], 1);
	bdg_detach(p[9]);
	assert_int_equal(bdg_attach(b, dup), -EEXIST);
	assert_int_equal(bdg_attach(b, p[BDG_MAXPORTS]), -EBUSY);
	bdg_port_destroy(dup);
	assert_null(bdg_port_create("0123456789abcdef", &kr[0], 1, &kr[1], 1));
	assert_int_equal(errno, ENAMETOOLONG);
	assert_null(bdg_port_create("x", &kr[0], 0, &kr[1], 1));
	for (int i = 0; i <= BDG_MAXPORTS; i++) {
		bdg_detach(p[i]);
		bdg_port_destroy(p[i]);
	}
	assert_int_equal(bdg_destroy(b), 0);
}

/* ---- forwarding --------------------------------------------------------- */

/* Unknown unicast floods; after learning, unicast reaches only its port. */
static void test_learning_unicast(void **state)
{
	struct sw *w = sw_new("vale0");
	struct vport *a = sw_port_simple(w, "a", 64);
	struct vport *b = sw_port_simple(w, "b", 64);
	struct vport *c = sw_port_simple(w, "c", 64);
	uint8_t f[128], got[2048], mac_b[6];
	(void)state;

	mac_of(mac_b, 2);
	frame_build(f, 60, mac_b, 1, 1000, 0);
	assert_true(client_send(a, f, 60));
	assert_int_equal(fwd(w, a), 1);
	/* b is unknown yet: flooded to b and c, not back to a. */
	assert_int_equal(client_rx_pending(b, 0), 1);
	assert_int_equal(client_rx_pending(c, 0), 1);
	assert_int_equal(client_rx_pending(a, 0), 0);
	assert_int_equal(client_recv(b, 0, got, NULL), 60);
	assert_memory_equal(got, f, 60);
	client_drain(c, 0);

	/* b answers: a is known now, so only a gets it; b is learned. */
	uint8_t mac_a[6];
	mac_of(mac_a, 1);
	frame_build(f, 60, mac_a, 2, 1000, 0);
	assert_true(client_send(b, f, 60));
	assert_int_equal(fwd(w, b), 1);
	assert_int_equal(client_rx_pending(a, 0), 1);
	assert_int_equal(client_rx_pending(c, 0), 0);
	client_drain(a, 0);

	frame_build(f, 60, mac_b, 1, 1000, 1);
	assert_true(client_send(a, f, 60));
	assert_int_equal(fwd(w, a), 1);
	assert_int_equal(client_rx_pending(b, 0), 1);
	assert_int_equal(client_rx_pending(c, 0), 0);
	assert_int_equal(client_port_stats(b).rx_packets, 2);
	assert_int_equal(client_port_stats(a).tx_packets, 2);

	/* b detaches: its entry goes, so traffic to mac_b floods again. */
	client_drain(b, 0);
	assert_int_equal(fdb_lookup(learn_fdb(bdg_ops_priv(w->b)), mac_b), bdg_port_index(vport_port(b)));
	bdg_detach(vport_port(b));
	assert_int_equal(fdb_lookup(learn_fdb(bdg_ops_priv(w->b)), mac_b), FDB_PORT_NONE);
	assert_true(client_send(a, f, 60));
	assert_int_equal(fwd(w, a), 1);
	assert_int_equal(client_rx_pending(c, 0), 1);
	assert_int_equal(bdg_attach(w->b, vport_port(b)), 1);
	sw_free(w);
}

/* A table flush in the same second as a burst is seen by the next packet:
 * the per-thread learning shortcut never hides a change of the table. */
static void test_relearn_after_flush(void **state)
{
	struct sw *w = sw_new("vale0");
	struct vport *a = sw_port_simple(w, "a", 64);
	struct vport *b = sw_port_simple(w, "b", 64);
	struct fdb *t = learn_fdb(bdg_ops_priv(w->b));
	uint8_t f[128], mac_a[6];
	(void)state;

	mac_of(mac_a, 1);
	frame_build(f, 60, MAC_BCAST, 1, 1, 0);
	for (int round = 0; round < 3; round++) {
		assert_true(client_send(a, f, 60));
		assert_true(client_send(a, f, 60));
		assert_int_equal(fwd(w, a), 2);
		assert_int_equal(fdb_lookup(t, mac_a), bdg_port_index(vport_port(a)));
		assert_true(fdb_flush(t) >= 1);
		assert_int_equal(fdb_lookup(t, mac_a), FDB_PORT_NONE);
	}
	/* The same MAC moving to b in the same second is followed too. */
	assert_true(client_send(a, f, 60));
	fwd(w, a);
	assert_true(client_send(b, f, 60));
	fwd(w, b);
	assert_int_equal(fdb_lookup(t, mac_a), bdg_port_index(vport_port(b)));
	assert_true(client_send(a, f, 60));
	fwd(w, a);
	assert_int_equal(fdb_lookup(t, mac_a), bdg_port_index(vport_port(a)));
	client_drain(a, 0);
	client_drain(b, 0);
	sw_free(w);
}

/* Broadcast reaches every port but its source; order is kept per port. */
static void test_broadcast(void **state)
{
	struct sw *w = sw_new("vale0");
	struct vport *v[4];
	uint8_t f[128], got[2048], mac_b[6];
	const char *names[] = {"a", "b", "c", "d"};
	(void)state;

	for (int i = 0; i < 4; i++)
		v[i] = sw_port_simple(w, names[i], 64);
	/* Learn b so that unicast and broadcast interleave towards b. */
	frame_build(f, 60, MAC_BCAST, 2, 1, 0);
	assert_true(client_send(v[1], f, 60));
	fwd(w, v[1]);
	for (int i = 0; i < 4; i++)
		client_drain(v[i], 0);

	mac_of(mac_b, 2);
	for (uint32_t seq = 0; seq < 10; seq++) {
		frame_build(f, 60, seq % 2 ? mac_b : MAC_BCAST, 1, 1, seq);
		assert_true(client_queue(v[0], 0, f, 60, 0));
	}
	client_publish(v[0], 0);
	assert_int_equal(fwd(w, v[0]), 10);
	assert_int_equal(client_rx_pending(v[0], 0), 0);
	assert_int_equal(client_rx_pending(v[1], 0), 10);
	assert_int_equal(client_rx_pending(v[2], 0), 5);
	assert_int_equal(client_rx_pending(v[3], 0), 5);
	for (uint32_t seq = 0; seq < 10; seq++) {
		uint32_t s;
		assert_int_equal(client_recv(v[1], 0, got, NULL), 60);
		memcpy(&s, got + 46, 4);
		assert_int_equal(s, seq);
	}
	sw_free(w);
}

/* NS_MOREFRAG chains are one packet; they are refragmented to fit the
 * destination's buffers; an unfinished chain waits for its end. */
static void test_fragments(void **state)
{
	struct sw *w = sw_new("vale0");
	struct vport *a = sw_port_simple(w, "a", 64);
	struct vport_params pb = {.name = "b", .rx_slots = 64, .buf_size = 256};
	struct vport *b = sw_port(w, &pb);
	uint8_t f[1000], got[2048];
	uint16_t flags;
	(void)state;

	frame_build(f, 600, MAC_BCAST, 1, 1, 77);
	for (uint32_t i = 0; i < 600; i++)
		if (i >= 50)
			f[i] = (uint8_t)i;
	/* Three fragments of 200 bytes. */
	assert_true(client_queue(a, 0, f, 200, NS_MOREFRAG));
	assert_true(client_queue(a, 0, f + 200, 200, NS_MOREFRAG));
	client_publish(a, 0);
	/* The chain is open: nothing moves. */
	assert_int_equal(fwd(w, a), 0);
	assert_int_equal(client_rx_pending(b, 0), 0);
	assert_true(client_queue(a, 0, f + 400, 200, 0));
	client_publish(a, 0);
	assert_int_equal(fwd(w, a), 3);
	/* b has 256-byte buffers: 600 bytes take 3 slots, 256 + 256 + 88. */
	assert_int_equal(client_rx_pending(b, 0), 3);
	uint8_t whole[600];
	uint32_t off = 0, n;
	for (int i = 0; i < 3; i++) {
		n = client_recv(b, 0, got, &flags);
		assert_int_equal(n, i < 2 ? 256 : 88);
		assert_int_equal(flags & NS_MOREFRAG, i < 2 ? NS_MOREFRAG : 0);
		memcpy(whole + off, got, n);
		off += n;
	}
	assert_memory_equal(whole, f, 600);
	assert_int_equal(client_port_stats(b).rx_packets, 1);
	assert_int_equal(client_port_stats(b).rx_bytes, 600);

	/* The other way: b's 3 small fragments become one slot at a. */
	assert_true(client_queue(b, 0, f, 256, NS_MOREFRAG));
	assert_true(client_queue(b, 0, f + 256, 256, NS_MOREFRAG));
	assert_true(client_queue(b, 0, f + 512, 88, 0));
	client_publish(b, 0);
	assert_int_equal(fwd(w, b), 3);
	assert_int_equal(client_recv(a, 0, got, &flags), 600);
	assert_int_equal(flags, 0);
	assert_memory_equal(got, f, 600);
	sw_free(w);
}

/* virtio-net headers: equal lengths copy the header as data; different
 * lengths drop the source's and give the destination a plain one. */
static void test_vnet_hdr(void **state)
{
	struct sw *w = sw_new("vale0");
	struct vport *a = sw_port_simple(w, "a", 64); /* no header */
	struct vport *b = sw_port_simple(w, "b", 64); /* 12 bytes */
	struct vport *c = sw_port_simple(w, "c", 64); /* 12 bytes */
	uint8_t f[256], h[256], got[2048];
	(void)state;

	assert_int_equal(bdg_port_set_vnet_hdr_len(vport_port(b), 12), 0);
	assert_int_equal(bdg_port_set_vnet_hdr_len(vport_port(c), 12), 0);
	assert_int_equal(bdg_port_set_vnet_hdr_len(vport_port(c), 11), -EINVAL);
	frame_build(f, 60, MAC_BCAST, 1, 1, 5);
	assert_true(client_send(a, f, 60));
	assert_int_equal(fwd(w, a), 1);
	/* a -> b: 12 header bytes (num_buffers = 1) then the frame. */
	assert_int_equal(client_recv(b, 0, got, NULL), 72);
	assert_int_equal(got[10], 1);
	for (int i = 0; i < 12; i++)
		if (i != 10)
			assert_int_equal(got[i], 0);
	assert_memory_equal(got + 12, f, 60);
	assert_int_equal(client_recv(c, 0, got, NULL), 72);

	/* b -> a and c: c gets the header as b wrote it (NEEDS_CSUM kept
	 * between equal lengths); a has no header, so the switch completes
	 * the UDP checksum (csum_start 34, csum_offset 6) and drops the header. */
	memset(h, 0, 12);
	h[0] = 0x01;
	h[6] = 34;
	h[8] = 6;
	h[10] = 1;
	frame_build(h + 12, 60, MAC_BCAST, 2, 1, 6);
	assert_true(client_send(b, h, 72));
	assert_int_equal(fwd(w, b), 1);
	assert_int_equal(client_recv(a, 0, got, NULL), 60);
	assert_memory_equal(got, h + 12, 40);
	assert_memory_equal(got + 42, h + 12 + 42, 18);
	uint32_t sum = 0;
	for (int i = 34; i < 60; i += 2)
		sum += (uint32_t)(got[i] << 8 | got[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(sum, 0xffff); /* the UDP part sums to all ones: done */
	assert_int_equal(client_recv(c, 0, got, NULL), 72);
	assert_memory_equal(got, h, 72);
	/* The learning bridge looked past the header: b's MAC is learned. */
	uint8_t mac_b[6];
	mac_of(mac_b, 2);
	assert_int_equal(fdb_lookup(learn_fdb(bdg_ops_priv(w->b)), mac_b),
			 bdg_port_index(vport_port(b)));
	/* A frame shorter than header + Ethernet header is a runt. */
	assert_true(client_send(b, h, 20));
	assert_int_equal(fwd(w, b), 1);
	assert_int_equal(client_port_stats(b).tx_errors, 1);
	assert_int_equal(client_rx_pending(a, 0), 0);
	sw_free(w);
}

/* A TCP GSO frame (12-byte header, gso_size 1000) of 3000 bytes payload
 * from a port of buf_size bsz, as a chain, to a port without header: it
 * gets three segments of 54 + 1000 bytes with the payload in order. With
 * 64-byte buffers the headers lie beyond the first fragment. */
static void check_gso_to_plain(uint32_t bsz)
{
	struct sw *w = sw_new("vale0");
	struct vport *a = sw_port_simple(w, "a", 64); /* no header */
	struct vport_params pb = {.name = "b", .tx_slots = 64, .rx_slots = 64, .buf_size = bsz};
	struct vport *b = sw_port(w, &pb);
	static uint8_t f[12 + 54 + 3000];
	uint8_t got[2048];
	const uint32_t len = sizeof(f);

	assert_int_equal(bdg_port_set_vnet_hdr_len(vport_port(b), 12), 0);
	memset(f, 0, sizeof(f));
	f[1] = 1;			      /* GSO_TCPV4 */
	f[2] = 54;			      /* hdr_len */
	f[4] = 1000 & 0xff, f[5] = 1000 >> 8; /* gso_size */
	frame_build(f + 12, 54, MAC_BCAST, 2, 1, 0);
	f[12 + 23] = 6;		  /* TCP */
	f[12 + 34 + 12] = 5 << 4; /* data offset: 20 bytes */
	for (uint32_t i = 12 + 54; i < len; i++)
		f[i] = (uint8_t)(i * 7);
	for (uint32_t off = 0; off < len; off += bsz) {
		uint32_t n = len - off < bsz ? len - off : bsz;
		assert_true(client_queue(b, 0, f + off, n, off + n < len ? NS_MOREFRAG : 0));
	}
	client_publish(b, 0);
	assert_true(fwd(w, b) > 0);
	for (uint32_t seg = 0; seg < 3; seg++) {
		assert_int_equal(client_recv(a, 0, got, NULL), 54 + 1000);
		assert_memory_equal(got + 54, f + 12 + 54 + seg * 1000, 1000);
	}
	assert_int_equal(client_rx_pending(a, 0), 0);
	sw_free(w);
}

static void test_gso_to_plain(void **state)
{
	(void)state;
	check_gso_to_plain(2048);
	check_gso_to_plain(64);
}

/*
 * Finding 5a of issue 10: a slot's len is 16 bits. A destination with
 * 65536-byte buffers gets a packet of 65536 bytes as 65535 + 1 bytes, in
 * two slots, not one slot published with len 0 (65536 cut to 16 bits).
 */
static void test_64k_buffers(void **state)
{
	struct sw *w = sw_new("vale0");
	struct vport *a = sw_port_simple(w, "a", 64);
	struct vport_params pb = {.name = "b", .tx_slots = 8, .rx_slots = 8, .buf_size = 65536};
	struct vport *b = sw_port(w, &pb);
	static uint8_t f[65536], got[65536];
	uint16_t flags;
	(void)state;

	frame_build(f, 60, MAC_BCAST, 1, 1, 0);
	for (uint32_t i = 60; i < sizeof(f); i++)
		f[i] = (uint8_t)(i * 13);
	for (uint32_t off = 0; off < sizeof(f); off += 2048)
		assert_true(
		    client_queue(a, 0, f + off, 2048, off + 2048 < sizeof(f) ? NS_MOREFRAG : 0));
	client_publish(a, 0);
	assert_int_equal(fwd(w, a), 32);
	assert_int_equal(client_rx_pending(b, 0), 2);
	assert_int_equal(client_recv(b, 0, got, &flags), 65535);
	assert_int_equal(flags, NS_MOREFRAG);
	assert_memory_equal(got, f, 65535);
	assert_int_equal(client_recv(b, 0, got, &flags), 1);
	assert_int_equal(flags, 0);
	assert_int_equal(got[0], f[65535]);
	assert_int_equal(client_port_stats(b).rx_bytes, 65536);
	sw_free(w);
}

/* ---- a sender rewriting its headers while the switch forwards them ------ */

enum rewrite { REWRITE_GSO_SIZE, REWRITE_TCP_DOFF, REWRITE_IP_IHL };

static enum rewrite rewrite_what;

/*
 * A lookup that plays a hostile sender: it runs after offload_probe planned
 * the packet and before it is delivered, and rewrites, in the sender's
 * shared buffer, a header field that sizes the segments. Then it floods.
 */
static uint8_t rewrite_lookup(void *priv, const struct bdg_pkt *pkt, uint32_t now_s)
{
	uint8_t *frame = (uint8_t *)(uintptr_t)pkt->data;
	(void)priv;
	(void)now_s;

	switch (rewrite_what) {
	case REWRITE_GSO_SIZE: /* vnet header gso_size 1994 -> 4000 */
		frame[-12 + 4] = 4000 & 0xff;
		frame[-12 + 5] = 4000 >> 8;
		break;
	case REWRITE_TCP_DOFF: /* TCP header 20 -> 60 bytes */
		frame[34 + 12] = 15 << 4;
		break;
	case REWRITE_IP_IHL: /* IPv4 header 20 -> 60 bytes */
		frame[14] = 0x4f;
		break;
	}
	return BDG_BROADCAST;
}

#define RW_SLOTS 64
#define RW_CANARY 0xa5
#define RW_GSO 1994 /* 54 bytes of headers + 1994: one 2048-byte slot per segment */

/*
 * Finding 2 of issue 10: the header fields that size a GSO frame's segments
 * are read once, by the probe, into private memory; segmenting uses that
 * copy. A sender that rewrites gso_size, the TCP data offset or the IPv4
 * header length after the probe changes nothing at the destination without
 * header: exactly the leased slots are written (3 segments, one slot each,
 * cut with the headers as probed), hwtail moves by exactly them, and no
 * other slot or buffer of the victim's ring is touched.
 */
static void check_rewrite(enum rewrite what)
{
	static const struct bdg_ops ops = {.lookup = rewrite_lookup};
	struct sw *w = calloc(1, sizeof(*w));
	struct vport_params pa = {.name = "a", .tx_slots = RW_SLOTS, .rx_slots = RW_SLOTS};
	struct vport_params pb = {.name = "b", .tx_slots = RW_SLOTS, .rx_slots = RW_SLOTS};
	static uint8_t f[12 + 54 + 3 * RW_GSO];
	struct netmap_ring *rx;
	struct vport *a, *b;
	const uint32_t len = sizeof(f);

	assert_non_null(w);
	w->b = bdg_create("vale0", &ops, NULL);
	w->s = bdg_scratch_create();
	assert_non_null(w->b);
	assert_non_null(w->s);
	a = sw_port(w, &pa); /* the victim: no header, so it gets segments */
	b = sw_port(w, &pb);
	assert_int_equal(bdg_port_set_vnet_hdr_len(vport_port(b), 12), 0);
	rewrite_what = what;

	rx = NETMAP_RXRING(vport_if(a), 0);
	for (uint32_t i = 0; i < RW_SLOTS; i++) {
		rx->slot[i].len = 0x7777;
		rx->slot[i].flags = 0x7777;
		memset(NETMAP_BUF(rx, rx->slot[i].buf_idx), RW_CANARY, rx->nr_buf_size);
	}

	memset(f, 0, sizeof(f));
	f[1] = 1;				  /* GSO_TCPV4 */
	f[2] = 54;				  /* hdr_len */
	f[4] = RW_GSO & 0xff, f[5] = RW_GSO >> 8; /* gso_size */
	frame_build(f + 12, 54, MAC_BCAST, 2, 1, 0);
	f[12 + 23] = 6;		  /* TCP */
	f[12 + 34 + 12] = 5 << 4; /* data offset: 20 bytes */
	for (uint32_t i = 12 + 54; i < len; i++)
		f[i] = (uint8_t)(i * 7);
	f[12 + 74 + 12] = 5 << 4; /* where a 60-byte IP header would put it */
	for (uint32_t off = 0; off < len; off += 2048) {
		uint32_t n = len - off < 2048 ? len - off : 2048;
		assert_true(client_queue(b, 0, f + off, n, off + n < len ? NS_MOREFRAG : 0));
	}
	client_publish(b, 0);
	assert_int_equal(fwd(w, b), 3);

	/* Exactly the lease: 3 slots published, nothing else written. */
	assert_int_equal(bdg_port_rx_kring(vport_port(a), 0)->hwtail, 3);
	assert_int_equal(VALE_CSB(rx)->ktoa.hwtail, 3);
	for (uint32_t i = 3; i < RW_SLOTS; i++) {
		const uint8_t *buf = (const uint8_t *)NETMAP_BUF(rx, rx->slot[i].buf_idx);
		assert_int_equal(rx->slot[i].len, 0x7777);
		assert_int_equal(rx->slot[i].flags, 0x7777);
		for (uint32_t j = 0; j < rx->nr_buf_size; j++)
			assert_int_equal(buf[j], RW_CANARY);
	}
	/* The segments are the probed packet's: its headers, its payload. */
	for (uint32_t seg = 0; seg < 3; seg++) {
		const uint8_t *got = (const uint8_t *)NETMAP_BUF(rx, rx->slot[seg].buf_idx);
		assert_int_equal(rx->slot[seg].len, 54 + RW_GSO);
		assert_int_equal(rx->slot[seg].flags, 0);
		assert_int_equal(got[14], 0x45);
		assert_int_equal(got[34 + 12], 5 << 4);
		assert_memory_equal(got + 54, f + 12 + 54 + seg * RW_GSO, RW_GSO);
	}
	assert_int_equal(client_port_stats(a).rx_packets, 1);
	assert_int_equal(client_port_stats(a).rx_drops, 0);
	sw_free(w);
}

static void test_gso_header_rewritten(void **state)
{
	(void)state;
	check_rewrite(REWRITE_GSO_SIZE);
	check_rewrite(REWRITE_TCP_DOFF);
	check_rewrite(REWRITE_IP_IHL);
}

/* Bad slots from a client are dropped and counted, its ring is reinitialised,
 * and the other ports go on. Runts are dropped too. */
static void test_bad_slots(void **state)
{
	struct sw *w = sw_new("vale0");
	struct vport *a = sw_port_simple(w, "a", 64);
	struct vport *b = sw_port_simple(w, "b", 64);
	struct netmap_ring *r = txring(a, 0);
	uint8_t f[128];
	(void)state;

	frame_build(f, 60, MAC_BCAST, 1, 1, 0);
	assert_true(client_queue(a, 0, f, 60, 0));
	assert_true(client_queue(a, 0, f, 60, 0));
	assert_true(client_queue(a, 0, f, 10, 0)); /* runt */
	assert_true(client_queue(a, 0, f, 60, 0));
	r->slot[1].buf_idx = 0xfffffff0u; /* garbage index */
	client_publish(a, 0);
	assert_int_equal(fwd(w, a), 4);
	assert_int_equal(client_rx_pending(b, 0), 2);
	assert_int_equal(client_port_stats(a).tx_errors, 2);
	assert_int_equal(client_port_stats(a).reinits, 1);
	assert_int_equal(r->slot[1].buf_idx, 0); /* sanitised */
	/* Garbage positions: reinit, nothing forwarded, b unaffected. */
	r->head = 5000;
	client_publish(a, 0);
	assert_int_equal(fwd(w, a), 0);
	assert_int_equal(client_port_stats(a).reinits, 2);
	assert_int_equal(r->head, 4);
	/* And the port works again after it. */
	assert_true(client_send(a, f, 60));
	assert_int_equal(fwd(w, a), 1);
	assert_int_equal(client_rx_pending(b, 0), 3);
	assert_int_equal(client_port_stats(b).reinits, 0);
	sw_free(w);
}

/* A full destination drops, counted, after one retry; the source goes on. */
static void test_full_destination_drops(void **state)
{
	struct sw *w = sw_new("vale0");
	struct vport *a = sw_port_simple(w, "a", 64);
	struct vport *b = sw_port_simple(w, "b", 8);
	uint8_t f[128];
	(void)state;

	for (uint32_t i = 0; i < 20; i++) {
		frame_build(f, 60, MAC_BCAST, 1, 1, i);
		assert_true(client_queue(a, 0, f, 60, 0));
	}
	client_publish(a, 0);
	assert_int_equal(fwd(w, a), 20);
	assert_int_equal(client_rx_pending(b, 0), 7); /* one slot stays empty */
	assert_int_equal(client_port_stats(b).rx_drops, 13);
	assert_int_equal(client_port_stats(b).rx_packets, 7);
	/* The retry re-reads the client's head: after draining, all fit. */
	assert_int_equal(client_drain(b, 0), 7);
	for (uint32_t i = 0; i < 5; i++)
		assert_true(client_queue(a, 0, f, 60, 0));
	client_publish(a, 0);
	assert_int_equal(fwd(w, a), 5);
	assert_int_equal(client_rx_pending(b, 0), 5);
	assert_int_equal(client_port_stats(b).rx_drops, 13);
	sw_free(w);
}

/* Lossless: a full destination stalls the source instead of dropping. */
static void test_lossless_backpressure(void **state)
{
	struct sw *w = sw_new("vale0");
	struct vport *a = sw_port_simple(w, "a", 64);
	struct vport *b = sw_port_simple(w, "b", 8);
	struct vport *c = sw_port_simple(w, "c", 64);
	uint8_t f[128], got[2048];
	uint32_t next = 0;
	(void)state;

	bdg_port_set_lossless(vport_port(a), true);
	for (uint32_t i = 0; i < 20; i++) {
		frame_build(f, 60, MAC_BCAST, 1, 1, i);
		assert_true(client_queue(a, 0, f, 60, 0));
	}
	client_publish(a, 0);
	/* Broadcast to b (7 free slots) and c (63): only 7 may go. */
	assert_int_equal(fwd(w, a), 7);
	assert_int_equal(client_rx_pending(b, 0), 7);
	assert_int_equal(client_rx_pending(c, 0), 7);
	assert_int_equal(client_port_stats(b).rx_drops, 0);
	/* The source's slots stay unconsumed: its tail has not moved past them. */
	csb_appl_update_tail(txring(a, 0), VALE_CSB(txring(a, 0)));
	assert_int_equal(nm_ring_space(txring(a, 0)), 63 - 13);
	/* Nothing moves while b is full. */
	assert_int_equal(fwd(w, a), 0);
	while (next < 20) {
		uint32_t s;
		while (client_recv(b, 0, got, NULL)) {
			memcpy(&s, got + 46, 4);
			assert_int_equal(s, next);
			next++;
		}
		fwd(w, a);
	}
	assert_int_equal(client_drain(c, 0), 20);
	assert_int_equal(client_port_stats(b).rx_drops, 0);
	assert_int_equal(client_port_stats(c).rx_drops, 0);
	assert_int_equal(client_port_stats(a).tx_packets, 20);
	sw_free(w);
}

/* Several RX rings: flows spread by hash, each flow on one ring, in order. */
static void test_flow_hash_rings(void **state)
{
	struct sw *w = sw_new("vale0");
	struct vport *a = sw_port_simple(w, "a", 1024);
	struct vport_params pb = {.name = "b", .rx_rings = 4, .rx_slots = 1024};
	struct vport *b = sw_port(w, &pb);
	uint8_t f[128], got[2048];
	int ring_of_flow[32];
	uint32_t next_seq[32] = {0};
	uint32_t used[4] = {0};
	(void)state;

	for (int i = 0; i < 32; i++)
		ring_of_flow[i] = -1;
	for (uint32_t seq = 0; seq < 20; seq++) {
		for (uint16_t flow = 0; flow < 32; flow++) {
			frame_build(f, 60, MAC_BCAST, 1, (uint16_t)(1000 + flow), seq);
			assert_true(client_queue(a, 0, f, 60, 0));
		}
		client_publish(a, 0);
		assert_int_equal(fwd(w, a), 32);
	}
	for (int r = 0; r < 4; r++) {
		uint32_t n;
		while ((n = client_recv(b, (uint32_t)r, got, NULL))) {
			uint16_t flow = (uint16_t)(((got[34] << 8) | got[35]) - 1000);
			uint32_t seq;
			memcpy(&seq, got + 46, 4);
			assert_true(flow < 32);
			if (ring_of_flow[flow] < 0)
				ring_of_flow[flow] = r;
			assert_int_equal(ring_of_flow[flow], r); /* one flow, one ring */
			assert_int_equal(seq, next_seq[flow]);   /* in order */
			next_seq[flow]++;
			used[r]++;
		}
	}
	for (int i = 0; i < 32; i++)
		assert_int_equal(next_seq[i], 20);
	/* 32 flows over 4 rings: every ring gets some. */
	for (int r = 0; r < 4; r++)
		assert_true(used[r] > 0);
	sw_free(w);
}

/* ---- two threads filling one RX ring while a consumer drains it -------- */

#define MT_PACKETS 200000

static int senders_done;

struct mt_sender {
	struct sw *w;
	struct vport *v;
	uint32_t host;
	uint8_t dst[6];
};

static void *mt_send(void *arg)
{
	struct mt_sender *m = arg;
	struct bdg_scratch *s = bdg_scratch_create();
	uint8_t f[128];
	uint32_t seq = 0;

	while (seq < MT_PACKETS) {
		uint32_t queued = 0;
		while (seq < MT_PACKETS && queued < 64) {
			frame_build(f, 60, m->dst, m->host, 1, seq);
			if (!client_queue(m->v, 0, f, 60, 0))
				break;
			seq++;
			queued++;
		}
		client_publish(m->v, 0);
		bdg_forward(vport_port(m->v), 0, s);
	}
	/* Push out what is still queued. */
	for (;;) {
		struct netmap_ring *r = txring(m->v, 0);
		csb_appl_update_tail(r, VALE_CSB(r));
		if (nm_ring_space(r) == r->num_slots - 1)
			break;
		bdg_forward(vport_port(m->v), 0, s);
	}
	bdg_scratch_destroy(s);
	__atomic_fetch_add(&senders_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

struct mt_receiver {
	struct vport *v;
	uint32_t next[3];
	uint32_t errors;
	uint32_t total;
};

static void *mt_recv(void *arg)
{
	struct mt_receiver *m = arg;
	uint8_t got[2048];

	while (m->total < 2 * MT_PACKETS) {
		uint32_t host, seq;
		if (!client_recv(m->v, 0, got, NULL))
			continue;
		memcpy(&host, got + 42, 4);
		memcpy(&seq, got + 46, 4);
		if (host < 1 || host > 2 || seq != m->next[host])
			m->errors++;
		else
			m->next[host]++;
		m->total++;
	}
	return NULL;
}

static void test_two_threads_one_ring(void **state)
{
	struct sw *w = sw_new("vale0");
	struct vport *a = sw_port_simple(w, "a", 256);
	struct vport *b = sw_port_simple(w, "b", 256);
	struct vport *c = sw_port_simple(w, "c", 128);
	struct mt_sender sa = {.w = w, .v = a, .host = 1}, sb = {.w = w, .v = b, .host = 2};
	struct mt_receiver rc = {.v = c};
	uint8_t f[128];
	pthread_t ta, tb, tc;
	(void)state;

	/* c must be known, and a/b lossless, so that nothing is dropped. */
	frame_build(f, 60, MAC_BCAST, 3, 1, 0);
	assert_true(client_send(c, f, 60));
	fwd(w, c);
	client_drain(a, 0);
	client_drain(b, 0);
	mac_of(sa.dst, 3);
	mac_of(sb.dst, 3);
	bdg_port_set_lossless(vport_port(a), true);
	bdg_port_set_lossless(vport_port(b), true);

	assert_int_equal(pthread_create(&tc, NULL, mt_recv, &rc), 0);
	assert_int_equal(pthread_create(&ta, NULL, mt_send, &sa), 0);
	assert_int_equal(pthread_create(&tb, NULL, mt_send, &sb), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_join(tc, NULL);
	assert_int_equal(rc.errors, 0);
	assert_int_equal(rc.next[1], MT_PACKETS);
	assert_int_equal(rc.next[2], MT_PACKETS);
	assert_int_equal(client_port_stats(c).rx_packets, 2 * MT_PACKETS);
	assert_int_equal(client_port_stats(c).rx_drops, 0);
	assert_int_equal(client_rx_pending(c, 0), 0);
	sw_free(w);
}

/* Without lossless the same race may drop, but never duplicates or reorders,
 * and every packet is either delivered or counted as dropped. */
static void test_two_threads_lossy_accounting(void **state)
{
	struct sw *w = sw_new("vale0");
	struct vport *a = sw_port_simple(w, "a", 256);
	struct vport *b = sw_port_simple(w, "b", 256);
	struct vport *c = sw_port_simple(w, "c", 64);
	struct mt_sender sa = {.w = w, .v = a, .host = 1}, sb = {.w = w, .v = b, .host = 2};
	uint8_t f[128], got[2048];
	uint32_t last[3] = {0}, total = 0;
	bool first[3] = {true, true, true};
	pthread_t ta, tb;
	(void)state;

	frame_build(f, 60, MAC_BCAST, 3, 1, 0);
	assert_true(client_send(c, f, 60));
	fwd(w, c);
	mac_of(sa.dst, 3);
	mac_of(sb.dst, 3);
	__atomic_store_n(&senders_done, 0, __ATOMIC_RELAXED);
	assert_int_equal(pthread_create(&ta, NULL, mt_send, &sa), 0);
	assert_int_equal(pthread_create(&tb, NULL, mt_send, &sb), 0);
	while (__atomic_load_n(&senders_done, __ATOMIC_ACQUIRE) < 2 || client_rx_pending(c, 0)) {
		uint32_t host, seq;
		if (!client_recv(c, 0, got, NULL))
			continue;
		memcpy(&host, got + 42, 4);
		memcpy(&seq, got + 46, 4);
		assert_true(host == 1 || host == 2);
		assert_true(first[host] || seq > last[host]); /* no dup, no reorder */
		first[host] = false;
		last[host] = seq;
		total++;
	}
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	total += client_drain(c, 0);
	assert_int_equal(total + client_port_stats(c).rx_drops, 2 * MT_PACKETS);
	assert_int_equal(client_port_stats(c).rx_packets, total);
	sw_free(w);
}

/* ---- lifetime: a port comes and goes while another floods ------------- */

/*
 * A port made the way an adapter makes one: krings over a ring memory of
 * its own (one TX and one RX ring of CH_SLOTS slots, then CH_BUFS buffers),
 * all freshly allocated, so that memory freed with the port is memory ASan
 * watches. The test plays no client: nobody drains its RX ring.
 */
#define CH_SLOTS 64
#define CH_BUFS (2 + CH_SLOTS)
#define CH_BUF_SIZE 2048

struct chport {
	struct kring *k; /* [0] TX, [1] RX */
	char *mem;
	struct bdg_port *p;
};

static void chport_new(struct chport *c, const char *name)
{
	const size_t rsz = vale_ring_size(CH_SLOTS);
	char *buf0;

	c->mem = aligned_alloc(64, 2 * rsz + (size_t)CH_BUFS * CH_BUF_SIZE);
	c->k = calloc(2, sizeof(*c->k));
	assert_non_null(c->mem);
	assert_non_null(c->k);
	buf0 = c->mem + 2 * rsz;
	for (uint16_t d = 0; d < 2; d++) {
		struct netmap_ring *r = (struct netmap_ring *)(c->mem + d * rsz);
		assert_int_equal(kring_init(&c->k[d], r, d ? NR_RX : NR_TX, 0, CH_SLOTS, buf0,
					    CH_BUF_SIZE, CH_BUFS),
				 0);
		for (uint32_t i = 0; i < CH_SLOTS; i++)
			r->slot[i].buf_idx = 2 + i;
	}
	c->p = bdg_port_create(name, &c->k[0], 1, &c->k[1], 1);
	assert_non_null(c->p);
}

static void chport_free(struct chport *c)
{
	bdg_port_destroy(c->p);
	kring_fini(&c->k[0]);
	kring_fini(&c->k[1]);
	free(c->k);
	free(c->mem);
}

struct flood {
	struct vport *s, *r;
	struct bdg_scratch *sc; /* the flooder's, kept for the check after it */
	int stop;
	int pause;  /* the churning thread wants a batch held in its lookup */
	int caught; /* the flooder's batch is held there */
	uint64_t batches;
};

static struct flood *flood_of_lookup;

/* The learning bridge's lookup, which holds its batch (switch lock taken)
 * while the churning thread asks for it. */
static uint8_t flood_lookup(void *priv, const struct bdg_pkt *pkt, uint32_t now_s)
{
	struct flood *fl = flood_of_lookup;

	if (__atomic_load_n(&fl->pause, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&fl->caught, 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&fl->pause, __ATOMIC_ACQUIRE))
			sched_yield();
	}
	return learn_ops.lookup(priv, pkt, now_s);
}

/* Broadcast from s as fast as the switch takes it; r's client drains. */
static void *flood_main(void *arg)
{
	struct flood *fl = arg;
	uint8_t f[128];
	uint32_t seq = 0;

	while (!__atomic_load_n(&fl->stop, __ATOMIC_ACQUIRE)) {
		for (int i = 0; i < 16; i++) {
			frame_build(f, 60, MAC_BCAST, 1, 1, seq++);
			if (!client_queue(fl->s, 0, f, 60, 0))
				break;
		}
		client_publish(fl->s, 0);
		bdg_forward(vport_port(fl->s), 0, fl->sc);
		client_drain(fl->r, 0);
		__atomic_store_n(&fl->batches, fl->batches + 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void sleep_us(long us)
{
	struct timespec ts = {.tv_nsec = us * 1000};

	if (us)
		nanosleep(&ts, NULL);
}

/* Pin t to CPU 0 (on) or let it run anywhere (off). */
static void pin_cpu0(pthread_t t, bool on)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (int i = 0; i < (on ? 1 : CPU_SETSIZE); i++)
		CPU_SET(i, &set);
	assert_int_equal(pthread_setaffinity_np(t, sizeof(set), &set), 0);
}

/*
 * Finding 1 of issue 10: a port detached and freed while another floods
 * broadcast. bdg_detach waits for every batch in flight (it takes the switch
 * lock exclusive) and no batch keeps anything naming the port after it lets
 * the lock go, so (under ASan) nothing reads the freed port or its rings,
 * and (in any build) no stale per-batch entry survives: a port x attached
 * afterwards at the index the churned ports had gets exactly what is sent
 * to it, and the stable port r no more than that.
 *
 * Half the cycles detach v at a random moment (0-300 us after attaching it,
 * as the client loop). The other half detach it while a batch that
 * names v is in flight, the window of the bug: the flooder's lookup holds
 * its batch until the churning thread waits for the switch lock, and the
 * churning thread runs on the flooder's CPU at a real-time priority (when
 * allowed, as root), so the flooder's unlock hands it the CPU there and then:
 * v is detached and freed before the flooder takes another step.
 */
#define CHURN_CYCLES 3000

static void test_port_churn_under_flood(void **state)
{
	struct sched_param rt = {.sched_priority = 1}, normal = {.sched_priority = 0};
	struct bdg_ops ops = learn_ops;
	struct sw *w = sw_new("vale0");
	struct flood fl = {.sc = bdg_scratch_create()};
	struct chport v, x;
	uint8_t f[128];
	pthread_t t;
	(void)state;

	/* sw_new's switch, with the lookup that can hold a batch. */
	ops.lookup = flood_lookup;
	bdg_destroy(w->b);
	w->b = bdg_create("vale0", &ops, learn_create(1024, 300));
	assert_non_null(w->b);
	flood_of_lookup = &fl;
	fl.s = sw_port_simple(w, "s", 256);
	fl.r = sw_port_simple(w, "r", 256);
	assert_non_null(fl.sc);

	pin_cpu0(pthread_self(), true);
	assert_int_equal(pthread_create(&t, NULL, flood_main, &fl), 0);
	(void)pthread_setschedparam(pthread_self(), SCHED_FIFO, &rt); /* EPERM: by chance */
	srand(10);
	for (int i = 0; i < CHURN_CYCLES; i++) {
		chport_new(&v, "v");
		assert_int_equal(bdg_attach(w->b, v.p), 2);
		if (i % 2) {
			sleep_us(rand() % 300);
		} else {
			__atomic_store_n(&fl.pause, 1, __ATOMIC_RELEASE);
			while (!__atomic_load_n(&fl.caught, __ATOMIC_ACQUIRE))
				sleep_us(10);
			__atomic_store_n(&fl.caught, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&fl.pause, 0, __ATOMIC_RELEASE);
		}
		bdg_detach(v.p);
		chport_free(&v);
		sleep_us(rand() % 100); /* batches after it went, before reuse */
	}
	assert_int_equal(pthread_setschedparam(pthread_self(), SCHED_OTHER, &normal), 0);
	__atomic_store_n(&fl.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	pin_cpu0(pthread_self(), false);

	/* x takes the churned ports' index: it gets what s sends now, once,
	 * through the flooder's scratch space. */
	client_drain(fl.r, 0);
	chport_new(&x, "x");
	assert_int_equal(bdg_attach(w->b, x.p), 2);
	for (uint32_t i = 0; i < 10; i++) {
		frame_build(f, 60, MAC_BCAST, 1, 1, i);
		assert_true(client_queue(fl.s, 0, f, 60, 0));
	}
	client_publish(fl.s, 0);
	assert_int_equal(bdg_forward(vport_port(fl.s), 0, fl.sc), 10);
	assert_int_equal(x.k[1].hwtail, 10);
	assert_int_equal(x.k[1].stats.packets, 10);
	assert_int_equal(client_rx_pending(fl.r, 0), 10);
	assert_int_equal(client_port_stats(fl.r).rx_drops, 0);
	bdg_detach(x.p);
	chport_free(&x);
	bdg_scratch_destroy(fl.sc);
	sw_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_name),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_many_switches),
		cmocka_unit_test(test_port_limit),
		cmocka_unit_test(test_learning_unicast),
		cmocka_unit_test(test_relearn_after_flush),
		cmocka_unit_test(test_broadcast),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_vnet_hdr),
		cmocka_unit_test(test_gso_to_plain),
		cmocka_unit_test(test_gso_header_rewritten),
		cmocka_unit_test(test_64k_buffers),
		cmocka_unit_test(test_bad_slots),
		cmocka_unit_test(test_full_destination_drops),
		cmocka_unit_test(test_lossless_backpressure),
		cmocka_unit_test(test_flow_hash_rings),
		cmocka_unit_test(test_two_threads_one_ring),
		cmocka_unit_test(test_two_threads_lossy_accounting),
		cmocka_unit_test(test_port_churn_under_flood),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
