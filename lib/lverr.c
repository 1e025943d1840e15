/* SPDX-License-Identifier: BSD-2-Clause */
/* lverr: the thread-local sentence behind vale_last_error(). */
#include "lverr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include <vale/vale.h>

#include "err.h"

/* A libvale sentence is often a prefix ("cannot open vale0:a: ") before a
 * module's or the daemon's own ERR_LEN sentence: room for both. */
static __thread char last_error[2 * ERR_LEN];

int lverr_set(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

const char *vale_last_error(void)
{
	return last_error;
}
