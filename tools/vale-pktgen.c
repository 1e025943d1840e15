/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vale-pktgen - packet generator, sink and ping-pong over a vale port, in the
 * manner of netmap's pkt-gen. Links libvale only.
 *
 * Modes: tx (send prebuilt UDP frames), rx (count what arrives), txseq/rxseq
 * (a 64-bit sequence number in each payload; the receiver counts gaps and
 * reordering), ping/pong (round-trip latency). Per-second rates go to
 * stderr; with --json the last line on stdout is one JSON object with the
 * totals. Measure at the receiver: a sender reports what it offered.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vale/vale.h>

#define NS 1000000000ull
#define ETH_HLEN 14
#define IP_HLEN 20
#define UDP_HLEN 8
#define PAYLOAD_OFF (ETH_HLEN + IP_HLEN + UDP_HLEN) /* 42 */
#define MAGIC_OFF PAYLOAD_OFF			    /* 4 bytes: what the frame is */
#define VALUE_OFF (PAYLOAD_OFF + 4)		    /* 8 bytes: seq or timestamp */
#define LEN_MIN 60u				    /* Ethernet minimum without CRC */
#define LEN_MAX 65535u
#define BURST_DEFAULT 512u
#define PING_TIMEOUT_NS NS /* a ping without reply for 1 s counts as lost */
#define POLL_MS 100	   /* sleep granularity: signals and timers are seen this often */

/* Payload tags (host byte order: both ends run on one host). */
#define MAGIC_DATA 0x56504b44u /* "VPKD": tx, txseq */
#define MAGIC_PING 0x56504b50u /* "VPKP" */
#define MAGIC_PONG 0x56504b51u /* "VPKQ" */

enum mode { M_TX, M_RX, M_TXSEQ, M_RXSEQ, M_PING, M_PONG };

static const char *const mode_names[] = {
    [M_TX] = "tx",	 [M_RX] = "rx",	    [M_TXSEQ] = "txseq",
    [M_RXSEQ] = "rxseq", [M_PING] = "ping", [M_PONG] = "pong",
};

struct opts {
	const char *port;
	enum mode mode;
	uint32_t len;
	uint32_t burst;
	uint64_t count; /* 0: no limit */
	uint64_t rate;	/* packets (pings) per second, 0: no limit */
	uint64_t duration_ns;
	uint8_t src[6];
	uint8_t dst[6];
	bool have_src;
	bool json;
	bool busy; /* spin on syncs instead of sleeping in vale_poll */
	struct vale_open_params conf;
};

struct stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t t_first; /* ns: start (senders) or first packet (receivers) */
	uint64_t t_last;  /* ns: end (senders) or last packet (receivers) */
	/* rxseq */
	bool have_seq;
	uint64_t next_seq;
	uint64_t gaps;
	uint64_t out_of_order;
	/* ping */
	uint64_t *rtt;
	size_t n_rtt, cap_rtt;
	uint64_t lost;
};

/* The per-second line. */
struct meter {
	uint64_t t;	  /* ns of the last line */
	uint64_t packets; /* totals at the last line */
	uint64_t bytes;
	size_t n_rtt;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* ---- command line ---------------------------------------------------- */

static const struct option long_opts[] = {
    {"duration", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'j'},
    {"socket", required_argument, NULL, 's'},	{"busy", no_argument, NULL, 'B'},
    {"help", no_argument, NULL, 'h'},		{NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vale-pktgen -i PORT -f MODE [options]\n"
		"\n"
		"  -i PORT         vale port, valeX:Y[-N][/x]\n"
		"  -f MODE         tx | rx | txseq | rxseq | ping | pong\n"
		"  -l LEN          frame length in bytes, %u..%u (default %u), CRC excluded;\n"
		"                  over 2048 asks for LEN-byte buffers if this open\n"
		"                  creates the port\n"
		"  -b BURST        packets per sync (default %u)\n"
		"  -n COUNT        stop after COUNT packets (ping/pong: round trips)\n"
		"  -R RATE         packets per second (tx, txseq, ping); 0 = unlimited\n"
		"  -S MAC          source MAC (default: 02:.. derived from the port name)\n"
		"  -D MAC          destination MAC (default ff:ff:ff:ff:ff:ff)\n"
		"  -C a[,b[,c[,d]]] tx_slots,rx_slots,tx_rings,rx_rings when the port is\n"
		"                  created by this open (as pkt-gen -C: one number sets\n"
		"                  both slot counts, a third without a fourth sets both\n"
		"                  ring counts; 0 = valed's default)\n"
		"  --duration S    stop after S seconds (rx, rxseq: from the first packet)\n"
		"  --json          print the totals as one JSON object, last line on stdout\n"
		"  --socket PATH   valed's control socket (default $VALE_SOCKET or\n"
		"                  /run/vale/valed.sock)\n"
		"  --busy          spin on the rings instead of sleeping in poll\n"
		"  -h, --help      this text\n"
		"\n"
		"Frames are Ethernet + IPv4 + UDP (10.0.0.1:1234 -> 10.0.0.2:4321).\n"
		"Rates: pps counts frames; bit/s counts frame bytes (LEN * 8): no\n"
		"preamble, inter-frame gap or CRC. rx modes measure from the first to\n"
		"the last packet received; measure at the receiver. rxseq: 'gaps' are\n"
		"sequence numbers skipped over, 'out_of_order' packets older than one\n"
		"already seen. ping: RTT percentiles over all samples, in ns.\n"
		"SIGINT/SIGTERM stop and print the totals.\n",
		LEN_MIN, LEN_MAX, LEN_MIN, BURST_DEFAULT);
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -1;
	*ret = v;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

/* netmap's -C: tx_slots[,rx_slots[,tx_rings[,rx_rings]]]. */
static int parse_conf(const char *s, struct vale_open_params *c)
{
	uint64_t v[4] = {0};
	char buf[128], *tok, *save = NULL;
	int n = 0;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == 4 || parse_u64(tok, 0, UINT32_MAX, &v[n]))
			return -1;
		n++;
	}
	if (n == 0)
		return -1;
	c->tx_slots = (uint32_t)v[0];
	c->rx_slots = (uint32_t)(n >= 2 ? v[1] : v[0]);
	c->tx_rings = (uint32_t)v[2];
	c->rx_rings = (uint32_t)(n == 4 ? v[3] : v[2]);
	return 0;
}

static int parse_mode(const char *s, enum mode *ret)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(s, mode_names[i]) == 0) {
			*ret = (enum mode)i;
			return 0;
		}
	}
	return -1;
}

static int bad(const char *opt, const char *arg)
{
	fprintf(stderr, "vale-pktgen: invalid %s '%s' (see -h)\n", opt, arg);
	return -1;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	bool have_mode = false;
	uint64_t v;
	double d;
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->len = LEN_MIN;
	o->burst = BURST_DEFAULT;
	memset(o->dst, 0xff, sizeof(o->dst));
	while ((c = getopt_long(argc, argv, "i:f:l:b:n:R:S:D:C:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o->port = optarg;
			break;
		case 'f':
			if (parse_mode(optarg, &o->mode))
				return bad("-f", optarg);
			have_mode = true;
			break;
		case 'l':
			if (parse_u64(optarg, LEN_MIN, LEN_MAX, &v))
				return bad("-l", optarg);
			o->len = (uint32_t)v;
			break;
		case 'b':
			if (parse_u64(optarg, 1, 1u << 20, &v))
				return bad("-b", optarg);
			o->burst = (uint32_t)v;
			break;
		case 'n':
			if (parse_u64(optarg, 0, UINT64_MAX, &o->count))
				return bad("-n", optarg);
			break;
		case 'R':
			if (parse_u64(optarg, 0, UINT64_MAX / NS, &o->rate))
				return bad("-R", optarg);
			break;
		case 'S':
			if (parse_mac(optarg, o->src))
				return bad("-S", optarg);
			o->have_src = true;
			break;
		case 'D':
			if (parse_mac(optarg, o->dst))
				return bad("-D", optarg);
			break;
		case 'C':
			if (parse_conf(optarg, &o->conf))
				return bad("-C", optarg);
			break;
		case 'd':
			errno = 0;
			d = strtod(optarg, &end);
			if (errno || *end || !(d > 0) || d > 1e9)
				return bad("--duration", optarg);
			o->duration_ns = (uint64_t)(d * (double)NS);
			break;
		case 'j':
			o->json = true;
			break;
		case 's':
			o->conf.socket = optarg;
			break;
		case 'B':
			o->busy = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc)
		return bad("argument", argv[optind]);
	/* Frames over the default buffer size need bigger buffers, which a
	 * port gets only when this open creates it. */
	if (o->len > 2048 && !o->conf.buf_size)
		o->conf.buf_size = (o->len + 63) & ~63u;
	if (!o->port || !have_mode) {
		fprintf(stderr, "vale-pktgen: -i PORT and -f MODE are required (see -h)\n");
		return -1;
	}
	return 0;
}

/* ---- frames ---------------------------------------------------------- */

/* A stable locally administered unicast MAC for a port name (FNV-1a). */
static void mac_from_name(const char *name, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const char *s = name; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ull;
	}
	mac[0] = 0x02;
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Ethernet + IPv4 + UDP, payload tagged with magic and zeros. */
static void build_frame(uint8_t *f, uint32_t len, const uint8_t src[6], const uint8_t dst[6],
			uint32_t magic)
{
	uint8_t *ip = f + ETH_HLEN, *udp = ip + IP_HLEN;

	memset(f, 0, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;				   /* IPv4, 20-byte header */
	put16(ip + 2, (uint16_t)(len - ETH_HLEN)); /* total length */
	put16(ip + 6, 0x4000);			   /* don't fragment */
	ip[8] = 64;				   /* ttl */
	ip[9] = 17;				   /* UDP */
	memcpy(ip + 12, (const uint8_t[]){10, 0, 0, 1}, 4);
	memcpy(ip + 16, (const uint8_t[]){10, 0, 0, 2}, 4);
	put16(ip + 10, ip_checksum(ip, IP_HLEN));
	put16(udp, 1234);
	put16(udp + 2, 4321);
	put16(udp + 4, (uint16_t)(len - ETH_HLEN - IP_HLEN));
	/* UDP checksum 0: none, allowed over IPv4 */
	memcpy(f + MAGIC_OFF, &magic, 4);
}

static uint32_t frame_magic(const uint8_t *f, uint32_t len)
{
	uint32_t m;

	if (len < VALUE_OFF + 8)
		return 0;
	memcpy(&m, f + MAGIC_OFF, 4);
	return m;
}

static uint64_t frame_value(const uint8_t *f)
{
	uint64_t v;

	memcpy(&v, f + VALUE_OFF, 8);
	return v;
}

static void frame_set_value(uint8_t *f, uint64_t v)
{
	memcpy(f + VALUE_OFF, &v, 8);
}

static uint8_t *slot_buf(struct netmap_ring *ring, uint32_t i)
{
	return (uint8_t *)NETMAP_BUF(ring, ring->slot[i].buf_idx);
}

/* ---- reporting ------------------------------------------------------- */

static void fmt_rate(char *buf, size_t size, double v, const char *unit)
{
	static const char *const prefix[] = {"", "K", "M", "G", "T"};
	int i = 0;

	while (v >= 1000.0 && i < 4) {
		v /= 1000.0;
		i++;
	}
	snprintf(buf, size, "%.2f %s%s", v, prefix[i], unit);
}

static void tick(struct meter *m, const struct stats *s, uint64_t now)
{
	char pps[32], bps[32];
	double secs;

	if (m->t == 0) {
		m->t = now;
		return;
	}
	if (now - m->t < NS)
		return;
	secs = (double)(now - m->t) / NS;
	fmt_rate(pps, sizeof(pps), (double)(s->packets - m->packets) / secs, "pps");
	fmt_rate(bps, sizeof(bps), (double)(s->bytes - m->bytes) * 8 / secs, "bit/s");
	if (s->n_rtt > m->n_rtt) {
		uint64_t sum = 0;

		for (size_t i = m->n_rtt; i < s->n_rtt; i++)
			sum += s->rtt[i];
		fprintf(stderr, "%s %s rtt avg %.1f us\n", pps, bps,
			(double)sum / (double)(s->n_rtt - m->n_rtt) / 1000.0);
	} else {
		fprintf(stderr, "%s %s\n", pps, bps);
	}
	m->t = now;
	m->packets = s->packets;
	m->bytes = s->bytes;
	m->n_rtt = s->n_rtt;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static uint64_t percentile(const uint64_t *v, size_t n, unsigned int p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (n * p + 99) / 100;
	return v[rank ? rank - 1 : 0];
}

static void final_report(const struct opts *o, struct stats *s)
{
	double secs = s->t_last > s->t_first ? (double)(s->t_last - s->t_first) / NS : 0;
	double pps = secs > 0 ? (double)s->packets / secs : 0;
	double bps = secs > 0 ? (double)s->bytes * 8 / secs : 0;
	uint64_t p50 = 0, p99 = 0, max = 0;
	char ppsb[32], bpsb[32];

	if (s->n_rtt) {
		qsort(s->rtt, s->n_rtt, sizeof(s->rtt[0]), cmp_u64);
		p50 = percentile(s->rtt, s->n_rtt, 50);
		p99 = percentile(s->rtt, s->n_rtt, 99);
		max = s->rtt[s->n_rtt - 1];
	}
	fmt_rate(ppsb, sizeof(ppsb), pps, "pps");
	fmt_rate(bpsb, sizeof(bpsb), bps, "bit/s");
	fprintf(stderr, "%s %s: %" PRIu64 " packets, %" PRIu64 " bytes in %.3f s: %s %s\n",
		mode_names[o->mode], o->port, s->packets, s->bytes, secs, ppsb, bpsb);
	if (o->mode == M_RXSEQ)
		fprintf(stderr, "  gaps %" PRIu64 ", out of order %" PRIu64 "\n", s->gaps,
			s->out_of_order);
	if (o->mode == M_PING)
		fprintf(stderr,
			"  rtt p50 %" PRIu64 " ns, p99 %" PRIu64 " ns, max %" PRIu64
			" ns over %zu samples, %" PRIu64 " lost\n",
			p50, p99, max, s->n_rtt, s->lost);
	if (!o->json)
		return;
	printf("{\"mode\":\"%s\",\"port\":\"%s\",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
	       ",\"seconds\":%.6f,\"pps\":%.1f,\"bps\":%.1f",
	       mode_names[o->mode], o->port, s->packets, s->bytes, secs, pps, bps);
	if (o->mode == M_TX || o->mode == M_TXSEQ || o->mode == M_PING)
		printf(",\"len\":%u", o->len);
	if (o->mode == M_RXSEQ)
		printf(",\"gaps\":%" PRIu64 ",\"out_of_order\":%" PRIu64, s->gaps, s->out_of_order);
	if (o->mode == M_PING)
		printf(",\"rtt_p50_ns\":%" PRIu64 ",\"rtt_p99_ns\":%" PRIu64
		       ",\"rtt_max_ns\":%" PRIu64 ",\"samples\":%zu,\"lost\":%" PRIu64,
		       p50, p99, max, s->n_rtt, s->lost);
	printf("}\n");
	fflush(stdout);
}

/* ---- helpers over the port ------------------------------------------- */

struct ctx {
	const struct opts *o;
	struct vale_port *p;
	struct netmap_if *nifp;
	uint32_t tx0, tx1, rx0, rx1; /* ring ranges [first, last) */
	uint32_t txr;		     /* next TX ring to try */
	uint8_t src[6];
	struct stats s;
	struct meter m;
};

/* Wait for events (POLLIN/POLLOUT) on the port; false on a fatal error. */
static bool wait_port(struct ctx *c, short events, int timeout_ms)
{
	struct pollfd pfd = {.fd = vale_fd(c->p), .events = events};

	if (c->o->busy) {
		if (events & POLLIN)
			vale_rxsync(c->p);
		if (events & POLLOUT)
			vale_txsync(c->p);
		/* Let another spinner on this CPU (the peer of a ping-pong)
		 * run: without it they take turns at the scheduler's tick. */
		sched_yield();
		return true;
	}
	if (vale_poll(c->p, &pfd, 1, timeout_ms) < 0 && errno != EINTR) {
		fprintf(stderr, "vale-pktgen: poll: %s\n", strerror(errno));
		return false;
	}
	if (pfd.revents & (POLLHUP | POLLERR)) {
		fprintf(stderr, "vale-pktgen: valed went away\n");
		return false;
	}
	return true;
}

/* A TX ring with room, starting at c->txr, or NULL. */
static struct netmap_ring *tx_ring(struct ctx *c)
{
	for (uint32_t k = 0; k < c->tx1 - c->tx0; k++) {
		uint32_t i = c->tx0 + (c->txr - c->tx0 + k) % (c->tx1 - c->tx0);
		struct netmap_ring *ring = NETMAP_TXRING(c->nifp, i);

		if (!nm_ring_empty(ring)) {
			c->txr = i;
			return ring;
		}
	}
	return NULL;
}

static bool time_up(const struct ctx *c, uint64_t now, uint64_t since)
{
	return c->o->duration_ns && since && now - since >= c->o->duration_ns;
}

/* Rate limit: how many packets may go now, at most want; sleeps if none. */
static uint64_t allowance(const struct ctx *c, uint64_t now, uint64_t sent, uint64_t want)
{
	uint64_t due, next;
	struct timespec ts;

	if (!c->o->rate)
		return want;
	due = (uint64_t)((double)(now - c->s.t_first) * (double)c->o->rate / NS);
	if (due > sent)
		return due - sent < want ? due - sent : want;
	next = c->s.t_first + (uint64_t)((double)(sent + 1) * NS / (double)c->o->rate);
	if (next > now + 100000) { /* far: sleep most of it; near: spin */
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(next - now - 50000 < NS / 10 ? next - now - 50000 : NS / 10);
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* Put the frame in every slot of every TX ring once; tx only moves head. */
static void prebuild(struct ctx *c, uint32_t magic)
{
	for (uint32_t r = c->tx0; r < c->tx1; r++) {
		struct netmap_ring *ring = NETMAP_TXRING(c->nifp, r);

		for (uint32_t i = 0; i < ring->num_slots; i++) {
			build_frame(slot_buf(ring, i), c->o->len, c->src, c->o->dst, magic);
			ring->slot[i].len = (uint16_t)c->o->len;
			ring->slot[i].flags = 0;
		}
	}
}

/* Let what was queued leave, for at most a second. */
static void tx_drain(struct ctx *c)
{
	uint64_t until = now_ns() + NS;

	while (now_ns() < until && !stop) {
		bool pending = false;

		vale_txsync(c->p);
		for (uint32_t r = c->tx0; r < c->tx1; r++)
			pending |= nm_tx_pending(NETMAP_TXRING(c->nifp, r));
		if (!pending)
			return;
		if (!wait_port(c, POLLOUT, 10))
			return;
	}
}

/* ---- modes ----------------------------------------------------------- */

static int run_tx(struct ctx *c)
{
	const struct opts *o = c->o;
	uint64_t seq = 0, now;

	prebuild(c, MAGIC_DATA);
	c->s.t_first = now_ns();
	for (;;) {
		struct netmap_ring *ring;
		uint64_t want = o->burst;
		uint32_t n, i;

		now = now_ns();
		tick(&c->m, &c->s, now);
		if (stop || (o->count && c->s.packets >= o->count) || time_up(c, now, c->s.t_first))
			break;
		if (o->count && o->count - c->s.packets < want)
			want = o->count - c->s.packets;
		want = allowance(c, now, c->s.packets, want);
		if (!want)
			continue;
		ring = tx_ring(c);
		if (!ring) {
			if (!wait_port(c, POLLOUT, POLL_MS))
				return -1;
			continue;
		}
		n = nm_ring_space(ring);
		if (n > want)
			n = (uint32_t)want;
		i = ring->head;
		for (uint32_t k = 0; k < n; k++) {
			/* A zero-copy monitor ("/zt") took the prebuilt buffer
			 * and left one of its own: build the frame again. */
			if (__builtin_expect(ring->slot[i].flags & NS_BUF_CHANGED, 0)) {
				build_frame(slot_buf(ring, i), o->len, c->src, o->dst, MAGIC_DATA);
				ring->slot[i].flags = 0;
			}
			if (o->mode == M_TXSEQ)
				frame_set_value(slot_buf(ring, i), seq++);
			ring->slot[i].len = (uint16_t)o->len;
			i = nm_ring_next(ring, i);
		}
		ring->head = ring->cur = i;
		if (vale_txsync(c->p)) {
			fprintf(stderr, "vale-pktgen: txsync: %s\n", vale_last_error());
			return -1;
		}
		c->s.packets += n;
		c->s.bytes += (uint64_t)n * o->len;
	}
	c->s.t_last = now_ns();
	tx_drain(c);
	return 0;
}

/* Account one received frame. */
static void rx_frame(struct ctx *c, const uint8_t *f, uint32_t len)
{
	struct stats *s = &c->s;
	uint64_t seq;

	s->packets++;
	s->bytes += len;
	if (c->o->mode != M_RXSEQ || frame_magic(f, len) != MAGIC_DATA)
		return;
	seq = frame_value(f);
	if (!s->have_seq || seq == s->next_seq) {
		s->have_seq = true;
		s->next_seq = seq + 1;
	} else if (seq > s->next_seq) {
		s->gaps += seq - s->next_seq;
		s->next_seq = seq + 1;
	} else {
		s->out_of_order++;
	}
}

/* Consume every received slot; returns the number of packets. */
static uint32_t rx_drain(struct ctx *c)
{
	uint32_t got = 0;

	for (uint32_t r = c->rx0; r < c->rx1; r++) {
		struct netmap_ring *ring = NETMAP_RXRING(c->nifp, r);
		uint32_t i = ring->head, len = 0;

		for (; i != ring->tail; i = nm_ring_next(ring, i)) {
			const struct netmap_slot *slot = &ring->slot[i];

			len += slot->len;
			if (slot->flags & NS_MOREFRAG)
				continue; /* one packet, several slots */
			rx_frame(c, slot_buf(ring, i), len);
			len = 0;
			got++;
		}
		ring->head = ring->cur = i;
	}
	return got;
}

static int run_rx(struct ctx *c)
{
	const struct opts *o = c->o;
	uint64_t now;

	for (;;) {
		uint32_t got;

		if (vale_rxsync(c->p)) {
			fprintf(stderr, "vale-pktgen: rxsync: %s\n", vale_last_error());
			return -1;
		}
		got = rx_drain(c);
		now = now_ns();
		if (got) {
			if (!c->s.t_first) {
				c->s.t_first = now;
				c->m.t = now;
			}
			c->s.t_last = now;
		}
		if (c->s.t_first)
			tick(&c->m, &c->s, now);
		if (stop || (o->count && c->s.packets >= o->count) || time_up(c, now, c->s.t_first))
			break;
		if (!got && !wait_port(c, POLLIN, POLL_MS))
			return -1;
	}
	vale_rxsync(c->p); /* return the last slots */
	return 0;
}

static int rtt_add(struct stats *s, uint64_t rtt)
{
	uint64_t *v;

	if (s->n_rtt == s->cap_rtt) {
		v = realloc(s->rtt, (s->cap_rtt ? s->cap_rtt * 2 : 4096) * sizeof(*v));
		if (!v)
			return -1;
		s->rtt = v;
		s->cap_rtt = s->cap_rtt ? s->cap_rtt * 2 : 4096;
	}
	s->rtt[s->n_rtt++] = rtt;
	return 0;
}

/* Look for the pong of the ping stamped ts; consumes what it reads. */
static bool find_pong(struct ctx *c, uint64_t ts)
{
	bool found = false;

	for (uint32_t r = c->rx0; r < c->rx1; r++) {
		struct netmap_ring *ring = NETMAP_RXRING(c->nifp, r);
		uint32_t i = ring->head;

		for (; i != ring->tail; i = nm_ring_next(ring, i)) {
			const uint8_t *f = slot_buf(ring, i);
			uint32_t len = ring->slot[i].len;

			if (frame_magic(f, len) == MAGIC_PONG && frame_value(f) == ts) {
				found = true;
				c->s.packets++;
				c->s.bytes += len;
			}
		}
		ring->head = ring->cur = i;
	}
	return found;
}

static int run_ping(struct ctx *c)
{
	const struct opts *o = c->o;
	uint64_t sent = 0, now;

	prebuild(c, MAGIC_PING);
	c->s.t_first = now_ns();
	for (;;) {
		struct netmap_ring *ring;
		uint64_t ts, deadline;
		bool found = false;

		now = now_ns();
		tick(&c->m, &c->s, now);
		if (stop || (o->count && c->s.n_rtt >= o->count) || time_up(c, now, c->s.t_first))
			break;
		if (!allowance(c, now, sent, 1))
			continue;
		ring = tx_ring(c);
		if (!ring) {
			if (!wait_port(c, POLLOUT, POLL_MS))
				return -1;
			continue;
		}
		ts = now_ns();
		frame_set_value(slot_buf(ring, ring->head), ts);
		ring->slot[ring->head].len = (uint16_t)o->len;
		ring->head = ring->cur = nm_ring_next(ring, ring->head);
		if (vale_txsync(c->p)) {
			fprintf(stderr, "vale-pktgen: txsync: %s\n", vale_last_error());
			return -1;
		}
		sent++;
		deadline = ts + PING_TIMEOUT_NS;
		while (!stop) {
			vale_rxsync(c->p);
			if (find_pong(c, ts)) {
				found = true;
				break;
			}
			now = now_ns();
			if (now >= deadline)
				break;
			if (!wait_port(c, POLLIN, (int)((deadline - now) / 1000000 + 1)))
				return -1;
		}
		if (found) {
			if (rtt_add(&c->s, now_ns() - ts)) {
				fprintf(stderr, "vale-pktgen: out of memory for RTT samples\n");
				return -1;
			}
		} else if (!stop) {
			c->s.lost++;
		}
	}
	c->s.t_last = now_ns();
	return 0;
}

/* Turn the ping in into a pong at out: addresses swapped, tagged pong. */
static void make_pong(struct ctx *c, uint8_t *out, const uint8_t *in, uint32_t len)
{
	uint8_t tmp[6];
	uint32_t magic = MAGIC_PONG;

	memcpy(out, in, len);
	/* To the pinger; from us, unless the ping was sent to us by unicast. */
	memcpy(out, in + 6, 6);
	memcpy(out + 6, (in[0] & 1) ? c->src : in, 6);
	if (len >= ETH_HLEN + IP_HLEN + UDP_HLEN) { /* swap IPs and ports: sums unchanged */
		memcpy(tmp, out + ETH_HLEN + 12, 4);
		memcpy(out + ETH_HLEN + 12, out + ETH_HLEN + 16, 4);
		memcpy(out + ETH_HLEN + 16, tmp, 4);
		memcpy(tmp, out + ETH_HLEN + IP_HLEN, 2);
		memcpy(out + ETH_HLEN + IP_HLEN, out + ETH_HLEN + IP_HLEN + 2, 2);
		memcpy(out + ETH_HLEN + IP_HLEN + 2, tmp, 2);
	}
	memcpy(out + MAGIC_OFF, &magic, 4);
}

static int run_pong(struct ctx *c)
{
	const struct opts *o = c->o;
	uint64_t now;

	c->s.t_first = now_ns();
	for (;;) {
		uint32_t got = 0;
		bool tx_full = false;

		if (vale_rxsync(c->p)) {
			fprintf(stderr, "vale-pktgen: rxsync: %s\n", vale_last_error());
			return -1;
		}
		for (uint32_t r = c->rx0; r < c->rx1 && !tx_full; r++) {
			struct netmap_ring *rx = NETMAP_RXRING(c->nifp, r);
			uint32_t i = rx->head;

			for (; i != rx->tail; i = nm_ring_next(rx, i)) {
				const uint8_t *f = slot_buf(rx, i);
				uint32_t len = rx->slot[i].len;
				struct netmap_ring *tx;

				if (frame_magic(f, len) != MAGIC_PING ||
				    (rx->slot[i].flags & NS_MOREFRAG))
					continue; /* not ours: consumed, not answered */
				tx = tx_ring(c);
				if (!tx) {
					tx_full = true; /* keep the rest for later */
					break;
				}
				make_pong(c, slot_buf(tx, tx->head), f, len);
				tx->slot[tx->head].len = (uint16_t)len;
				tx->slot[tx->head].flags = 0;
				tx->head = tx->cur = nm_ring_next(tx, tx->head);
				c->s.packets++;
				c->s.bytes += len;
				got++;
			}
			rx->head = rx->cur = i;
		}
		if (got && vale_txsync(c->p)) {
			fprintf(stderr, "vale-pktgen: txsync: %s\n", vale_last_error());
			return -1;
		}
		now = now_ns();
		tick(&c->m, &c->s, now);
		if (stop || (o->count && c->s.packets >= o->count) || time_up(c, now, c->s.t_first))
			break;
		if (tx_full && !wait_port(c, POLLOUT, POLL_MS))
			return -1;
		if (!got && !tx_full && !wait_port(c, POLLIN, POLL_MS))
			return -1;
	}
	c->s.t_last = now_ns();
	vale_rxsync(c->p);
	tx_drain(c);
	return 0;
}

/* ---- main ------------------------------------------------------------ */

static int check_len(const struct ctx *c)
{
	for (uint32_t r = c->tx0; r < c->tx1; r++) {
		const struct netmap_ring *ring = NETMAP_TXRING(c->nifp, r);

		if (c->o->len > ring->nr_buf_size) {
			fprintf(stderr, "vale-pktgen: -l %u exceeds the port's buffer size %u\n",
				c->o->len, ring->nr_buf_size);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: poll returns */
	struct opts o;
	struct ctx c = {0};
	int rc;

	if (parse_args(argc, argv, &o))
		return 2;
	c.o = &o;
	c.p = vale_open(o.port, &o.conf);
	if (!c.p) {
		fprintf(stderr, "vale-pktgen: %s\n", vale_last_error());
		return 1;
	}
	c.nifp = vale_nifp(c.p);
	c.tx0 = vale_first_tx_ring(c.p);
	c.tx1 = vale_last_tx_ring(c.p);
	c.rx0 = vale_first_rx_ring(c.p);
	c.rx1 = vale_last_rx_ring(c.p);
	c.txr = c.tx0;
	if (o.have_src)
		memcpy(c.src, o.src, 6);
	else
		mac_from_name(o.port, c.src);
	if (check_len(&c)) {
		vale_close(c.p);
		return 2;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	switch (o.mode) {
	case M_TX:
	case M_TXSEQ:
		rc = run_tx(&c);
		break;
	case M_RX:
	case M_RXSEQ:
		rc = run_rx(&c);
		break;
	case M_PING:
		rc = run_ping(&c);
		break;
	case M_PONG:
		rc = run_pong(&c);
		break;
	default:
		rc = -1;
		break;
	}
	final_report(&o, &c.s);
	free(c.s.rtt);
	vale_close(c.p);
	return rc ? 1 : 0;
}
