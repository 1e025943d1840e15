/* SPDX-License-Identifier: BSD-2-Clause */
/* test_tap: tap ports against the real kernel, inside network namespaces the test creates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netns.h"
#include "tap.h"

/*
 * Topology: the test process lives in a private namespace of its own (so
 * nothing it does can touch the host's), and plays the "wire" of a tap whose
 * interface sits in the namespace NS:
 *
 *   test process                       netns NS ("valetap<pid>")
 *   +--------------------+  tap fds   +-----------------------------+
 *   | wire: 10.99.0.1    |<==========>| vt<pid>x  10.99.0.2/24      |
 *   | 02:00:00:99:00:01  |            | pinger / TCP client (forked) |
 *   +--------------------+            +-----------------------------+
 *
 * The wire answers ARP for 10.99.0.1, ICMP echo, and a TCP SYN to port
 * 5001 (with a SYN-ACK), all by hand through tap_read/tap_write.
 */

#define H TAP_VNET_HDR_LEN
#define PEER_IP 0x0a630001u /* 10.99.0.1: the wire */
#define NS_IP 0x0a630002u   /* 10.99.0.2: the namespace's side */
#define TCP_PORT 5001
#define ETH_LEN 14

static const uint8_t PEER_MAC[6] = {0x02, 0x00, 0x00, 0x99, 0x00, 0x01};

static char g_ns[32]; /* the namespace this test made */
static bool g_ready;  /* capabilities, tools and the namespace are there */
static bool g_ns_made;
static uint8_t g_frame[TAP_READ_ROOM];

/* ---- shell helpers ---------------------------------------------------- */

/* First line of a command's output, without the newline ("" when none). */
__attribute__((format(printf, 3, 4))) static void sh_line(char *out, size_t room, const char *fmt,
							  ...)
{
	char cmd[512];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = 0;
	f = popen(cmd, "r");
	if (!f)
		return;
	if (!fgets(out, (int)room, f))
		out[0] = 0;
	out[strcspn(out, "\n")] = 0;
	pclose(f);
}

static void ifname(char out[16], const char *suffix)
{
	snprintf(out, 16, "vt%d%s", (int)getpid(), suffix);
}

/* ---- the namespaces ----------------------------------------------------- */

static bool have_caps(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return false;
	return (d[0].effective & (1u << CAP_NET_ADMIN)) && (d[0].effective & (1u << CAP_SYS_ADMIN));
}

static void world_fini(void)
{
	if (g_ns_made)
		sh_quiet("ip netns del %s", g_ns);
	g_ns_made = false;
}

static void world_init(void)
{
	if (!have_caps()) {
		fprintf(stderr, "test_tap: no CAP_NET_ADMIN/CAP_SYS_ADMIN, skipping\n");
		return;
	}
	if (access("/dev/net/tun", R_OK | W_OK) || sh_quiet("ip -V")) {
		fprintf(stderr, "test_tap: no /dev/net/tun or no ip(8), skipping\n");
		return;
	}
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "test_tap: unshare(CLONE_NEWNET): %s, skipping\n", strerror(errno));
		return;
	}
	snprintf(g_ns, sizeof(g_ns), "valetap%d", (int)getpid());
	if (sh_quiet("ip netns add %s", g_ns)) {
		fprintf(stderr, "test_tap: ip netns add failed, skipping\n");
		return;
	}
	g_ns_made = true;
	atexit(world_fini);
	/* IPv6 would add router solicitations and DAD to what the wire reads. */
	sh_quiet("ip netns exec %s sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
		 "net.ipv6.conf.default.disable_ipv6=1",
		 g_ns);
	g_ready = true;
}

static int group_teardown(void **state)
{
	(void)state;
	world_fini();
	return 0;
}

#define NEED_WORLD()                                                                               \
	do {                                                                                       \
		if (!g_ready)                                                                      \
			skip();                                                                    \
	} while (0)

static struct tap *make_tap(const char *suffix, struct tap_params *p, char name[16])
{
	char err[ERR_LEN] = "";
	struct tap *t;

	ifname(name, suffix);
	p->name = name;
	p->netns = g_ns;
	t = tap_create(p, err);
	if (!t)
		fail_msg("tap_create: %s (%s)", err, strerror(errno));
	return t;
}

static void add_addr(const char *name)
{
	assert_int_equal(sh_quiet("ip -n %s addr add 10.99.0.2/24 dev %s", g_ns, name), 0);
}

static bool link_exists(const char *name)
{
	return sh_quiet("ip -n %s link show %s", g_ns, name) == 0;
}

/* ---- packets ------------------------------------------------------------ */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (; n > 1; n -= 2, p += 2)
		s += get16(p);
	if (n)
		s += (uint32_t)p[0] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put_eth(uint8_t *e, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(e, dst, 6);
	memcpy(e + 6, src, 6);
	put16(e + 12, type);
}

/* An ARP packet (28 bytes) at a. */
static void put_arp(uint8_t *a, uint16_t op, const uint8_t *sha, uint32_t spa, const uint8_t *tha,
		    uint32_t tpa)
{
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	put32(a + 14, spa);
	memcpy(a + 18, tha, 6);
	put32(a + 24, tpa);
}

/* ---- the wire ----------------------------------------------------------- */

struct wire {
	struct tap *t;
	unsigned arp_requests; /* who-has 10.99.0.1 */
	unsigned arp_hdr_nonzero;
	unsigned echo_replies;
	unsigned syns;
	unsigned gso_frames; /* TCP frames read with a GSO type */
	unsigned gso_type;
	unsigned gso_size;
	unsigned gso_len;     /* longest GSO frame, header included */
	unsigned gso_partial; /* ... of which with NEEDS_CSUM */
};

static void reply_arp(struct wire *w, const uint8_t *f)
{
	const uint8_t *a = f + H + ETH_LEN;
	uint8_t r[H + ETH_LEN + 28] = {0};

	if (get16(a + 6) != 1 || get32(a + 24) != PEER_IP)
		return;
	w->arp_requests++;
	for (int i = 0; i < H; i++)
		w->arp_hdr_nonzero += f[i] != 0;
	put_eth(r + H, a + 8, PEER_MAC, 0x0806);
	put_arp(r + H + ETH_LEN, 2, PEER_MAC, PEER_IP, a + 8, get32(a + 14));
	assert_int_equal(tap_write(w->t, 0, r, sizeof(r)), sizeof(r));
}

static void reply_echo(struct wire *w, const uint8_t *f, size_t n)
{
	static uint8_t r[TAP_READ_ROOM];
	uint8_t *ip = r + H + ETH_LEN, *icmp;
	uint32_t src;
	size_t ihl, tot;

	memcpy(r, f, n);
	memset(r, 0, H);
	put_eth(r + H, f + H + 6, PEER_MAC, 0x0800);
	ihl = (size_t)(ip[0] & 15) * 4;
	tot = get16(ip + 2);
	src = get32(ip + 12);
	/* Swapping the addresses keeps the IP header checksum right. */
	memcpy(ip + 12, ip + 16, 4);
	put32(ip + 16, src);
	icmp = ip + ihl;
	icmp[0] = 0;
	put16(icmp + 2, 0);
	put16(icmp + 2, fold(sum16(icmp, tot - ihl, 0)));
	w->echo_replies++;
	assert_int_equal(tap_write(w->t, 0, r, n), n);
}

static void reply_syn(struct wire *w, const uint8_t *f)
{
	const uint8_t *ip = f + H + ETH_LEN, *tcp = ip + (ip[0] & 15) * 4;
	uint8_t r[H + ETH_LEN + 20 + 24] = {0};
	uint8_t *rip = r + H + ETH_LEN, *rtcp = rip + 20;
	uint32_t s;

	w->syns++;
	put_eth(r + H, f + H + 6, PEER_MAC, 0x0800);
	rip[0] = 0x45;
	put16(rip + 2, 20 + 24);
	put16(rip + 6, 0x4000);
	rip[8] = 64;
	rip[9] = 6;
	put32(rip + 12, PEER_IP);
	memcpy(rip + 16, ip + 12, 4);
	put16(rip + 10, fold(sum16(rip, 20, 0)));
	put16(rtcp, TCP_PORT);
	memcpy(rtcp + 2, tcp, 2);
	put32(rtcp + 4, 1000);
	put32(rtcp + 8, get32(tcp + 4) + 1);
	rtcp[12] = 6 << 4;
	rtcp[13] = 0x12; /* SYN ACK */
	put16(rtcp + 14, 65535);
	rtcp[20] = 2; /* MSS 1460 */
	rtcp[21] = 4;
	put16(rtcp + 22, 1460);
	s = sum16(rip + 12, 8, 6 + 24); /* pseudo header: addresses, protocol, length */
	put16(rtcp + 16, fold(sum16(rtcp, 24, s)));
	assert_int_equal(tap_write(w->t, 0, r, sizeof(r)), sizeof(r));
}

static void wire_frame(struct wire *w, const uint8_t *f, size_t n)
{
	const uint8_t *ip = f + H + ETH_LEN, *l4;

	assert_true(n >= H + ETH_LEN);
	if (get16(f + H + 12) == 0x0806 && n >= H + ETH_LEN + 28) {
		reply_arp(w, f);
		return;
	}
	if (get16(f + H + 12) != 0x0800 || get32(ip + 16) != PEER_IP)
		return;
	l4 = ip + (ip[0] & 15) * 4;
	if (ip[9] == 1 && l4[0] == 8)
		reply_echo(w, f, n);
	if (ip[9] != 6 || get16(l4 + 2) != TCP_PORT)
		return;
	if ((l4[13] & 0x12) == 0x02)
		reply_syn(w, f);
	if (f[1] != 0) {
		w->gso_frames++;
		w->gso_type = f[1];
		w->gso_size = f[4] | f[5] << 8; /* little endian */
		w->gso_partial += f[0] & 1;
		if (n > w->gso_len)
			w->gso_len = (unsigned)n;
	}
}

/* Serve every frame waiting on any queue, waiting up to ms for the first. */
static void wire_serve(struct wire *w, int ms)
{
	struct pollfd pfd[TAP_QUEUES_MAX];
	uint32_t nq = tap_queues(w->t);
	ssize_t n;

	for (uint32_t q = 0; q < nq; q++)
		pfd[q] = (struct pollfd){.fd = tap_fd(w->t, q), .events = POLLIN};
	if (poll(pfd, nq, ms) <= 0)
		return;
	for (uint32_t q = 0; q < nq; q++)
		while ((n = tap_read(w->t, q, g_frame, sizeof(g_frame))) > 0)
			wire_frame(w, g_frame, (size_t)n);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- programs run inside the namespace (forked children) ---------------- */

/* ping -c 2 -W 1 10.99.0.1, by hand (iputils may be missing): 0 when both replies came. */
static int pinger(void)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(PEER_IP)};
	uint16_t id = (uint16_t)getpid();
	uint8_t req[64], buf[2048];
	int s, got = 0;

	s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (s < 0)
		return 91;
	for (uint16_t seq = 0; seq < 2; seq++) {
		double end = now() + 1.5;

		memset(req, 0xa5, sizeof(req));
		req[0] = 8;
		req[1] = 0;
		put16(req + 2, 0);
		put16(req + 4, id);
		put16(req + 6, seq);
		put16(req + 2, fold(sum16(req, sizeof(req), 0)));
		if (sendto(s, req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			return 92;
		while (now() < end) {
			struct pollfd pfd = {.fd = s, .events = POLLIN};
			const uint8_t *icmp;
			ssize_t n;

			if (poll(&pfd, 1, 100) <= 0)
				continue;
			n = recv(s, buf, sizeof(buf), 0);
			if (n < 28)
				continue;
			icmp = buf + (buf[0] & 15) * 4;
			if (icmp[0] == 0 && get16(icmp + 4) == id && get16(icmp + 6) == seq &&
			    fold(sum16(icmp, (size_t)(n - (icmp - buf)), 0)) == 0) {
				got++;
				break;
			}
		}
	}
	return got == 2 ? 0 : 1;
}

/* Connect to 10.99.0.1:5001 and queue a large write; hold the socket until killed. */
static int talker(void)
{
	struct sockaddr_in to = {
	    .sin_family = AF_INET, .sin_port = htons(TCP_PORT), .sin_addr.s_addr = htonl(PEER_IP)};
	struct timeval tv = {.tv_sec = 3};
	static uint8_t data[60000];
	int s;

	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return 91;
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&to, sizeof(to)))
		return 92;
	memset(data, 'v', sizeof(data));
	if (send(s, data, sizeof(data), MSG_DONTWAIT) <= 0)
		return 93;
	sleep(3);
	return 0;
}

static pid_t spawn(int (*fn)(void))
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (netns_enter(g_ns))
			_exit(90);
		_exit(fn());
	}
	return pid;
}

/* ---- tests --------------------------------------------------------------- */

/* Both directions: the namespace pings the wire; ARP and echo go through the tap. */
static void test_ping_both_ways(void **state)
{
	struct tap_params p = {0};
	struct tap_stats st;
	struct wire w = {0};
	char name[16];
	int status = -1;
	pid_t pid, r = 0;
	double end;

	(void)state;
	NEED_WORLD();
	w.t = make_tap("p", &p, name);
	assert_non_null(w.t);
	assert_int_equal(tap_hdr_len(w.t), H);
	add_addr(name);

	pid = spawn(pinger);
	for (end = now() + 6; now() < end;) {
		wire_serve(&w, 50);
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
	}
	if (r != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(w.arp_requests >= 1);
	assert_int_equal(w.arp_hdr_nonzero, 0); /* ARP: flags 0, no GSO */
	assert_true(w.echo_replies >= 2);

	tap_stats(w.t, &st);
	assert_true(st.rx_packets >= 3);
	assert_true(st.tx_packets >= 3);
	assert_true(st.tx_bytes >= 42 + 2 * (14 + 20 + 64));
	assert_int_equal(st.rx_errors, 0);
	assert_int_equal(st.tx_errors, 0);

	tap_destroy(w.t);
	assert_false(link_exists(name));
}

/*
 * Offloads: a TCP client in the namespace writes 60 kB; once the wire
 * completed the handshake, the kernel hands the tap whole TSO frames
 * (GSO_TCPV4, NEEDS_CSUM) longer than the MTU, which it only does because
 * TUNSETOFFLOAD took.
 */
static void test_tso(void **state)
{
	struct tap_params p = {0};
	struct wire w = {0};
	char name[16];
	int status;
	pid_t pid;
	double end;

	(void)state;
	NEED_WORLD();
	w.t = make_tap("t", &p, name);
	assert_non_null(w.t);
	add_addr(name);

	pid = spawn(talker);
	for (end = now() + 5; now() < end && !w.gso_frames;) {
		wire_serve(&w, 50);
		if (waitpid(pid, &status, WNOHANG) == pid) {
			pid = 0;
			break;
		}
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	assert_true(w.syns >= 1);
	assert_true(w.gso_frames >= 1);
	assert_int_equal(w.gso_type, 1); /* VIRTIO_NET_HDR_GSO_TCPV4 */
	assert_int_equal(w.gso_size, 1460);
	assert_true(w.gso_len > H + ETH_LEN + 1500);
	assert_int_equal(w.gso_partial, w.gso_frames);
	tap_destroy(w.t);
}

/* tap_readv/tap_writev, truncation, a refused write, and frames without the header. */
static void test_read_write(void **state)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint8_t hdr[H] = {0}, eth[ETH_LEN + 28], small[30], mac[6];
	struct tap_params p = {0};
	struct tap_stats st;
	struct tap *t;
	char name[16];
	ssize_t n;

	(void)state;
	NEED_WORLD();
	for (int bare = 0; bare < 2; bare++) {
		uint32_t h = bare ? 0 : H;
		struct iovec out[2] = {{hdr, H}, {eth, sizeof(eth)}};
		struct iovec in[2] = {{hdr, h}, {g_frame, sizeof(g_frame)}};
		struct pollfd pfd;

		p.no_vnet_hdr = bare;
		t = make_tap(bare ? "b" : "r", &p, name);
		assert_non_null(t);
		assert_int_equal(tap_hdr_len(t), h);
		add_addr(name);
		tap_mac(t, mac);

		/* Ask the namespace who has 10.99.0.2: its answer is a frame to read. */
		put_eth(eth, bcast, PEER_MAC, 0x0806);
		put_arp(eth + ETH_LEN, 1, PEER_MAC, PEER_IP, bcast, NS_IP);
		for (int round = 0; round < 2; round++) {
			n = bare ? tap_writev(t, 0, out + 1, 1) : tap_writev(t, 0, out, 2);
			assert_int_equal(n, h + sizeof(eth));
			pfd = (struct pollfd){.fd = tap_fd(t, 0), .events = POLLIN};
			assert_int_equal(poll(&pfd, 1, 2000), 1);
			if (round == 0) {
				/* Too small: the frame is dropped and counted, never cut. */
				assert_int_equal(tap_read(t, 0, small, sizeof(small)), -EMSGSIZE);
				continue;
			}
			n = bare ? tap_readv(t, 0, in + 1, 1) : tap_readv(t, 0, in, 2);
			assert_int_equal(n, h + ETH_LEN + 28);
			assert_memory_equal(g_frame, PEER_MAC, 6);
			assert_memory_equal(g_frame + 6, mac, 6);
			assert_int_equal(get16(g_frame + 12), 0x0806);
			assert_int_equal(get16(g_frame + ETH_LEN + 6), 2); /* reply */
			assert_int_equal(get32(g_frame + ETH_LEN + 14), NS_IP);
		}
		assert_int_equal(tap_read(t, 0, g_frame, sizeof(g_frame)), -EAGAIN);

		/* A frame shorter than an Ethernet header is refused by the kernel. */
		memset(small, 0, sizeof(small));
		n = tap_write(t, 0, small, h + 5);
		assert_true(n < 0 && n != -EAGAIN);
		assert_int_equal(tap_read(t, 1, g_frame, sizeof(g_frame)), -EINVAL);
		assert_int_equal(tap_write(t, 1, eth, sizeof(eth)), -EINVAL);

		tap_stats(t, &st);
		assert_int_equal(st.rx_packets, 1);
		assert_int_equal(st.rx_bytes, ETH_LEN + 28);
		assert_int_equal(st.rx_errors, 1);
		assert_int_equal(st.tx_packets, 2);
		assert_int_equal(st.tx_bytes, 2 * sizeof(eth));
		assert_int_equal(st.tx_errors, 1);
		tap_destroy(t);
	}
}

/* Multi-queue: N fds, N queues on the interface, and it goes with them. */
static void test_multiqueue(void **state)
{
	struct tap_params p = {.queues = 4};
	char name[16];
	struct tap *t;

	(void)state;
	NEED_WORLD();
	t = make_tap("m", &p, name);
	assert_non_null(t);
	assert_int_equal(tap_queues(t), 4);
	for (uint32_t i = 0; i < 4; i++) {
		assert_true(tap_fd(t, i) >= 0);
		assert_true(fcntl(tap_fd(t, i), F_GETFL) & O_NONBLOCK);
		assert_true(fcntl(tap_fd(t, i), F_GETFD) & FD_CLOEXEC);
		for (uint32_t j = 0; j < i; j++)
			assert_int_not_equal(tap_fd(t, i), tap_fd(t, j));
	}
	assert_int_equal(tap_fd(t, 4), -EINVAL);
	assert_int_equal(
	    sh_quiet("ip netns exec %s test -e /sys/class/net/%s/queues/tx-3", g_ns, name), 0);
	assert_int_not_equal(
	    sh_quiet("ip netns exec %s test -e /sys/class/net/%s/queues/tx-4", g_ns, name), 0);
	tap_destroy(t);
	assert_false(link_exists(name));
}

/* MTU 9000, a given MAC, up; then a kernel-chosen name and a random MAC. */
static void test_link_settings(void **state)
{
	struct tap_params p = {
	    .mtu = 9000, .has_mac = true, .mac = {0x02, 0x12, 0x34, 0x56, 0x78, 0x9a}};
	char name[16], line[128], err[ERR_LEN];
	uint8_t mac[6];
	struct tap *t;

	(void)state;
	NEED_WORLD();
	t = make_tap("l", &p, name);
	assert_non_null(t);
	assert_string_equal(tap_name(t), name);
	sh_line(line, sizeof(line), "ip netns exec %s cat /sys/class/net/%s/mtu", g_ns, name);
	assert_string_equal(line, "9000");
	sh_line(line, sizeof(line), "ip netns exec %s cat /sys/class/net/%s/address", g_ns, name);
	assert_string_equal(line, "02:12:34:56:78:9a");
	tap_mac(t, mac);
	assert_memory_equal(mac, p.mac, 6);
	sh_line(line, sizeof(line), "ip -n %s -o link show %s", g_ns, name);
	assert_non_null(strstr(line, ",UP"));
	tap_destroy(t);

	t = tap_create(&(struct tap_params){.netns = g_ns}, err);
	assert_non_null(t);
	assert_memory_equal(tap_name(t), "vale", 4);
	tap_mac(t, mac);
	assert_int_equal(mac[0] & 3, 2); /* unicast, locally administered */
	sh_line(line, sizeof(line), "ip netns exec %s cat /sys/class/net/%s/mtu", g_ns,
		tap_name(t));
	assert_string_equal(line, "1500");
	assert_true(link_exists(tap_name(t)));
	snprintf(line, sizeof(line), "%s", tap_name(t));
	tap_destroy(t);
	assert_false(link_exists(line));
}

/* No netns: the tap lives where the caller is (here, the test's private namespace). */
static void test_own_namespace(void **state)
{
	char name[16], line[256], err[ERR_LEN];
	struct tap *t;

	(void)state;
	NEED_WORLD();
	ifname(name, "o");
	t = tap_create(&(struct tap_params){.name = name, .queues = 2}, err);
	assert_non_null(t);
	sh_line(line, sizeof(line), "ip -o link show %s", name);
	assert_non_null(strstr(line, ",UP"));
	assert_false(link_exists(name));
	tap_destroy(t);
	assert_int_not_equal(sh_quiet("ip link show %s", name), 0);
}

static void expect_fail(const struct tap_params *p, int e, const char *words)
{
	char err[ERR_LEN] = "";

	errno = 0;
	assert_null(tap_create(p, err));
	assert_int_equal(errno, e);
	if (!strstr(err, words))
		fail_msg("'%s' lacks '%s'", err, words);
}

static void test_errors(void **state)
{
	char name[16], bad_ns[64], err[ERR_LEN];
	struct tap_params p = {0};
	struct tap *t;

	(void)state;
	NEED_WORLD();
	snprintf(bad_ns, sizeof(bad_ns), "nonexistent%d", (int)getpid());
	expect_fail(&(struct tap_params){.netns = bad_ns}, ENOENT, "does not exist (ip netns add");
	expect_fail(&(struct tap_params){.netns = "../x"}, EINVAL, "bad netns name");
	expect_fail(&(struct tap_params){.netns = g_ns, .name = "abcdefghijklmnop"}, ENAMETOOLONG,
		    "name too long");
	expect_fail(&(struct tap_params){.netns = g_ns, .name = "a b"}, EINVAL,
		    "invalid interface name");
	expect_fail(&(struct tap_params){.netns = g_ns, .mtu = 9001}, EINVAL, "mtu");
	expect_fail(&(struct tap_params){.netns = g_ns, .mtu = 67}, EINVAL, "mtu");
	expect_fail(&(struct tap_params){.netns = g_ns, .queues = 17}, EINVAL, "queues");
	expect_fail(&(struct tap_params){.netns = g_ns, .has_mac = true, .mac = {1, 2, 3, 4, 5, 6}},
		    EINVAL, "unicast");
	expect_fail(&(struct tap_params){.netns = g_ns, .name = "lo"}, EEXIST, "already exists");
	errno = 0;
	assert_null(tap_create(NULL, err));
	assert_int_equal(errno, EINVAL);

	/* A second tap of the same name, even multi-queue, must not attach to the first. */
	t = make_tap("e", &p, name);
	assert_non_null(t);
	expect_fail(&(struct tap_params){.netns = g_ns, .name = name}, EEXIST, "already exists");
	expect_fail(&(struct tap_params){.netns = g_ns, .name = name, .queues = 2}, EEXIST,
		    "already exists");
	assert_true(link_exists(name));
	tap_destroy(t);
	tap_destroy(NULL);
}

/* In a child, without cap in the effective set: tap_create fails with EPERM, naming it. */
static void expect_eperm_without(unsigned cap, const char *words)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	char err[ERR_LEN] = "", name[16];
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (syscall(SYS_capget, &h, d))
			_exit(91);
		d[0].effective &= ~(1u << cap);
		if (syscall(SYS_capset, &h, d))
			_exit(92);
		ifname(name, "c");
		if (tap_create(&(struct tap_params){.name = name, .netns = g_ns}, err))
			_exit(93);
		_exit(errno == EPERM && strstr(err, words) ? 0 : 94);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_permissions(void **state)
{
	(void)state;
	NEED_WORLD();
	expect_eperm_without(CAP_NET_ADMIN, "needs CAP_NET_ADMIN");
	expect_eperm_without(CAP_SYS_ADMIN, "needs CAP_SYS_ADMIN");
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_link_settings),
		cmocka_unit_test(test_own_namespace),
		cmocka_unit_test(test_multiqueue),
		cmocka_unit_test(test_read_write),
		cmocka_unit_test(test_ping_both_ways),
		cmocka_unit_test(test_tso),
	};
	/* clang-format on */

	world_init();
	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
