/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_rpc_line - libFuzzer target: valed's request-line validator and parameter helpers. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "wire.h" /* CTL_LINE_MAX */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the fuzzer checks: abort, so that libFuzzer keeps the input. */
static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_rpc_line: %s\n", what);
		abort();
	}
}

/* Every detail must become a JSON string in the error reply. */
static void check_error(const struct ctl_error *err)
{
	json_t *s;

	check(memchr(err->detail, '\0', sizeof(err->detail)) != NULL, "detail not terminated");
	s = json_string(err->detail);
	check(s != NULL, "detail is not UTF-8");
	json_decref(s);
	check(err->err > 0, "no errno");
}

/* What a handler does with the params: the same helpers valed's methods use. */
static void use_params(json_t *params)
{
	static const char *const known[] = {"name",	"mode",	     "ring",	 "tx_slots",
					    "buf_size", "exclusive", "lossless", NULL};
	static const char *const none[] = {NULL};
	struct ctl_error err = {0};
	const char *s = NULL;
	uint64_t u = 0;
	bool b = false;

	if (ctl_params_only(params, known, &err) < 0)
		check_error(&err);
	if (ctl_params_only(params, none, &err) < 0)
		check_error(&err);
	if (ctl_param_string(params, "name", true, NULL, &s, &err) < 0)
		check_error(&err);
	else
		check(s != NULL, "required string missing");
	if (ctl_param_uint(params, "tx_slots", false, 2, 16384, 1024, &u, &err) < 0)
		check_error(&err);
	else
		check(u >= 2 && u <= 16384, "uint out of range");
	if (ctl_param_uint(params, "ring", true, 0, UINT64_MAX, 0, &u, &err) < 0)
		check_error(&err);
	if (ctl_param_bool(params, "exclusive", false, &b, &err) < 0)
		check_error(&err);
}

static void one_line(const char *line, size_t len)
{
	struct ctl_request req;
	struct ctl_error err = {0};

	if (ctl_request_parse(line, len, &req, &err) == 0) {
		check(req.method != NULL, "no method");
		check(json_is_object(req.params), "params not an object");
		check(!req.id || json_is_string(req.id) || json_is_number(req.id) ||
			  json_is_null(req.id),
		      "bad id accepted");
		use_params(req.params);
	} else {
		check(err.code == CTL_E_PARSE || err.code == CTL_E_REQUEST ||
			  err.code == CTL_E_PARAMS || err.code == CTL_E_FAILED,
		      "unexpected error code");
		check(req.id || err.code == CTL_E_PARAMS || err.code == CTL_E_FAILED,
		      "an unanswered error that must be answered");
		check_error(&err);
	}
	ctl_request_release(&req);
}

/* Split like the server: on '\n', lines up to CTL_LINE_MAX bytes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);

		if (len <= CTL_LINE_MAX)
			one_line(p, len);
		p += len + 1;
	}
	return 0;
}
