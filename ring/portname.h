/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portname - the one grammar of port names, read by valed (ports/,
 * switch/, hw/) and by libvale alike, so the two never disagree on which
 * port a name means (tests/fuzz/fuzz_port_name.c holds them to that).
 *
 *     valeX:Y[-N][/x]                                  a VALE port
 *     valeX:Y/r  /t  /rt  /z  /zr  /zt                 its monitors
 *     X{P[-N][/x]  X}P[-N][/x]  X{P/r ...              pipe P of X: its ends, their monitors
 *
 * valeX is "vale" plus 1.. characters, Y 1.. characters, each at most
 * PORTNAME_PART_MAX - 1 of [A-Za-z0-9_.-]; a whole name is shorter than
 * PORTNAME_MAX. "-N" binds ring pair N only (0..PORTNAME_RING_MAX; valed
 * has fewer rings and says so): since '-' may be inside a port name, "-N"
 * is a ring suffix only when N is all digits and ends the name before the
 * '/': "vale0:a-1" is ring 1 of "a", "vale0:a-b" is port "a-b". "/x" asks
 * for exclusive use, exactly once ("/xx" is refused).
 *
 * A monitor suffix is a set of the letters r (received), t (sent) and z
 * (zero copy), in any order and repeated, and perhaps x (a monitor is its
 * client's alone anyway): "z" alone watches both directions. A monitor
 * takes no "-N".
 *
 * Pipes: X is a name of [A-Za-z0-9_.:-] (valed uses it as a namespace
 * only; with a ':' it must be a VALE port name itself), P 1..15 characters
 * of [A-Za-z0-9_.]; '-' cannot be in P, so "p{1-0" is ring 0 of end "p{1".
 *
 * Refused with EINVAL and a sentence that names it: netmap's host rings
 * ('*', '^'), '@' options, direction flags "/R" "/T", "netmap:" NIC names.
 * A name part or a whole name too long is ENAMETOOLONG.
 *
 * Depends on libc and err.h only; no state, thread-safe.
 */
#ifndef VALE_RING_PORTNAME_H
#define VALE_RING_PORTNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define PORTNAME_PART_MAX 16 /* a switch, port or pipe-id part, NUL included */
#define PORTNAME_MAX 64	     /* a whole name, suffixes and NUL included */
#define PORTNAME_RING_MAX 65535

/* Monitor directions and kind (the values of switch/bdg.h's BDG_MON_*). */
#define PORTNAME_MON_RX 1u
#define PORTNAME_MON_TX 2u
#define PORTNAME_MON_ZCOPY 4u

struct portname {
	char base[PORTNAME_MAX];    /* "valeX:Y" or "X{P", suffixes removed */
	char sw[PORTNAME_PART_MAX];   /* "valeX"; "" for a pipe end */
	char port[PORTNAME_PART_MAX]; /* "Y"; a pipe end: "P" */
	int32_t ring;		      /* -1: all rings; else the N of "-N" */
	bool exclusive;		      /* "/x" */
	bool pipe;		      /* a pipe end */
	unsigned end;		      /* a pipe end: 0 for '{', 1 for '}' */
	char monitor[4];	      /* "r", "t", "rt", "z", "zr", "zt", or "" */
};

/*
 * Parse name into *ret. Returns 0, or -EINVAL / -ENAMETOOLONG with a
 * sentence in err (ERR_LEN bytes, or NULL); *ret is written only on
 * success.
 */
int portname_parse(const char *name, struct portname *ret, char *err);

/*
 * Write n back as its canonical name ("base[-N][/x]" or "base/monitor"),
 * which portname_parse reads as n again. Returns 0, or -ENAMETOOLONG when it
 * does not fit in size bytes (out is then cut, still terminated).
 */
int portname_format(const struct portname *n, char *out, size_t size);

/* The PORTNAME_MON_* flags of n's monitor; 0 if n names no monitor. */
unsigned portname_monitor_flags(const struct portname *n);

/*
 * A bare "valeX:Y", read as the switch sees it: no suffix is interpreted,
 * so "vale0:a-1" is port "a-1" of "vale0" and "vale0:a/x" is refused.
 * Returns 0, -EINVAL or -ENAMETOOLONG (a sentence in err, or NULL); sw and
 * port are written only on success.
 */
int portname_split(const char *name, char sw[PORTNAME_PART_MAX], char port[PORTNAME_PART_MAX],
		   char *err);

/* A switch name "valeX" alone: 0, -EINVAL or -ENAMETOOLONG with a sentence. */
int portname_check_switch(const char *sw, char *err);

#endif /* VALE_RING_PORTNAME_H */
