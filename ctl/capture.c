/* SPDX-License-Identifier: BSD-2-Clause */
/* capture: `valectl capture`, a port's traffic from a monitor into pcap. */
#include "capture.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <vale/vale.h>

#include "wire.h"

#define SNAPLEN 65535

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1; /* the loop sees it within one poll timeout */
}

struct capture {
	const char *port; /* as given */
	const char *file; /* -w, NULL: text lines on stdout */
	uint64_t count;	  /* -c, 0: no limit */
	double duration;  /* --duration, 0: no limit */
	uint32_t hdr_len; /* the port's virtio-net header, stripped */
	pcap_t *pcap;
	pcap_dumper_t *dumper;
	uint64_t captured;
	uint8_t frame[SNAPLEN]; /* a frame gathered from NS_MOREFRAG slots */
	uint32_t frame_len;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: valectl capture valeX:Y[/r|/t|/rt] [-w FILE|-] [-c COUNT] "
		   "[--duration SECONDS]\n");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The virtio-net header length of the port being watched (0 if unknown:
 * then frames are written as the port has them). */
static uint32_t port_hdr_len(const char *socket, const char *port)
{
	char base[128];
	struct ctl_client *c = ctl_client_connect(socket);
	json_t *params, *result = NULL;
	uint32_t len = 0;

	if (!c)
		return 0;
	snprintf(base, sizeof(base), "%s", port);
	base[strcspn(base, "/")] = '\0';
	params = json_pack("{s:s}", "name", base);
	if (params && ctl_client_call(c, "port.hdr.get", params, &result, NULL, NULL, 0, NULL) == 0)
		len = (uint32_t)json_integer_value(json_object_get(result, "len"));
	json_decref(result);
	ctl_client_close(c);
	return len;
}

/* One line per frame: time, direction, length, MACs and EtherType. */
static void print_frame(const struct timeval *tv, const uint8_t *f, uint32_t len, bool tx)
{
	struct tm tm;
	time_t t = tv->tv_sec;

	localtime_r(&t, &tm);
	printf("%02d:%02d:%02d.%06ld %s %u", tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv->tv_usec,
	       tx ? "tx" : "rx", len);
	if (len >= 14)
		printf(" %02x:%02x:%02x:%02x:%02x:%02x > %02x:%02x:%02x:%02x:%02x:%02x type 0x%04x",
		       f[6], f[7], f[8], f[9], f[10], f[11], f[0], f[1], f[2], f[3], f[4], f[5],
		       (unsigned)(f[12] << 8 | f[13]));
	putchar('\n');
}

/* A whole frame is in cap->frame: write it (without the port's header). */
static void emit(struct capture *cap, const struct timeval *tv, bool tx)
{
	const uint8_t *f = cap->frame + cap->hdr_len;
	uint32_t len = cap->frame_len > cap->hdr_len ? cap->frame_len - cap->hdr_len : 0;

	if (cap->dumper) {
		struct pcap_pkthdr h = {.ts = *tv, .caplen = len, .len = len};
		pcap_dump((u_char *)cap->dumper, &h, f);
	} else {
		print_frame(tv, f, len, tx);
	}
	cap->captured++;
}

/* Take what RX ring r holds, up to the count limit. */
static void drain_ring(struct capture *cap, struct netmap_ring *r, const struct timeval *tv)
{
	while (!nm_ring_empty(r) && (!cap->count || cap->captured < cap->count)) {
		struct netmap_slot *slot = &r->slot[r->cur];
		uint32_t n = slot->len;

		if (n > SNAPLEN - cap->frame_len)
			n = SNAPLEN - cap->frame_len; /* over 64 KiB: truncated, as a snaplen */
		memcpy(cap->frame + cap->frame_len, NETMAP_BUF(r, slot->buf_idx), n);
		cap->frame_len += n;
		if (!(slot->flags & NS_MOREFRAG)) {
			emit(cap, tv, slot->flags & NS_TXMON);
			cap->frame_len = 0;
		}
		r->head = r->cur = nm_ring_next(r, r->cur);
	}
}

static int parse_args(struct capture *cap, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"write", required_argument, NULL, 'w'},
	    {"count", required_argument, NULL, 'c'},
	    {"duration", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'H'},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	int opt;

	optind = 0; /* a fresh getopt over the subcommand's arguments */
	while ((opt = getopt_long(argc, argv, "w:c:H", longopts, NULL)) != -1) {
		switch (opt) {
		case 'w':
			cap->file = optarg;
			break;
		case 'c':
			errno = 0;
			cap->count = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || optarg[0] == '-') {
				fprintf(stderr, "valectl: -c wants a packet count, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'D':
			cap->duration = strtod(optarg, &end);
			if (*end || end == optarg || !(cap->duration > 0)) {
				fprintf(stderr, "valectl: --duration wants seconds > 0, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'H':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	cap->port = argv[optind];
	return 0;
}

/* Open the output: a pcap file, stdout for "-", nothing for text. */
static int open_output(struct capture *cap)
{
	if (!cap->file)
		return 0;
	cap->pcap = pcap_open_dead(DLT_EN10MB, SNAPLEN);
	if (!cap->pcap) {
		fprintf(stderr, "valectl: pcap_open_dead failed\n");
		return 1;
	}
	if (strcmp(cap->file, "-") == 0)
		cap->dumper = pcap_dump_fopen(cap->pcap, stdout);
	else
		cap->dumper = pcap_dump_open(cap->pcap, cap->file);
	if (!cap->dumper) {
		fprintf(stderr, "valectl: cannot write %s: %s\n", cap->file,
			pcap_geterr(cap->pcap));
		pcap_close(cap->pcap);
		cap->pcap = NULL;
		return 1;
	}
	return 0;
}

/* Read the monitor until a limit or a signal. */
static void capture_loop(struct capture *cap, struct vale_port *p)
{
	struct netmap_if *nifp = vale_nifp(p);
	double deadline = cap->duration > 0 ? now_s() + cap->duration : 0;

	while (!stop_requested && (!cap->count || cap->captured < cap->count)) {
		struct pollfd pfd = {.fd = vale_fd(p), .events = POLLIN};
		int timeout = 100;
		struct timeval tv;

		if (deadline) {
			double left = deadline - now_s();
			if (left <= 0)
				break;
			if (left * 1000 < timeout)
				timeout = (int)(left * 1000) + 1;
		}
		if (vale_poll(p, &pfd, 1, timeout) < 0 && errno != EINTR)
			break;
		if (pfd.revents & POLLHUP) {
			fprintf(stderr, "valectl: valed went away\n");
			break;
		}
		gettimeofday(&tv, NULL);
		for (uint32_t i = vale_first_rx_ring(p); i < vale_last_rx_ring(p); i++)
			drain_ring(cap, NETMAP_RXRING(nifp, i), &tv);
		vale_rxsync(p);
		/* Flush per batch, so a reader on a pipe sees frames as they come;
		 * a write error (the reader left) ends the capture. */
		if (cap->dumper ? pcap_dump_flush(cap->dumper) : fflush(stdout))
			break;
	}
}

int capture_main(const char *socket, int argc, char **argv)
{
	struct vale_open_params op = {.socket = socket};
	struct sigaction sa = {.sa_handler = on_signal};
	struct capture *cap = calloc(1, sizeof(*cap));
	char name[160];
	struct vale_port *p;
	int rc;

	if (!cap) {
		fprintf(stderr, "valectl: out of memory\n");
		return 1;
	}
	rc = parse_args(cap, argc, argv);
	if (rc)
		goto out_free;
	/* No suffix: both directions. */
	snprintf(name, sizeof(name), "%s%s", cap->port, strchr(cap->port, '/') ? "" : "/rt");
	p = vale_open(name, &op);
	if (!p) {
		fprintf(stderr, "valectl: cannot monitor %s: %s\n", cap->port,
			vale_last_error()[0] ? vale_last_error() : strerror(errno));
		rc = 1;
		goto out_free;
	}
	cap->hdr_len = port_hdr_len(socket, cap->port);
	rc = open_output(cap);
	if (rc)
		goto out_close;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: poll returns at once */
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a reader gone: a write error ends the capture */

	capture_loop(cap, p);

	if (cap->dumper)
		pcap_dump_close(cap->dumper); /* flushes; closes stdout too for "-": we end */
	if (cap->pcap)
		pcap_close(cap->pcap);
	fprintf(stderr, "%" PRIu64 " packets captured\n", cap->captured);
out_close:
	vale_close(p);
out_free:
	free(cap);
	return rc;
}
