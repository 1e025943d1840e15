/* SPDX-License-Identifier: BSD-2-Clause */
/* lvname: "valeX:Y[-N][/x]" into its parts, with a sentence for every refusal. */
#include "lvname.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define VALE_PREFIX "vale"
#define SYNTAX "valeX:Y[-N][/x] or valeX:Y/r|t|rt|z"
#define PIPE_SYNTAX "X{P or X}P, then [-N][/x]"

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* What a netmap port-name character we do not serve means, or NULL. */
static const char *unsupported(char c)
{
	switch (c) {
	case '*':
	case '^':
		return "host rings ('*' and '^')";
	case '@':
		return "memory regions and options ('@')";
	default:
		return NULL;
	}
}

/* Check one part (switch or port name) of length len. */
static int check_part(const char *name, const char *what, const char *s, size_t len, char *err)
{
	const char *u;

	if (len == 0)
		return err_set(err, EINVAL, "port name '%s': the %s name is empty (%s)", name, what,
			       SYNTAX);
	if (len >= LVNAME_PART_MAX)
		return err_set(
		    err, ENAMETOOLONG,
		    "port name '%s': the %s name is %zu characters, at most %d are allowed", name,
		    what, len, LVNAME_PART_MAX - 1);
	for (size_t i = 0; i < len; i++) {
		u = unsupported(s[i]);
		if (u)
			return err_set(err, EINVAL,
				       "port name '%s': %s are not supported by libvale (%s)", name,
				       u, SYNTAX);
		if (!name_char_ok(s[i]))
			return err_set(err, EINVAL,
				       "port name '%s': character '%c' is not allowed in a %s name "
				       "(use A-Z a-z 0-9 _ . -)",
				       name, s[i], what);
	}
	return 0;
}

/* A monitor suffix ("r", "t", "rt", "tr", "z", "zr", "zt", maybe with "x"):
 * 0 and its canonical form in ret ("z" watches both directions), or -1. */
static int parse_monitor(const char *flags, char ret[4])
{
	bool rx = false, tx = false, zcopy = false;

	for (const char *f = flags; *f; f++) {
		rx |= *f == 'r';
		tx |= *f == 't';
		zcopy |= *f == 'z';
		if (!strchr("rtzx", *f))
			return -1;
	}
	if (!rx && !tx && !zcopy)
		return -1;
	if (zcopy)
		snprintf(ret, 4, "z%s", rx == tx ? "" : rx ? "r" : "t");
	else
		snprintf(ret, 4, "%s%s", rx ? "r" : "", tx ? "t" : "");
	return 0;
}

/* The "/flags" suffix: "x", or a monitor. */
static int parse_flags(const char *name, const char *flags, bool *ret_excl, char ret_mon[4],
		       char *err)
{
	if (strcmp(flags, "x") == 0) {
		*ret_excl = true;
		return 0;
	}
	if (parse_monitor(flags, ret_mon) == 0)
		return 0;
	if (flags[0] == '\0')
		return err_set(err, EINVAL, "port name '%s': empty '/' suffix (%s)", name, SYNTAX);
	return err_set(
	    err, EINVAL,
	    "port name '%s': suffix '/%s' is not supported: only '/x' (exclusive) and "
	    "monitors (/r /t /rt /z) are; one-direction binds (/R /T) are not served yet",
	    name, flags);
}

/* If port[0..*len) ends in "-<digits>", strip it and return the ring. */
static int parse_ring(const char *name, const char *port, size_t *len, int32_t *ret_ring, char *err)
{
	size_t i = *len;
	uint32_t ring = 0;

	while (i > 0 && port[i - 1] >= '0' && port[i - 1] <= '9')
		i--;
	if (i == *len || i == 0 || port[i - 1] != '-') {
		*ret_ring = -1; /* no suffix: '-' and digits are part of the name */
		return 0;
	}
	for (size_t j = i; j < *len; j++) {
		ring = ring * 10 + (uint32_t)(port[j] - '0');
		if (ring > LVNAME_RING_MAX)
			return err_set(err, EINVAL,
				       "port name '%s': ring number '%.*s' is out of range (0..%d)",
				       name, (int)(*len - i), port + i, LVNAME_RING_MAX);
	}
	*ret_ring = (int32_t)ring;
	*len = i - 1;
	return 0;
}

static bool pipe_char_ok(char c, bool in_id)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || (!in_id && (c == '-' || c == ':'));
}

/* name[0..len) is "X{P" or "X}P" (suffixes cut off): a pipe end. */
static int parse_pipe(const char *name, size_t len, struct lvname *n, char *err)
{
	const char *brace = strpbrk(name, "{}");
	size_t xlen = (size_t)(brace - name), idlen = len - xlen - 1;

	if (xlen == 0)
		return err_set(err, EINVAL, "port name '%s': a pipe needs a name before '%c' (%s)",
			       name, *brace, PIPE_SYNTAX);
	if (idlen == 0)
		return err_set(err, EINVAL, "port name '%s': no pipe number after '%c' (%s)", name,
			       *brace, PIPE_SYNTAX);
	if (idlen >= LVNAME_PART_MAX || len >= sizeof(n->base))
		return err_set(err, ENAMETOOLONG,
			       "port name '%s': too long for a pipe (P at most %d, all at most %zu "
			       "characters)",
			       name, LVNAME_PART_MAX - 1, sizeof(n->base) - 1);
	for (size_t i = 0; i < len; i++) {
		if (name + i == brace)
			continue;
		if (!pipe_char_ok(name[i], name + i > brace))
			return err_set(
			    err, EINVAL,
			    "port name '%s': character '%c' is not allowed in a pipe name "
			    "(X: A-Z a-z 0-9 _ . - :, P: A-Z a-z 0-9 _ .)",
			    name, name[i]);
	}
	if (n->monitor[0] && n->ring >= 0)
		return err_set(err, EINVAL,
			       "port name '%s': a monitor watches every ring of its port (no '-N')",
			       name);
	memcpy(n->base, name, len);
	n->base[len] = '\0';
	n->pipe = true;
	return 0;
}

int lvname_parse(const char *name, struct lvname *ret, char *err)
{
	const size_t plen = strlen(VALE_PREFIX);
	struct lvname n = {.ring = -1};
	const char *colon, *port, *slash;
	size_t swlen, portlen;
	int rc;

	if (!name || !name[0])
		return err_set(err, EINVAL, "no port name given (%s)", SYNTAX);
	if (strnlen(name, 256) >= 256)
		return err_set(err, ENAMETOOLONG, "port name is over 255 characters");
	if (strncmp(name, "netmap:", 7) == 0)
		return err_set(err, EINVAL,
			       "port name '%s': NIC ports (netmap:) are attached with valectl, "
			       "libvale opens VALE ports (%s)",
			       name, SYNTAX);
	/* A pipe end "X{P" / "X}P", with the same suffixes as a port. */
	slash = strchr(name, '/');
	portlen = slash ? (size_t)(slash - name) : strlen(name);
	if (memchr(name, '{', portlen) || memchr(name, '}', portlen)) {
		if (slash) {
			rc = parse_flags(name, slash + 1, &n.exclusive, n.monitor, err);
			if (rc)
				return rc;
		}
		rc = parse_ring(name, name, &portlen, &n.ring, err);
		if (!rc)
			rc = parse_pipe(name, portlen, &n, err);
		if (!rc)
			*ret = n;
		return rc;
	}
	if (strncmp(name, VALE_PREFIX, plen) != 0)
		return err_set(err, EINVAL, "port name '%s': libvale opens VALE ports: %s", name,
			       SYNTAX);
	colon = strchr(name + plen, ':');
	if (!colon)
		return err_set(err, EINVAL, "port name '%s': no ':' between switch and port (%s)",
			       name, SYNTAX);
	swlen = (size_t)(colon - name);
	if (swlen == plen)
		return err_set(err, EINVAL,
			       "port name '%s': the switch needs a name after 'vale', e.g. vale0",
			       name);
	rc = check_part(name, "switch", name, swlen, err);
	if (rc)
		return rc;

	port = colon + 1;
	slash = strchr(port, '/');
	portlen = slash ? (size_t)(slash - port) : strlen(port);
	if (slash) {
		rc = parse_flags(name, slash + 1, &n.exclusive, n.monitor, err);
		if (rc)
			return rc;
	}
	rc = parse_ring(name, port, &portlen, &n.ring, err);
	if (rc)
		return rc;
	if (n.monitor[0] && n.ring >= 0)
		return err_set(err, EINVAL,
			       "port name '%s': a monitor watches every ring of its port (no '-N')",
			       name);
	rc = check_part(name, "port", port, portlen, err);
	if (rc)
		return rc;

	memcpy(n.sw, name, swlen);
	memcpy(n.port, port, portlen);
	snprintf(n.base, sizeof(n.base), "%s:%s", n.sw, n.port);
	*ret = n;
	return 0;
}
