/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Test objective: no client, hostile or merely unlucky, can crash valed,
 * write into another port's ring outside what the switch gave it, or make
 * valed hand one port's buffers to another (issue 10). One test per finding
 * of the audit, each run by ctest as its own test with its own valed
 * (TEST_FILTER), plus scribblers that write garbage into everything they
 * can while legitimate traffic flows.
 *
 *   port_gone:  pktgen --bcast--> [vale0:s]  [ vale0 ]  [vale0:v] open/close loop
 *   killed:     pktgen --bcast--> [vale0:flood] [ vale0 ] [vale0:cN] SIGKILLed senders
 *   vnet_reread: sender (2 threads: one sends GSO frames, one flips gso_size,
 *               TCP data offset, IPv4 IHL) [vale1:g1 hdr 12, vale1:g2 hdr 12]
 *               --> [ vale1 ] --> [vale1:v hdr 0] victim checking its ring
 *   len_64k:    [vale2:s 64 KiB bufs] --> [ vale2 ] --> [vale2:r 64 KiB bufs]
 *   shared:     vale3:b, vale3:a, then vale3:c, all in valed's shared region
 *   scribblers: [vale4:sN] garbage --> [ vale4 ] --> [vale4:v] victim
 *               [vale4:a] --legit--> [vale4:b]
 *
 * A sanitizer report makes valed exit non-zero: valed_alive() fails the
 * test at once, valed_group_teardown() at the end.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <vale/vale.h>

#include "client.h"
#include "frame.h"
#include "harness.h"
#include "hostile.h"
#include "victim.h"

static unsigned int seed_of(const char *test)
{
	const char *env = getenv("HOSTILE_SEED");
	unsigned int seed = env ? (unsigned int)strtoul(env, NULL, 0) : (unsigned int)getpid();

	fprintf(stderr, "%s: seed %u (HOSTILE_SEED sets it)\n", test, seed);
	return seed;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* ---- finding 1: a port goes away under broadcast traffic ---------------- */

#define PORT_GONE_CYCLES 5000

static void test_port_gone(void **state)
{
	static const char *const flood[] = {"-i", "vale0:s", "-f", "tx", NULL};
	const struct vale_open_params small = {.tx_slots = 64, .rx_slots = 64};
	unsigned int seed = seed_of("port_gone");
	pid_t pktgen;
	uint64_t sent;
	(void)state;

	pktgen = pktgen_start(&valed_group, flood);
	assert_true(eventually_listed(&valed_group, "vale0:s", true, 10000));
	/* The flood reaches v whenever it exists; it goes away under it. */
	for (int i = 0; i < PORT_GONE_CYCLES; i++) {
		struct vale_port *v = open_port("vale0:v", &small);
		usleep(rnd(&seed, 301));
		vale_close(v);
		if (i % 100 == 0 && !valed_alive(&valed_group))
			fail_msg("valed died after %d open/close cycles", i);
	}
	assert_true(valed_alive(&valed_group));
	sent = pktgen_stop(pktgen);
	assert_true(sent > 0);
	probe_forwarding("vale0");
}

/* Senders on vale0:cN killed with SIGKILL at random moments under a flood:
 * on the old code a release valed died of SIGFPE within 250 of them in
 * half the runs (ASan saw the use after free in dr_reset at once). */
#define KILLED_CYCLES 1000
#define KILLED_PARALLEL 4
#define KILLED_LIFE_US 20000

static void test_killed_senders(void **state)
{
	static const char *const flood[] = {"-i", "vale0:flood", "-f", "tx", NULL};
	unsigned int seed = seed_of("killed_senders");
	pid_t pktgen;
	(void)state;

	pktgen = pktgen_start(&valed_group, flood);
	assert_true(eventually_listed(&valed_group, "vale0:flood", true, 10000));
	churn(&valed_group, "vale0", "c", 0, KILLED_CYCLES, KILLED_PARALLEL, KILLED_LIFE_US, &seed);
	assert_true(valed_alive(&valed_group));
	assert_true(pktgen_stop(pktgen) > 0);
	probe_forwarding("vale0");
}

/* ---- finding 2: the virtio-net header read twice ------------------------ */

#define ETH_HLEN 14
#define GSO_VNET 12
#define GSO_HDRS (ETH_HLEN + 20 + 20) /* Ethernet, IPv4, TCP without options */
#define GSO_IP_IHL (GSO_VNET + ETH_HLEN)
#define GSO_TCP_DOFF (GSO_VNET + ETH_HLEN + 20 + 12)
#define VNET_NEEDS_CSUM 1
#define VNET_GSO_TCPV4 1

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t sum16(const uint8_t *p, uint32_t len, uint32_t sum)
{
	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	return sum;
}

/*
 * A TCPv4 GSO frame in f, behind a 12-byte virtio-net header: NEEDS_CSUM
 * with the pseudo-header sum in the TCP checksum, valid IPv4 header and
 * checksum, `payload` bytes of 0x5a. Returns its length, header included.
 */
static uint32_t gso_frame(uint8_t *f, uint32_t payload, uint16_t gso_size, uint16_t ip_id)
{
	uint8_t *eth = f + GSO_VNET, *ip = eth + ETH_HLEN, *tcp = ip + 20;
	uint32_t sum;

	memset(f, 0, GSO_VNET + GSO_HDRS);
	f[0] = VNET_NEEDS_CSUM;
	f[1] = VNET_GSO_TCPV4;
	put_le16(f + 2, GSO_HDRS);
	put_le16(f + 4, gso_size);
	put_le16(f + 6, ETH_HLEN + 20); /* csum_start: the TCP header */
	put_le16(f + 8, 16);		/* csum_offset: the TCP checksum */
	put_le16(f + 10, 1);		/* num_buffers */
	memcpy(eth, BCAST, 6);
	memcpy(eth + 6, (const uint8_t[]){0x02, 0, 0, 0, 0x47, 0x50}, 6);
	put_be16(eth + 12, 0x0800);
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)(20 + 20 + payload));
	put_be16(ip + 4, ip_id);
	put_be16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = 6; /* TCP */
	memcpy(ip + 12, (const uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
	put_be16(ip + 10, (uint16_t)~csum_fold(sum16(ip, 20, 0)));
	put_be16(tcp, 40000);
	put_be16(tcp + 2, 80);
	tcp[12] = 0x50; /* data offset 5 */
	tcp[13] = 0x18; /* ACK, PSH */
	put_be16(tcp + 14, 65535);
	sum = sum16(ip + 12, 8, 0) + 6 + 20 + payload; /* the pseudo header */
	put_be16(tcp + 16, csum_fold(sum));
	memset(tcp + 20, 0x5a, payload);
	return GSO_VNET + GSO_HDRS + payload;
}

/* The flipper thread of the GSO sender: rewrites gso_size, the TCP data
 * offset and the IPv4 header length of every frame head in the TX rings, as
 * fast as it can (with IHL 15 the TCP header is read from the payload, whose
 * 0x5a bytes make a data offset of 5). */
struct flipper {
	struct netmap_ring *ring[2];
};

static void *flipper_main(void *arg)
{
	static const uint16_t gso[] = {536, 9000, 1448, 16000};
	const struct flipper *fl = arg;

	for (uint32_t x = 0;; x++) {
		for (int r = 0; r < 2; r++) {
			struct netmap_ring *ring = fl->ring[r];
			for (uint32_t i = 0; i < ring->num_slots; i++) {
				volatile uint8_t *b =
				    (volatile uint8_t *)NETMAP_BUF(ring, ring->slot[i].buf_idx);
				uint16_t g = gso[(x + i) % 4];
				/* A frame head: payload bytes (0x5a) never look so. */
				if (b[0] != VNET_NEEDS_CSUM || b[1] != VNET_GSO_TCPV4 ||
				    b[GSO_VNET + 12] != 0x08)
					continue;
				b[4] = (uint8_t)g;
				b[5] = (uint8_t)(g >> 8);
				b[GSO_TCP_DOFF] = (x + i) & 1 ? 0xf0 : 0x50;
				b[GSO_IP_IHL] = (x + i) & 2 ? 0x4f : 0x45;
			}
		}
	}
	return NULL;
}

/* The GSO sender: frames of 20 to 60 KB, chained on g1 (2 KiB buffers)
 * and whole on g2 (60 KiB buffers), until killed. */
static void __attribute__((noreturn)) gso_sender(unsigned int seed)
{
	static uint8_t f[65536];
	struct vale_port *g[2];
	struct flipper fl;
	pthread_t t;

	child_init();
	g[0] = vale_open("vale1:g1", NULL);
	g[1] = vale_open("vale1:g2", NULL);
	if (!g[0] || !g[1])
		_exit(10);
	fl.ring[0] = NETMAP_TXRING(vale_nifp(g[0]), 0);
	fl.ring[1] = NETMAP_TXRING(vale_nifp(g[1]), 0);
	if (pthread_create(&t, NULL, flipper_main, &fl))
		_exit(11);
	for (uint32_t seq = 0;; seq++) {
		uint32_t len = gso_frame(f, 20000 + rnd(&seed, 40001), 1448, (uint16_t)seq);
		send_chain(g[seq & 1], f, len, 100);
	}
}

#define VNET_STEPS 20000

static void test_vnet_reread(void **state)
{
	const struct vale_open_params vp = {.rx_slots = 256, .tx_slots = 64};
	unsigned int seed = seed_of("vnet_reread");
	struct victim *v;
	bool ok = true;
	pid_t pid;
	(void)state;

	port_create(&valed_group, "vale1:g1", "\"tx_slots\":1024,\"buf_size\":2048");
	port_create(&valed_group, "vale1:g2", "\"tx_slots\":64,\"buf_size\":61440");
	port_hdr_set(&valed_group, "vale1:g1", 12);
	port_hdr_set(&valed_group, "vale1:g2", 12);
	v = victim_open("vale1:v", &vp, 96, seed);
	assert_non_null(v);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		gso_sender(seed);
	for (int i = 0; i < VNET_STEPS && ok; i++) {
		ok = victim_step(v, 1);
		if (i % 500 == 0 && !valed_alive(&valed_group))
			break;
	}
	reap(pid);
	if (ok)
		ok = victim_step(v, 0); /* the last writes, now that nothing is sent */
	fprintf(stderr, "vnet_reread: the victim got %llu slots, %llu packets\n",
		(unsigned long long)victim_slots(v), (unsigned long long)victim_packets(v));
	assert_true(valed_alive(&valed_group));
	if (!ok)
		fail_msg("the switch wrote outside its lease: %s", victim_failure(v));
	assert_true(victim_packets(v) > 0); /* segments did get through */
	assert_true(port_counter(&valed_group, "vale1:g1", "tx_packets") > 0);
	assert_true(port_counter(&valed_group, "vale1:g2", "tx_packets") > 0);
	victim_close(v);
	port_delete(&valed_group, "vale1:g1");
	port_delete(&valed_group, "vale1:g2");
}

/* ---- finding 5: 64 KiB buffers, full slots ------------------------------ */

/* The next packet on RX ring 0 of v within timeout_ms, its fragments copied
 * to out (room bytes): its length, 0 if none. *ret_frags gets how many slots
 * it took, *ret_empty how many of them had len 0. */
static uint32_t recv_chain(struct vale_port *v, uint8_t *out, uint32_t room, int timeout_ms,
			   uint32_t *ret_frags, uint32_t *ret_empty)
{
	struct netmap_ring *r = NETMAP_RXRING(vale_nifp(v), 0);
	uint64_t deadline = ms_now() + (uint64_t)timeout_ms;
	uint32_t total = 0, frags = 0, empty = 0;
	bool more = true;

	while (more) {
		if (nm_ring_empty(r)) {
			struct pollfd pfd = {.fd = vale_fd(v), .events = POLLIN};
			if (ms_now() > deadline)
				return 0;
			vale_poll(v, &pfd, 1, 20);
			continue;
		}
		struct netmap_slot *s = &r->slot[r->cur];
		uint32_t n = s->len;
		if (total + n <= room)
			memcpy(out + total, NETMAP_BUF(r, s->buf_idx), n);
		total += n;
		frags++;
		empty += n == 0;
		more = (s->flags & NS_MOREFRAG) != 0;
		r->head = r->cur = nm_ring_next(r, r->cur);
	}
	vale_rxsync(v);
	*ret_frags = frags;
	*ret_empty = empty;
	return total;
}

/* Open name with 64 KiB buffers, or with valed's largest when it refuses
 * them (EINVAL: a cap at 65535 is one fix of the finding). */
static struct vale_port *open_big(const char *name, uint32_t *ret_buf_size)
{
	struct vale_open_params p = {.tx_slots = 64, .rx_slots = 64, .buf_size = 65536};
	struct vale_port *v = vale_open(name, &p);

	if (!v && errno == EINVAL) {
		fprintf(stderr, "len_64k: %s: 65536-byte buffers refused (%s)\n", name,
			vale_last_error());
		p.buf_size = 65535;
		v = vale_open(name, &p);
	}
	if (!v)
		fprintf(stderr, "vale_open %s: %s\n", name, vale_last_error());
	assert_non_null(v);
	*ret_buf_size = NETMAP_RXRING(vale_nifp(v), 0)->nr_buf_size;
	assert_int_equal(*ret_buf_size, p.buf_size);
	return v;
}

static void test_len_64k(void **state)
{
	static uint8_t f[3 * 65536], got[3 * 65536];
	struct vale_port *s, *r, *small;
	uint32_t bsz, frags, empty;
	(void)state;

	r = open_big("vale2:r", &bsz);
	s = open_big("vale2:s", &bsz);
	small = open_port("vale2:small", NULL); /* 2 KiB buffers: a 32-slot chain */
	/* Full-size frames and their neighbours, from both senders. */
	const uint32_t lens[] = {bsz - 1, bsz, bsz + 1, 65536, 2 * bsz};
	for (int from = 0; from < 2; from++) {
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			uint32_t len = lens[i], n;

			if (from == 1 && len > 64 * 2048)
				continue; /* over the 64 fragments a packet may have */
			frame_make(f, 60, BCAST, (uint8_t)(0x10 + from), (uint32_t)i);
			for (uint32_t j = 60; j < len; j++)
				f[j] = (uint8_t)(j * 7 + i);
			assert_true(send_chain(from ? small : s, f, len, 2000));
			n = recv_chain(r, got, sizeof(got), 2000, &frags, &empty);
			if (n != len || empty)
				fprintf(stderr,
					"len_64k: a %u-byte frame from %u-byte buffers arrived in "
					"%u-byte buffers as %u bytes in %u slots, %u of them with "
					"len 0\n",
					len, from ? 2048 : bsz, bsz, n, frags, empty);
			assert_int_equal(n, len);
			assert_int_equal(empty, 0);
			assert_memory_equal(got, f, len);
			/* The other receiver's copy, not checked here. */
			while (recv_chain(from ? s : small, got, sizeof(got), 50, &frags, &empty))
				;
		}
	}
	vale_close(small);
	vale_close(s);
	vale_close(r);
}

/* ---- finding 5: frees in the shared region ------------------------------ */

static uint8_t pattern_b(uint32_t idx, uint32_t j)
{
	return (uint8_t)(0xb0 ^ (idx * 5 + j));
}

/* Whether idx is in set[0..n). */
static bool among(const uint32_t *set, uint32_t n, uint32_t idx)
{
	for (uint32_t i = 0; i < n; i++)
		if (set[i] == idx)
			return true;
	return false;
}

/* Every buffer index of v's rings, in idx (room for them all); their count. */
static uint32_t ring_bufs(struct vale_port *v, uint32_t *idx)
{
	struct netmap_if *nifp = vale_nifp(v);
	uint32_t n = 0;

	for (uint32_t i = 0; i < nifp->ni_tx_rings + nifp->ni_rx_rings; i++) {
		struct netmap_ring *r = i < nifp->ni_tx_rings
					    ? NETMAP_TXRING(nifp, i)
					    : NETMAP_RXRING(nifp, i - nifp->ni_tx_rings);
		for (uint32_t j = 0; j < r->num_slots; j++)
			idx[n++] = r->slot[j].buf_idx;
	}
	return n;
}

static void test_shared_region_frees(void **state)
{
	struct vale_open_params p = {.tx_slots = 64, .rx_slots = 64};
	struct vale_port *a, *b, *c;
	static uint32_t b_idx[128], a_own[2048], c_idx[8192 + 64];
	uint32_t nb, na, nc, next = 2, bsz, buf_num, stolen = 0, spoiled = 0;
	struct netmap_ring *br;
	char list[256];
	json_t *pools;
	(void)state;

	p.mem_id = shared_mem_id(&valed_group);
	/* B: its buffers hold B's data. */
	b = open_port("vale3:b", &p);
	nb = ring_bufs(b, b_idx);
	br = NETMAP_TXRING(vale_nifp(b), 0);
	bsz = br->nr_buf_size;
	for (uint32_t i = 0; i < nb; i++)
		for (uint32_t j = 0; j < bsz; j++)
			((uint8_t *)NETMAP_BUF(br, b_idx[i]))[j] = pattern_b(b_idx[i], j);
	/* A: every index of the region in turn (but its own) into its slots
	 * and its extra-buffer list, then it goes. It cannot see B's slots;
	 * sweeping the range finds B's buffers anyway. */
	p.tx_slots = p.rx_slots = 1024;
	a = open_port("vale3:a", &p);
	na = ring_bufs(a, a_own);
	pools = rpc_ok(&valed_group, "pools.info", "{\"name\":\"vale3:a\"}");
	buf_num = (uint32_t)json_integer_value(
	    json_object_get(json_object_get(pools, "buf_pool"), "num"));
	json_decref(pools);
	assert_true(buf_num > na + nb);
	{
		struct netmap_if *nifp = vale_nifp(a);
		for (uint32_t i = 0; i < nifp->ni_tx_rings + nifp->ni_rx_rings; i++) {
			struct netmap_ring *r = i < nifp->ni_tx_rings
						    ? NETMAP_TXRING(nifp, i)
						    : NETMAP_RXRING(nifp, i - nifp->ni_tx_rings);
			for (uint32_t j = 0; j < r->num_slots; j++) {
				while (next < buf_num && among(a_own, na, next))
					next++;
				r->slot[j].buf_idx = next < buf_num ? next++ : 2;
			}
		}
		nifp->ni_bufs_head = 2;
	}
	for (uint32_t i = 0; i < nb; i++)
		assert_true(b_idx[i] < next); /* the sweep covered B's buffers */
	vale_close(a);
	assert_true(eventually_listed(&valed_group, "vale3:a", false, 5000));
	/* C, after A: none of B's buffers, and B's data intact after C wrote
	 * into all of its own buffers. */
	p.tx_slots = p.rx_slots = 4096;
	p.extra_bufs = 64;
	c = open_port("vale3:c", &p);
	nc = ring_bufs(c, c_idx);
	{
		struct netmap_ring *cr = NETMAP_TXRING(vale_nifp(c), 0);
		uint32_t e = vale_nifp(c)->ni_bufs_head;
		for (uint32_t k = 0; e && k < 64; k++) {
			c_idx[nc++] = e;
			memcpy(&e, NETMAP_BUF(cr, e), sizeof(e));
		}
		for (uint32_t i = 0; i < nc; i++) {
			stolen += among(b_idx, nb, c_idx[i]);
			memset(NETMAP_BUF(cr, c_idx[i]) + 4, 0xcc, bsz - 4); /* keep the links */
		}
	}
	for (uint32_t i = 0; i < nb; i++) {
		const uint8_t *buf = (const uint8_t *)NETMAP_BUF(br, b_idx[i]);
		for (uint32_t j = 0; j < bsz; j++)
			if (buf[j] != pattern_b(b_idx[i], j)) {
				spoiled++;
				break;
			}
	}
	if (stolen || spoiled)
		fprintf(stderr,
			"shared: after A went, C got %u of B's %u buffers; %u of B's buffers "
			"lost their data\n",
			stolen, nb, spoiled);
	assert_int_equal(stolen, 0);
	assert_int_equal(spoiled, 0);
	/* B's slots still name its buffers, and B still forwards. */
	assert_int_equal(ring_bufs(b, c_idx), nb);
	for (uint32_t i = 0; i < nb; i++)
		assert_int_equal(c_idx[i], b_idx[i]);
	vale_close(c);
	vale_close(b);
	assert_true(eventually_listed(&valed_group, "vale3:", false, 5000));
	assert_int_equal(switch_ports(&valed_group, "vale3", list, sizeof(list)), 0);
}

/* ---- scribblers --------------------------------------------------------- */

static uint32_t rnd32(unsigned int *seed)
{
	return (uint32_t)rand_r(seed) << 16 ^ (uint32_t)rand_r(seed);
}

/* A value for a ring index: mostly near the ring's range, sometimes wild. */
static uint32_t wild_index(unsigned int *seed, uint32_t n)
{
	switch (rnd(seed, 4)) {
	case 0:
		return rnd32(seed);
	case 1:
		return n + rnd(seed, 4);
	default:
		return rnd(seed, n);
	}
}

/* Headers with lengths that lie, behind a virtio-net header of garbage,
 * over a chain of slots from head; then a sync that hands them over. Only
 * buffers below max_idx are written: the scribbler's own slots may name
 * anything by now. */
static void scribble_packet(struct vale_port *v, uint32_t max_idx, uint32_t hdr, unsigned int *seed)
{
	struct netmap_ring *r = NETMAP_TXRING(vale_nifp(v), 0);
	/* IPv4, IPv6, VLAN, QinQ, ARP, and an 802.3 length field. */
	static const uint16_t types[] = {0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806, 0x05dc};
	uint32_t n = 1 + rnd(seed, 70), pos = r->head % r->num_slots;
	uint32_t bsz = r->nr_buf_size;

	if (r->tail < r->num_slots && n > nm_ring_space(r))
		n = nm_ring_space(r); /* else: the scribbler wrote tail too */
	if (rnd(seed, 4) == 0) {      /* now and then a frame that goes through */
		struct netmap_slot *s = &r->slot[pos];
		if (n && s->buf_idx >= 2 && s->buf_idx <= max_idx) {
			uint32_t len = 60 + rnd(seed, 1455);
			uint8_t *b = (uint8_t *)NETMAP_BUF(r, s->buf_idx);
			memset(b, 0, len);
			frame_make(b + hdr, len - hdr, BCAST, 0x55, rnd32(seed));
			if (hdr == 12)
				b[10] = 1; /* num_buffers */
			s->len = (uint16_t)len;
			s->flags = 0;
			r->head = r->cur = nm_ring_next(r, pos);
			vale_txsync(v);
		}
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct netmap_slot *s = &r->slot[pos];
		uint8_t *b = (uint8_t *)NETMAP_BUF(r, s->buf_idx);
		uint32_t len = rnd(seed, 8) ? rnd(seed, bsz + 1) : rnd32(seed);

		if (i == 0 && s->buf_idx >= 2 && s->buf_idx <= max_idx) {
			uint8_t *eth = b + 12, *ip = eth + 14, *l4;
			for (uint32_t j = 0; j < 12; j++)
				b[j] = (uint8_t)rnd32(seed); /* flags, gso_type, sizes */
			if (rnd(seed, 2))
				b[1] = (uint8_t)(rnd(seed, 2) ? 1 : 4) | (rnd(seed, 4) ? 0 : 0x80);
			memcpy(eth, BCAST, 6);
			for (uint32_t j = 6; j < 12; j++)
				eth[j] = (uint8_t)rnd32(seed);
			eth[6] |= 0x02; /* a unicast source */
			eth[6] &= (uint8_t)~0x01;
			put_be16(eth + 12,
				 rnd(seed, 8) ? types[rnd(seed, 6)] : (uint16_t)rnd32(seed));
			if (rnd(seed, 3) == 0) /* the tagged ethertype's inner type */
				put_be16(eth + 16, types[rnd(seed, 2)]);
			ip[0] = (uint8_t)(rnd(seed, 2) ? 0x40 | rnd(seed, 16) : rnd32(seed));
			put_be16(ip + 2, (uint16_t)rnd32(seed)); /* IPv4 total length */
			put_be16(ip + 4, (uint16_t)rnd32(seed)); /* IPv6 payload length */
			ip[6] = rnd(seed, 2) ? 6 : (uint8_t)rnd32(seed);
			ip[9] = rnd(seed, 2) ? 6 : (uint8_t)rnd32(seed);
			l4 = ip + (rnd(seed, 2) ? 20 : 40);
			l4[12] = (uint8_t)rnd32(seed); /* TCP data offset */
		}
		s->len = (uint16_t)len;
		s->flags = (uint16_t)((i + 1 < n || rnd(seed, 8) == 0 ? NS_MOREFRAG : 0) |
				      (rnd(seed, 4) == 0 ? rnd32(seed) : 0));
		if (rnd(seed, 16) == 0)
			s->buf_idx = wild_index(seed, 1u << 16);
		pos = nm_ring_next(r, pos);
	}
	r->head = r->cur = pos;
	vale_txsync(v);
}

/* One garbage write into a ring, slot, CSB or netmap_if field. */
static void scribble_field(struct vale_port *v, unsigned int *seed)
{
	struct netmap_if *nifp = vale_nifp(v);
	struct netmap_ring *r = rnd(seed, 2) ? NETMAP_TXRING(nifp, 0) : NETMAP_RXRING(nifp, 0);
	struct vale_csb *csb = VALE_CSB(r);
	struct netmap_slot *s = &r->slot[rnd(seed, r->num_slots)];
	uint32_t n = r->num_slots;

	switch (rnd(seed, 12)) {
	case 0:
		r->head = wild_index(seed, n);
		break;
	case 1:
		r->cur = wild_index(seed, n);
		break;
	case 2:
		r->tail = wild_index(seed, n);
		break;
	case 3:
		r->flags = rnd32(seed);
		break;
	case 4:
		s->buf_idx = wild_index(seed, 1u << 16);
		break;
	case 5:
		s->len = (uint16_t)rnd32(seed);
		break;
	case 6:
		s->flags =
		    (uint16_t)(rnd32(seed) | (rnd(seed, 2) ? NS_MOREFRAG | NS_BUF_CHANGED : 0));
		break;
	case 7:
		csb->atok.head = wild_index(seed, n);
		csb->atok.cur = wild_index(seed, n);
		break;
	case 8:
		csb->atok.appl_need_kick = rnd32(seed);
		csb->atok.sync_flags = rnd32(seed);
		break;
	case 9:
		csb->ktoa.hwcur = wild_index(seed, n);
		csb->ktoa.hwtail = wild_index(seed, n);
		csb->ktoa.kern_need_kick = rnd32(seed);
		csb->ktoa.reinits = rnd32(seed);
		break;
	case 10:
		nifp->ni_bufs_head = wild_index(seed, 1u << 16);
		break;
	default:
		s->ptr = (uint64_t)rnd32(seed) << 32 | rnd32(seed);
		break;
	}
}

/* The highest buffer index in v's rings as valed made them. */
static uint32_t max_buf_idx(struct vale_port *v)
{
	struct netmap_if *nifp = vale_nifp(v);
	uint32_t max = 0;

	for (uint32_t i = 0; i < nifp->ni_tx_rings + nifp->ni_rx_rings; i++) {
		struct netmap_ring *r = i < nifp->ni_tx_rings
					    ? NETMAP_TXRING(nifp, i)
					    : NETMAP_RXRING(nifp, i - nifp->ni_tx_rings);
		for (uint32_t j = 0; j < r->num_slots; j++)
			if (r->slot[j].buf_idx > max)
				max = r->slot[j].buf_idx;
	}
	return max;
}

/* A scribbler: garbage everywhere, with syncs so that valed reads it. */
static void __attribute__((noreturn)) scribbler(const char *name, uint32_t hdr, unsigned int seed)
{
	struct vale_port *v;
	uint32_t max_idx;

	child_init();
	v = vale_open(name, NULL);
	if (!v)
		_exit(10);
	max_idx = max_buf_idx(v);
	for (;;) {
		switch (rnd(&seed, 6)) {
		case 0:
		case 1:
			scribble_packet(v, max_idx, hdr, &seed);
			break;
		case 2:
			for (int i = rnd(&seed, 8); i >= 0; i--)
				scribble_field(v, &seed);
			vale_txsync(v);
			break;
		case 3:
			scribble_field(v, &seed);
			vale_rxsync(v);
			break;
		case 4: {
			struct netmap_ring *rx = NETMAP_RXRING(vale_nifp(v), 0);
			rx->head = rx->cur = wild_index(&seed, rx->num_slots);
			vale_rxsync(v);
			break;
		}
		default: {
			struct pollfd pfd = {.fd = vale_fd(v), .events = POLLIN | POLLOUT};
			vale_poll(v, &pfd, 1, 0);
			break;
		}
		}
	}
}

#define SCRIBBLERS 3
#define SCRIBBLE_STEPS 6000
#define QUIET_FRAMES 1000

/* Drain b, counting the frames from src 1 (a) with seq in order from *next. */
static uint32_t drain_legit(struct vale_port *b, uint32_t *next, int timeout_ms)
{
	uint8_t f[65536], src;
	uint32_t seq, got = 0;

	vale_rxsync(b); /* recv_frame syncs only when it waits */
	while (recv_frame(b, f, NULL, timeout_ms) > 0) {
		frame_fields(f, &src, &seq);
		if (src == 1 && seq >= *next) {
			*next = seq + 1;
			got++;
		}
		timeout_ms = 0;
	}
	return got;
}

static void test_scribblers(void **state)
{
	static const unsigned int hdrs[SCRIBBLERS] = {0, 10, 12};
	const struct vale_open_params vp = {.rx_slots = 256};
	const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 2};
	unsigned int seed = seed_of("scribblers");
	char name[32], why[600] = "";
	pid_t pid[SCRIBBLERS];
	struct vale_port *a, *b;
	struct victim *v;
	uint64_t reinits = 0, errors = 0, drops = 0;
	uint32_t next = 0, legit = 0;
	uint8_t f[2048];
	bool ok = true;
	(void)state;

	a = open_port("vale4:a", NULL);
	b = open_port("vale4:b", NULL);
	v = victim_open("vale4:v", &vp, 96, seed);
	assert_non_null(v);
	/* b speaks first: a's frames go to b alone. */
	frame_make(f, 60, BCAST, 2, 0);
	assert_true(send_frame(b, f, 60, 1000));
	assert_int_equal(recv_frame(a, f, NULL, 2000), 60);
	for (int i = 0; i < SCRIBBLERS; i++) {
		snprintf(name, sizeof(name), "vale4:s%d", i);
		port_create(&valed_group, name, i == 2 ? "\"extra_bufs\":16,\"rx_slots\":64" : "");
		port_hdr_set(&valed_group, name, hdrs[i]);
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0)
			scribbler(name, hdrs[i], seed + (unsigned int)i + 1);
	}
	/* Meanwhile a talks to b, and the victim watches its ring. */
	for (uint32_t i = 0; i < SCRIBBLE_STEPS && ok; i++) {
		frame_make(f, 60, mac_b, 1, i);
		send_frame(a, f, 60, 0);
		legit += drain_legit(b, &next, 0);
		ok = victim_step(v, 1);
		if (i % 500 == 0 && !valed_alive(&valed_group))
			break;
	}
	/* The garbage was counted as such, before the scribblers go. */
	for (int i = 0; i < SCRIBBLERS && valed_alive(&valed_group); i++) {
		snprintf(name, sizeof(name), "vale4:s%d", i);
		reinits += port_counter(&valed_group, name, "reinits");
		errors += port_counter(&valed_group, name, "tx_errors") +
			  port_counter(&valed_group, name, "bad_slots");
		drops += port_counter(&valed_group, name, "rx_drops");
	}
	for (int i = 0; i < SCRIBBLERS; i++)
		reap(pid[i]);
	if (!ok)
		snprintf(why, sizeof(why), "%s", victim_failure(v));
	fprintf(stderr,
		"scribblers: reinits %llu, bad slots and tx errors %llu, drops %llu; a->b %u "
		"frames; the victim got %llu packets\n",
		(unsigned long long)reinits, (unsigned long long)errors, (unsigned long long)drops,
		legit, (unsigned long long)victim_packets(v));
	assert_true(valed_alive(&valed_group));
	if (why[0])
		fail_msg("a scribbler's garbage reached the victim's ring: %s", why);
	assert_true(reinits > 0);
	assert_true(errors > 0);
	drops += port_counter(&valed_group, "vale4:v", "rx_drops");
	assert_true(drops > 0);
	assert_true(legit > 0);
	/* The legitimate ports saw no error of their own. */
	assert_int_equal(port_counter(&valed_group, "vale4:a", "tx_errors"), 0);
	assert_int_equal(port_counter(&valed_group, "vale4:a", "reinits"), 0);
	assert_int_equal(port_counter(&valed_group, "vale4:v", "reinits"), 0);
	for (int i = 0; i < SCRIBBLERS; i++) {
		snprintf(name, sizeof(name), "vale4:s%d", i);
		port_delete(&valed_group, name);
	}
	/* A quiet period, then every frame a sends to b arrives, in order. */
	drain_legit(b, &next, 300);
	assert_true(victim_step(v, 0));
	for (uint32_t i = 0; i < QUIET_FRAMES; i++) {
		uint8_t mine[64];
		uint32_t seq;
		uint8_t src;

		frame_make(mine, 60, mac_b, 1, 1000000 + i);
		assert_true(send_frame(a, mine, 60, 2000));
		assert_int_equal(recv_frame(b, f, NULL, 2000), 60);
		frame_fields(f, &src, &seq);
		assert_int_equal(src, 1);
		assert_int_equal(seq, 1000000 + i);
		assert_memory_equal(f, mine, 60);
	}
	assert_true(victim_step(v, 0));
	victim_close(v);
	vale_close(a);
	vale_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_port_gone),		cmocka_unit_test(test_killed_senders),
	    cmocka_unit_test(test_vnet_reread),		cmocka_unit_test(test_len_64k),
	    cmocka_unit_test(test_shared_region_frees), cmocka_unit_test(test_scribblers),
	};
	signal(SIGPIPE, SIG_IGN);
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, valed_group_setup, valed_group_teardown);
}
