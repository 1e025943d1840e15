/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lvname - parse the port names libvale accepts.
 *
 *     valeX:Y[-N][/x]
 *     valeX:Y/r  valeX:Y/t  valeX:Y/rt  valeX:Y/z      (monitors)
 *     X{P[-N][/x]  X}P[-N][/x]                         (pipe P of X, its ends)
 *
 * X and Y follow valed's rules (switch/bdg.h): "vale" plus 1.. characters,
 * and 1.. characters, each part 1..15 characters of [A-Za-z0-9_.-]. The
 * netmap suffixes keep their meaning: "-N" binds ring pair N only, "/x"
 * asks for exclusive use. Since '-' may appear inside a port name, "-N" is
 * a ring suffix only when N is all digits and ends the name (before "/x"):
 * "vale0:a-1" is ring 1 of port "a", "vale0:a-b" is port "a-b".
 *
 * "/r", "/t", "/rt" open a copy monitor of the port's received, sent or
 * both packets; "/z" a zero-copy monitor of both (netmap's), "/zr" and
 * "/zt" of one direction: it takes the port's buffers, in the port's
 * region. A monitor takes no "-N".
 *
 * Pipes: X is any port name string of [A-Za-z0-9_.:-] (a VALE name or a
 * plain one such as "p": valed uses it only as a namespace), P is 1..15
 * characters of [A-Za-z0-9_.]; '-' cannot be in P, so "p{1-0" is ring 0
 * of end "p{1". sw and port stay empty for a pipe; base is the end's name.
 *
 * Anything else netmap accepts but libvale does not serve yet (host rings "*" "^", memory and
 * options "@...", direction flags
 * "/R /T", "netmap:" NIC names) is refused with EINVAL and a sentence that
 * names it.
 */
#ifndef VALE_LIB_LVNAME_H
#define VALE_LIB_LVNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define LVNAME_PART_MAX 16 /* switch and port names, NUL included (BDG_NAMSIZ) */
#define LVNAME_RING_MAX 65535

struct lvname {
	char base[4 * LVNAME_PART_MAX]; /* "valeX:Y" or "X{P", suffixes removed */
	char sw[LVNAME_PART_MAX];	/* "valeX" */
	char port[LVNAME_PART_MAX];	/* "Y" */
	int32_t ring;			/* -1: all rings; else the N of "-N" */
	bool exclusive;			/* "/x" */
	bool pipe;			/* a pipe end */
	char monitor[4];		/* "r", "t", "rt", "z", "zr", "zt", or "" */
};

/*
 * Parse name into *ret. Returns 0, or -EINVAL / -ENAMETOOLONG with a
 * sentence in err (ERR_LEN bytes, or NULL); *ret is written only on
 * success.
 */
int lvname_parse(const char *name, struct lvname *ret, char *err);

#endif /* VALE_LIB_LVNAME_H */
