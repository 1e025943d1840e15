/* SPDX-License-Identifier: BSD-2-Clause */
/* err: the error sentence and the errno names of the control protocol. */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The errno names valed sends. Where two names share a value (EWOULDBLOCK and
 * EAGAIN, ENOTSUP and EOPNOTSUPP on Linux), the first is the one sent and
 * both are understood, as another server might send either.
 */
/* One entry a line. */
/* clang-format off */
static const struct {
	int e;
	const char *name;
} names[] = {
	{EPERM, "EPERM"},
	{ENOENT, "ENOENT"},
	{ESRCH, "ESRCH"},
	{EINTR, "EINTR"},
	{EIO, "EIO"},
	{ENXIO, "ENXIO"},
	{E2BIG, "E2BIG"},
	{EBADF, "EBADF"},
	{EAGAIN, "EAGAIN"},
	{EWOULDBLOCK, "EWOULDBLOCK"},
	{ENOMEM, "ENOMEM"},
	{EACCES, "EACCES"},
	{EFAULT, "EFAULT"},
	{EBUSY, "EBUSY"},
	{EEXIST, "EEXIST"},
	{ENODEV, "ENODEV"},
	{ENOTDIR, "ENOTDIR"},
	{EISDIR, "EISDIR"},
	{EINVAL, "EINVAL"},
	{ENFILE, "ENFILE"},
	{EMFILE, "EMFILE"},
	{ENOSPC, "ENOSPC"},
	{EDQUOT, "EDQUOT"},
	{EROFS, "EROFS"},
	{EPIPE, "EPIPE"},
	{ERANGE, "ERANGE"},
	{EDEADLK, "EDEADLK"},
	{ENAMETOOLONG, "ENAMETOOLONG"},
	{ENOSYS, "ENOSYS"},
	{ENOTEMPTY, "ENOTEMPTY"},
	{ELOOP, "ELOOP"},
	{ENODATA, "ENODATA"},
	{EPROTO, "EPROTO"},
	{EOVERFLOW, "EOVERFLOW"},
	{ENOTSOCK, "ENOTSOCK"},
	{EMSGSIZE, "EMSGSIZE"},
	{EPROTONOSUPPORT, "EPROTONOSUPPORT"},
	{EOPNOTSUPP, "EOPNOTSUPP"},
	{ENOTSUP, "ENOTSUP"},
	{EADDRINUSE, "EADDRINUSE"},
	{EADDRNOTAVAIL, "EADDRNOTAVAIL"},
	{ENETDOWN, "ENETDOWN"},
	{ENOBUFS, "ENOBUFS"},
	{EISCONN, "EISCONN"},
	{ENOTCONN, "ENOTCONN"},
	{ETIMEDOUT, "ETIMEDOUT"},
	{ECONNREFUSED, "ECONNREFUSED"},
	{ECONNRESET, "ECONNRESET"},
	{EALREADY, "EALREADY"},
	{EINPROGRESS, "EINPROGRESS"},
	{ECANCELED, "ECANCELED"},
};
/* clang-format on */

#define N_NAMES (sizeof(names) / sizeof(names[0]))

int err_set(char *err, int e, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err, ERR_LEN, fmt, ap);
		va_end(ap);
	}
	errno = saved;
	return -e;
}

const char *err_name(int e, char buf[ERR_NAME_LEN])
{
	for (size_t i = 0; i < N_NAMES; i++)
		if (names[i].e == e)
			return names[i].name;
	snprintf(buf, ERR_NAME_LEN, "E%d", e);
	return buf;
}

int err_value(const char *name)
{
	char *end;
	long v;

	for (size_t i = 0; i < N_NAMES; i++)
		if (strcmp(name, names[i].name) == 0)
			return names[i].e;
	if (name[0] != 'E' || name[1] < '1' || name[1] > '9')
		return 0;
	errno = 0;
	v = strtol(name + 1, &end, 10);
	if (errno || *end || v <= 0 || v > 4095)
		return 0;
	return (int)v;
}
