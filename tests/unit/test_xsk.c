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
 * answers again. Skipped when not root or AF_XDP is missing.
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

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd) - 32, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	strcat(cmd, " >/dev/null 2>&1");
	return system(cmd);
}

static int enter(const char *ns)
{
	char path[64];
	int fd, rc;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = setns(fd, CLONE_NEWNET) ? -errno : 0;
	close(fd);
	return rc;
}

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
	sh("ip netns del %s", ns_a);
	sh("ip netns del %s", ns_b);
	ns_made = false;
}

/* IPv6 off, so neither stack chatters on the links during the test. */
static int quiet_ns(const char *ns)
{
	if (enter(ns))
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
	if (sh("ip netns add %s", ns_a) || sh("ip netns add %s", ns_b) || quiet_ns(ns_a) ||
	    quiet_ns(ns_b) || enter(ns_a) ||
	    sh("ip link add va address 02:00:00:00:00:0a type veth peer name vb "
	       "address 02:00:00:00:00:0b netns %s", ns_b) ||
	    sh("ip link add wa numtxqueues 2 numrxqueues 2 type veth peer name wb "
	       "numtxqueues 2 numrxqueues 2 netns %s", ns_b) ||
	    sh("ip addr add 10.77.0.1/24 dev va") || sh("ip link set va up") ||
	    sh("ip link set wa up") || sh("ip -n %s addr add 10.77.0.2/24 dev vb", ns_b) ||
	    sh("ip -n %s link set vb up", ns_b) || sh("ip -n %s link set wb up", ns_b)) {
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

	assert_int_equal(enter(ns_b), 0);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	assert_true(fd >= 0);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	assert_int_equal(enter(ns_a), 0);
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
	struct xsk_frame fr[64];
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
	struct xsk_frame fr[NFRAMES + 1];
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
	fr[NFRAMES].len = xsk_frame_size(x) + 1;
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
	char err[XSK_ERR_LEN];
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
	char err[XSK_ERR_LEN];
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
	char err[XSK_ERR_LEN];
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
	char err[XSK_ERR_LEN];

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

static void test_mtu(void **state)
{
	struct xsk_params p = { .ifname = "va" };
	char err[XSK_ERR_LEN];
	struct xsk *x;

	(void)state;
	SKIP_IF_NEEDED();
	assert_int_equal(sh("ip link set va mtu 9000"), 0);
	expect_fail(&p, EOPNOTSUPP);
	x = xsk_open(&p, err);
	assert_null(x);
	print_message("        MTU 9000: %s\n", err);

	assert_int_equal(sh("ip link set va mtu 3000"), 0);
	p.frame_size = 2048;
	expect_fail(&p, EINVAL);
	p.frame_size = 0;
	x = xsk_open(&p, err);
	if (!x)
		print_message("xsk_open: %s\n", err);
	assert_non_null(x);
	assert_int_equal(xsk_frame_size(x), 4096);
	xsk_close(x);
	assert_int_equal(sh("ip link set va mtu 1500"), 0);
	assert_int_equal(xdp_attach_mode("va"), XDP_ATTACHED_NONE);
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
	struct xsk_frame fr[64];
	uint8_t f[2048] = { 0 };
	uint32_t got = 0, sent = 0, arrived = 0, round, i;
	char err[XSK_ERR_LEN];
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
	if (access(obj, R_OK) || sh("ip link set va xdpgeneric obj %s sec xdp", obj)) {
		print_message("[  SKIP    ] cannot attach %s\n", obj);
		skip();
	}
	expect_fail(&p, EEXIST);
	assert_int_equal(xdp_attach_mode("va"), XDP_ATTACHED_SKB);
	assert_int_equal(sh("ip link set va xdpgeneric off"), 0);
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
		cmocka_unit_test(test_foreign_prog),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
