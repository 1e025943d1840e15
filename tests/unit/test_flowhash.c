/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of switch/flowhash: same flow, same hash; fields that matter do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "flowhash.h"

/* Ethernet + IPv4 + UDP, with the fields under test as parameters. */
static uint32_t v4(uint8_t *f, uint8_t src_ip_last, uint16_t sport, uint8_t payload,
		   uint16_t frag)
{
	memset(f, 0, 64);
	f[0] = 0x02, f[5] = 1;
	f[6] = 0x02, f[11] = 2;
	f[12] = 0x08, f[13] = 0x00;
	f[14] = 0x45;
	f[20] = (uint8_t)(frag >> 8), f[21] = (uint8_t)frag;
	f[23] = 17;
	f[26] = 10, f[29] = src_ip_last;
	f[30] = 10, f[33] = 1;
	f[34] = (uint8_t)(sport >> 8), f[35] = (uint8_t)sport;
	f[37] = 53;
	f[50] = payload;
	return 64;
}

static void test_same_flow_same_hash(void **state)
{
	uint8_t a[64], b[64];
	(void)state;

	/* Payload and IP id do not matter: same flow. */
	v4(a, 5, 1000, 1, 0);
	v4(b, 5, 1000, 2, 0);
	b[18] = 0x12;
	assert_int_equal(flowhash_frame(a, 64), flowhash_frame(b, 64));
}

static void test_fields_matter(void **state)
{
	uint8_t a[64], b[64];
	uint32_t h;
	(void)state;

	h = flowhash_frame(a, v4(a, 5, 1000, 0, 0));
	assert_int_not_equal(h, flowhash_frame(b, v4(b, 6, 1000, 0, 0))); /* source IP */
	assert_int_not_equal(h, flowhash_frame(b, v4(b, 5, 1001, 0, 0))); /* source port */
	v4(b, 5, 1000, 0, 0);
	b[11] = 3;
	assert_int_not_equal(h, flowhash_frame(b, 64)); /* source MAC */
	/* A fragment has no ports to hash: its port bytes do not matter. */
	v4(a, 5, 1000, 0, 0x2000);
	v4(b, 5, 2000, 0, 0x2000);
	assert_int_equal(flowhash_frame(a, 64), flowhash_frame(b, 64));
}

static void test_vlan_and_ipv6(void **state)
{
	uint8_t a[80], b[80];
	(void)state;

	/* IPv4 behind a VLAN tag: ports still count. */
	for (int i = 0; i < 2; i++) {
		uint8_t *f = i ? b : a;
		memset(f, 0, sizeof(a));
		f[12] = 0x81, f[13] = 0x00, f[14] = 0, f[15] = 7;
		f[16] = 0x08, f[17] = 0x00;
		f[18] = 0x45, f[27] = 6;
		f[38] = 0x10, f[39] = (uint8_t)i;
	}
	assert_int_not_equal(flowhash_frame(a, 80), flowhash_frame(b, 80));
	/* IPv6 with TCP: ports count. */
	for (int i = 0; i < 2; i++) {
		uint8_t *f = i ? b : a;
		memset(f, 0, sizeof(a));
		f[12] = 0x86, f[13] = 0xdd;
		f[14] = 0x60, f[20] = 6;
		f[54] = 0x10, f[55] = (uint8_t)i;
	}
	assert_int_not_equal(flowhash_frame(a, 80), flowhash_frame(b, 80));
}

/* Short frames hash without reading past their end (ASan checks this). */
static void test_truncated(void **state)
{
	uint8_t f[64];
	(void)state;

	v4(f, 5, 1000, 0, 0);
	for (uint32_t len = 0; len <= 64; len++) {
		uint8_t *copy = test_malloc(len ? len : 1);
		memcpy(copy, f, len);
		(void)flowhash_frame(copy, len);
		test_free(copy);
	}
}

/* Many flows spread over 4 rings about evenly. */
static void test_spread(void **state)
{
	uint8_t f[64];
	uint32_t count[4] = {0};
	(void)state;

	for (uint32_t i = 0; i < 4000; i++) {
		v4(f, (uint8_t)(i & 0xff), (uint16_t)(1000 + i), 0, 0);
		count[flowhash_frame(f, 64) % 4]++;
	}
	for (int r = 0; r < 4; r++)
		assert_true(count[r] > 800 && count[r] < 1200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_flow_same_hash),
		cmocka_unit_test(test_fields_matter),
		cmocka_unit_test(test_vlan_and_ipv6),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_spread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
