/* SPDX-License-Identifier: BSD-2-Clause */
/* portname: a port name into its parts and back, with a sentence for every refusal. */
#include "portname.h"

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

/* What a netmap port-name character vale does not serve means, or NULL. */
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
	if (len >= PORTNAME_PART_MAX)
		return err_set(
		    err, ENAMETOOLONG,
		    "port name '%s': the %s name is %zu characters, at most %d are allowed", name,
		    what, len, PORTNAME_PART_MAX - 1);
	for (size_t i = 0; i < len; i++) {
		u = unsupported(s[i]);
		if (u)
			return err_set(err, EINVAL, "port name '%s': %s are not supported (%s)",
				       name, u, SYNTAX);
		if (!name_char_ok(s[i]))
			return err_set(err, EINVAL,
				       "port name '%s': character '%c' is not allowed in a %s name "
				       "(use A-Z a-z 0-9 _ . -)",
				       name, s[i], what);
	}
	return 0;
}

/* The whole name: present and shorter than PORTNAME_MAX. */
static int check_length(const char *name, char *err)
{
	size_t len;

	if (!name || !name[0])
		return err_set(err, EINVAL, "no port name given (%s)", SYNTAX);
	len = strnlen(name, PORTNAME_MAX);
	if (len >= PORTNAME_MAX)
		return err_set(err, ENAMETOOLONG,
			       "port name '%.40s...' is too long: at most %d characters", name,
			       PORTNAME_MAX - 1);
	return 0;
}

/*
 * s[0..len) is "valeX:Y" (suffixes cut off): its parts into sw and port.
 * name is the whole name, for the sentences.
 */
static int split_vale(const char *name, const char *s, size_t len, char sw[PORTNAME_PART_MAX],
		      char port[PORTNAME_PART_MAX], char *err)
{
	const size_t plen = strlen(VALE_PREFIX);
	const char *colon;
	size_t swlen;
	int rc;

	if (strncmp(s, VALE_PREFIX, plen) != 0)
		return err_set(err, EINVAL, "port name '%s': valed and libvale open VALE ports: %s",
			       name, SYNTAX);
	colon = memchr(s + plen, ':', len - plen);
	if (!colon)
		return err_set(err, EINVAL, "port name '%s': no ':' between switch and port (%s)",
			       name, SYNTAX);
	swlen = (size_t)(colon - s);
	if (swlen == plen)
		return err_set(err, EINVAL,
			       "port name '%s': the switch needs a name after 'vale', e.g. vale0",
			       name);
	rc = check_part(name, "switch", s, swlen, err);
	if (!rc)
		rc = check_part(name, "port", colon + 1, len - swlen - 1, err);
	if (rc)
		return rc;
	memcpy(sw, s, swlen);
	sw[swlen] = '\0';
	memcpy(port, colon + 1, len - swlen - 1);
	port[len - swlen - 1] = '\0';
	return 0;
}

/* A monitor suffix: 0 and its canonical form in ret ("z" watches both
 * directions), or -1. */
static int parse_monitor(const char *flags, char ret[4])
{
	bool rx = false, tx = false, zcopy = false;

	for (const char *f = flags; *f; f++) {
		if (!strchr("rtzx", *f))
			return -1;
		rx |= *f == 'r';
		tx |= *f == 't';
		zcopy |= *f == 'z';
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
static int parse_flags(const char *name, const char *flags, struct portname *n, char *err)
{
	if (strcmp(flags, "x") == 0) {
		n->exclusive = true;
		return 0;
	}
	if (parse_monitor(flags, n->monitor) == 0)
		return 0;
	if (strchr(flags, '/'))
		return err_set(err, EINVAL,
			       "port name '%s': one '/' suffix only (a monitor cannot be monitored)",
			       name);
	if (flags[0] == '\0')
		return err_set(err, EINVAL, "port name '%s': empty '/' suffix, no flag after it (%s)",
			       name, SYNTAX);
	return err_set(
	    err, EINVAL,
	    "port name '%s': suffix '/%s' is not supported: only '/x' (exclusive, once) and "
	    "monitors (/r /t /rt /z /zr /zt) are; one-direction binds (/R /T) are not served yet",
	    name, flags);
}

/* If s[0..*len) ends in "-<digits>", cut it off and set n->ring. */
static int parse_ring(const char *name, const char *s, size_t *len, struct portname *n, char *err)
{
	size_t i = *len;
	uint32_t ring = 0;

	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
		i--;
	if (i == *len || i == 0 || s[i - 1] != '-')
		return 0; /* no suffix: '-' and digits are part of the name */
	for (size_t j = i; j < *len; j++) {
		ring = ring * 10 + (uint32_t)(s[j] - '0');
		if (ring > PORTNAME_RING_MAX)
			return err_set(err, EINVAL,
				       "port name '%s': ring number '%.*s' is out of range (0..%d)",
				       name, (int)(*len - i), s + i, PORTNAME_RING_MAX);
	}
	n->ring = (int32_t)ring;
	*len = i - 1;
	return 0;
}

static bool pipe_char_ok(char c, bool in_id)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || (!in_id && (c == '-' || c == ':'));
}

/* name[0..len) is "X{P" or "X}P" (suffixes cut off): a pipe end. */
static int parse_pipe(const char *name, size_t len, struct portname *n, char *err)
{
	const char *brace = strpbrk(name, "{}");
	size_t xlen = (size_t)(brace - name), idlen = len - xlen - 1;
	char sw[PORTNAME_PART_MAX], port[PORTNAME_PART_MAX];

	if (xlen == 0)
		return err_set(err, EINVAL, "port name '%s': a pipe needs a name before '%c' (%s)",
			       name, *brace, PIPE_SYNTAX);
	if (idlen == 0)
		return err_set(err, EINVAL, "port name '%s': no pipe number after '%c' (%s)", name,
			       *brace, PIPE_SYNTAX);
	if (idlen >= PORTNAME_PART_MAX)
		return err_set(err, ENAMETOOLONG,
			       "port name '%s': the pipe number is %zu characters, at most %d "
			       "are allowed",
			       name, idlen, PORTNAME_PART_MAX - 1);
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
	/* X with a ':' claims to be a VALE name: hold it to that. */
	if (memchr(name, ':', xlen)) {
		int rc = split_vale(name, name, xlen, sw, port, err);

		if (rc)
			return rc;
	}
	memcpy(n->base, name, len);
	n->base[len] = '\0';
	memcpy(n->port, brace + 1, idlen);
	n->port[idlen] = '\0';
	n->pipe = true;
	n->end = *brace == '}';
	return 0;
}

int portname_parse(const char *name, struct portname *ret, char *err)
{
	struct portname n = {.ring = -1};
	const char *slash;
	size_t len;
	int rc;

	rc = check_length(name, err);
	if (rc)
		return rc;
	if (strncmp(name, "netmap:", 7) == 0)
		return err_set(err, EINVAL,
			       "port name '%s': NIC ports (netmap:) are attached with valectl, "
			       "valed and libvale open VALE ports (%s)",
			       name, SYNTAX);
	slash = strchr(name, '/');
	len = slash ? (size_t)(slash - name) : strlen(name);
	if (slash) {
		rc = parse_flags(name, slash + 1, &n, err);
		if (rc)
			return rc;
	}
	rc = parse_ring(name, name, &len, &n, err);
	if (rc)
		return rc;
	if (n.monitor[0] && n.ring >= 0)
		return err_set(err, EINVAL,
			       "port name '%s': a monitor watches every ring of its port (no '-N')",
			       name);
	if (memchr(name, '{', len) || memchr(name, '}', len)) {
		rc = parse_pipe(name, len, &n, err);
	} else {
		rc = split_vale(name, name, len, n.sw, n.port, err);
		if (!rc)
			snprintf(n.base, sizeof(n.base), "%s:%s", n.sw, n.port);
	}
	if (rc)
		return rc;
	*ret = n;
	return 0;
}

int portname_format(const struct portname *n, char *out, size_t size)
{
	int len;

	if (n->monitor[0])
		len = snprintf(out, size, "%s/%s", n->base, n->monitor);
	else if (n->ring >= 0)
		len = snprintf(out, size, "%s-%d%s", n->base, (int)n->ring,
			       n->exclusive ? "/x" : "");
	else
		len = snprintf(out, size, "%s%s", n->base, n->exclusive ? "/x" : "");
	return len < 0 || (size_t)len >= size ? -ENAMETOOLONG : 0;
}

unsigned portname_monitor_flags(const struct portname *n)
{
	unsigned f = 0;

	if (!n->monitor[0])
		return 0;
	if (n->monitor[0] == 'z')
		f = PORTNAME_MON_ZCOPY | (n->monitor[1] ? 0 : PORTNAME_MON_RX | PORTNAME_MON_TX);
	if (strchr(n->monitor, 'r'))
		f |= PORTNAME_MON_RX;
	if (strchr(n->monitor, 't'))
		f |= PORTNAME_MON_TX;
	return f;
}

int portname_split(const char *name, char sw[PORTNAME_PART_MAX], char port[PORTNAME_PART_MAX],
		   char *err)
{
	int rc = check_length(name, err);

	return rc ? rc : split_vale(name, name, strlen(name), sw, port, err);
}

int portname_check_switch(const char *sw, char *err)
{
	const size_t plen = strlen(VALE_PREFIX);
	size_t len = strnlen(sw, PORTNAME_PART_MAX);

	if (strncmp(sw, VALE_PREFIX, plen) != 0 || len == plen)
		return err_set(err, EINVAL,
			       "'%.40s' is not a switch name: expected valeX, at most %d characters",
			       sw, PORTNAME_PART_MAX - 1);
	return check_part(sw, "switch", sw, len, err);
}
