// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_xsk - hw/xsk against the real kernel: AF_XDP on veth pairs between
 * two network namespaces this test creates (and always deletes).
 *
 *     ns A (the xsk side)                     ns B (the wire)
 *   va 10.77.0.1  02:00:00:00:00:0a  <--->  vb 10.77.0.2  02:00:00:00:00:0b
 *   wa (2 queues)                    <--->  wb (2 queues)
 *
 * B sends ARP requests for 10.77.0.1 over a raw AF_PACKET socket. Without an
 * xsk, A's stack answers. With one open, the xsk receives those exact bytes
 * and A's stack answers nothing: the frames never reached it. Frames sent by
 * xsk_tx_burst arrive at B. After xsk_close no XDP program is left and A
 * answers again. With MTU 9000 on va and vb, 9014-byte frames cross whole
 * both ways (multi-buffer AF_XDP), in drv and in skb mode. Skipped when not
 * root or AF_XDP is missing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>

#include <bpf/libbpf.h>
#include <cmocka.h>

#include "netns.h"
#include "xsk.h"

#define ETH_P_TEST 0x88b5 /* IEEE local experimental */
#define ARP_LEN 60
#define NFRAMES 8

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };
static const uint8_t ip_a[4] = { 10, 77, 0, 1 };
static const uint8_t ip_b[4] = { 10, 77, 0, 2 };

static char ns_a[32], ns_b[32];
static int ns_orig = -1;
static bool ns_made;
static const char *skip_reason;

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -1 : 0;
}

static void delete_namespaces(void)
{
	if (!ns_made)
		return;
	if (ns_orig >= 0)
		setns(ns_orig, CLONE_NEWNET);
	/* Deleting a namespace destroys the veth ends inside it. */
	sh_quiet("ip netns del %s", ns_a);
	sh_quiet("ip netns del %s", ns_b);
	ns_made = false;
}

/* IPv6 off, so neither stack chatters on the links during the test. */
static int quiet_ns(const char *ns)
{
	if (netns_enter(ns))
		return -1;
	write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	return 0;
}

static int group_setup(void **state)
{
	int fd;

	(void)state;
	if (geteuid() != 0) {
		skip_reason = "needs root (CAP_NET_ADMIN, CAP_BPF) for namespaces and XDP";
		return 0;
	}
	fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		skip_reason = errno == EAFNOSUPPORT ? "AF_XDP not available in this kernel"
						    : "cannot create an AF_XDP socket";
		return 0;
	}
	close(fd);
	ns_orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	snprintf(ns_a, sizeof(ns_a), "vxsk-a-%d", (int)getpid());
	snprintf(ns_b, sizeof(ns_b), "vxsk-b-%d", (int)getpid());
	atexit(delete_namespaces);
	ns_made = true;
	if (sh_quiet("ip netns add %s", ns_a) || sh_quiet("ip netns add %s", ns_b) ||
	    quiet_ns(ns_a) || quiet_ns(ns_b) || netns_enter(ns_a) ||
	    sh_quiet("ip link add va address 02:00:00:00:00:0a type veth peer name vb "
		     "address 02:00:00:00:00:0b netns %s",
		     ns_b) ||
	    sh_quiet("ip link add wa numtxqueues 2 numrxqueues 2 type veth peer name wb "
		     "numtxqueues 2 numrxqueues 2 netns %s",
		     ns_b) ||
	    sh_quiet("ip addr add 10.77.0.1/24 dev va") || sh_quiet("ip link set va up") ||
	    sh_quiet("ip link set wa up") ||
	    sh_quiet("ip -n %s addr add 10.77.0.2/24 dev vb", ns_b) ||
	    sh_quiet("ip -n %s link set vb up", ns_b) ||
	    sh_quiet("ip -n %s link set wb up", ns_b)) {
		delete_namespaces();
		skip_reason = "cannot create network namespaces and veth pairs (iproute2?)";
		return 0;
	}
	/* The tests run in ns A; ns B is entered only to open sockets. */
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	delete_namespaces();
	if (ns_orig >= 0)
		close(ns_orig);
	return 0;
}

#define SKIP_IF_NEEDED()                                                   \
	do {                                                               \
		if (skip_reason) {                                         \
			print_message("[  SKIP    ] %s\n", skip_reason); \
			skip();                                            \
		}                                                          \
	} while (0)

/* A raw socket on ifname in ns B, seeing every frame. */
static int b_socket(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd;

	assert_int_equal(netns_enter(ns_b), 0);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	assert_true(fd >= 0);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	assert_int_equal(netns_enter(ns_a), 0);
	return fd;
}

static void drain(int fd)
{
	uint8_t buf[2048];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* An ARP request from B for A's address; marker goes in the padding. */
static void make_arp(uint8_t *f, uint8_t marker)
{
	static const uint8_t hdr[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };

	memset(f, 0, ARP_LEN);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac_b, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	memcpy(f + 14, hdr, 8);
	memcpy(f + 22, mac_b, 6);
	memcpy(f + 28, ip_b, 4);
	memcpy(f + 38, ip_a, 4);
	f[50] = 0xa5;
	f[51] = marker;
}

static void send_arps(int fd, uint8_t first, int n)
{
	uint8_t f[ARP_LEN];
	int i;

	for (i = 0; i < n; i++) {
		make_arp(f, (uint8_t)(first + i));
		assert_int_equal(send(fd, f, sizeof(f), 0), ARP_LEN);
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* True if A's stack answered an ARP request within ms. */
static bool arp_reply_seen(int fd, int ms)
{
	int64_t end = now_ms() + ms;
	uint8_t f[2048];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = end - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		n = recv(fd, f, sizeof(f), MSG_DONTWAIT);
		if (n >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2 &&
		    !memcmp(f + 28, ip_a, 4) && !memcmp(f + 6, mac_a, 6))
			return true;
	}
}

/* Receive on the xsk until the NFRAMES marked ARP requests are in. */
static void expect_rx(struct xsk *x, uint8_t first)
{
	struct kframe fr[64];
	uint8_t want[ARP_LEN];
	int64_t end = now_ms() + 2000;
	unsigned seen = 0;

	while (seen != (1u << NFRAMES) - 1 && now_ms() < end) {
		struct pollfd pfd = { .fd = xsk_fd(x), .events = POLLIN };
		uint32_t n, i;

		poll(&pfd, 1, 100);
		n = xsk_rx_burst(x, fr, 64);
		for (i = 0; i < n; i++) {
			const uint8_t *p = fr[i].data;
			uint8_t k = (uint8_t)(p[51] - first);

			if (fr[i].len != ARP_LEN || p[12] != 0x08 || p[13] != 0x06 || k >= NFRAMES)
				continue;
			make_arp(want, p[51]);
			assert_memory_equal(p, want, ARP_LEN);
			seen |= 1u << k;
		}
		xsk_rx_release(x, n);
	}
	assert_int_equal(seen, (1u << NFRAMES) - 1);
}

/* Send NFRAMES test frames through the xsk; expect them all at B. */
static void expect_tx(struct xsk *x, int bfd)
{
	static uint8_t buf[NFRAMES][1024];
	struct kframe fr[NFRAMES + 1];
	int64_t end;
	unsigned seen = 0;
	uint32_t i, sent = 0;

	for (i = 0; i < NFRAMES; i++) {
		uint8_t *f = buf[i];

		fr[i].data = f;
		fr[i].len = 64 + i * 100;
		memset(f, (int)i, fr[i].len);
		memcpy(f, mac_b, 6);
		memcpy(f + 6, mac_a, 6);
		f[12] = ETH_P_TEST >> 8;
		f[13] = ETH_P_TEST & 0xff;
	}
	/* An oversize frame is refused and counted, not sent. */
	fr[NFRAMES].data = buf[0];
	fr[NFRAMES].len = xsk_max_len(x) + 1;
	assert_int_equal(xsk_max_len(x), xsk_frame_size(x)); /* MTU 1500: one frame each */
	end = now_ms() + 2000;
	while (sent < NFRAMES + 1 && now_ms() < end)
		sent += xsk_tx_burst(x, fr + sent, NFRAMES + 1 - sent);
	assert_int_equal(sent, NFRAMES + 1);

	while (seen != (1u << NFRAMES) - 1 && now_ms() < end) {
		struct pollfd pfd = { .fd = bfd, .events = POLLIN };
		uint8_t f[2048];
		ssize_t n;

		xsk_tx_burst(x, NULL, 0);
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recv(bfd, f, sizeof(f), MSG_DONTWAIT);
		if (n < 14 || f[12] != ETH_P_TEST >> 8 || f[13] != (ETH_P_TEST & 0xff))
			continue;
		i = f[14];
		assert_true(i < NFRAMES);
		assert_int_equal(n, fr[i].len);
		assert_memory_equal(f, buf[i], fr[i].len);
		seen |= 1u << i;
	}
	assert_int_equal(seen, (1u << NFRAMES) - 1);
}

static uint32_t xdp_attach_mode(const char *ifname)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, opts);

	assert_int_equal(bpf_xdp_query((int)if_nametoindex(ifname), 0, &opts), 0);
	return opts.attach_mode;
}

/* Open an xsk on va, or skip the test when the host cannot. */
static struct xsk *open_va(enum xsk_xdp_mode xdp, enum xsk_bind_mode bind)
{
	struct xsk_params p = { .ifname = "va", .queue_id = 0, .xdp = xdp, .bind = bind };
	char err[ERR_LEN];
	struct xsk *x = xsk_open(&p, err);

	if (!x && (errno == EPERM || errno == EAFNOSUPPORT)) {
		print_message("[  SKIP    ] %s\n", err);
		skip();
	}
	if (!x)
		print_message("xsk_open: %s (%s)\n", err, strerror(errno));
	assert_non_null(x);
	return x;
}

static void traffic(enum xsk_xdp_mode xdp, enum xsk_bind_mode bind, const char *want_mode)
{
	struct xsk_stats st;
	struct xsk *x;
	int bfd;

	SKIP_IF_NEEDED();
	bfd = b_socket("vb");
	/* Baseline: A's stack answers while no xsk holds va. */
	drain(bfd);
	send_arps(bfd, 0, 1);
	assert_true(arp_reply_seen(bfd, 1000));

	x = open_va(xdp, bind);
	print_message("        va queue 0: %s\n", xsk_mode(x));
	if (want_mode)
		assert_string_equal(xsk_mode(x), want_mode);
	/* The mode reported is the mode the program really runs in. */
	assert_int_equal(xdp_attach_mode("va"),
			 strstr(xsk_mode(x), "drv") ? XDP_ATTACHED_DRV : XDP_ATTACHED_SKB);
	assert_true(xsk_fd(x) >= 0);

	drain(bfd);
	send_arps(bfd, 10, NFRAMES);
	expect_rx(x, 10);
	/* Nothing reached A's stack, so nobody answered. */
	assert_false(arp_reply_seen(bfd, 200));

	drain(bfd);
	expect_tx(x, bfd);

	assert_int_equal(xsk_stats(x, &st), 0);
	assert_true(st.rx_packets >= NFRAMES);
	assert_true(st.rx_bytes >= NFRAMES * ARP_LEN);
	assert_int_equal(st.tx_packets, NFRAMES);
	assert_int_equal(st.tx_errors, 1);
	assert_int_equal(st.rx_dropped, 0);
	xsk_close(x);

	/* The interface is given back unchanged. */
	assert_int_equal(xdp_attach_mode("va"), XDP_ATTACHED_NONE);
	drain(bfd);
	send_arps(bfd, 0, 1);
	assert_true(arp_reply_seen(bfd, 1000));
	close(bfd);
}

static void test_auto(void **state)
{
	(void)state;
	traffic(XSK_XDP_AUTO, XSK_BIND_AUTO, NULL);
}

static void test_skb_copy(void **state)
{
	(void)state;
	traffic(XSK_XDP_SKB, XSK_BIND_COPY, "copy/skb");
}

static void test_drv(void **state)
{
	(void)state;
	traffic(XSK_XDP_DRV, XSK_BIND_AUTO, NULL);
}

static void expect_fail(const struct xsk_params *p, int want_errno)
{
	char err[ERR_LEN];
	struct xsk *x;

	errno = 0;
	x = xsk_open(p, err);
	if (x)
		xsk_close(x);
	assert_null(x);
	if (errno != want_errno)
		print_message("got %s: %s\n", strerror(errno), err);
	assert_int_equal(errno, want_errno);
	assert_true(err[0] != '\0');
}

static void test_bad_params(void **state)
{
	struct xsk_params p = { .ifname = "nosuch0" };

	(void)state;
	SKIP_IF_NEEDED();
	expect_fail(&p, ENODEV);
	p.ifname = "va";
	p.frame_size = 3000;
	expect_fail(&p, EINVAL);
	p.frame_size = 0;
	p.rx_size = 1000;
	expect_fail(&p, EINVAL);
	p.rx_size = 0;
	p.frame_num = 10;
	expect_fail(&p, EINVAL);
	p.frame_num = 0;
	p.xdp = XSK_XDP_SKB;
	p.bind = XSK_BIND_ZEROCOPY;
	expect_fail(&p, EINVAL);
	p.xdp = XSK_XDP_AUTO;
	p.bind = XSK_BIND_AUTO;
	p.queue_id = 5;
	expect_fail(&p, EINVAL);
	/* Failures leave nothing behind. */
	assert_int_equal(xdp_attach_mode("va"), XDP_ATTACHED_NONE);
}

static void test_zerocopy_forced(void **state)
{
	struct xsk_params p = { .ifname = "va", .bind = XSK_BIND_ZEROCOPY };
	char err[ERR_LEN];
	struct xsk *x;

	(void)state;
	SKIP_IF_NEEDED();
	x = xsk_open(&p, err);
	if (x) {
		/* A veth that learned zero-copy: then say so. */
		assert_true(xsk_zerocopy(x));
		assert_string_equal(xsk_mode(x), "zero-copy/drv");
		xsk_close(x);
	} else {
		print_message("        forced zero-copy on veth: %s\n", err);
		assert_int_equal(errno, EOPNOTSUPP);
	}
	assert_int_equal(xdp_attach_mode("va"), XDP_ATTACHED_NONE);
}

static void test_two_queues(void **state)
{
	struct xsk_params p = { .ifname = "wa", .frame_num = 256, .rx_size = 256,
				.tx_size = 256 };
	struct xsk *q0, *q1;
	char err[ERR_LEN];

	(void)state;
	SKIP_IF_NEEDED();
	q0 = xsk_open(&p, err);
	assert_non_null(q0);
	p.queue_id = 1;
	/* The second socket follows the program's mode, whatever asked. */
	q1 = xsk_open(&p, err);
	assert_non_null(q1);
	assert_string_equal(xsk_mode(q0), xsk_mode(q1));
	p.queue_id = 0;
	expect_fail(&p, EBUSY);

	xsk_close(q0);
	assert_int_not_equal(xdp_attach_mode("wa"), XDP_ATTACHED_NONE);
	xsk_close(q1);
	assert_int_equal(xdp_attach_mode("wa"), XDP_ATTACHED_NONE);
}

static struct xsk *open_ok(const struct xsk_params *p)
{
	char err[ERR_LEN];
	struct xsk *x = xsk_open(p, err);

	if (!x)
		print_message("xsk_open: %s (%s)\n", err, strerror(errno));
	assert_non_null(x);
	return x;
}

/* Which UMEM frames and how many descriptors per frame each MTU gets. */
static void test_mtu(void **state)
{
	struct xsk_params p = { .ifname = "va" };
	struct xsk *x;

	(void)state;
	SKIP_IF_NEEDED();
	/* Fits one 4096-byte frame: single-buffer. */
	assert_int_equal(sh_quiet("ip link set va mtu 3000"), 0);
	x = open_ok(&p);
	assert_int_equal(xsk_frame_size(x), 4096);
	assert_int_equal(xsk_max_len(x), 4096);
	xsk_close(x);
	/* 2048-byte frames asked for: each frame may take several. */
	p.frame_size = 2048;
	x = open_ok(&p);
	assert_int_equal(xsk_frame_size(x), 2048);
	assert_int_equal(xsk_max_len(x), XSK_TX_FRAGS_MAX * 2048);
	xsk_close(x);

	/* Jumbo: 4096-byte frames, multi-buffer. */
	assert_int_equal(sh_quiet("ip link set va mtu 9000"), 0);
	p.frame_size = 0;
	x = open_ok(&p);
	assert_int_equal(xsk_frame_size(x), 4096);
	assert_int_equal(xsk_max_len(x), XSK_TX_FRAGS_MAX * 4096);
	xsk_close(x);

	/* More descriptors than a frame may take. */
	assert_int_equal(sh_quiet("ip link set va mtu 40000"), 0);
	p.frame_size = 2048;
	expect_fail(&p, EINVAL);
	p.frame_size = 0;
	x = open_ok(&p);
	assert_true(xsk_max_len(x) >= 40000 + 18);
	xsk_close(x);
	assert_int_equal(sh_quiet("ip link set va mtu 1500"), 0);
	assert_int_equal(xdp_attach_mode("va"), XDP_ATTACHED_NONE);
}

#define JUMBO 9014 /* MTU 9000 plus the Ethernet header */

/* A test frame of len bytes from src to dst: seed in byte 14, then a pattern. */
static void make_frame(uint8_t *f, uint32_t len, const uint8_t *dst, const uint8_t *src,
		       uint8_t seed)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETH_P_TEST >> 8;
	f[13] = ETH_P_TEST & 0xff;
	for (uint32_t i = 14; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7 + (i >> 8));
	f[14] = seed;
}

/*
 * Receive on x the frames B sent, of lengths len[0..n), seeds first..: each
 * whole, in order. Returns the size of the largest burst.
 */
static uint32_t expect_rx_frames(struct xsk *x, const uint32_t *len, uint32_t n, uint8_t first)
{
	static uint8_t want[JUMBO];
	struct kframe fr[64];
	int64_t end = now_ms() + 3000;
	uint32_t next = 0, most = 0;

	while (next < n && now_ms() < end) {
		struct pollfd pfd = { .fd = xsk_fd(x), .events = POLLIN };
		uint32_t got, i;

		poll(&pfd, 1, 100);
		got = xsk_rx_burst(x, fr, 64);
		most = got > most ? got : most;
		for (i = 0; i < got; i++) {
			const uint8_t *f = fr[i].data;

			if (fr[i].len < 15 || f[12] != ETH_P_TEST >> 8 ||
			    f[13] != (ETH_P_TEST & 0xff))
				continue;
			assert_true(next < n);
			assert_int_equal(f[14], (uint8_t)(first + next));
			assert_int_equal(fr[i].len, len[next]);
			make_frame(want, len[next], mac_a, mac_b, (uint8_t)(first + next));
			assert_memory_equal(f, want, len[next]);
			next++;
		}
		xsk_rx_release(x, got);
	}
	assert_int_equal(next, n);
	return most;
}

/*
 * Jumbo frames through an xsk on va, MTU 9000 on both ends, in XDP mode
 * xdp: RX frames of one and of several descriptors, mixed, arrive whole and
 * in order; a burst of more jumbo frames than the RX scratch holds ends
 * early and the rest follows; TX frames of several descriptors arrive whole
 * at B; counters count frames.
 */
static void jumbo(enum xsk_xdp_mode xdp, uint32_t want_attach)
{
	static const uint32_t mixed[] = { 60, JUMBO, 1500, 4000, JUMBO, 60, 3800, 8192, JUMBO };
	const uint32_t nmixed = sizeof(mixed) / sizeof(mixed[0]), nmany = 40;
	static uint8_t f[XSK_TX_FRAGS_MAX * 4096 + 1], in[16384];
	struct xsk_params p = { .ifname = "va", .xdp = xdp };
	uint32_t many[40], i, sent = 0, seen = 0, most;
	struct kframe fr[16];
	struct xsk_stats st;
	int64_t end;
	struct xsk *x;
	int bfd;

	SKIP_IF_NEEDED();
	assert_int_equal(sh_quiet("ip link set va mtu 9000"), 0);
	assert_int_equal(sh_quiet("ip -n %s link set vb mtu 9000", ns_b), 0);
	bfd = b_socket("vb");
	x = open_ok(&p);
	print_message("        va queue 0 at MTU 9000: %s\n", xsk_mode(x));
	/* Our frags-aware program is attached in the mode asked for. */
	assert_int_equal(xdp_attach_mode("va"), want_attach);
	assert_int_equal(xsk_frame_size(x), 4096);

	/* RX: single- and multi-buffer frames, mixed. */
	for (i = 0; i < nmixed; i++) {
		make_frame(f, mixed[i], mac_a, mac_b, (uint8_t)(100 + i));
		assert_int_equal(send(bfd, f, mixed[i], 0), (ssize_t)mixed[i]);
	}
	expect_rx_frames(x, mixed, nmixed, 100);
	/* RX: 40 jumbo frames (360 KB) wait in the ring; the scratch holds
	 * 29, so the first burst ends early, and the rest comes after. */
	for (i = 0; i < nmany; i++) {
		many[i] = JUMBO;
		make_frame(f, JUMBO, mac_a, mac_b, (uint8_t)(150 + i));
		assert_int_equal(send(bfd, f, JUMBO, 0), JUMBO);
	}
	usleep(200000);
	most = expect_rx_frames(x, many, nmany, 150);
	assert_true(most >= 1 && most <= XSK_RX_SCRATCH / JUMBO);

	/* TX: the same mix, plus one frame over the longest accepted. */
	drain(bfd);
	for (i = 0; i < nmixed; i++) {
		fr[i].data = malloc(mixed[i]);
		fr[i].len = mixed[i];
		make_frame(fr[i].data, mixed[i], mac_b, mac_a, (uint8_t)(200 + i));
	}
	fr[nmixed].data = f;
	fr[nmixed].len = xsk_max_len(x) + 1;
	end = now_ms() + 3000;
	while (sent < nmixed + 1 && now_ms() < end)
		sent += xsk_tx_burst(x, fr + sent, nmixed + 1 - sent);
	assert_int_equal(sent, nmixed + 1);
	while (seen < nmixed && now_ms() < end) {
		struct pollfd pfd = { .fd = bfd, .events = POLLIN };
		ssize_t n;

		xsk_tx_burst(x, NULL, 0);
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recv(bfd, in, sizeof(in), MSG_DONTWAIT);
		if (n < 15 || in[12] != ETH_P_TEST >> 8 || in[13] != (ETH_P_TEST & 0xff))
			continue;
		/* Whole, and in order. */
		assert_int_equal(in[14], (uint8_t)(200 + seen));
		assert_int_equal(n, mixed[seen]);
		assert_memory_equal(in, fr[seen].data, mixed[seen]);
		seen++;
	}
	assert_int_equal(seen, nmixed);
	for (i = 0; i < nmixed; i++)
		free(fr[i].data);

	/* Frames, not descriptors. */
	assert_int_equal(xsk_stats(x, &st), 0);
	assert_int_equal(st.rx_packets, nmixed + nmany);
	assert_int_equal(st.tx_packets, nmixed);
	assert_int_equal(st.tx_errors, 1);
	assert_int_equal(st.rx_dropped, 0);
	xsk_close(x);
	close(bfd);
	assert_int_equal(xdp_attach_mode("va"), XDP_ATTACHED_NONE);
	assert_int_equal(sh_quiet("ip link set va mtu 1500"), 0);
	assert_int_equal(sh_quiet("ip -n %s link set vb mtu 1500", ns_b), 0);
}

static void test_jumbo_drv(void **state)
{
	(void)state;
	jumbo(XSK_XDP_DRV, XDP_ATTACHED_DRV);
}

static void test_jumbo_skb(void **state)
{
	(void)state;
	jumbo(XSK_XDP_SKB, XDP_ATTACHED_SKB);
}

/*
 * Many more frames than a small UMEM holds, both ways: the fill ring, the
 * TX free list and the completion ring must all wrap. Copy-mode TX bursts
 * above the kernel's 32-frame batch need repeated kicks.
 */
static void test_wrap(void **state)
{
	struct xsk_params p = { .ifname = "va", .frame_num = 128, .rx_size = 64,
				.tx_size = 64, .xdp = XSK_XDP_SKB };
	struct kframe fr[64];
	uint8_t f[2048] = { 0 };
	uint32_t got = 0, sent = 0, arrived = 0, round, i;
	char err[ERR_LEN];
	struct xsk_stats st;
	int64_t end;
	struct xsk *x;
	int bfd;

	(void)state;
	SKIP_IF_NEEDED();
	bfd = b_socket("vb");
	x = xsk_open(&p, err);
	assert_non_null(x);
	memcpy(f, mac_a, 6);
	memcpy(f + 6, mac_b, 6);
	f[12] = ETH_P_TEST >> 8;
	f[13] = ETH_P_TEST & 0xff;
	/* RX: 20 rounds of 40 frames into 64 RX frames. */
	for (round = 0; round < 20; round++) {
		uint32_t want = got + 40;

		for (i = 0; i < 40; i++)
			assert_int_equal(send(bfd, f, 60, 0), 60);
		end = now_ms() + 1000;
		while (got < want && now_ms() < end) {
			uint32_t n = xsk_rx_burst(x, fr, 64);

			for (i = 0; i < n; i++)
				got += fr[i].len == 60 && ((uint8_t *)fr[i].data)[12] == 0x88;
			xsk_rx_release(x, n);
		}
		assert_int_equal(got, want);
	}

	/* TX: 1000 frames through 64 TX frames. */
	drain(bfd);
	memcpy(f, mac_b, 6);
	memcpy(f + 6, mac_a, 6);
	for (i = 0; i < 64; i++) {
		fr[i].data = f;
		fr[i].len = 60;
	}
	end = now_ms() + 3000;
	while (arrived < 1000 && now_ms() < end) {
		struct pollfd pfd = { .fd = bfd, .events = POLLIN };
		uint8_t in[2048];

		if (sent < 1000)
			sent += xsk_tx_burst(x, fr, 1000 - sent < 64 ? 1000 - sent : 64);
		else
			xsk_tx_burst(x, NULL, 0);
		while (poll(&pfd, 1, sent < 1000 ? 0 : 50) > 0 &&
		       recv(bfd, in, sizeof(in), MSG_DONTWAIT) == 60)
			arrived += in[12] == 0x88 && in[13] == 0xb5 && !memcmp(in, mac_b, 6);
	}
	assert_int_equal(sent, 1000);
	assert_int_equal(arrived, 1000);
	assert_int_equal(xsk_stats(x, &st), 0);
	assert_int_equal(st.rx_packets, 800);
	assert_int_equal(st.tx_packets, 1000);
	assert_int_equal(st.tx_errors, 0);
	assert_int_equal(st.rx_dropped, 0);
	xsk_close(x);
	close(bfd);
}

/* A foreign XDP program on the interface is refused, and left alone. */
static void test_foreign_prog(void **state)
{
	static const char obj[] = "/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_all.o";
	struct xsk_params p = { .ifname = "va" };

	(void)state;
	SKIP_IF_NEEDED();
	if (access(obj, R_OK) || sh_quiet("ip link set va xdpgeneric obj %s sec xdp", obj)) {
		print_message("[  SKIP    ] cannot attach %s\n", obj);
		skip();
	}
	expect_fail(&p, EEXIST);
	assert_int_equal(xdp_attach_mode("va"), XDP_ATTACHED_SKB);
	assert_int_equal(sh_quiet("ip link set va xdpgeneric off"), 0);
	assert_int_equal(xdp_attach_mode("va"), XDP_ATTACHED_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_skb_copy),
		cmocka_unit_test(test_drv),
		cmocka_unit_test(test_zerocopy_forced),
		cmocka_unit_test(test_two_queues),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_mtu),
		cmocka_unit_test(test_jumbo_drv),
		cmocka_unit_test(test_jumbo_skb),
		cmocka_unit_test(test_foreign_prog),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
