/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests of hw/afp against the real kernel: AF_PACKET rings on a veth pair.
 *
 *   netns afpt-a-PID              netns afpt-b-PID
 *   +--------------------+        +------------------------------+
 *   | afp (under test)   |        | plain AF_PACKET socket, UDP  |
 *   |   va (02::0a) -----+--veth--+-- vb (02::0b) 10.77.0.2/24   |
 *   +--------------------+        +------------------------------+
 *
 * Every socket lives in a test namespace (the process setns()es in and out);
 * no traffic touches the root namespace. Needs CAP_NET_ADMIN, CAP_NET_RAW
 * and CAP_SYS_ADMIN (ip netns) and the ip tool: skipped without them.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "afp.h"
#include "netns.h"

#define ETYPE_TEST 0x88b5 /* IEEE local experimental */
#define MAXF 10000

static char ns_a[32], ns_b[32], if_a[IFNAMSIZ], if_b[IFNAMSIZ];
static int root_ns = -1;
static bool skip_all;
static const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 0x0a};
static const uint8_t mac_b[6] = {2, 0, 0, 0, 0, 0x0b};

struct got {
	uint8_t buf[MAXF];
	uint32_t len;
};

static bool have_caps(void)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	/* CAP_NET_ADMIN 12, CAP_NET_RAW 13, CAP_SYS_ADMIN 21 */
	return (eff >> 12 & 1) && (eff >> 13 & 1) && (eff >> 21 & 1);
}

static void leave(void)
{
	assert_int_equal(setns(root_ns, CLONE_NEWNET), 0);
}

static void delete_ns(void)
{
	sh_quiet("ip netns del %s", ns_a);
	sh_quiet("ip netns del %s", ns_b);
}

/* Namespaces left by earlier runs that died before their teardown. */
static void delete_stale(void)
{
	struct dirent *de;
	DIR *d = opendir("/run/netns");
	char c;
	int pid;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (sscanf(de->d_name, "afpt-%c-%d", &c, &pid) == 2 && (c == 'a' || c == 'b') &&
		    kill(pid, 0) < 0 && errno == ESRCH)
			sh_quiet("ip netns del %s", de->d_name);
	closedir(d);
}

static int group_setup(void **state)
{
	int pid = (int)getpid();

	(void)state;
	if (!have_caps() || sh_quiet("ip -V") != 0) {
		fprintf(stderr,
			"test_afp: SKIPPED: needs CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN "
			"and iproute2 (run as root)\n");
		skip_all = true;
		return 0;
	}
	snprintf(ns_a, sizeof(ns_a), "afpt-a-%d", pid);
	snprintf(ns_b, sizeof(ns_b), "afpt-b-%d", pid);
	snprintf(if_a, sizeof(if_a), "afpa%d", pid);
	snprintf(if_b, sizeof(if_b), "afpb%d", pid);
	delete_stale();
	delete_ns();
	root_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (root_ns < 0)
		return -1;
	/* No IPv6: its router solicitations and DAD would be stray frames. */
	if (sh_quiet("ip netns add %s", ns_a) || sh_quiet("ip netns add %s", ns_b) ||
	    sh_quiet("ip netns exec %s sysctl -qw net.ipv6.conf.default.disable_ipv6=1 "
		     "net.ipv6.conf.all.disable_ipv6=1",
		     ns_a) ||
	    sh_quiet("ip netns exec %s sysctl -qw net.ipv6.conf.default.disable_ipv6=1 "
		     "net.ipv6.conf.all.disable_ipv6=1",
		     ns_b) ||
	    sh_quiet("ip -n %s link add %s address 02:00:00:00:00:0a type veth peer name %s "
		     "address 02:00:00:00:00:0b netns %s",
		     ns_a, if_a, if_b, ns_b) ||
	    sh_quiet("ip -n %s link set %s up", ns_a, if_a) ||
	    sh_quiet("ip -n %s link set %s up", ns_b, if_b) ||
	    sh_quiet("ip -n %s addr add 10.77.0.2/24 dev %s", ns_b, if_b) ||
	    sh_quiet("ip -n %s neigh add 10.77.0.1 lladdr 02:00:00:00:00:0a dev %s nud permanent",
		     ns_b, if_b)) {
		fprintf(stderr, "test_afp: setting up the namespaces failed\n");
		delete_ns();
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (skip_all)
		return 0;
	if (root_ns >= 0)
		(void)setns(root_ns, CLONE_NEWNET);
	delete_ns();
	if (root_ns >= 0)
		close(root_ns);
	return 0;
}

/* Every test starts and ends in the root namespace. */
static int test_teardown(void **state)
{
	(void)state;
	if (!skip_all)
		(void)setns(root_ns, CLONE_NEWNET);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t test_frame(uint8_t *f, uint32_t len, uint16_t etype, uint32_t seq)
{
	memcpy(f, mac_a, 6);
	memcpy(f + 6, mac_b, 6);
	f[12] = (uint8_t)(etype >> 8);
	f[13] = (uint8_t)etype;
	for (uint32_t i = 14; i < len; i++)
		f[i] = (uint8_t)(seq * 7 + i);
	return len;
}

/* IPv4/UDP frame from 10.77.0.2:sport to 10.77.0.1:9 (flows for fanout). */
static uint32_t udp_frame(uint8_t *f, uint16_t sport, uint32_t seq)
{
	uint32_t len = 14 + 20 + 8 + 32;

	memset(f, 0, len);
	test_frame(f, 14, 0x0800, 0);
	f[14] = 0x45;
	f[16] = 0, f[17] = (uint8_t)(len - 14);
	f[22] = 64, f[23] = 17;
	f[26] = 10, f[27] = 77, f[29] = 2;
	f[30] = 10, f[31] = 77, f[33] = 1;
	f[34] = (uint8_t)(sport >> 8), f[35] = (uint8_t)sport;
	f[37] = 9;
	f[39] = 40;
	f[42] = (uint8_t)seq;
	return len;
}

/* A plain AF_PACKET socket on if_b in ns B: our peer. */
static int peer_open(bool vnet)
{
	struct sockaddr_ll sll;
	int one = 1;
	int fd;

	assert_int_equal(netns_enter(ns_b), 0);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)), 0);
	if (vnet)
		assert_int_equal(setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)), 0);
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)if_nametoindex(if_b);
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	leave();
	return fd;
}

static void peer_send(int fd, const uint8_t *f, uint32_t len)
{
	assert_int_equal(send(fd, f, len, 0), (ssize_t)len);
}

/* Frames of our test ethertype received by the peer, up to want, within ms. */
static uint32_t peer_recv(int fd, struct got *g, uint32_t want, int ms)
{
	int64_t end = now_ms() + ms;
	uint32_t n = 0;

	while (n < want && now_ms() < end) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t r;

		(void)poll(&pfd, 1, 10);
		while (n < want && (r = recv(fd, g[n].buf, MAXF, 0)) > 0) {
			if (r >= 14 && g[n].buf[12] == (ETYPE_TEST >> 8) &&
			    g[n].buf[13] == (ETYPE_TEST & 0xff))
				g[n++].len = (uint32_t)r;
		}
	}
	return n;
}

static bool wanted(const uint8_t *eth, uint32_t len)
{
	uint16_t t;

	if (len < 18)
		return false;
	t = (uint16_t)(eth[12] << 8 | eth[13]);
	if (t == 0x8100)
		t = (uint16_t)(eth[16] << 8 | eth[17]);
	return t == ETYPE_TEST || t == 0x0800;
}

/*
 * Frames (our ethertype or IPv4) from afps a[0, na), copied out: g[i] from
 * afp who[i]. Up to want frames within ms.
 */
static uint32_t afp_collect(struct afp **a, int na, struct got *g, int *who, uint32_t want, int ms)
{
	int64_t end = now_ms() + ms;
	uint32_t n = 0;

	while (n < want && now_ms() < end) {
		struct pollfd pfd[4];

		for (int i = 0; i < na; i++)
			pfd[i] = (struct pollfd){.fd = afp_fd(a[i]), .events = POLLIN};
		(void)poll(pfd, (nfds_t)na, 10);
		for (int i = 0; i < na; i++) {
			struct kframe fr[32];
			uint32_t k = afp_rx_burst(a[i], fr, 32);
			uint32_t hl = afp_vnet_hdr_len(a[i]);

			for (uint32_t j = 0; j < k && n < want; j++) {
				if (!wanted(fr[j].data + hl, fr[j].len - hl))
					continue;
				assert_true(fr[j].len <= MAXF);
				memcpy(g[n].buf, fr[j].data, fr[j].len);
				g[n].len = fr[j].len;
				if (who)
					who[n] = i;
				n++;
			}
			afp_rx_release(a[i]);
		}
	}
	return n;
}

static struct afp *open_a(const struct afp_params *p0)
{
	struct afp_params p = *p0;
	char err[ERR_LEN] = "";
	struct afp *a;

	p.ifname = if_a;
	assert_int_equal(netns_enter(ns_a), 0);
	a = afp_open(&p, err);
	if (!a)
		fprintf(stderr, "afp_open: %s\n", err);
	assert_non_null(a);
	leave();
	return a;
}

static struct got g[128], h[128];

/* (1) Frames sent in ns B arrive through afp_rx_burst, VLAN tag included. */
static void test_rx(void **state)
{
	static const uint32_t lens[] = {60, 128, 1000, 1514};
	struct afp_params p = {0};
	uint8_t f[2000];
	struct afp *a;
	struct afp_stats st;
	int peer;

	(void)state;
	if (skip_all)
		skip();
	a = open_a(&p);
	assert_int_equal(afp_vnet_hdr_len(a), 0);
	assert_int_equal(afp_mtu(a), 1500);
	peer = peer_open(false);
	for (uint32_t i = 0; i < 4; i++)
		peer_send(peer, f, test_frame(f, lens[i], ETYPE_TEST, i));
	/* 802.1Q, PCP 1, VID 5: the kernel strips the tag, afp puts it back. */
	test_frame(f, 100, 0x8100, 9);
	f[14] = 0x20, f[15] = 0x05, f[16] = ETYPE_TEST >> 8, f[17] = ETYPE_TEST & 0xff;
	peer_send(peer, f, 100);

	assert_int_equal(afp_collect(&a, 1, g, NULL, 5, 2000), 5);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(g[i].len, lens[i]);
		test_frame(f, lens[i], ETYPE_TEST, i);
		assert_memory_equal(g[i].buf, f, lens[i]);
	}
	test_frame(f, 100, 0x8100, 9);
	f[14] = 0x20, f[15] = 0x05, f[16] = ETYPE_TEST >> 8, f[17] = ETYPE_TEST & 0xff;
	assert_int_equal(g[4].len, 100);
	assert_memory_equal(g[4].buf, f, 100);

	afp_get_stats(a, &st);
	assert_true(st.rx_packets >= 5);
	assert_int_equal(st.rx_drops, 0);
	close(peer);
	afp_close(a);
}

/* (1c) A full RX ring: the kernel drops and counts; held blocks are not re-read. */
static void test_rx_full(void **state)
{
	struct afp_params p = {.rx_block_size = 4096, .rx_blocks = 8};
	struct kframe fr[64];
	struct afp_stats st;
	uint32_t n, total = 0;
	uint8_t f[60];
	struct afp *a;
	int peer;

	(void)state;
	if (skip_all)
		skip();
	a = open_a(&p);
	peer = peer_open(false);
	for (uint32_t i = 0; i < 1000; i++)
		peer_send(peer, f, test_frame(f, sizeof(f), ETYPE_TEST, i));
	usleep(20000); /* every block retired by the 1 ms timeout */
	/* No release in between: stops at the 8 blocks we hold. */
	while ((n = afp_rx_burst(a, fr, 64)) > 0)
		total += n;
	assert_true(total > 0 && total < 8 * 4096 / 60);
	afp_rx_release(a);
	while ((n = afp_rx_burst(a, fr, 64)) > 0) {
		total += n;
		afp_rx_release(a);
	}
	afp_get_stats(a, &st);
	assert_int_equal(st.rx_packets, total);
	assert_true(st.rx_drops > 0);
	assert_int_equal(st.rx_packets + st.rx_drops, 1000);

	/* Working again after the drops. */
	peer_send(peer, f, test_frame(f, sizeof(f), ETYPE_TEST, 7));
	assert_int_equal(afp_collect(&a, 1, g, NULL, 1, 2000), 1);
	assert_memory_equal(g[0].buf, f, sizeof(f));
	close(peer);
	afp_close(a);
}

/* (1b) Frames the kernel's stack sends from ns B (UDP to 10.77.0.1). */
static void test_rx_kernel(void **state)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
	struct afp_params p = {0};
	struct afp *a;
	int s;

	(void)state;
	if (skip_all)
		skip();
	a = open_a(&p);
	assert_int_equal(netns_enter(ns_b), 0);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s >= 0);
	leave();
	to.sin_addr.s_addr = htonl(0x0a4d0001);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sendto(s, "hello afp", 9, 0, (struct sockaddr *)&to, sizeof(to)),
				 9);

	assert_int_equal(afp_collect(&a, 1, g, NULL, 3, 2000), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(g[i].len, 14 + 20 + 8 + 9);
		assert_memory_equal(g[i].buf, mac_a, 6);
		assert_memory_equal(g[i].buf + 6, mac_b, 6);
		assert_int_equal(g[i].buf[23], 17);
		assert_memory_equal(g[i].buf + 42, "hello afp", 9);
	}
	close(s);
	afp_close(a);
}

/* (2) Frames sent with afp_tx_burst arrive in ns B; bad ones are counted. */
static void test_tx(void **state)
{
	static const uint32_t lens[] = {60, 200, 1514, 64};
	struct afp_params p = {0};
	struct kframe fr[6];
	uint8_t f[6][2000];
	struct afp_stats st;
	struct afp *a;
	int peer;

	(void)state;
	if (skip_all)
		skip();
	a = open_a(&p);
	peer = peer_open(false);
	for (uint32_t i = 0; i < 4; i++)
		fr[i] = (struct kframe){.data = f[i],
					   .len = test_frame(f[i], lens[i], ETYPE_TEST, i)};
	fr[4] = (struct kframe){.data = f[4], .len = 10}; /* shorter than Ethernet */
	fr[5] = (struct kframe){.data = f[5], .len = test_frame(f[5], 1515, ETYPE_TEST, 5)};
	assert_int_equal(afp_tx_burst(a, fr, 6), 6);

	assert_int_equal(peer_recv(peer, h, 4, 2000), 4);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(h[i].len, lens[i]);
		assert_memory_equal(h[i].buf, f[i], lens[i]);
	}
	afp_get_stats(a, &st);
	assert_int_equal(st.tx_packets, 4);
	assert_int_equal(st.tx_bytes, 60 + 200 + 1514 + 64);
	assert_int_equal(st.tx_errors, 2);
	/* Our own transmissions do not come back on RX. */
	assert_int_equal(afp_collect(&a, 1, g, NULL, 1, 50), 0);
	close(peer);
	afp_close(a);
}

/* (2b) More frames than the ring holds: the caller sees backpressure, not loss. */
static void test_tx_ring_full(void **state)
{
	struct afp_params p = {.tx_frames = 64};
	struct kframe fr[256];
	uint8_t f[128];
	uint32_t sent = 0, got = 0;
	struct afp_stats st;
	struct afp *a;
	int peer;
	int64_t end = now_ms() + 3000;

	(void)state;
	if (skip_all)
		skip();
	a = open_a(&p);
	peer = peer_open(false);
	test_frame(f, sizeof(f), ETYPE_TEST, 1);
	for (int i = 0; i < 256; i++)
		fr[i] = (struct kframe){.data = f, .len = sizeof(f)};
	/* veth frees a frame within the send() that pushed it: the full ring is
	 * pushed and refilled within the call, 4 times over. */
	sent = afp_tx_burst(a, fr, 256);
	assert_int_equal(sent, 256);
	while ((sent < 256 || got < 256) && now_ms() < end) {
		struct pollfd pfd = {.fd = afp_fd(a), .events = POLLOUT};

		if (sent < 256)
			sent += afp_tx_burst(a, fr + sent, 256 - sent);
		else
			afp_tx_burst(a, NULL, 0);
		got += peer_recv(peer, h, 128, 1);
		(void)poll(&pfd, 1, 1);
	}
	assert_int_equal(sent, 256);
	afp_get_stats(a, &st);
	assert_int_equal(st.tx_errors, 0);
	assert_int_equal(st.tx_packets, 256);
	/* The veth peer's backlog may drop under a burst; most must arrive. */
	assert_true(got >= 200);
	close(peer);
	afp_close(a);
}

/* (3) MTU 9000 on both ends: a 9014-byte frame crosses both ways. */
static void test_jumbo(void **state)
{
	static uint8_t f[9100];
	struct afp_params p = {0};
	struct kframe fr[2];
	struct afp_stats st;
	struct afp *a;
	int peer;

	(void)state;
	if (skip_all)
		skip();
	assert_int_equal(sh_quiet("ip -n %s link set %s mtu 9000", ns_a, if_a), 0);
	assert_int_equal(sh_quiet("ip -n %s link set %s mtu 9000", ns_b, if_b), 0);
	a = open_a(&p);
	assert_int_equal(afp_mtu(a), 9000);
	assert_true(afp_max_frame(a) >= 9018);
	peer = peer_open(false);

	peer_send(peer, f, test_frame(f, 9014, ETYPE_TEST, 3));
	assert_int_equal(afp_collect(&a, 1, g, NULL, 1, 2000), 1);
	assert_int_equal(g[0].len, 9014);
	assert_memory_equal(g[0].buf, f, 9014);

	fr[0] = (struct kframe){.data = f, .len = test_frame(f, 9014, ETYPE_TEST, 4)};
	fr[1] = (struct kframe){.data = f, .len = 9015}; /* over the MTU, untagged */
	assert_int_equal(afp_tx_burst(a, fr, 2), 2);
	assert_int_equal(peer_recv(peer, h, 1, 2000), 1);
	assert_int_equal(h[0].len, 9014);
	assert_memory_equal(h[0].buf, f, 9014);
	afp_get_stats(a, &st);
	assert_int_equal(st.tx_packets, 1);
	assert_int_equal(st.tx_errors, 1);

	close(peer);
	afp_close(a);
	assert_int_equal(sh_quiet("ip -n %s link set %s mtu 1500", ns_a, if_a), 0);
	assert_int_equal(sh_quiet("ip -n %s link set %s mtu 1500", ns_b, if_b), 0);
}

/* (4) Two sockets in one fanout group: all frames seen, each flow on one. */
static void test_fanout(void **state)
{
	enum { FLOWS = 32, PER = 3 };
	struct afp_params p = {.fanout_group = 42};
	struct afp *a[2];
	int who[FLOWS * PER], owner[FLOWS], count[2] = {0, 0};
	uint8_t f[128];
	int peer;

	(void)state;
	if (skip_all)
		skip();
	a[0] = open_a(&p);
	a[1] = open_a(&p);
	peer = peer_open(false);
	for (int k = 0; k < PER; k++)
		for (int i = 0; i < FLOWS; i++)
			peer_send(peer, f, udp_frame(f, (uint16_t)(1000 + i), (uint32_t)k));

	assert_int_equal(afp_collect(a, 2, g, who, FLOWS * PER, 3000), FLOWS * PER);
	for (int i = 0; i < FLOWS; i++)
		owner[i] = -1;
	for (int i = 0; i < FLOWS * PER; i++) {
		int flow = (g[i].buf[34] << 8 | g[i].buf[35]) - 1000;

		assert_true(flow >= 0 && flow < FLOWS);
		if (owner[flow] < 0)
			owner[flow] = who[i];
		assert_int_equal(owner[flow], who[i]);
		count[who[i]]++;
	}
	/* 32 flows all hashed to one socket: 2^-31. */
	assert_true(count[0] > 0 && count[1] > 0);
	close(peer);
	afp_close(a[0]);
	afp_close(a[1]);
}

static int promiscuity(void)
{
	char cmd[128], line[1024];
	int n = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "ip -n %s -d link show %s", ns_a, if_a);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *s = strstr(line, "promiscuity ");

		if (s)
			n = atoi(s + strlen("promiscuity "));
	}
	pclose(f);
	return n;
}

/* (5) An afp holds one promiscuity reference and gives it back on close. */
static void test_promisc(void **state)
{
	struct afp_params p = {0};
	struct afp *a, *b;
	int before;

	(void)state;
	if (skip_all)
		skip();
	before = promiscuity();
	assert_true(before >= 0);
	a = open_a(&p);
	assert_int_equal(promiscuity(), before + 1);
	b = open_a(&p);
	assert_int_equal(promiscuity(), before + 2);
	afp_close(a);
	assert_int_equal(promiscuity(), before + 1);
	afp_close(b);
	assert_int_equal(promiscuity(), before);
	afp_close(NULL);
}

/* (6) Errors come back as errno with a sentence. */
static void test_errors(void **state)
{
	char err[ERR_LEN];
	struct afp_params p = {.ifname = "nosuch0"};
	struct afp *a;

	(void)state;
	if (skip_all)
		skip();
	assert_int_equal(netns_enter(ns_a), 0);
	errno = 0;
	a = afp_open(&p, err);
	assert_null(a);
	assert_int_equal(errno, ENODEV);
	assert_non_null(strstr(err, "no interface 'nosuch0'"));

	p.ifname = "lo";
	assert_null(afp_open(&p, err));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "not Ethernet"));

	p.ifname = if_a;
	p.frame_size = 1024;
	assert_null(afp_open(&p, err));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "too small for MTU 1500"));

	p.frame_size = 0;
	p.vnet_hdr = true;
	p.vnet_hdr_len = 11;
	assert_null(afp_open(&p, err));
	assert_int_equal(errno, EINVAL);

	p.ifname = "an-interface-name-too-long";
	p.vnet_hdr = false;
	assert_null(afp_open(&p, NULL));
	assert_int_equal(errno, EINVAL);
	leave();
}

/* With a virtio-net header: the stack's partial checksums cross as offloads. */
static void vnet_case(uint32_t hl)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
	struct afp_params p = {.vnet_hdr = true, .vnet_hdr_len = (uint8_t)hl};
	struct kframe fr[1];
	uint8_t f[200];
	struct afp *a;
	int s, peer;

	a = open_a(&p);
	assert_int_equal(afp_vnet_hdr_len(a), hl);
	assert_true(afp_max_frame(a) >= 65000);
	assert_int_equal(netns_enter(ns_b), 0);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s >= 0);
	leave();
	to.sin_addr.s_addr = htonl(0x0a4d0001);
	assert_int_equal(sendto(s, "hello vnet", 10, 0, (struct sockaddr *)&to, sizeof(to)), 10);

	/*
	 * The same in VLAN 5, sent with a partial checksum by a packet socket
	 * with its own virtio-net header: the receiving side strips the tag,
	 * afp puts it back, and the offsets grow by 4 again.
	 */
	peer = peer_open(true);
	memset(f, 0, 10);
	f[0] = 1, f[6] = 38, f[8] = 6;
	udp_frame(f + 10, 9, 0);
	memmove(f + 10 + 16, f + 10 + 12, 14 + 20 + 8 + 32 - 12);
	f[10 + 12] = 0x81, f[10 + 13] = 0, f[10 + 14] = 0, f[10 + 15] = 5;
	f[10 + 18 + 2] = 0, f[10 + 18 + 3] = 20 + 8 + 10;
	f[10 + 38 + 4] = 0, f[10 + 38 + 5] = 8 + 10;
	memcpy(f + 10 + 46, "hello vlan", 10);
	peer_send(peer, f, 10 + 56);
	close(peer);

	assert_int_equal(afp_collect(&a, 1, g, NULL, 2, 2000), 2);
	for (int i = 0; i < 2; i++) {
		uint32_t tag = i ? 4 : 0;
		const uint8_t *vh = g[i].buf;

		assert_int_equal(g[i].len, hl + tag + 14 + 20 + 8 + 10);
		assert_memory_equal(vh + hl + tag + 42, i ? "hello vlan" : "hello vnet", 10);
		/* veth keeps the sender's partial checksum: NEEDS_CSUM at the UDP header. */
		assert_int_equal(vh[0], 1);
		assert_int_equal(vh[1], 0); /* no GSO */
		assert_int_equal(vh[6] | vh[7] << 8, 34 + tag);
		assert_int_equal(vh[8] | vh[9] << 8, 6);
		if (hl == 12)
			assert_int_equal(vh[10] | vh[11] << 8, 1); /* num_buffers */
	}
	assert_int_equal(g[1].buf[hl + 12], 0x81);
	assert_int_equal(g[1].buf[hl + 13], 0x00);
	assert_int_equal(g[1].buf[hl + 15], 5);
	assert_int_equal(g[1].buf[hl + 16], 0x08);

	/* TX: a header without offload (num_buffers 1 in the 12-byte form), the frame. */
	peer = peer_open(false);
	memset(f, 0, hl);
	if (hl == 12)
		f[10] = 1;
	test_frame(f + hl, 100, ETYPE_TEST, 8);
	fr[0] = (struct kframe){.data = f, .len = hl + 100};
	assert_int_equal(afp_tx_burst(a, fr, 1), 1);
	assert_int_equal(peer_recv(peer, h, 1, 2000), 1);
	assert_int_equal(h[0].len, 100);
	assert_memory_equal(h[0].buf, f + hl, 100);
	close(peer);
	close(s);
	afp_close(a);
}

/*
 * (5) With a virtio-net header, TX slots stay MTU-sized and a GSO frame longer
 * than a slot takes the side socket, after the frames queued before it.
 */
static void test_vnet_gso(void **state)
{
	static uint8_t big[10 + 14 + 20 + 20 + 8000];
	const uint32_t tcp_len = 20 + 8000, ip_len = 20 + tcp_len;
	struct afp_params p = {.vnet_hdr = true};
	struct kframe fr[3];
	uint8_t small[2][10 + 100], got[3][MAXF];
	ssize_t len[3];
	struct afp_stats st;
	uint8_t *e = big + 10;
	struct afp *a;
	int peer, n = 0;
	int64_t end;

	(void)state;
	if (skip_all)
		skip();
	a = open_a(&p);
	assert_true(afp_max_frame(a) >= 65000);
	peer = peer_open(false);
	for (int i = 0; i < 2; i++) {
		memset(small[i], 0, 10);
		test_frame(small[i] + 10, 100, ETYPE_TEST, (uint32_t)i);
	}
	/* NEEDS_CSUM at the TCP checksum, TCPV4 GSO of 1448-byte segments. */
	big[0] = 1, big[1] = 1;
	big[2] = 54, big[4] = 1448 & 0xff, big[5] = 1448 >> 8;
	big[6] = 34, big[8] = 16;
	test_frame(e, 14, 0x0800, 0);
	e[14] = 0x45, e[16] = (uint8_t)(ip_len >> 8), e[17] = (uint8_t)ip_len;
	e[22] = 64, e[23] = 6;
	e[26] = 10, e[27] = 77, e[29] = 2, e[30] = 10, e[31] = 77, e[33] = 1;
	e[35] = 99, e[37] = 9, e[46] = 5 << 4, e[47] = 0x10, e[48] = 0xff;
	fr[0] = (struct kframe){.data = small[0], .len = sizeof(small[0])};
	fr[1] = (struct kframe){.data = big, .len = sizeof(big)};
	fr[2] = (struct kframe){.data = small[1], .len = sizeof(small[1])};
	assert_int_equal(afp_tx_burst(a, fr, 3), 3);

	/* veth hands the GSO frame on whole; the peer sees all three in order. */
	end = now_ms() + 2000;
	while (n < 3 && now_ms() < end) {
		struct pollfd pfd = {.fd = peer, .events = POLLIN};

		(void)poll(&pfd, 1, 10);
		while (n < 3 && (len[n] = recv(peer, got[n], MAXF, 0)) > 0)
			if (got[n][12] == 0x88 || (got[n][12] == 0x08 && got[n][23] == 6))
				n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(len[0], 100);
	assert_int_equal(len[1], 14 + ip_len);
	assert_int_equal(len[2], 100);
	assert_memory_equal(got[0], small[0] + 10, 100);
	assert_memory_equal(got[2], small[1] + 10, 100);
	afp_get_stats(a, &st);
	assert_int_equal(st.tx_packets, 3);
	assert_int_equal(st.tx_errors, 0);
	close(peer);
	afp_close(a);
}

static void test_vnet10(void **state)
{
	(void)state;
	if (skip_all)
		skip();
	vnet_case(10);
}

static void test_vnet12(void **state)
{
	(void)state;
	if (skip_all)
		skip();
	vnet_case(12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_rx, test_teardown),
	    cmocka_unit_test_teardown(test_rx_full, test_teardown),
	    cmocka_unit_test_teardown(test_rx_kernel, test_teardown),
	    cmocka_unit_test_teardown(test_tx, test_teardown),
	    cmocka_unit_test_teardown(test_tx_ring_full, test_teardown),
	    cmocka_unit_test_teardown(test_jumbo, test_teardown),
	    cmocka_unit_test_teardown(test_fanout, test_teardown),
	    cmocka_unit_test_teardown(test_promisc, test_teardown),
	    cmocka_unit_test_teardown(test_errors, test_teardown),
	    cmocka_unit_test_teardown(test_vnet10, test_teardown),
	    cmocka_unit_test_teardown(test_vnet12, test_teardown),
	    cmocka_unit_test_teardown(test_vnet_gso, test_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
