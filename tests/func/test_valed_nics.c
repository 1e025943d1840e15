/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Test objective: kernel interfaces as ports of a real valed, in network
 * namespaces this test creates (never the root namespace's interfaces):
 *  - veth peers of two namespaces attached natively (AF_XDP) and generically
 *    (AF_PACKET): ARP resolves, ping and iperf3 TCP work, MTU 9000 passes
 *    in both modes (native: multi-buffer AF_XDP, no fallback to generic),
 *    and detach gives the interfaces back working;
 *  - two tap ports moved into two namespaces ping each other and run iperf3;
 *  - a host port (-h) lets the host stack reach a namespace through vale0;
 *  - two valed "hosts", each with a vxlan interface attached, joined by a
 *    veth underlay: namespaces behind them ping and run iperf3 over VXLAN;
 *  - every kernel port (NIC, tap, host port) is listed by vale.list under its
 *    switch with its type, and stats.get counts its traffic both ways.
 *
 *   ns A [a0 .1] <-veth-> a1 --+                        +-- tap c1 -> ns C1
 *                              +-- valed (ns S) vale0 --+-- tap c2 -> ns C2
 *   ns B [b0 .2] <-veth-> b1 --+                        +-- host port vh-a1 (ns S stack)
 *
 *   ns P1 [p1] <-veth-> q1 -- valed H1 vale0 -- vx1 ~~udp~~ u1 <-veth-> u2 ~~ vx2 -- valed H2 vale0 -- q2 <-veth-> [p2] ns P2
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "netns.h"

static char ns[8][32];
enum { NS_S, NS_A, NS_B, NS_C1, NS_C2, NS_H1, NS_H2, NS_P };
static struct valed daemon_;

static void cleanup(void)
{
	for (int i = 0; i < 8; i++)
		if (ns[i][0])
			sh("ip netns del %s 2>/dev/null", ns[i]);
	sh("ip netns del %sx 2>/dev/null", ns[NS_P]);
}

static int setup(void **state)
{
	static const char *const tag[] = {"s", "a", "b", "c1", "c2", "h1", "h2", "p"};
	(void)state;
	if (geteuid() != 0)
		return 0;
	for (int i = 0; i < 8; i++)
		snprintf(ns[i], sizeof(ns[i]), "vf%s%d", tag[i], getpid());
	cleanup();
	atexit(cleanup);
	for (int i = 0; i < 8; i++)
		if (sh("ip netns add %s && ip -n %s link set lo up", ns[i], ns[i]))
			return -1;
	sh("ip netns add %sx && ip -n %sx link set lo up", ns[NS_P], ns[NS_P]);
	if (sh("ip -n %s link add a1 type veth peer name a0 netns %s && "
	       "ip -n %s link add b1 type veth peer name b0 netns %s && "
	       "ip -n %s link set a1 up && ip -n %s link set b1 up && "
	       "ip -n %s addr add 10.94.0.1/24 dev a0 && ip -n %s link set a0 up && "
	       "ip -n %s addr add 10.94.0.2/24 dev b0 && ip -n %s link set b0 up",
	       ns[NS_S], ns[NS_A], ns[NS_S], ns[NS_B], ns[NS_S], ns[NS_S], ns[NS_A], ns[NS_A],
	       ns[NS_B], ns[NS_B]))
		return -1;
	valed_start_in(&daemon_, ns[NS_S], NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (geteuid() == 0)
		assert_int_equal(valed_stop(&daemon_), 0);
	cleanup();
	return 0;
}

static int ping(int from, const char *ip)
{
	return sh("ip netns exec %s ping -c 3 -i 0.2 -w 6 -q %s >/dev/null", ns[from], ip);
}

static void iperf(int server, int client, const char *ip, const char *label)
{
	assert_int_equal(sh("ip netns exec %s iperf3 -s -1 -D -p 5297 >/dev/null 2>&1", ns[server]),
			 0);
	usleep(300000);
	assert_int_equal(sh("ip netns exec %s iperf3 -c %s -p 5297 -t 2 >/tmp/vf_iperf.txt 2>&1",
			    ns[client], ip),
			 0);
	fprintf(stderr, "%s: ", label);
	assert_int_equal(sh("grep receiver /tmp/vf_iperf.txt >&2"), 0);
}

/* valectl --json cmd [arg] on daemon_, parsed (asserts success). */
static json_t *valectl_json(const char *cmd, const char *arg)
{
	static char out[65536];
	json_t *r;

	assert_int_equal(valectl(&daemon_, out, sizeof(out), "--json", cmd, arg, NULL), 0);
	r = json_loads(out, 0, NULL);
	assert_non_null(r);
	return r;
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static json_int_t jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* Port name in the ports of switch sw of a vale.list result, or NULL. */
static json_t *listed_port(json_t *list, const char *sw, const char *name)
{
	json_t *s, *p;
	size_t i, j;

	json_array_foreach(json_object_get(list, "switches"), i, s) {
		if (strcmp(jstr(s, "name"), sw) != 0)
			continue;
		json_array_foreach(json_object_get(s, "ports"), j, p)
			if (strcmp(jstr(p, "name"), name) == 0)
				return p;
	}
	return NULL;
}

/*
 * Kernel port name of switch sw, of type type, which carried traffic both
 * ways: vale.list (all switches, and sw alone) shows it, valectl list too,
 * and stats.get (of it, and of every port) has its counters.
 */
static void expect_kernel_port(const char *sw, const char *name, const char *type)
{
	char out[8192], line[128];
	const char *l, *t;
	json_t *r, *p, *ports;
	size_t i;
	bool found = false;

	for (int only = 0; only < 2; only++) {
		r = valectl_json("list", only ? sw : NULL);
		p = listed_port(r, sw, name);
		assert_non_null(p);
		assert_string_equal(jstr(p, "type"), type);
		assert_string_equal(jstr(p, "port"), strchr(name, ':') + 1);
		assert_true(jstr(p, "detail")[0] != '\0');
		assert_true(json_is_true(json_object_get(p, "persistent")));
		assert_true(jint(p, "index") >= 0);
		json_decref(r);
	}
	assert_int_equal(valectl(&daemon_, out, sizeof(out), "list", NULL), 0);
	snprintf(line, sizeof(line), "%s bridge %s port ", name, sw);
	l = strstr(out, line);
	assert_non_null(l);
	t = strstr(l, type);
	assert_true(t && t < strchrnul(l, '\n'));

	r = valectl_json("stats", name);
	ports = json_object_get(r, "ports");
	assert_int_equal(json_array_size(ports), 1);
	p = json_array_get(ports, 0);
	assert_string_equal(jstr(p, "name"), name);
	assert_string_equal(jstr(p, "type"), type);
	assert_true(jint(p, "rx_frames") > 0);	/* from the kernel */
	assert_true(jint(p, "tx_frames") > 0);	/* to the kernel */
	assert_true(jint(p, "tx_packets") > 0); /* into the switch */
	assert_true(jint(p, "rx_packets") > 0); /* from the switch */
	assert_true(jint(p, "rx_dropped") >= 0 && jint(p, "tx_dropped") >= 0); /* present */
	json_decref(r);
	r = valectl_json("stats", NULL);
	json_array_foreach(json_object_get(r, "ports"), i, p)
		found = found || strcmp(jstr(p, "name"), name) == 0;
	assert_true(found);
	json_decref(r);
	assert_int_equal(valectl(&daemon_, out, sizeof(out), "stats", name, NULL), 0);
	assert_non_null(strstr(out, name));
	assert_non_null(strstr(out, "kernel side: rx_frames "));
}

static void attach_pair(const char *mode)
{
	char out[4096];

	/* Whatever an earlier failed test left attached goes first. */
	valectl(&daemon_, NULL, 0, "-d", "vale0:a1", NULL);
	valectl(&daemon_, NULL, 0, "-d", "vale0:b1", NULL);

	assert_int_equal(valectl(&daemon_, out, sizeof(out), "attach", "vale0", "a1", "--mode", mode,
				 NULL),
			 0);
	assert_int_equal(valectl(&daemon_, out, sizeof(out), "attach", "vale0", "b1", "--mode", mode,
				 NULL),
			 0);
	assert_int_equal(valectl(&daemon_, out, sizeof(out), "interfaces", NULL), 0);
	assert_non_null(strstr(out, mode));
	assert_int_equal(ping(NS_A, "10.94.0.2"), 0);
	assert_int_equal(ping(NS_B, "10.94.0.1"), 0);
	/* A switch of NIC ports only lists them, with their counters. */
	expect_kernel_port("vale0", "vale0:a1", mode);
	expect_kernel_port("vale0", "vale0:b1", mode);
	assert_int_equal(valectl(&daemon_, NULL, 0, "stats", "vale0:nosuch9", NULL), 1);
	iperf(NS_B, NS_A, "10.94.0.2", mode);
	/* Attaching twice is refused; an unknown interface too. */
	assert_int_equal(valectl(&daemon_, NULL, 0, "-a", "vale0:a1", NULL), 1);
	assert_int_equal(valectl(&daemon_, NULL, 0, "-a", "vale0:nosuch9", NULL), 1);
	assert_int_equal(valectl(&daemon_, NULL, 0, "-d", "vale0:a1", NULL), 0);
	assert_int_equal(valectl(&daemon_, NULL, 0, "detach", "vale0", "b1", NULL), 0);
	assert_int_equal(valectl(&daemon_, NULL, 0, "-d", "vale0:b1", NULL), 1);
}

/* Detached interfaces work again: a Linux bridge of them carries traffic. */
static void given_back(void)
{
	assert_int_equal(sh("ip -n %s link show a1 | grep -q xdp", ns[NS_S]), 1);
	assert_int_equal(sh("ip -n %s link add br9 type bridge && ip -n %s link set br9 up && "
			    "ip -n %s link set a1 master br9 && ip -n %s link set b1 master br9",
			    ns[NS_S], ns[NS_S], ns[NS_S], ns[NS_S]),
			 0);
	assert_int_equal(ping(NS_A, "10.94.0.2"), 0);
	sh("ip -n %s link del br9", ns[NS_S]);
}

/* The vale.interfaces entry of vale0's port port (asserts it is there). */
static json_t *interface(json_t *r, const char *port)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(r, "interfaces"), i, e)
		if (strcmp(jstr(e, "switch"), "vale0") == 0 && strcmp(jstr(e, "port"), port) == 0)
			return e;
	fail_msg("vale0:%s not in vale.interfaces", port);
	return NULL;
}

static void set_mtu(int mtu)
{
	assert_int_equal(sh("ip -n %s link set a1 mtu %d && ip -n %s link set b1 mtu %d && "
			    "ip -n %s link set a0 mtu %d && ip -n %s link set b0 mtu %d",
			    ns[NS_S], mtu, ns[NS_S], mtu, ns[NS_A], mtu, ns[NS_B], mtu),
			 0);
}

/* A ping of size bytes with DF set (no IP fragmentation), from ns from to ip. */
static int ping_df(int from, const char *ip, int size)
{
	return sh("ip netns exec %s ping -c 2 -i 0.2 -w 6 -M do -s %d -q %s >/dev/null", ns[from],
		  size, ip);
}

/*
 * MTU 9000 end to end through vale0, a1 and b1 attached in mode (native:
 * a1 asked for native, b1 for best, and both must get it, in drv mode):
 * DF-set pings of 8000 bytes and of the full MTU pass both ways, and
 * iperf3 TCP runs.
 */
static void jumbo(const char *mode)
{
	bool native = strcmp(mode, "native") == 0;
	const char *want = native ? "native AF_XDP copy/drv" : "generic AF_PACKET";
	json_t *r, *e;

	set_mtu(9000);
	assert_int_equal(valectl(&daemon_, NULL, 0, "attach", "vale0", "a1", "--mode", mode, NULL),
			 0);
	assert_int_equal(valectl(&daemon_, NULL, 0, "attach", "vale0", "b1", "--mode",
				 native ? "best" : mode, NULL),
			 0);
	r = valectl_json("interfaces", NULL);
	for (int i = 0; i < 2; i++) {
		e = interface(r, i ? "b1" : "a1");
		fprintf(stderr, "MTU 9000 %s: %s\n", jstr(e, "port"), jstr(e, "detail"));
		assert_string_equal(jstr(e, "type"), mode);
		assert_non_null(strstr(jstr(e, "detail"), want));
	}
	json_decref(r);
	assert_int_equal(ping_df(NS_A, "10.94.0.2", 8000), 0);
	assert_int_equal(ping_df(NS_B, "10.94.0.1", 8000), 0);
	assert_int_equal(ping_df(NS_A, "10.94.0.2", 8972), 0);
	assert_int_equal(ping_df(NS_B, "10.94.0.1", 8972), 0);
	/* One byte over the MTU with DF set cannot go. */
	assert_int_not_equal(ping_df(NS_A, "10.94.0.2", 8973), 0);
	iperf(NS_B, NS_A, "10.94.0.2", native ? "native MTU 9000" : "generic MTU 9000");
	assert_int_equal(valectl(&daemon_, NULL, 0, "-d", "vale0:a1", NULL), 0);
	assert_int_equal(valectl(&daemon_, NULL, 0, "-d", "vale0:b1", NULL), 0);
	set_mtu(1500);
}

static void test_generic(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	attach_pair("generic");
	jumbo("generic");
	given_back();
}

static void test_native(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	/* XDP sees frames before checksum offload is resolved. */
	sh("ip netns exec %s ethtool -K a0 tx off >/dev/null 2>&1", ns[NS_A]);
	sh("ip netns exec %s ethtool -K b0 tx off >/dev/null 2>&1", ns[NS_B]);
	attach_pair("native");
	jumbo("native");
	given_back();
}

static void test_tap_ports(void **state)
{
	char out[4096];
	(void)state;

	if (geteuid() != 0)
		skip();
	assert_int_equal(valectl(&daemon_, out, sizeof(out), "create", "vale1:c1", "--tap", "tc1",
				 "--netns", ns[NS_C1], "--mtu", "1500", NULL),
			 0);
	assert_int_equal(valectl(&daemon_, out, sizeof(out), "create", "vale1:c2", "--tap", "tc2",
				 "--netns", ns[NS_C2], "--mac", "02:00:00:00:0c:02", "--queues", "2",
				 NULL),
			 0);
	assert_int_equal(sh("ip -n %s addr add 10.93.0.1/24 dev tc1 && "
			    "ip -n %s addr add 10.93.0.2/24 dev tc2",
			    ns[NS_C1], ns[NS_C2]),
			 0);
	assert_int_equal(sh("ip -n %s link show tc2 | grep -q 02:00:00:00:0c:02", ns[NS_C2]), 0);
	assert_int_equal(ping(NS_C1, "10.93.0.2"), 0);
	expect_kernel_port("vale1", "vale1:c1", "tap");
	expect_kernel_port("vale1", "vale1:c2", "tap");
	iperf(NS_C2, NS_C1, "10.93.0.2", "tap");
	/* A netns that does not exist: a clear error. */
	assert_int_equal(valectl(&daemon_, NULL, 0, "create", "vale1:c3", "--tap", "tc3", "--netns",
				 "nosuchns", NULL),
			 1);
	assert_int_equal(valectl(&daemon_, NULL, 0, "delete", "vale1:c1", NULL), 0);
	assert_int_equal(valectl(&daemon_, NULL, 0, "delete", "vale1:c2", NULL), 0);
	assert_true(sh("ip -n %s link show tc1 >/dev/null 2>&1", ns[NS_C1]) != 0);
	/* The switch went with its last port: listing it is an error. */
	assert_int_equal(valectl(&daemon_, NULL, 0, "list", "vale1", NULL), 1);
	assert_int_equal(valectl(&daemon_, NULL, 0, "stats", "vale1:c1", NULL), 1);
}

/* The host stack of valed's namespace reaches ns A through the host port. */
static void test_host_port(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(valectl(&daemon_, NULL, 0, "-h", "vale2:a1", NULL), 0);
	assert_int_equal(sh("ip -n %s addr add 10.94.0.100/24 dev vh-a1", ns[NS_S]), 0);
	assert_int_equal(ping(NS_A, "10.94.0.100"), 0);
	assert_int_equal(ping(NS_S, "10.94.0.1"), 0);
	expect_kernel_port("vale2", "vale2:a1^", "host");
	/* The daemon counts its kernel ports: the NIC and its host port. */
	json_t *st = valectl_json("status", NULL);
	assert_true(jint(st, "ports") >= 2);
	json_decref(st);
	/* A host port can poll, as any port (netmap's -p on "vale2:a1^"). */
	assert_int_equal(valectl(&daemon_, NULL, 0, "-p", "vale2:a1^", NULL), 0);
	assert_int_equal(ping(NS_A, "10.94.0.100"), 0);
	assert_int_equal(valectl(&daemon_, NULL, 0, "-P", "vale2:a1^", NULL), 0);
	assert_true(valectl(&daemon_, NULL, 0, "-P", "vale2:a1^", NULL) != 0); /* not polling */
	assert_int_equal(valectl(&daemon_, NULL, 0, "-d", "vale2:a1", NULL), 0);
	assert_true(sh("ip -n %s link show vh-a1 >/dev/null 2>&1", ns[NS_S]) != 0);
	/* Gone with its NIC: asked for, it is missing, not malformed. */
	assert_int_equal(
	    sh("%s --socket %s stats 'vale2:a1^' 2>&1 | grep -q 'ENOENT: no host port'",
	       VALECTL_PATH, daemon_.sock),
	    0);
	assert_int_equal(sh("%s --socket %s -p 'vale2:a1^' 2>&1 | grep -q 'ENOENT: no host port'",
			    VALECTL_PATH, daemon_.sock),
			 0);
}

/* Two valed hosts, one L2 domain over VXLAN. */
static void test_vxlan(void **state)
{
	struct valed h1, h2;
	char px[40];
	(void)state;

	if (geteuid() != 0)
		skip();
	snprintf(px, sizeof(px), "%sx", ns[NS_P]);
	assert_int_equal(
		sh("ip -n %s link add u1 type veth peer name u2 netns %s && "
		   "ip -n %s addr add 10.200.0.1/24 dev u1 && ip -n %s link set u1 up && "
		   "ip -n %s addr add 10.200.0.2/24 dev u2 && ip -n %s link set u2 up && "
		   "ip -n %s link add vx1 type vxlan id 42 remote 10.200.0.2 dstport 4789 dev u1 && "
		   "ip -n %s link add vx2 type vxlan id 42 remote 10.200.0.1 dstport 4789 dev u2 && "
		   "ip -n %s link set vx1 up && ip -n %s link set vx2 up && "
		   "ip -n %s link add q1 type veth peer name p1 netns %s && "
		   "ip -n %s link add q2 type veth peer name p2 netns %s && "
		   "ip -n %s link set q1 up && ip -n %s link set q2 up && "
		   "ip -n %s addr add 10.92.0.1/24 dev p1 && ip -n %s link set p1 up mtu 1450 && "
		   "ip -n %s addr add 10.92.0.2/24 dev p2 && ip -n %s link set p2 up mtu 1450",
		   ns[NS_H1], ns[NS_H2], ns[NS_H1], ns[NS_H1], ns[NS_H2], ns[NS_H2], ns[NS_H1],
		   ns[NS_H2], ns[NS_H1], ns[NS_H2], ns[NS_H1], ns[NS_P], ns[NS_H2], px, ns[NS_H1],
		   ns[NS_H2], ns[NS_P], ns[NS_P], px, px),
		0);
	valed_start_in(&h1, ns[NS_H1], NULL);
	valed_start_in(&h2, ns[NS_H2], NULL);
	assert_int_equal(valectl(&h1, NULL, 0, "attach", "vale0", "vx1", "--mode", "generic", NULL),
			 0);
	assert_int_equal(valectl(&h1, NULL, 0, "attach", "vale0", "q1", "--mode", "generic", NULL),
			 0);
	assert_int_equal(valectl(&h2, NULL, 0, "attach", "vale0", "vx2", "--mode", "generic", NULL),
			 0);
	assert_int_equal(valectl(&h2, NULL, 0, "attach", "vale0", "q2", "--mode", "generic", NULL),
			 0);
	assert_int_equal(sh("ip netns exec %s ping -c 3 -i 0.2 -w 6 -q 10.92.0.2 >/dev/null",
			    ns[NS_P]),
			 0);
	assert_int_equal(sh("ip netns exec %s iperf3 -s -1 -D -p 5296 >/dev/null 2>&1", px), 0);
	usleep(300000);
	assert_int_equal(sh("ip netns exec %s iperf3 -c 10.92.0.2 -p 5296 -t 2 >/tmp/vf_iperf.txt "
			    "2>&1",
			    ns[NS_P]),
			 0);
	fprintf(stderr, "vxlan: ");
	sh("grep receiver /tmp/vf_iperf.txt >&2");
	assert_int_equal(valed_stop(&h1), 0);
	assert_int_equal(valed_stop(&h2), 0);
	setenv("VALE_SOCKET", daemon_.sock, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generic),
		cmocka_unit_test(test_native),
		cmocka_unit_test(test_tap_ports),
		cmocka_unit_test(test_host_port),
		cmocka_unit_test(test_vxlan),
	};
	signal(SIGPIPE, SIG_IGN);
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
