/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of switch/offload: checksum completion and TCP segmentation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "offload.h"

/* An independent checksum: 1's complement sum folded, not inverted. */
static uint16_t ones_sum(const uint8_t *p, uint32_t len, uint32_t sum)
{
	for (uint32_t i = 0; i < len; i++)
		sum += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A TCP frame over IPv4 (v6 = 0) or IPv6 with `payload` bytes of pattern. */
static uint32_t tcp_frame(uint8_t *f, int v6, uint32_t payload)
{
	uint32_t l3 = 14, l4 = v6 ? 54 : 34, len = l4 + 20 + payload;

	memset(f, 0, len);
	f[0] = 2, f[5] = 1, f[6] = 2, f[11] = 2;
	if (v6) {
		f[12] = 0x86, f[13] = 0xdd;
		f[l3] = 0x60;
		f[l3 + 4] = (uint8_t)((20 + payload) >> 8), f[l3 + 5] = (uint8_t)(20 + payload);
		f[l3 + 6] = 6, f[l3 + 7] = 64;
		f[l3 + 8] = 0xfd, f[l3 + 23] = 1;
		f[l3 + 24] = 0xfd, f[l3 + 39] = 2;
	} else {
		f[12] = 0x08;
		f[l3] = 0x45;
		f[l3 + 2] = (uint8_t)((len - l3) >> 8), f[l3 + 3] = (uint8_t)(len - l3);
		f[l3 + 4] = 0x12, f[l3 + 5] = 0x34;
		f[l3 + 8] = 64, f[l3 + 9] = 6;
		f[l3 + 12] = 10, f[l3 + 15] = 1;
		f[l3 + 16] = 10, f[l3 + 19] = 2;
	}
	f[l4] = 0x30, f[l4 + 1] = 0x39;           /* port 12345 */
	f[l4 + 3] = 80;                            /* port 80 */
	f[l4 + 6] = 0x03, f[l4 + 7] = 0xe8;       /* seq 1000 */
	f[l4 + 12] = 0x50;                         /* 20-byte header */
	f[l4 + 13] = 0x80 | 0x10 | 0x08 | 0x01;   /* CWR ACK PSH FIN */
	for (uint32_t i = 0; i < payload; i++)
		f[l4 + 20 + i] = (uint8_t)(i * 7);
	return len;
}

static uint16_t tcp_check(const uint8_t *f, int v6, uint32_t len)
{
	uint32_t l3 = 14, l4 = v6 ? 54 : 34, sum = 6 + (len - l4);
	sum += v6 ? ones_sum(f + l3 + 8, 32, 0) : ones_sum(f + l3 + 12, 8, 0);
	return ones_sum(f + l4, len - l4, sum);
}

static void check_segments(int v6)
{
	static uint8_t f[8192], out[2048];
	struct vnet_hdr h = {.gso_type = v6 ? VNET_HDR_GSO_TCPV6 : VNET_HDR_GSO_TCPV4,
			     .gso_size = 1448};
	uint32_t l4 = v6 ? 54 : 34, len = tcp_frame(f, v6, 3000);
	const uint32_t want[3] = {1448, 1448, 104};

	uint32_t longest = 0;

	assert_int_equal(offload_segment_plan(f, len, len, &h, &longest), 3);
	assert_int_equal(longest, l4 + 20 + 1448);
	/* The headers alone plan it: what follows them is not read. */
	longest = 0;
	assert_int_equal(offload_segment_plan(f, l4 + 20, len, &h, &longest), 3);
	assert_int_equal(longest, l4 + 20 + 1448);
	assert_int_equal(offload_segment_plan(f, l4 + 19, len, &h, &longest), -EINVAL);
	for (uint32_t i = 0; i < 3; i++) {
		int n = offload_segment(f, len, &h, i, out, sizeof(out));
		assert_int_equal(n, (int)(l4 + 20 + want[i]));
		if (v6) {
			assert_int_equal(be16(out + 18), 20 + want[i]);
		} else {
			assert_int_equal(be16(out + 16), n - 14);
			assert_int_equal(be16(out + 18), 0x1234 + i);
			assert_int_equal(ones_sum(out + 14, 20, 0), 0xffff); /* valid */
		}
		assert_int_equal(be32(out + l4 + 4), 1000 + 1448 * i);
		assert_int_equal(out[l4 + 13] & 0x01, i == 2 ? 0x01 : 0);      /* FIN last */
		assert_int_equal(out[l4 + 13] & 0x08, i == 2 ? 0x08 : 0);      /* PSH last */
		assert_int_equal(out[l4 + 13] & 0x80, i == 0 ? 0x80 : 0);      /* CWR first */
		assert_int_equal(out[l4 + 13] & 0x10, 0x10);                   /* ACK all */
		assert_int_equal(tcp_check(out, v6, (uint32_t)n), 0xffff);     /* valid */
		assert_memory_equal(out + l4 + 20, f + l4 + 20 + 1448 * i, want[i]);
	}
	assert_int_equal(offload_segment(f, len, &h, 3, out, sizeof(out)), -EINVAL);
	assert_int_equal(offload_segment(f, len, &h, 0, out, 100), -ENOSPC);
}

static void test_segment_tcpv4(void **state)
{
	(void)state;
	check_segments(0);
}

static void test_segment_tcpv6(void **state)
{
	(void)state;
	check_segments(1);
}

static void test_csum_complete(void **state)
{
	uint8_t f[200];
	uint32_t len = tcp_frame(f, 0, 101); /* odd length */
	uint32_t pseudo;
	(void)state;

	/* As a sender with NEEDS_CSUM leaves it: the pseudo-header sum, not inverted. */
	pseudo = ones_sum(f + 26, 8, 6 + (len - 34));
	f[50] = (uint8_t)(pseudo >> 8), f[51] = (uint8_t)pseudo;
	assert_int_equal(offload_csum_complete(f, len, 34, 16), 0);
	assert_int_equal(tcp_check(f, 0, len), 0xffff);
	assert_int_equal(offload_csum_complete(f, len, 34, 200), -EINVAL);
	assert_int_equal(offload_csum_complete(f, len, 250, 16), -EINVAL);
}

static void test_refusals(void **state)
{
	uint8_t f[2000], out[2048];
	uint32_t len = tcp_frame(f, 0, 500);
	struct vnet_hdr h = {.gso_type = VNET_HDR_GSO_UDP, .gso_size = 100};
	(void)state;

	uint32_t longest = 0;

	assert_int_equal(offload_segment_plan(f, len, len, &h, &longest), -EOPNOTSUPP);
	h.gso_type = VNET_HDR_GSO_NONE;
	assert_int_equal(offload_segment_plan(f, len, len, &h, &longest), 1);
	assert_int_equal(longest, len);
	h.gso_type = VNET_HDR_GSO_TCPV6; /* says v6, frame is v4 */
	assert_int_equal(offload_segment_plan(f, len, len, &h, &longest), -EINVAL);
	h.gso_type = VNET_HDR_GSO_TCPV4 | VNET_HDR_GSO_ECN;
	assert_int_equal(offload_segment_plan(f, len, len, &h, &longest), 5);
	assert_int_equal(longest, 54 + 100);
	assert_int_equal(offload_segment_plan(f, 40, 40, &h, &longest), -EINVAL); /* truncated */
	h.gso_size = 0;
	assert_int_equal(offload_segment(f, len, &h, 0, out, sizeof(out)), -EINVAL);
	/* Header parsing is little endian. */
	const uint8_t raw[10] = {1, 4, 54, 0, 0xa8, 0x05, 34, 0, 16, 0};
	offload_hdr_parse(raw, &h);
	assert_int_equal(h.flags, 1);
	assert_int_equal(h.gso_type, 4);
	assert_int_equal(h.hdr_len, 54);
	assert_int_equal(h.gso_size, 1448);
	assert_int_equal(h.csum_start, 34);
	assert_int_equal(h.csum_offset, 16);
	assert_true(offload_needed(&h));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segment_tcpv4),
		cmocka_unit_test(test_segment_tcpv6),
		cmocka_unit_test(test_csum_complete),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
