/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_port_name - libFuzzer target: every parser of port names, held to one
 * grammar.
 *
 * Three parsers read a port name a client sent: libvale's lvname_parse
 * (lib/lvname.c), the switch's bdg_parse_name (switch/bdg.c) and the
 * registry's own (ports/registry.c, static: reached through reg_find and
 * reg_open on a registry in this process). The input, cut at its first NUL,
 * goes to each of them. Checked:
 *   - every result is NUL-terminated within its buffer, every refusal is
 *     -EINVAL or -ENAMETOOLONG with a sentence;
 *   - what lvname_parse accepts, written back in canonical form, parses to
 *     the same parts (the round trip);
 *   - bdg_parse_name's parts joined by ':' are the name again, and
 *     lvname_parse agrees with it on a name without a ring suffix;
 *   - a VALE port the registry opens is the one lvname_parse named (same
 *     switch, port and ring), so libvale and valed never disagree on which
 *     port a name means.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bdg.h"
#include "lvname.h"
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

/* lvname's parts written back as a name: "base[-N][/x]" or "base/mon". */
static void lvname_format(const struct lvname *n, char *out, size_t size)
{
	if (n->monitor[0])
		snprintf(out, size, "%s/%s", n->base, n->monitor);
	else if (n->ring >= 0)
		snprintf(out, size, "%s-%d%s", n->base, n->ring, n->exclusive ? "/x" : "");
	else
		snprintf(out, size, "%s%s", n->base, n->exclusive ? "/x" : "");
}

static int lvname_same(const struct lvname *a, const struct lvname *b)
{
	return strcmp(a->base, b->base) == 0 && strcmp(a->sw, b->sw) == 0 &&
	       strcmp(a->port, b->port) == 0 && a->ring == b->ring &&
	       a->exclusive == b->exclusive && a->pipe == b->pipe &&
	       strcmp(a->monitor, b->monitor) == 0;
}

/* lvname_parse: its own properties. Returns whether it accepted name. */
static int check_lvname(const char *name, struct lvname *n)
{
	static const char *const monitors[] = {"", "r", "t", "rt", "z", "zr", "zt"};
	char err[ERR_LEN] = "", again[2 * NAME_MAX_FUZZ];
	struct lvname m;
	int rc, known = 0;

	rc = lvname_parse(name, n, err);
	if (rc) {
		check(rc == -EINVAL || rc == -ENAMETOOLONG, "lvname: unexpected errno", name);
		check(err[0] != '\0', "lvname: refusal without a sentence", name);
		return 0;
	}
	check(terminated(n->base, sizeof(n->base)) && terminated(n->sw, sizeof(n->sw)) &&
		  terminated(n->port, sizeof(n->port)),
	      "lvname: a part is not terminated", name);
	check(n->ring >= -1 && n->ring <= LVNAME_RING_MAX, "lvname: ring out of range", name);
	for (size_t i = 0; i < sizeof(monitors) / sizeof(monitors[0]); i++)
		known |= strcmp(n->monitor, monitors[i]) == 0;
	check(known, "lvname: unknown monitor kind", name);
	check(!(n->monitor[0] && n->ring >= 0), "lvname: a monitor with a ring", name);
	check(n->base[0] != '\0', "lvname: empty base", name);
	if (n->pipe) {
		check(n->sw[0] == '\0' && n->port[0] == '\0', "lvname: a pipe with parts", name);
		check(strpbrk(n->base, "{}") != NULL, "lvname: a pipe without a brace", name);
	} else {
		check(strncmp(n->sw, "vale", 4) == 0 && n->sw[4] != '\0',
		      "lvname: switch not valeX", name);
		check(n->port[0] != '\0', "lvname: empty port", name);
	}
	lvname_format(n, again, sizeof(again));
	check(lvname_parse(again, &m, NULL) == 0, "lvname: canonical form refused", again);
	check(lvname_same(n, &m), "lvname: canonical form parses differently", again);
	return 1;
}

/* bdg_parse_name, and its agreement with lvname. */
static void check_bdg(const char *name, int lv_ok, const struct lvname *n)
{
	char sw[BDG_NAMSIZ], port[BDG_NAMSIZ], joined[2 * BDG_NAMSIZ + 1];
	int rc = bdg_parse_name(name, sw, port);

	if (rc) {
		check(rc == -EINVAL || rc == -ENAMETOOLONG, "bdg: unexpected errno", name);
		if (lv_ok && !n->pipe && n->ring < 0 && !n->monitor[0] && !n->exclusive)
			check(0, "bdg refuses a plain VALE name lvname accepts", name);
		return;
	}
	check(terminated(sw, sizeof(sw)) && terminated(port, sizeof(port)),
	      "bdg: a part is not terminated", name);
	snprintf(joined, sizeof(joined), "%s:%s", sw, port);
	check(strcmp(joined, name) == 0, "bdg: parts do not make the name", name);
	if (lv_ok && n->ring < 0) {
		check(strcmp(sw, n->sw) == 0 && strcmp(port, n->port) == 0,
		      "bdg and lvname split the name differently", name);
	}
	/* A name bdg accepts has no '/', '{' or '}': lvname reads it as a port,
	 * perhaps with a ring suffix, but refuses it only for an empty port
	 * ("vale0:-1") or a ring out of range. */
	if (!lv_ok) {
		const char *dash = strrchr(port, '-');
		check(dash && dash[1] && strspn(dash + 1, "0123456789") == strlen(dash + 1),
		      "lvname refuses a name bdg accepts", name);
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

/* The "/..." suffix of name is made of 'x' only ("/xx"). */
static int only_x_flags(const char *name)
{
	const char *slash = strchr(name, '/');

	return slash && slash[1] && strspn(slash + 1, "x") == strlen(slash + 1);
}

/* reg_find and reg_open, and their agreement with lvname. */
static void check_registry(const char *name, int lv_ok, const struct lvname *n)
{
	struct reg *r = registry();
	struct reg_open o = {.name = name, .vp = {.tx_slots = 4, .rx_slots = 4, .buf_size = 64}};
	char err[ERR_LEN] = "";
	struct reg_handle *h;
	struct reg_info info;
	int rc = 0;

	if (!reg_find(r, name, &rc, err))
		check(rc < 0 && terminated(err, sizeof(err)) && err[0], "reg_find: bad refusal",
		      name);
	err[0] = '\0';
	rc = reg_open(r, &o, &h, err);
	if (rc) {
		check(rc < 0 && terminated(err, sizeof(err)) && err[0], "reg_open: bad refusal",
		      name);
		return;
	}
	reg_handle_info(h, &info);
	check(terminated(info.name, sizeof(info.name)) && terminated(info.sw, sizeof(info.sw)) &&
		  terminated(info.port, sizeof(info.port)),
	      "reg_open: info not terminated", name);
	check(info.first_tx <= info.last_tx && info.last_tx <= BDG_MAXRINGS &&
		  info.first_rx <= info.last_rx && info.last_rx <= BDG_MAXRINGS,
	      "reg_open: ring range out of bounds", name);
	/* What valed opened is what libvale would have asked for. One known
	 * difference: valed reads "/xx" as "/x", as netmap does; libvale takes
	 * only "/x" (harmless: both mean exclusive). */
	check(lv_ok || only_x_flags(name), "reg_open accepts a name lvname refuses", name);
	if (!lv_ok)
		goto out;
	if (!info.pipe && !info.monitor) {
		check(strcmp(info.sw, n->sw) == 0 && strcmp(info.port, n->port) == 0,
		      "reg_open opened another port than lvname names", name);
		if (n->ring >= 0)
			check(info.first_tx == (uint32_t)n->ring &&
				  info.last_tx == (uint32_t)n->ring + 1,
			      "reg_open bound another ring than lvname names", name);
	}
	if (info.pipe)
		check(n->pipe && strcmp(info.name, n->base) == 0,
		      "reg_open opened another pipe end than lvname names", name);
	if (info.monitor)
		check(n->monitor[0] != '\0', "reg_open opened a monitor lvname does not name",
		      name);
out:
	reg_close(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[NAME_MAX_FUZZ + 1];
	struct lvname n;
	int lv_ok;

	if (size > NAME_MAX_FUZZ)
		size = NAME_MAX_FUZZ;
	memcpy(name, data, size);
	name[size] = '\0';
	lv_ok = check_lvname(name, &n);
	check_bdg(name, lv_ok, &n);
	check_registry(name, lv_ok, &n);
	return 0;
}
