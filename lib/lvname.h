/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lvname - parse the port names libvale accepts.
 *
 *     valeX:Y[-N][/x]
 *
 * X and Y follow valed's rules (switch/bdg.h): "vale" plus 1.. characters,
 * and 1.. characters, each part 1..15 characters of [A-Za-z0-9_.-]. The
 * netmap suffixes keep their meaning: "-N" binds ring pair N only, "/x"
 * asks for exclusive use. Since '-' may appear inside a port name, "-N" is
 * a ring suffix only when N is all digits and ends the name (before "/x"):
 * "vale0:a-1" is ring 1 of port "a", "vale0:a-b" is port "a-b".
 *
 * Anything else netmap accepts but libvale does not serve yet (pipes "{N"
 * "}N", host rings "*" "^", memory and options "@...", monitor and
 * direction flags "/r /t /z /R /T", "netmap:" NIC names) is refused with
 * EINVAL and a sentence that names it.
 */
#ifndef VALE_LIB_LVNAME_H
#define VALE_LIB_LVNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LVNAME_PART_MAX 16 /* switch and port names, NUL included (BDG_NAMSIZ) */
#define LVNAME_RING_MAX 65535

struct lvname {
	char base[2 * LVNAME_PART_MAX]; /* "valeX:Y", suffixes removed */
	char sw[LVNAME_PART_MAX];	/* "valeX" */
	char port[LVNAME_PART_MAX];	/* "Y" */
	int32_t ring;			/* -1: all rings; else the N of "-N" */
	bool exclusive;			/* "/x" */
};

/*
 * Parse name into *ret. Returns 0, or -EINVAL / -ENAMETOOLONG with a
 * sentence in err[0..errsize) (which may be NULL); *ret is written only on
 * success.
 */
int lvname_parse(const char *name, struct lvname *ret, char *err, size_t errsize);

#endif /* VALE_LIB_LVNAME_H */
