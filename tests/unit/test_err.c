/* SPDX-License-Identifier: BSD-2-Clause */
/* test_err: ring/err, the error sentence and the errno names both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "err.h"

static void test_set(void **state)
{
	char err[ERR_LEN], big[2 * ERR_LEN];

	(void)state;
	assert_int_equal(err_set(err, ENOENT, "no port %s", "vale0:a"), -ENOENT);
	assert_string_equal(err, "no port vale0:a");
	/* No buffer: only the return value. */
	assert_int_equal(err_set(NULL, EBUSY, "busy"), -EBUSY);
	/* errno survives, so strerror(errno) arguments stay right for the caller too. */
	errno = EMFILE;
	assert_int_equal(err_set(err, errno, "cannot: %s", strerror(errno)), -EMFILE);
	assert_int_equal(errno, EMFILE);
	/* A longer sentence is cut at ERR_LEN - 1 bytes. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set(err, EINVAL, "%s", big);
	assert_int_equal(strlen(err), ERR_LEN - 1);
}

static void test_names(void **state)
{
	static const int every[] = {
	    EPERM,    ENOENT,	  ENOMEM,	EACCES, EBUSY,	EEXIST,	  EINVAL,
	    ENOSPC,   EDQUOT,	  ENAMETOOLONG, ENOSYS, EPROTO, EMSGSIZE, EOPNOTSUPP,
	    EALREADY, ECONNRESET, ETIMEDOUT,	ENODEV, EIO,	EPIPE,	  ECANCELED,
	};
	char buf[ERR_NAME_LEN];

	(void)state;
	assert_string_equal(err_name(ENOENT, buf), "ENOENT");
	assert_string_equal(err_name(ENAMETOOLONG, buf), "ENAMETOOLONG");
	/* Where two names share a value, the first is sent. */
	assert_string_equal(err_name(EAGAIN, buf), "EAGAIN");
	assert_string_equal(err_name(EOPNOTSUPP, buf), "EOPNOTSUPP");
	/* A value without a name goes as its number. */
	assert_string_equal(err_name(200, buf), "E200");
	assert_int_equal(err_value("E200"), 200);
	/* Both ways agree on every name valed sends. */
	for (size_t i = 0; i < sizeof(every) / sizeof(every[0]); i++)
		assert_int_equal(err_value(err_name(every[i], buf)), every[i]);
	/* Aliases another server might send are understood. */
	assert_int_equal(err_value("EWOULDBLOCK"), EWOULDBLOCK);
	assert_int_equal(err_value("ENOTSUP"), ENOTSUP);
	/* Not names. */
	assert_int_equal(err_value("ENOTANERRNO"), 0);
	assert_int_equal(err_value("E0"), 0);
	assert_int_equal(err_value("E4096"), 0);
	assert_int_equal(err_value("E12x"), 0);
	assert_int_equal(err_value(""), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_set),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
