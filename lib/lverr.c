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
static __thread int last_code; /* valed's JSON-RPC code, 0 for a local failure */

static int vset(int code, int err, const char *fmt, va_list ap)
{
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	last_code = code;
	errno = err;
	return -1;
}

int lverr_set(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(0, err, fmt, ap);
	va_end(ap);
	return -1;
}

int lverr_set_daemon(int code, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(code, err, fmt, ap);
	va_end(ap);
	return -1;
}

int vale_last_error_code(void)
{
	return last_code;
}

const char *vale_last_error(void)
{
	return last_error;
}
