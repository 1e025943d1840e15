/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * params - what a control request must look like before a handler sees it
 * (doc/control-protocol.md): the JSON-RPC 2.0 envelope, the handlers'
 * parameter checks, and the struct ctl_error they fill, with valed's one
 * errno -> JSON-RPC code mapping. No sockets and no libevent: the server
 * (rpc.c) calls it per line, handlers per parameter, and the fuzzer alone.
 *
 * Every detail quotes client input escaped, cut to CTL_SHOW_MAX bytes and
 * valid UTF-8, so that it can always become a JSON string.
 */
#ifndef VALE_CTL_PARAMS_H
#define VALE_CTL_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h" /* ERR_LEN */

#define CTL_E_PARSE -32700
#define CTL_E_REQUEST -32600
#define CTL_E_METHOD -32601
#define CTL_E_PARAMS -32602
#define CTL_E_FAILED -32000

#define CTL_SHOW_MAX 40 /* bytes of a client's value quoted back in a detail */

/* What a failed handler reports: JSON-RPC code, errno (positive) and a
 * sentence a person can act on. */
struct ctl_error {
	int code;
	int err;
	char detail[ERR_LEN];
};

/*
 * The JSON-RPC code of a request that failed with errno err, valed's one
 * mapping (doc/control-protocol.md, "Errors"): EINVAL and ENAMETOOLONG are
 * CTL_E_PARAMS (the request was wrong), every other errno is CTL_E_FAILED.
 */
int ctl_errno_code(int err);

/*
 * Fill e for a request that failed with errno err (positive), its code from
 * ctl_errno_code, its detail printf-style. Returns -1, so handlers can
 * `return ctl_fail_errno(...)`; a module's -errno and sentence become
 * `ctl_fail_errno(e, -rc, "%s", sentence)`.
 */
int ctl_fail_errno(struct ctl_error *e, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fill e with an explicit code: the envelope's errors (CTL_E_PARSE,
 * CTL_E_REQUEST, CTL_E_METHOD), which no errno decides. Returns -1. */
int ctl_fail(struct ctl_error *e, int code, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * A key the client chose (a method or parameter name) for a detail: JSON-
 * escaped, ASCII-only, cut to CTL_SHOW_MAX bytes, without quotes. size
 * CTL_SHOW_MAX + 8 always holds it.
 */
void ctl_show_name(const char *name, char *buf, size_t size);

/*
 * Parameter helpers: each fills err (CTL_E_PARAMS, EINVAL, naming the key and
 * what was expected) and returns -1 on a wrong type or range; 0 otherwise.
 * A missing optional key leaves *ret at def.
 */
int ctl_param_string(json_t *params, const char *key, bool required, const char *def,
		     const char **ret, struct ctl_error *err);
int ctl_param_uint(json_t *params, const char *key, bool required, uint64_t min, uint64_t max,
		   uint64_t def, uint64_t *ret, struct ctl_error *err);
int ctl_param_bool(json_t *params, const char *key, bool def, bool *ret, struct ctl_error *err);
/* Reject keys not in the NULL-terminated list known[] (a typo is an error). */
int ctl_params_only(json_t *params, const char *const *known, struct ctl_error *err);

/*
 * ---- The request validator: the server runs it on every line; tests and the
 * fuzzer run it without sockets. ----
 *
 * ctl_request_parse() checks one line (without its '\n') against the
 * JSON-RPC 2.0 envelope of doc/control-protocol.md. It fills req in every
 * case; release it with ctl_request_release() whatever the result.
 *   0: method and params (an object, an empty one when absent) are set; id is
 *      NULL for a notification.
 *   -1: err is filled (parse error, invalid request, params not an object);
 *      id is what the error reply must carry (JSON null when unknown), or
 *      NULL when no reply is due (a notification with bad params).
 * ctl_fail() always leaves err->detail valid UTF-8.
 */
struct ctl_request {
	json_t *root;	    /* the parsed line; NULL when it was not JSON */
	json_t *id;	    /* a reference, or NULL (see above) */
	const char *method; /* points into root */
	json_t *params;	    /* a reference */
};

int ctl_request_parse(const char *line, size_t len, struct ctl_request *req, struct ctl_error *err);
void ctl_request_release(struct ctl_request *req);

#endif /* VALE_CTL_PARAMS_H */
