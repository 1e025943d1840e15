/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Test objective: two tap ports of one switch, each moved into its own
 * network namespace, carry the kernel's traffic: ARP resolves, ping works
 * both ways, and iperf3 TCP (with TSO and checksum offload through the
 * switch's virtio-net headers) moves data, in TSO frames that cross whole.
 * Destroying a port removes its interface.
 *
 *   netns A [vt_a 10.98.0.1] --tap--> [ vale switch ] <--tap-- [vt_b 10.98.0.2] netns B
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bdg.h"
#include "learn.h"
#include "netns.h"
#include "tapport.h"

static char ns_a[32], ns_b[32];

static void cleanup(void)
{
	sh("ip netns del %s 2>/dev/null", ns_a);
	sh("ip netns del %s 2>/dev/null", ns_b);
}

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	snprintf(ns_a, sizeof(ns_a), "vtpa%d", getpid());
	snprintf(ns_b, sizeof(ns_b), "vtpb%d", getpid());
	cleanup();
	atexit(cleanup);
	if (sh("ip netns add %s && ip netns add %s", ns_a, ns_b))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cleanup();
	return 0;
}

static void test_two_namespaces(void **state)
{
	struct tap_params pa = {.name = "vt_a", .netns = ns_a}, pb = {.name = "vt_b", .netns = ns_b};
	struct kport *a, *b;
	struct bdg *sw;
	char err[ERR_LEN];
	(void)state;

	if (geteuid() != 0)
		skip();
	if (sh("command -v iperf3 >/dev/null && command -v ping >/dev/null"))
		skip();
	sw = bdg_create("vale77", &learn_ops, learn_create(1024, 300));
	assert_non_null(sw);
	a = tapport_create(sw, "a", &pa, err);
	if (!a)
		fail_msg("tap a: %s", err);
	b = tapport_create(sw, "b", &pb, err);
	if (!b)
		fail_msg("tap b: %s", err);
	assert_int_equal(bdg_port_vnet_hdr_len(kport_port(a)), 12);
	assert_int_equal(sh("ip -n %s addr add 10.98.0.1/24 dev vt_a", ns_a), 0);
	assert_int_equal(sh("ip -n %s addr add 10.98.0.2/24 dev vt_b", ns_b), 0);

	/* ARP and ping, both ways. */
	assert_int_equal(sh("ip netns exec %s ping -c 3 -i 0.2 -W 2 -q 10.98.0.2 >/dev/null", ns_a),
			 0);
	assert_int_equal(sh("ip netns exec %s ping -c 3 -i 0.2 -W 2 -q 10.98.0.1 >/dev/null", ns_b),
			 0);
	/* TCP: iperf3 for 2 s must move data and end cleanly. */
	assert_int_equal(sh("ip netns exec %s iperf3 -s -1 -D -p 5299 >/dev/null 2>&1", ns_b), 0);
	usleep(300000);
	assert_int_equal(sh("ip netns exec %s iperf3 -c 10.98.0.2 -p 5299 -t 2 >/tmp/vt_iperf.txt 2>&1",
			    ns_a),
			 0);
	assert_int_equal(sh("grep -q receiver /tmp/vt_iperf.txt"), 0);
	sh("grep receiver /tmp/vt_iperf.txt >&2");

	struct kport_stats st;
	kport_get_stats(a, &st);
	assert_true(st.rx_frames > 0 && st.tx_frames > 0);
	/*
	 * Equal header lengths: TSO frames cross whole, not segmented. The
	 * data frames a sent into the switch, and those delivered to b, are
	 * of 64 KiB mostly (pings and ARP are few): well over 16 KiB on average.
	 */
	struct bdg_port_stats sa, sb;
	bdg_port_get_stats(kport_port(a), &sa);
	bdg_port_get_stats(kport_port(b), &sb);
	fprintf(stderr, "a -> switch: %llu frames, %llu bytes; switch -> b: %llu frames\n",
		(unsigned long long)sa.tx_packets, (unsigned long long)sa.tx_bytes,
		(unsigned long long)sb.rx_packets);
	assert_true(sa.tx_packets > 0 && sa.tx_bytes / sa.tx_packets > 16384);
	assert_true(sb.rx_packets > 0 && sb.rx_bytes / sb.rx_packets > 16384);
	kport_destroy(a);
	assert_true(sh("ip -n %s link show vt_a >/dev/null 2>&1", ns_a) != 0);
	kport_destroy(b);
	assert_int_equal(bdg_destroy(sw), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_namespaces),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
