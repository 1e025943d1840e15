/* SPDX-License-Identifier: BSD-2-Clause */
/* params - the checks of a control request and its parameters, and the errors they report. */

#include "params.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ---- */

/*
 * Details quote client input and may be cut anywhere by the buffer size, yet
 * must become a JSON string: drop a sequence cut in half at the end, and as a
 * last resort mask every non-ASCII byte.
 */
static void fix_utf8(char *s)
{
	size_t len = strlen(s);
	json_t *t;

	for (size_t cut = 0; cut < 4 && cut <= len; cut++) {
		t = json_stringn(s, len - cut);
		if (t) {
			json_decref(t);
			s[len - cut] = '\0';
			return;
		}
	}
	for (char *p = s; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
}

/* Fill e from a va_list; always -1. */
static int vfail(struct ctl_error *e, int code, int err, const char *fmt, va_list ap)
{
	if (!e)
		return -1;
	e->code = code;
	e->err = err;
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	fix_utf8(e->detail);
	return -1;
}

int ctl_fail(struct ctl_error *e, int code, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(e, code, err, fmt, ap);
	va_end(ap);
	return -1;
}

int ctl_errno_code(int err)
{
	return err == EINVAL || err == ENAMETOOLONG ? CTL_E_PARAMS : CTL_E_FAILED;
}

int ctl_fail_errno(struct ctl_error *e, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(e, ctl_errno_code(err), err, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- describing client values in details ---- */

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "value";
}

/* The JSON text of v, ASCII-only and cut to CTL_SHOW_MAX bytes, for a detail. */
static void show_json(const json_t *v, char *buf, size_t size)
{
	char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_ENSURE_ASCII | JSON_COMPACT);

	if (!text) {
		snprintf(buf, size, "?");
		return;
	}
	if (strlen(text) > CTL_SHOW_MAX)
		snprintf(buf, size, "%.*s...", CTL_SHOW_MAX, text);
	else
		snprintf(buf, size, "%s", text);
	free(text);
}

/* "string \"abc\"", "integer 20000", "array", ...: what the client sent. */
static void describe(const json_t *v, char *buf, size_t size)
{
	char val[CTL_SHOW_MAX + 8];

	switch (json_typeof(v)) {
	case JSON_STRING:
	case JSON_INTEGER:
	case JSON_REAL:
		show_json(v, val, sizeof(val));
		snprintf(buf, size, "%s %s", type_name(v), val);
		break;
	case JSON_TRUE:
		snprintf(buf, size, "true");
		break;
	case JSON_FALSE:
		snprintf(buf, size, "false");
		break;
	default:
		snprintf(buf, size, "%s", type_name(v));
		break;
	}
}

/* A key the client chose (a method or parameter name), escaped, cut, unquoted. */
void ctl_show_name(const char *name, char *buf, size_t size)
{
	json_t *s = json_string(name);
	size_t len;

	if (!s) {
		snprintf(buf, size, "?");
		return;
	}
	show_json(s, buf, size);
	json_decref(s);
	len = strlen(buf);
	if (len >= 2 && buf[0] == '"' && buf[len - 1] == '"') {
		memmove(buf, buf + 1, len - 2);
		buf[len - 2] = '\0';
	} else if (len >= 1 && buf[0] == '"') {
		memmove(buf, buf + 1, len); /* cut: "abc... */
	}
}

/* ---- parameter helpers ---- */

static void show_range(uint64_t min, uint64_t max, char *buf, size_t size)
{
	if (max == UINT64_MAX)
		snprintf(buf, size, "an integer >= %" PRIu64, min);
	else
		snprintf(buf, size, "an integer in %" PRIu64 "..%" PRIu64, min, max);
}

int ctl_param_string(json_t *params, const char *key, bool required, const char *def,
		     const char **ret, struct ctl_error *err)
{
	json_t *v = json_object_get(params, key);
	char got[96];

	if (!v) {
		if (required)
			return ctl_fail_errno(err, EINVAL, "missing parameter '%s' (a string)",
					      key);
		*ret = def;
		return 0;
	}
	if (!json_is_string(v)) {
		describe(v, got, sizeof(got));
		return ctl_fail_errno(err, EINVAL, "parameter '%s' must be a string, got %s", key,
				      got);
	}
	*ret = json_string_value(v);
	return 0;
}

int ctl_param_uint(json_t *params, const char *key, bool required, uint64_t min, uint64_t max,
		   uint64_t def, uint64_t *ret, struct ctl_error *err)
{
	json_t *v = json_object_get(params, key);
	char range[80], got[96];
	json_int_t x;

	show_range(min, max, range, sizeof(range));
	if (!v) {
		if (required)
			return ctl_fail_errno(err, EINVAL, "missing parameter '%s' (%s)", key,
					      range);
		*ret = def;
		return 0;
	}
	if (json_is_integer(v)) {
		x = json_integer_value(v);
		if (x >= 0 && (uint64_t)x >= min && (uint64_t)x <= max) {
			*ret = (uint64_t)x;
			return 0;
		}
	}
	describe(v, got, sizeof(got));
	return ctl_fail_errno(err, EINVAL, "parameter '%s' must be %s, got %s", key, range, got);
}

int ctl_param_bool(json_t *params, const char *key, bool def, bool *ret, struct ctl_error *err)
{
	json_t *v = json_object_get(params, key);
	char got[96];

	if (!v) {
		*ret = def;
		return 0;
	}
	if (!json_is_boolean(v)) {
		describe(v, got, sizeof(got));
		return ctl_fail_errno(err, EINVAL, "parameter '%s' must be true or false, got %s",
				      key, got);
	}
	*ret = json_is_true(v);
	return 0;
}

/* "a, b, c" from a NULL-terminated list, ending in "..." when it does not fit. */
static void known_list(const char *const *known, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; known[i]; i++) {
		int n = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", known[i]);

		if (n < 0 || (size_t)n >= size - len) {
			strcpy(buf + (len + 4 <= size ? len : size - 4), "...");
			return;
		}
		len += (size_t)n;
	}
}

int ctl_params_only(json_t *params, const char *const *known, struct ctl_error *err)
{
	const char *key;
	json_t *v;
	char name[CTL_SHOW_MAX + 8], list[160];
	size_t i;

	json_object_foreach(params, key, v)
	{
		for (i = 0; known[i]; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i])
			continue;

		ctl_show_name(key, name, sizeof(name));
		if (!known[0])
			return ctl_fail_errno(
			    err, EINVAL, "unknown parameter '%s': this method takes none", name);
		known_list(known, list, sizeof(list));
		return ctl_fail_errno(err, EINVAL, "unknown parameter '%s' (known: %s)", name,
				      list);
	}
	return 0;
}

/* ---- request validation ---- */

/* An invalid request is answered even when it lacked an id (JSON-RPC 2.0 §5). */
static int invalid(struct ctl_request *req, struct ctl_error *err, const char *detail,
		   const char *got)
{
	if (!req->id)
		req->id = json_null();
	return ctl_fail(err, CTL_E_REQUEST, EINVAL, "%s%s", detail, got);
}

int ctl_request_parse(const char *line, size_t len, struct ctl_request *req, struct ctl_error *err)
{
	static const char *const members[] = {"jsonrpc", "id", "method", "params", NULL};
	json_error_t jerr;
	json_t *root, *id, *v;
	const char *key;
	char got[112];
	size_t i;

	memset(req, 0, sizeof(*req));
	/* Any value, so that `42` is "not an object" rather than "not JSON". */
	root = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	req->root = root;
	if (!root) {
		req->id = json_null();
		return ctl_fail(err, CTL_E_PARSE, EINVAL, "the line is not JSON: %s (at byte %d)",
				jerr.text, jerr.position);
	}
	if (!json_is_object(root)) {
		snprintf(got, sizeof(got), ", got %s", type_name(root));
		return invalid(req, err, "a request must be a JSON object", got);
	}

	id = json_object_get(root, "id");
	if (id && !json_is_string(id) && !json_is_number(id) && !json_is_null(id)) {
		snprintf(got, sizeof(got), ", got %s", type_name(id));
		return invalid(req, err, "\"id\" must be a number or a string", got);
	}
	req->id = json_incref(id);

	v = json_object_get(root, "jsonrpc");
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0) {
		if (!v)
			return invalid(req, err, "the request has no \"jsonrpc\":\"2.0\"", "");
		char what[96];

		describe(v, what, sizeof(what));
		snprintf(got, sizeof(got), ", got %s", what);
		return invalid(req, err, "\"jsonrpc\" must be \"2.0\"", got);
	}

	v = json_object_get(root, "method");
	if (!v)
		return invalid(req, err, "the request has no \"method\"", "");
	if (!json_is_string(v)) {
		snprintf(got, sizeof(got), ", got %s", type_name(v));
		return invalid(req, err, "\"method\" must be a string", got);
	}
	req->method = json_string_value(v);

	/* A typo such as "param" must not be ignored (the handler would see no params). */
	json_object_foreach(root, key, v)
	{
		for (i = 0; members[i]; i++)
			if (strcmp(key, members[i]) == 0)
				break;
		if (!members[i]) {
			char name[CTL_SHOW_MAX + 8];

			ctl_show_name(key, name, sizeof(name));
			snprintf(got, sizeof(got), " '%s' (expected jsonrpc, id, method, params)",
				 name);
			req->method = NULL;
			return invalid(req, err, "unknown request member", got);
		}
	}

	v = json_object_get(root, "params");
	if (v && !json_is_object(v)) {
		req->method = NULL;
		return ctl_fail_errno(err, EINVAL,
				      "\"params\" must be an object of named parameters, got %s",
				      type_name(v));
	}
	req->params = v ? json_incref(v) : json_object();
	if (!req->params) {
		req->method = NULL;
		return ctl_fail_errno(err, ENOMEM, "out of memory");
	}
	return 0;
}

void ctl_request_release(struct ctl_request *req)
{
	json_decref(req->params);
	json_decref(req->id);
	json_decref(req->root);
	memset(req, 0, sizeof(*req));
}
