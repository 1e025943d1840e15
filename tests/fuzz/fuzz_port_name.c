/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_port_name - libFuzzer target: the one port-name grammar
 * (ring/portname.c), and valed's use of it agreeing with libvale's.
 *
 * libvale calls portname_parse itself; valed reaches it through the
 * registry (reg_find and reg_open, on a registry in this process) and the
 * switch (bdg_parse_name, a bare "valeX:Y"). The input, cut at its first
 * NUL, goes to each of them. Checked:
 *   - every result is NUL-terminated within its buffer, every refusal is
 *     -EINVAL or -ENAMETOOLONG with a sentence;
 *   - what portname_parse accepts, written back by portname_format, is no
 *     longer than the input and parses to the same parts (the round trip);
 *   - bdg_parse_name's parts joined by ':' are the name again, and
 *     portname_parse agrees with it on a name without a ring suffix;
 *   - the registry refuses what portname_parse refuses, never refuses a
 *     name portname_parse accepts for its grammar, and a port it opens is
 *     the one portname_parse named (same switch, port, ring, pipe end,
 *     monitor), so libvale and valed never disagree on which port a name
 *     means.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bdg.h"
#include "portname.h"
#include "registry.h"

#define NAME_MAX_FUZZ 300

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the fuzzer checks: abort, so that libFuzzer keeps the input. */
static void check(int ok, const char *what, const char *name)
{
	if (!ok) {
		fprintf(stderr, "fuzz_port_name: %s (name '%s')\n", what, name);
		abort();
	}
}

static int terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static int same(const struct portname *a, const struct portname *b)
{
	return strcmp(a->base, b->base) == 0 && strcmp(a->sw, b->sw) == 0 &&
	       strcmp(a->port, b->port) == 0 && a->ring == b->ring &&
	       a->exclusive == b->exclusive && a->pipe == b->pipe && a->end == b->end &&
	       strcmp(a->monitor, b->monitor) == 0;
}

/* portname_parse: its own properties. Returns whether it accepted name. */
static int check_portname(const char *name, struct portname *n)
{
	static const char *const monitors[] = {"", "r", "t", "rt", "z", "zr", "zt"};
	char err[ERR_LEN] = "", again[PORTNAME_MAX];
	struct portname m;
	int rc, known = 0;

	rc = portname_parse(name, n, err);
	if (rc) {
		check(rc == -EINVAL || rc == -ENAMETOOLONG, "portname: unexpected errno", name);
		check(err[0] != '\0', "portname: refusal without a sentence", name);
		return 0;
	}
	check(strlen(name) < PORTNAME_MAX, "portname: a name too long accepted", name);
	check(terminated(n->base, sizeof(n->base)) && terminated(n->sw, sizeof(n->sw)) &&
		  terminated(n->port, sizeof(n->port)),
	      "portname: a part is not terminated", name);
	check(n->ring >= -1 && n->ring <= PORTNAME_RING_MAX, "portname: ring out of range", name);
	for (size_t i = 0; i < sizeof(monitors) / sizeof(monitors[0]); i++)
		known |= strcmp(n->monitor, monitors[i]) == 0;
	check(known, "portname: unknown monitor kind", name);
	check(!(n->monitor[0] && n->ring >= 0), "portname: a monitor with a ring", name);
	check(!n->monitor[0] == !portname_monitor_flags(n), "portname: monitor flags", name);
	check(n->base[0] != '\0' && n->port[0] != '\0', "portname: empty base or port", name);
	if (n->pipe) {
		const char *brace = strpbrk(n->base, "{}");

		check(n->sw[0] == '\0', "portname: a pipe with a switch", name);
		check(brace && strcmp(brace + 1, n->port) == 0 && n->end == (*brace == '}'),
		      "portname: a pipe's id or end", name);
	} else {
		check(strncmp(n->sw, "vale", 4) == 0 && n->sw[4] != '\0',
		      "portname: switch not valeX", name);
	}
	check(portname_format(n, again, sizeof(again)) == 0 && strlen(again) <= strlen(name),
	      "portname: canonical form longer than the name", name);
	check(portname_parse(again, &m, NULL) == 0, "portname: canonical form refused", again);
	check(same(n, &m), "portname: canonical form parses differently", again);
	return 1;
}

/* bdg_parse_name, and its agreement with portname_parse. */
static void check_bdg(const char *name, int lv_ok, const struct portname *n)
{
	char sw[BDG_NAMSIZ], port[BDG_NAMSIZ], joined[2 * BDG_NAMSIZ + 1];
	int rc = bdg_parse_name(name, sw, port);

	if (rc) {
		check(rc == -EINVAL || rc == -ENAMETOOLONG, "bdg: unexpected errno", name);
		if (lv_ok && !n->pipe && n->ring < 0 && !n->monitor[0] && !n->exclusive)
			check(0, "bdg refuses a plain VALE name portname accepts", name);
		return;
	}
	check(terminated(sw, sizeof(sw)) && terminated(port, sizeof(port)),
	      "bdg: a part is not terminated", name);
	snprintf(joined, sizeof(joined), "%s:%s", sw, port);
	check(strcmp(joined, name) == 0, "bdg: parts do not make the name", name);
	if (lv_ok && n->ring < 0) {
		check(strcmp(sw, n->sw) == 0 && strcmp(port, n->port) == 0,
		      "bdg and portname split the name differently", name);
	}
	/* A name bdg accepts has no '/', '{' or '}': portname reads it as a
	 * port, perhaps with a ring suffix, but refuses it only for an empty
	 * port ("vale0:-1") or a ring out of range. */
	if (!lv_ok) {
		const char *dash = strrchr(port, '-');
		check(dash && dash[1] && strspn(dash + 1, "0123456789") == strlen(dash + 1),
		      "portname refuses a name bdg accepts", name);
	}
}

/* The registry: a switch with one persistent port, created once. */
static struct reg *registry(void)
{
	static struct reg *r;
	char err[ERR_LEN];

	if (!r) {
		struct reg_params p = {
		    .workers = 1, .poll_us = 0, .fdb_max = 64, .fdb_age = 300, .shared_bufs = 64};
		struct vport_params vp = {.tx_slots = 4, .rx_slots = 4, .buf_size = 64};

		r = reg_create(&p, err);
		check(r != NULL, "reg_create failed", err);
		check(reg_newif(r, "vale0:a", &vp, 0, err) == 0, "reg_newif failed", err);
	}
	return r;
}

/* reg_find and reg_open, and their agreement with portname_parse. */
static void check_registry(const char *name, int lv_ok, const struct portname *n)
{
	struct reg *r = registry();
	struct reg_open o = {.name = name, .vp = {.tx_slots = 4, .rx_slots = 4, .buf_size = 64}};
	char err[ERR_LEN] = "", canon[PORTNAME_MAX];
	struct reg_handle *h;
	struct reg_info info;
	int rc = 0;

	if (!reg_find(r, name, &rc, err))
		check(rc < 0 && terminated(err, sizeof(err)) && err[0], "reg_find: bad refusal",
		      name);
	else
		check(lv_ok, "reg_find finds a name portname refuses", name);
	err[0] = '\0';
	rc = reg_open(r, &o, &h, err);
	if (rc) {
		check(rc < 0 && terminated(err, sizeof(err)) && err[0], "reg_open: bad refusal",
		      name);
		/* portname's sentences start so; valed's own (no such port, a
		 * ring the port lacks...) do not. */
		check(!lv_ok || strncmp(err, "port name '", 11) != 0,
		      "reg_open refuses for its grammar a name portname accepts", name);
		return;
	}
	check(lv_ok, "reg_open accepts a name portname refuses", name);
	reg_handle_info(h, &info);
	check(terminated(info.name, sizeof(info.name)) && terminated(info.sw, sizeof(info.sw)) &&
		  terminated(info.port, sizeof(info.port)),
	      "reg_open: info not terminated", name);
	check(info.first_tx <= info.last_tx && info.last_tx <= BDG_MAXRINGS &&
		  info.first_rx <= info.last_rx && info.last_rx <= BDG_MAXRINGS,
	      "reg_open: ring range out of bounds", name);
	/* What valed opened is what libvale would have asked for. */
	check(info.monitor == (n->monitor[0] != '\0'),
	      "reg_open opened a monitor, or not, against what portname names", name);
	if (info.monitor) {
		unsigned f = portname_monitor_flags(n);

		check(portname_format(n, canon, sizeof(canon)) == 0 &&
			  strcmp(info.name, canon) == 0 && strcmp(info.monitored, n->base) == 0,
		      "reg_open opened another monitor than portname names", name);
		check(info.mon_rx == !!(f & PORTNAME_MON_RX) &&
			  info.mon_tx == !!(f & PORTNAME_MON_TX) &&
			  info.mon_zcopy == !!(f & PORTNAME_MON_ZCOPY),
		      "reg_open's monitor watches other directions than portname names", name);
	} else if (info.pipe) {
		check(n->pipe && strcmp(info.name, n->base) == 0,
		      "reg_open opened another pipe end than portname names", name);
	} else {
		check(!n->pipe && strcmp(info.sw, n->sw) == 0 && strcmp(info.port, n->port) == 0,
		      "reg_open opened another port than portname names", name);
	}
	if (!info.monitor && n->ring >= 0)
		check(info.first_tx == (uint32_t)n->ring && info.last_tx == (uint32_t)n->ring + 1,
		      "reg_open bound another ring than portname names", name);
	reg_close(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[NAME_MAX_FUZZ + 1];
	struct portname n;
	int lv_ok;

	if (size > NAME_MAX_FUZZ)
		size = NAME_MAX_FUZZ;
	memcpy(name, data, size);
	name[size] = '\0';
	lv_ok = check_portname(name, &n);
	check_bdg(name, lv_ok, &n);
	check_registry(name, lv_ok, &n);
	return 0;
}
