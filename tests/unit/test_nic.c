/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Test objective: veth interfaces attached to a switch, natively (AF_XDP)
 * and generically (AF_PACKET), carry the kernel's traffic between two
 * namespaces: ARP resolves, ping works, iperf3 TCP moves data, MTU 9000
 * passes (generic), and detaching gives the interfaces back working.
 *
 *   netns A [a0 10.97.0.1] <-veth-> a1 --+
 *                                        +-- vale switch (this process, its own netns)
 *   netns B [b0 10.97.0.2] <-veth-> b1 --+
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "bdg.h"
#include "learn.h"
#include "netns.h"
#include "nic.h"

static char ns_a[32], ns_b[32], ns_me[32];

static void cleanup(void)
{
	sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null",
	   ns_a, ns_b, ns_me);
}

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	snprintf(ns_a, sizeof(ns_a), "vnica%d", getpid());
	snprintf(ns_b, sizeof(ns_b), "vnicb%d", getpid());
	snprintf(ns_me, sizeof(ns_me), "vnics%d", getpid());
	cleanup();
	atexit(cleanup);
	/* The switch side lives in a namespace of its own: nothing here touches
	 * the root namespace's interfaces. */
	if (sh("ip netns add %s && ip netns add %s && ip netns add %s", ns_a, ns_b, ns_me))
		return -1;
	if (netns_enter(ns_me))
		return -1;
	if (sh("ip link set lo up && "
	       "ip link add a1 type veth peer name a0 netns %s && "
	       "ip link add b1 type veth peer name b0 netns %s && "
	       "ip link set a1 up && ip link set b1 up && "
	       "ip -n %s addr add 10.97.0.1/24 dev a0 && ip -n %s link set a0 up && "
	       "ip -n %s addr add 10.97.0.2/24 dev b0 && ip -n %s link set b0 up",
	       ns_a, ns_b, ns_a, ns_a, ns_b, ns_b))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cleanup();
	return 0;
}

static void traffic(const char *label, bool iperf)
{
	assert_int_equal(sh("ip netns exec %s ping -c 3 -i 0.2 -w 6 -q 10.97.0.2 >/dev/null", ns_a),
			 0);
	assert_int_equal(sh("ip netns exec %s ping -c 2 -i 0.2 -w 6 -q 10.97.0.1 >/dev/null", ns_b),
			 0);
	if (!iperf)
		return;
	assert_int_equal(sh("ip netns exec %s iperf3 -s -1 -D -p 5298 >/dev/null 2>&1", ns_b), 0);
	usleep(300000);
	assert_int_equal(sh("ip netns exec %s iperf3 -c 10.97.0.2 -p 5298 -t 2 >/tmp/vnic_iperf.txt "
			    "2>&1",
			    ns_a),
			 0);
	fprintf(stderr, "%s: ", label);
	sh("grep receiver /tmp/vnic_iperf.txt >&2");
}

static void attach_both(enum nic_admode mode, const char *want_kind, bool iperf)
{
	struct bdg *sw = bdg_create("vale76", &learn_ops, learn_create(1024, 300));
	char reason[ERR_LEN], err[ERR_LEN];
	struct kport *a, *b;

	assert_non_null(sw);
	a = nic_attach(sw, "a1", mode, reason, err);
	if (!a)
		fail_msg("attach a1 (%s): %s", nic_admode_name(mode), err);
	fprintf(stderr, "a1: %s\n", reason);
	b = nic_attach(sw, "b1", mode, reason, err);
	if (!b)
		fail_msg("attach b1: %s", err);
	assert_string_equal(kport_kind(a), want_kind);
	traffic(want_kind, iperf);
	kport_destroy(a);
	kport_destroy(b);
	assert_int_equal(bdg_destroy(sw), 0);
}

static void test_generic(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	attach_both(NIC_ADMODE_GENERIC, "generic", true);
	/* Jumbo frames: MTU 9000 end to end. */
	assert_int_equal(sh("ip link set a1 mtu 9000 && ip link set b1 mtu 9000 && "
			    "ip -n %s link set a0 mtu 9000 && ip -n %s link set b0 mtu 9000",
			    ns_a, ns_b),
			 0);
	struct bdg *sw = bdg_create("vale75", &learn_ops, learn_create(1024, 300));
	char reason[ERR_LEN], err[ERR_LEN];
	struct kport *a = nic_attach(sw, "a1", NIC_ADMODE_GENERIC, reason, err);
	struct kport *b = nic_attach(sw, "b1", NIC_ADMODE_GENERIC, reason, err);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(sh("ip netns exec %s ping -c 2 -i 0.2 -W 2 -M do -s 8972 -q 10.97.0.2 "
			    ">/dev/null",
			    ns_a),
			 0);
	kport_destroy(a);
	kport_destroy(b);
	bdg_destroy(sw);
	assert_int_equal(sh("ip link set a1 mtu 1500 && ip link set b1 mtu 1500 && "
			    "ip -n %s link set a0 mtu 1500 && ip -n %s link set b0 mtu 1500",
			    ns_a, ns_b),
			 0);
}

static void test_native(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	/* XDP sees frames before checksum offload is resolved: have the
	 * namespaces' stacks fill in their checksums. */
	sh("ip netns exec %s ethtool -K a0 tx off >/dev/null 2>&1", ns_a);
	sh("ip netns exec %s ethtool -K b0 tx off >/dev/null 2>&1", ns_b);
	attach_both(NIC_ADMODE_NATIVE, "native", true);
	/* Given back: with the bridge gone, a1 and b1 are plain interfaces again,
	 * so a Linux bridge of them carries the traffic. */
	assert_int_equal(sh("ip link show a1 | grep -q xdp"), 1);
	assert_int_equal(sh("ip link add br9 type bridge && ip link set br9 up && "
			    "ip link set a1 master br9 && ip link set b1 master br9"),
			 0);
	sleep(1);
	traffic("bridge after detach", false);
	sh("ip link del br9");
}

static void test_best_and_errors(void **state)
{
	struct bdg *sw;
	char reason[ERR_LEN], err[ERR_LEN];
	struct kport *k;
	(void)state;

	if (geteuid() != 0)
		skip();
	sw = bdg_create("vale74", &learn_ops, learn_create(1024, 300));
	k = nic_attach(sw, "a1", NIC_ADMODE_BEST, reason, err);
	assert_non_null(k);
	assert_non_null(strstr(reason, "AF_XDP"));
	kport_destroy(k);
	assert_null(nic_attach(sw, "nosuch0", NIC_ADMODE_GENERIC, reason, err));
	assert_non_null(strstr(err, "nosuch0"));
	assert_null(nic_attach(sw, "nosuch0", NIC_ADMODE_NATIVE, reason, err));
	bdg_destroy(sw);
	enum nic_admode m;
	assert_int_equal(nic_admode_parse("generic", &m), 0);
	assert_int_equal(m, NIC_ADMODE_GENERIC);
	assert_int_equal(nic_admode_parse("fast", &m), -EINVAL);
}

/* CPU seconds this process used so far, all threads. */
static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/*
 * An attached interface deleted under its port: the socket's error must not
 * make the port's thread spin (it slept in poll(), which returned POLLERR at
 * once, forever), and detaching still works.
 */
static void test_interface_gone(void **state)
{
	struct bdg *sw;
	char reason[ERR_LEN], err[ERR_LEN];
	struct kport *k;
	double t0;
	(void)state;

	if (geteuid() != 0)
		skip();
	assert_int_equal(sh("ip link add g1 type veth peer name g0 && ip link set g1 up && "
			    "ip link set g0 up"),
			 0);
	sw = bdg_create("vale73", &learn_ops, learn_create(1024, 300));
	k = nic_attach(sw, "g1", NIC_ADMODE_GENERIC, reason, err);
	if (!k)
		fail_msg("attach g1: %s", err);
	assert_int_equal(sh("ip link del g1"), 0);
	usleep(100000);
	t0 = cpu_seconds();
	usleep(500000);
	assert_true(cpu_seconds() - t0 < 0.2);
	kport_destroy(k);
	assert_int_equal(bdg_destroy(sw), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generic),
		cmocka_unit_test(test_native),
		cmocka_unit_test(test_best_and_errors),
		cmocka_unit_test(test_interface_gone),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
