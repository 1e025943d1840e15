/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Test objective: monitors and capture on a real valed, as netmap's own
 * functional tests check them. Copy monitors of RX ("/r"), TX ("/t") and
 * both ("/rt") of ephemeral and persistent ports see exactly the frames the
 * port received or sent, in order, TX copies flagged NS_TXMON; several
 * monitors watch one port; a monitor of a missing port is ENOENT, of a
 * monitor EINVAL; vale.list shows monitors; a port stays while a monitor
 * watches it. `valectl capture` writes a pcap file that tshark reads back
 * byte for byte, and `valectl capture -w - | tcpdump -r -` works. Pipe
 * ends ("vale2:x{1") are monitored the same way: /t of the sender, /r of
 * the receiver, /rt and /z of both, exact and in order. Zero-copy monitors
 * ("/z", "/zr", "/zt") of ephemeral, persistent, shared-region ports and of
 * pipe ends get each frame in the very buffer the port had it in; a full
 * one drops on itself, never on its port; one per direction. A zero-copy
 * monitor cannot write its region (read-only "mem" fd, SIGSEGV on a write
 * through its mapping) but its own rings ("area" fd), and the port's client
 * cannot write those.
 *
 *   [vale0:a] --TX--> [ vale0 ] --RX--> [vale0:b]
 *       |                                   |
 *   [vale0:a/t]  (copies of a's TX)     [vale0:b/r], [vale0:b/rt]
 *                                           |
 *                              valectl capture -> pcap -> tshark, tcpdump
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <vale/vale.h>

#include "client.h"
#include "fault.h"
#include "harness.h"

#define ETH_TYPE_TEST 0x88b5 /* IEEE local experimental: tshark shows it as data */

/* Frame seq of a test sequence: length 60..1514, dst/src MACs, a payload
 * that differs per frame. */
static uint32_t frame_seq(uint8_t *f, uint8_t src, uint8_t dst, uint32_t seq)
{
	uint32_t len = 60 + (seq * 97) % 1455;

	memset(f, 0, 14);
	f[0] = 0x02, f[5] = dst;
	f[6] = 0x02, f[11] = src;
	f[12] = ETH_TYPE_TEST >> 8, f[13] = ETH_TYPE_TEST & 0xff;
	for (uint32_t i = 14; i < len; i++)
		f[i] = (uint8_t)(seq * 31 + i * 7 + src);
	memcpy(f + 14, &seq, 4);
	return len;
}

/* The next frame of v is frame seq from src to dst, with flags. */
static void expect_frame(struct vale_port *v, uint8_t src, uint8_t dst, uint32_t seq,
			 uint16_t flags)
{
	uint8_t want[2048], got[2048];
	uint32_t len = frame_seq(want, src, dst, seq);
	uint16_t fl = 0xffff;

	assert_int_equal(recv_frame(v, got, &fl, 3000), len);
	assert_memory_equal(got, want, len);
	assert_int_equal(fl & (NS_TXMON | NS_MOREFRAG), flags);
}

static void expect_nothing(struct vale_port *v)
{
	uint8_t got[2048];
	assert_int_equal(recv_frame(v, got, NULL, 50), 0);
}

/* ---- copies of RX and TX --------------------------------------------------- */

/* a sends to b; b/r and b/rt see b's RX, a/t and a/rt see a's TX, in order. */
static void check_copies(const char *na, const char *nb)
{
	char name[64];
	struct vale_port *a = open_port(na, NULL), *b = open_port(nb, NULL), *br, *brt, *at;
	uint8_t f[2048];

	snprintf(name, sizeof(name), "%s/r", nb);
	br = open_port(name, NULL);
	snprintf(name, sizeof(name), "%s/rt", nb);
	brt = open_port(name, NULL);
	snprintf(name, sizeof(name), "%s/t", na);
	at = open_port(name, NULL);
	/* Blocks of 100 (the rings hold 1023): a sends, everyone checks; then b
	 * answers once, which b/rt sees as TX after the block. */
	for (uint32_t blk = 0; blk < 6; blk++) {
		uint32_t reply = 10000 + blk;

		for (uint32_t seq = blk * 100; seq < blk * 100 + 100; seq++)
			assert_true(send_frame(a, f, frame_seq(f, 0xa, 0xb, seq), 5000));
		for (uint32_t seq = blk * 100; seq < blk * 100 + 100; seq++) {
			expect_frame(b, 0xa, 0xb, seq, 0);
			expect_frame(br, 0xa, 0xb, seq, 0);
			expect_frame(brt, 0xa, 0xb, seq, 0);
			expect_frame(at, 0xa, 0xb, seq, NS_TXMON);
		}
		assert_true(send_frame(b, f, frame_seq(f, 0xb, 0xa, reply), 5000));
		expect_frame(a, 0xb, 0xa, reply, 0);
		expect_frame(brt, 0xb, 0xa, reply, NS_TXMON);
	}
	expect_nothing(br);
	expect_nothing(brt);
	expect_nothing(at);
	vale_close(at);
	vale_close(brt);
	vale_close(br);
	vale_close(b);
	vale_close(a);
}

static void test_copies_ephemeral(void **state)
{
	(void)state;
	check_copies("vale0:a", "vale0:b");
}

static void test_copies_persistent(void **state)
{
	(void)state;
	assert_int_equal(valectl(&valed_group, NULL, 0, "create", "vale1:p", NULL), 0);
	assert_int_equal(valectl(&valed_group, NULL, 0, "create", "vale1:q", NULL), 0);
	check_copies("vale1:p", "vale1:q");
	assert_int_equal(valectl(&valed_group, NULL, 0, "delete", "vale1:p", NULL), 0);
	assert_int_equal(valectl(&valed_group, NULL, 0, "delete", "vale1:q", NULL), 0);
}

/* A pipe's ends, monitored: x{1/t and x{1/rt see what x{1 sends (NS_TXMON),
 * x}1/r and x}1/z what x}1 receives; the answers the other way round. */
static void test_copies_pipe(void **state)
{
	struct vale_port *m = open_port("vale2:x{1", NULL), *s = open_port("vale2:x}1", NULL);
	struct vale_port *mt = open_port("vale2:x{1/t", NULL),
			 *mrt = open_port("vale2:x{1/rt", NULL);
	struct vale_port *sr = open_port("vale2:x}1/r", NULL), *sz = open_port("vale2:x}1/z", NULL);
	uint8_t f[2048];
	(void)state;

	assert_true(listed(&valed_group, "vale2:x}1/z "));
	for (uint32_t blk = 0; blk < 6; blk++) {
		uint32_t reply = 10000 + blk;

		for (uint32_t seq = blk * 100; seq < blk * 100 + 100; seq++)
			assert_true(send_frame(m, f, frame_seq(f, 1, 2, seq), 5000));
		for (uint32_t seq = blk * 100; seq < blk * 100 + 100; seq++) {
			expect_frame(s, 1, 2, seq, 0);
			expect_frame(mt, 1, 2, seq, NS_TXMON);
			expect_frame(mrt, 1, 2, seq, NS_TXMON);
			expect_frame(sr, 1, 2, seq, 0);
			expect_frame(sz, 1, 2, seq, 0);
		}
		assert_true(send_frame(s, f, frame_seq(f, 2, 1, reply), 5000));
		expect_frame(m, 2, 1, reply, 0);
		expect_frame(mrt, 2, 1, reply, 0);
		expect_frame(sz, 2, 1, reply, NS_TXMON);
	}
	expect_nothing(mt);
	expect_nothing(mrt);
	expect_nothing(sr);
	expect_nothing(sz);
	/* The pipe stays while a monitor watches it, and goes with the last. */
	vale_close(m);
	vale_close(s);
	usleep(100000);
	assert_true(listed(&valed_group, "vale2:x{1 "));
	vale_close(mt);
	vale_close(mrt);
	vale_close(sr);
	vale_close(sz);
	assert_true(eventually_listed(&valed_group, "vale2:x{1", false, 2000));
}

/* ---- zero-copy monitors ------------------------------------------------------ */

/* The next frame of v is frame seq from src to dst with flags, in buffer
 * idx: the buffer the port had it in, so nothing was copied. */
static void expect_frame_in(struct vale_port *v, uint8_t src, uint8_t dst, uint32_t seq,
			    uint16_t flags, uint32_t idx)
{
	uint8_t want[2048], got[2048];
	uint32_t len = frame_seq(want, src, dst, seq);
	struct netmap_slot slot;

	assert_int_equal(recv_frame_slot(v, got, &slot, 3000), len);
	assert_memory_equal(got, want, len);
	assert_int_equal(slot.flags & (NS_TXMON | NS_MOREFRAG), flags);
	assert_true(slot.flags & NS_BUF_CHANGED);
	assert_int_equal(slot.buf_idx, idx);
}

/* Frames first..first+99 from src to dst arrive on v, exact; ret_idx: the
 * buffers they came in. */
static void recv_block(struct vale_port *v, uint8_t src, uint8_t dst, uint32_t first,
		       uint32_t ret_idx[100])
{
	uint8_t want[2048], got[2048];
	struct netmap_slot slot;

	for (uint32_t k = 0; k < 100; k++) {
		uint32_t len = frame_seq(want, src, dst, first + k);

		assert_int_equal(recv_frame_slot(v, got, &slot, 3000), len);
		assert_memory_equal(got, want, len);
		ret_idx[k] = slot.buf_idx;
	}
}

/*
 * a sends to b. a/zt takes a's sent buffers, b/zr b's received ones once b
 * returned them, b/r copies alongside: each frame reaches the zero-copy
 * monitors in the very buffer the port had it in, exactly and in order.
 * 25 blocks of 100 wrap every ring twice, so the ports reuse the buffers the
 * monitors gave them in exchange (a mix-up would spoil frames).
 */
static void check_zcopy(const char *na, const char *nb, const struct vale_open_params *p)
{
	char name[64];
	struct vale_port *a = open_port(na, p), *b = open_port(nb, p), *at, *bz, *br;
	uint32_t sent[100], got[100];
	uint8_t f[2048];

	snprintf(name, sizeof(name), "%s/zt", na);
	at = open_port(name, NULL);
	snprintf(name, sizeof(name), "%s/zr", nb);
	bz = open_port(name, NULL);
	snprintf(name, sizeof(name), "%s/r", nb);
	br = open_port(name, NULL);
	assert_int_equal(vale_mem_id(at), vale_mem_id(a)); /* one region */
	assert_int_equal(vale_mem_id(bz), vale_mem_id(b));
	for (uint32_t blk = 0; blk < 25; blk++) {
		const uint32_t first = blk * 100;

		for (uint32_t k = 0; k < 100; k++)
			assert_true(send_frame_idx(a, f, frame_seq(f, 0xa, 0xb, first + k), 5000,
						   &sent[k]));
		for (uint32_t k = 0; k < 100; k++)
			expect_frame_in(at, 0xa, 0xb, first + k, NS_TXMON, sent[k]);
		recv_block(b, 0xa, 0xb, first, got);
		for (uint32_t k = 0; k < 100; k++)
			expect_frame(br, 0xa, 0xb, first + k, 0);
		for (uint32_t k = 0; k < 100; k++)
			expect_frame_in(bz, 0xa, 0xb, first + k, 0, got[k]);
	}
	expect_nothing(at);
	expect_nothing(bz);
	expect_nothing(br);
	vale_close(br);
	vale_close(bz);
	vale_close(at);
	vale_close(b);
	vale_close(a);
}

static void test_zcopy_ephemeral(void **state)
{
	(void)state;
	check_zcopy("vale3:a", "vale3:b", NULL);
}

static void test_zcopy_persistent(void **state)
{
	(void)state;
	assert_int_equal(valectl(&valed_group, NULL, 0, "create", "vale3:p", NULL), 0);
	assert_int_equal(valectl(&valed_group, NULL, 0, "create", "vale3:q", NULL), 0);
	check_zcopy("vale3:p", "vale3:q", NULL);
	assert_int_equal(valectl(&valed_group, NULL, 0, "delete", "vale3:p", NULL), 0);
	assert_int_equal(valectl(&valed_group, NULL, 0, "delete", "vale3:q", NULL), 0);
}

/* Ports in valed's shared region: their zero-copy monitors come from it. */
static void test_zcopy_shared_region(void **state)
{
	char out[4096];
	const char *id;
	struct vale_open_params p = {0};
	(void)state;

	assert_int_equal(valectl(&valed_group, out, sizeof(out), "--json", "status", NULL), 0);
	id = strstr(out, "\"shared_mem_id\": ");
	assert_non_null(id);
	p.mem_id = (uint16_t)atoi(id + strlen("\"shared_mem_id\": "));
	check_zcopy("vale3:sa", "vale3:sb", &p);
}

/* A pipe end's zero-copy monitor: x{1/z sees what x{1 sent once x}1 returned
 * it (NS_TXMON), and what x{1 received once x{1 returned it; in the buffers
 * the readers had them in. */
static void test_zcopy_pipe(void **state)
{
	struct vale_port *m = open_port("vale2:y{1", NULL), *s = open_port("vale2:y}1", NULL);
	struct vale_port *mz = open_port("vale2:y{1/z", NULL);
	uint8_t f[2048], want[2048];
	struct netmap_slot slot;
	uint32_t got[100];
	(void)state;

	assert_true(listed(&valed_group, "vale2:y{1/z "));
	for (uint32_t blk = 0; blk < 25; blk++) {
		const uint32_t first = blk * 100, reply = 10000 + blk;

		for (uint32_t k = 0; k < 100; k++)
			assert_true(send_frame(m, f, frame_seq(f, 1, 2, first + k), 5000));
		recv_block(s, 1, 2, first, got);
		for (uint32_t k = 0; k < 100; k++)
			expect_frame_in(mz, 1, 2, first + k, NS_TXMON, got[k]);
		assert_true(send_frame(s, f, frame_seq(f, 2, 1, reply), 5000));
		assert_int_equal(recv_frame_slot(m, f, &slot, 3000), frame_seq(want, 2, 1, reply));
		expect_frame_in(mz, 2, 1, reply, 0, slot.buf_idx);
	}
	expect_nothing(mz);
	vale_close(mz);
	vale_close(s);
	vale_close(m);
}

/* A zero-copy monitor nobody reads never holds its port back: the port
 * gets everything, the monitor the first ring's worth, the rest dropped on
 * the monitor and counted. One per direction: a second is EBUSY. */
static void test_zcopy_full_and_rules(void **state)
{
	struct vale_port *a = open_port("vale3:fa", NULL), *b = open_port("vale3:fb", NULL);
	struct vale_port *bz = open_port("vale3:fb/z", NULL), *bt;
	uint8_t f[2048], want[2048];
	char out[16384];
	(void)state;

	errno = 0;
	assert_null(vale_open("vale3:fb/zr", NULL));
	assert_int_equal(errno, EBUSY);
	assert_non_null(strstr(vale_last_error(), "already has a zero-copy monitor"));
	bt = open_port("vale3:fb/t", NULL); /* copies are always fine */
	for (uint32_t blk = 0; blk < 30; blk++) {
		for (uint32_t k = 0; k < 100; k++)
			assert_true(send_frame(a, f, frame_seq(f, 0xa, 0xb, blk * 100 + k), 5000));
		for (uint32_t k = 0; k < 100; k++) {
			uint32_t len = frame_seq(want, 0xa, 0xb, blk * 100 + k);

			assert_int_equal(recv_frame(b, f, NULL, 3000), len);
			assert_memory_equal(f, want, len);
		}
	}
	/* Its ring holds 1023 slots: the first 1023 frames b returned. */
	usleep(100000);
	for (uint32_t seq = 0; seq < 1023; seq++) {
		uint32_t len = frame_seq(want, 0xa, 0xb, seq);

		assert_int_equal(recv_frame(bz, f, NULL, 3000), len);
		assert_memory_equal(f, want, len);
	}
	expect_nothing(bz);
	assert_int_equal(
	    valectl(&valed_group, out, sizeof(out), "--json", "stats", "vale3:fb/z", NULL), 0);
	assert_non_null(strstr(out, "\"rx_drops\": 1977"));
	assert_true(listed(&valed_group, "vale3:fb/z "));
	vale_close(bt);
	vale_close(bz);
	/* Gone with its client: the region has room for the next one. */
	bz = open_port("vale3:fb/zr", NULL);
	vale_close(bz);
	vale_close(b);
	vale_close(a);
}

/* ---- what a zero-copy monitor may write ------------------------------------ */

/*
 * port.register name on a connection of our own: the reply line into out,
 * its fds into fds (up to 8), how many into *ret_n. The connection closes
 * (the registration ends; the fds stay ours).
 */
static void register_raw(const char *name, char *out, size_t size, int *fds, int *ret_n)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char req[256], cbuf[CMSG_SPACE(8 * sizeof(int))];
	struct iovec iov = {.iov_base = out, .iov_len = size - 1};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;
	int len;

	assert_true(fd >= 0);
	memcpy(sa.sun_path, valed_group.sock, strlen(valed_group.sock) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	len = snprintf(req, sizeof(req),
		       "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"port.register\","
		       "\"params\":{\"name\":\"%s\"}}\n",
		       name);
	assert_int_equal(write(fd, req, (size_t)len), len);
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC); /* the fds come with the first byte */
	assert_true(n > 0);
	out[n] = '\0';
	*ret_n = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			*ret_n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds, CMSG_DATA(c), (size_t)*ret_n * sizeof(int));
		}
	close(fd);
}

/* The number after "key": in a JSON text, or -1. */
static long long json_num(const char *text, const char *key)
{
	char pat[64];
	const char *at;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	at = strstr(text, pat);
	return at ? strtoll(at + strlen(pat), NULL, 10) : -1;
}

/* port.info's if_offset of name. */
static size_t if_offset_of(const char *name)
{
	char req[256], out[4096];
	int len = snprintf(req, sizeof(req),
			   "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"port.info\","
			   "\"params\":{\"name\":\"%s\"}}\n",
			   name);
	long long ofs;

	raw_request(&valed_group, req, (size_t)len, out, sizeof(out));
	ofs = json_num(out, "if_offset");
	assert_true(ofs >= 0);
	return (size_t)ofs;
}

/*
 * Finding 3: a zero-copy monitor never gets write access to memory the
 * monitored client still uses. Its "mem" fd is read-only (a PROT_WRITE
 * shared mapping fails with EACCES) and a write through its mapping, to a
 * buffer or to its port's rings, kills the writer with SIGSEGV; it writes
 * its own rings through the "area" fd. The port's client, scribbling where
 * the monitor's rings are in its own mapping, does not reach them: frames
 * still arrive in the monitor in the very buffers, exact and in order.
 */
static void test_zcopy_no_write_access(void **state)
{
	struct vale_port *a = open_port("vale4:a", NULL), *b = open_port("vale4:b", NULL);
	struct vale_port *bz = open_port("vale4:b/z", NULL), *c = open_port("vale4:c", NULL);
	char out[4096], *bbase, *zbase;
	struct netmap_ring *zr, *seen_by_b;
	int fds[8], n;
	uint32_t got[100], slots;
	uint8_t f[2048];
	(void)state;

	register_raw("vale4:c/zr", out, sizeof(out), fds, &n);
	assert_non_null(strstr(out, "\"result\""));
	assert_true(n >= 3);
	errno = 0;
	assert_true(mmap(NULL, (size_t)json_num(out, "mem_size"), PROT_READ | PROT_WRITE,
			 MAP_SHARED, fds[0], 0) == MAP_FAILED);
	assert_int_equal(errno, EACCES);
	assert_non_null(strstr(out, "\"fds\":[\"mem\",\"kick\",\"notify\",\"area\"]"));
	assert_int_equal(n, 4);
	assert_true(json_num(out, "area_size") > 0);
	assert_true(json_num(out, "area_offset") > 0);
	for (int i = 0; i < n; i++)
		close(fds[i]);

	/* Through libvale's mapping: its buffers and its port's rings. */
	zr = NETMAP_RXRING(vale_nifp(bz), 0);
	slots = zr->num_slots;
	assert_true(write_faults(NETMAP_BUF(zr, zr->slot[0].buf_idx)));
	zbase = (char *)vale_nifp(bz) - if_offset_of("vale4:b/z");
	assert_true(write_faults(zbase + if_offset_of("vale4:b")));

	/* b's client writes over the monitor's RX ring as its mapping shows it. */
	bbase = (char *)vale_nifp(b) - if_offset_of("vale4:b");
	seen_by_b = (struct netmap_ring *)(bbase + ((char *)zr - zbase));
	memset(seen_by_b, 0xff, vale_ring_size(slots));
	assert_int_equal(zr->num_slots, slots);
	for (uint32_t blk = 0; blk < 3; blk++) {
		for (uint32_t k = 0; k < 100; k++)
			assert_true(send_frame(a, f, frame_seq(f, 0xa, 0xb, blk * 100 + k), 5000));
		recv_block(b, 0xa, 0xb, blk * 100, got);
		for (uint32_t k = 0; k < 100; k++)
			expect_frame_in(bz, 0xa, 0xb, blk * 100 + k, 0, got[k]);
	}
	vale_close(c);
	vale_close(bz);
	vale_close(b);
	vale_close(a);
}

/* ---- rules ------------------------------------------------------------------ */

static void test_rules(void **state)
{
	char out[512];
	struct vale_port *e, *me;
	(void)state;

	errno = 0;
	assert_null(vale_open("vale0:nope/r", NULL));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(vale_last_error(), "no port vale0:nope"));
	/* A monitor of a monitor: refused by libvale and by valed. */
	e = open_port("vale0:e", NULL);
	assert_null(vale_open("vale0:e/r/t", NULL));
	assert_int_equal(errno, EINVAL);
	static const char req[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"port.register\","
				  "\"params\":{\"name\":\"vale0:e/r/r\"}}\n";
	raw_request(&valed_group, req, sizeof(req) - 1, out, sizeof(out));
	assert_non_null(strstr(out, "EINVAL"));
	assert_non_null(strstr(out, "cannot be monitored"));
	/* Listed as a monitor; its port stays while it watches. */
	me = open_port("vale0:e/t", NULL);
	assert_true(listed(&valed_group, "vale0:e/t"));
	assert_true(listed(&valed_group, "monitor of vale0:e"));
	vale_close(e);
	usleep(100000);
	assert_true(listed(&valed_group, "vale0:e "));
	vale_close(me);
	assert_true(eventually_listed(&valed_group, "vale0:e", false, 2000));
	/* /z is the zero-copy monitor of both directions. */
	e = open_port("vale0:e", NULL);
	me = open_port("vale0:e/z", NULL);
	assert_true(listed(&valed_group, "vale0:e/z "));
	vale_close(me);
	vale_close(e);
}

/* ---- capture ------------------------------------------------------------------ */

#define CAPTURED 40

/* Run argv (NULL-terminated) in the background with stdout to out_fd. */
static pid_t spawn(const char *const *argv, int out_fd)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (out_fd >= 0)
			dup2(out_fd, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid)
{
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Wait until a monitor of name is listed (the capture is ready). */
static void wait_monitor(const char *name)
{
	char text[80];
	snprintf(text, sizeof(text), "monitor of %s", name);
	assert_true(eventually_listed(&valed_group, text, true, 5000));
}

/* Send CAPTURED frames a -> b and let b take them. */
static void send_sequence(struct vale_port *a, struct vale_port *b)
{
	uint8_t f[2048];

	for (uint32_t seq = 0; seq < CAPTURED; seq++)
		assert_true(send_frame(a, f, frame_seq(f, 0xa, 0xb, seq), 5000));
	for (uint32_t seq = 0; seq < CAPTURED; seq++)
		expect_frame(b, 0xa, 0xb, seq, 0);
}

static bool have(const char *tool)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

static void hex(const uint8_t *p, uint32_t n, char *out)
{
	for (uint32_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static void test_capture_pcap(void **state)
{
	char file[128], cmd[256], line[8192], want[8192];
	const char *argv[] = {
	    VALECTL_PATH, "--socket", valed_group.sock, "capture", "vale0:cb/r", "-w", file, "-c",
	    "40",	  NULL};
	struct vale_port *a, *b;
	uint32_t n = 0;
	pid_t pid;
	FILE *p;
	(void)state;

	if (!have("tshark")) {
		fprintf(stderr, "skip: tshark is not installed\n");
		return;
	}
	snprintf(file, sizeof(file), "%s/cap.pcap", valed_group.dir);
	a = open_port("vale0:ca", NULL);
	b = open_port("vale0:cb", NULL);
	pid = spawn(argv, -1);
	wait_monitor("vale0:cb");
	send_sequence(a, b);
	assert_int_equal(wait_exit(pid), 0);

	/* Every frame, byte for byte: its length, its header, its payload. */
	snprintf(cmd, sizeof(cmd),
		 "tshark -r %s -T fields -E separator=' ' -e frame.len -e eth.dst -e eth.src "
		 "-e eth.type -e data.data 2>/dev/null",
		 file);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		uint8_t f[2048];
		uint32_t len = frame_seq(f, 0xa, 0xb, n);
		char payload[4096];

		line[strcspn(line, "\n")] = '\0';
		for (char *c = line; *c; c++) /* older tshark puts ':' in data.data */
			if (*c == ':' && c[1] && c[-1] != ' ')
				memmove(c, c + 1, strlen(c));
		hex(f + 14, len - 14, payload);
		snprintf(want, sizeof(want), "%u 0200000000%02x 0200000000%02x 0x%04x %s", len,
			 f[5], f[11], ETH_TYPE_TEST, payload);
		if (strcmp(line, want) != 0)
			fprintf(stderr, "frame %u:\n got  %.120s\n want %.120s\n", n, line, want);
		assert_string_equal(line, want);
		n++;
	}
	pclose(p);
	assert_int_equal(n, CAPTURED);
	unlink(file);
	vale_close(b);
	vale_close(a);
}

static void test_capture_tcpdump(void **state)
{
	char cmd[512], line[512];
	struct vale_port *a, *b;
	uint32_t n = 0;
	FILE *p;
	(void)state;

	if (!have("tcpdump")) {
		fprintf(stderr, "skip: tcpdump is not installed\n");
		return;
	}
	a = open_port("vale0:ta", NULL);
	b = open_port("vale0:tb", NULL);
	snprintf(cmd, sizeof(cmd),
		 "%s --socket %s capture vale0:ta -w - -c %d 2>/dev/null | "
		 "tcpdump -n -e -r - 2>/dev/null",
		 VALECTL_PATH, valed_group.sock, CAPTURED);
	p = popen(cmd, "r");
	assert_non_null(p);
	wait_monitor("vale0:ta");
	send_sequence(a, b);
	while (fgets(line, sizeof(line), p)) {
		uint8_t f[2048];
		char want[64];

		if (line[0] == '\t')
			continue; /* tcpdump's hex dump of an unknown EtherType */
		snprintf(want, sizeof(want), "length %u", frame_seq(f, 0xa, 0xb, n));
		assert_non_null(strstr(line, "02:00:00:00:00:0a > 02:00:00:00:00:0b"));
		assert_non_null(strstr(line, want));
		n++;
	}
	assert_int_equal(pclose(p), 0);
	assert_int_equal(n, CAPTURED);
	vale_close(b);
	vale_close(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_copies_ephemeral),
	    cmocka_unit_test(test_copies_persistent),
	    cmocka_unit_test(test_copies_pipe),
	    cmocka_unit_test(test_zcopy_ephemeral),
	    cmocka_unit_test(test_zcopy_persistent),
	    cmocka_unit_test(test_zcopy_shared_region),
	    cmocka_unit_test(test_zcopy_pipe),
	    cmocka_unit_test(test_zcopy_full_and_rules),
	    cmocka_unit_test(test_zcopy_no_write_access),
	    cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_capture_pcap),
	    cmocka_unit_test(test_capture_tcpdump),
	};
	return cmocka_run_group_tests(tests, valed_group_setup, valed_group_teardown);
}
