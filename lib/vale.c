/* SPDX-License-Identifier: BSD-2-Clause */
/* vale: open a port over valed's control socket (port.register) and close it. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vale/vale.h>

#include "lverr.h"
#include "portname.h"
#include "lvport.h"
#include "wire.h"

/* The fds of a port.register reply, found by the names in "fds". */
struct reg_fds {
	int mem;
	int kick;
	int notify;
	int area; /* a zero-copy monitor's: what it may write of its region; else -1 */
};

/* The port.register params: only what the caller set, as the daemon
 * rejects nothing it knows but fills its own defaults for the rest. */
static json_t *register_params(const struct portname *n, const struct vale_open_params *o)
{
	json_t *params = json_object();
	int err = 0;

	if (!params)
		return NULL;
	if (n->monitor[0]) { /* the daemon opens a new monitor for "valeX:Y/r" */
		char mon[PORTNAME_MAX]; /* canonical: never longer than what was parsed */
		err |= portname_format(n, mon, sizeof(mon));
		err |= json_object_set_new(params, "name", json_string(mon));
	} else {
		err |= json_object_set_new(params, "name", json_string(n->base));
	}
	if (n->ring >= 0) {
		err |= json_object_set_new(params, "mode", json_string("one"));
		err |= json_object_set_new(params, "ring", json_integer(n->ring));
	}
	if (o && o->tx_rings)
		err |= json_object_set_new(params, "tx_rings", json_integer(o->tx_rings));
	if (o && o->rx_rings)
		err |= json_object_set_new(params, "rx_rings", json_integer(o->rx_rings));
	if (o && o->tx_slots)
		err |= json_object_set_new(params, "tx_slots", json_integer(o->tx_slots));
	if (o && o->rx_slots)
		err |= json_object_set_new(params, "rx_slots", json_integer(o->rx_slots));
	if (o && o->buf_size)
		err |= json_object_set_new(params, "buf_size", json_integer(o->buf_size));
	if (o && o->extra_bufs)
		err |= json_object_set_new(params, "extra_bufs", json_integer(o->extra_bufs));
	if (o && o->lossless)
		err |= json_object_set_new(params, "lossless", json_true());
	if (n->exclusive || (o && o->exclusive))
		err |= json_object_set_new(params, "exclusive", json_true());
	if (o && o->mem_id)
		err |= json_object_set_new(params, "mem_id", json_integer(o->mem_id));
	if (o && (o->tx_only || o->rx_only))
		err |= json_object_set_new(params, "rings", json_string(o->tx_only ? "tx" : "rx"));
	if (err) {
		json_decref(params);
		return NULL;
	}
	return params;
}

/* result[key] as an unsigned integer <= max. */
static int get_uint(const json_t *result, const char *key, uint64_t max, uint64_t *ret)
{
	const json_t *v = json_object_get(result, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return lverr_set(EPROTO, "valed's port.register reply has no valid '%s'", key);
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

/*
 * Match the received fds to the names in result "fds". Every fd ends up
 * either in *ret or closed; on failure all of them are closed.
 */
static int take_fds(const json_t *result, int *fds, int nfds, struct reg_fds *ret)
{
	const json_t *names = json_object_get(result, "fds");
	struct reg_fds got = {-1, -1, -1, -1};
	int *slot;

	if (!json_is_array(names) || json_array_size(names) != (size_t)nfds) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return lverr_set(EPROTO,
				 "valed's port.register reply announced %zu fds and "
				 "carried %d",
				 json_is_array(names) ? json_array_size(names) : 0, nfds);
	}
	for (int i = 0; i < nfds; i++) {
		const char *name = json_string_value(json_array_get(names, (size_t)i));

		slot = NULL;
		if (name && strcmp(name, "mem") == 0)
			slot = &got.mem;
		else if (name && strcmp(name, "kick") == 0)
			slot = &got.kick;
		else if (name && strcmp(name, "notify") == 0)
			slot = &got.notify;
		else if (name && strcmp(name, "area") == 0)
			slot = &got.area;
		if (slot && *slot < 0)
			*slot = fds[i];
		else
			close(fds[i]); /* unknown or repeated: not ours to keep */
	}
	if (got.mem < 0 || got.kick < 0 || got.notify < 0) {
		if (got.mem >= 0)
			close(got.mem);
		if (got.kick >= 0)
			close(got.kick);
		if (got.notify >= 0)
			close(got.notify);
		if (got.area >= 0)
			close(got.area);
		return lverr_set(EPROTO, "valed's port.register reply lacks one of the fds "
					 "mem, kick, notify");
	}
	*ret = got;
	return 0;
}

/*
 * Map the region as the reply says: read-write, or, for a zero-copy monitor
 * (an "area" fd), read-only with its area mapped read-write over the same
 * range, so every offset (netmap_if, rings, buffers) is the region's.
 */
static int map_region(struct vale_port *p, const json_t *result, const struct reg_fds *fds,
		      const char *name)
{
	uint64_t ofs, size, page = (uint64_t)sysconf(_SC_PAGESIZE);

	p->mem = mmap(NULL, p->mem_size, fds->area >= 0 ? PROT_READ : PROT_READ | PROT_WRITE,
		      MAP_SHARED, fds->mem, 0);
	if (p->mem == MAP_FAILED)
		return lverr_set(errno, "cannot map the %zu-byte region of %s: %s", p->mem_size,
				 name, strerror(errno));
	if (fds->area < 0)
		return 0;
	if (get_uint(result, "area_offset", p->mem_size, &ofs) ||
	    get_uint(result, "area_size", p->mem_size, &size))
		return -1;
	if (size == 0 || ofs % page || size % page || size > p->mem_size - ofs)
		return lverr_set(EPROTO,
				 "valed sent a bad area: %llu bytes at offset %llu of a "
				 "%zu-byte region",
				 (unsigned long long)size, (unsigned long long)ofs, p->mem_size);
	if (mmap((char *)p->mem + ofs, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 fds->area, 0) == MAP_FAILED)
		return lverr_set(errno, "cannot map the rings of %s: %s", name, strerror(errno));
	return 0;
}

/* Read the ring range and region facts of the reply into p. */
static int read_result(struct vale_port *p, const json_t *result, uint64_t *ret_if_offset)
{
	uint64_t mem_size, if_offset, mem_id, ftx, ltx, frx, lrx;

	if (get_uint(result, "mem_size", SIZE_MAX, &mem_size) ||
	    get_uint(result, "if_offset", SIZE_MAX, &if_offset) ||
	    get_uint(result, "mem_id", UINT16_MAX, &mem_id) ||
	    get_uint(result, "first_tx_ring", UINT32_MAX, &ftx) ||
	    get_uint(result, "last_tx_ring", UINT32_MAX, &ltx) ||
	    get_uint(result, "first_rx_ring", UINT32_MAX, &frx) ||
	    get_uint(result, "last_rx_ring", UINT32_MAX, &lrx))
		return -1;
	if (mem_size == 0)
		return lverr_set(EPROTO, "valed's port.register reply has a zero mem_size");
	p->mem_size = (size_t)mem_size;
	p->mem_id = (uint16_t)mem_id;
	p->first_tx = (uint32_t)ftx;
	p->last_tx = (uint32_t)ltx;
	p->first_rx = (uint32_t)frx;
	p->last_rx = (uint32_t)lrx;
	*ret_if_offset = if_offset;
	return 0;
}

/* Call port.register; on success the reply and its fds are the caller's. */
static int do_register(struct vale_port *p, const char *name, const struct portname *n,
		       const struct vale_open_params *o, json_t **ret_result, struct reg_fds *ret)
{
	struct ctl_daemon_error error;
	json_t *params, *result = NULL;
	int fds[CTL_MAX_FDS], nfds = 0, rc;
	char text[ERR_LEN];

	params = register_params(n, o);
	if (!params)
		return lverr_set(ENOMEM, "out of memory building the port.register request");
	rc = ctl_client_call(p->ctl, "port.register", params, &result, &error, fds, CTL_MAX_FDS,
			     &nfds);
	if (rc == CTL_DAEMON_ERROR) {
		ctl_error_text(&error, text, sizeof(text));
		return lverr_set_daemon(error.code, error.err, "cannot open %s: %s", name, text);
	}
	if (rc < 0)
		return lverr_set(-rc, "cannot open %s: the control connection failed: %s", name,
				 strerror(-rc));
	if (!json_is_object(result)) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		json_decref(result);
		return lverr_set(EPROTO, "valed's port.register reply is not an object");
	}
	if (take_fds(result, fds, nfds, ret)) {
		json_decref(result);
		return -1;
	}
	*ret_result = result;
	return 0;
}

struct vale_port *vale_open(const char *name, const struct vale_open_params *params)
{
	struct vale_port *p;
	struct portname n;
	struct reg_fds fds = {-1, -1, -1, -1};
	json_t *result = NULL;
	uint64_t if_offset = 0;
	const char *sock;
	char text[ERR_LEN];
	int rc, fl;

	rc = portname_parse(name, &n, text);
	if (rc) {
		lverr_set(-rc, "%s", text);
		return NULL;
	}
	if (params && params->tx_only && params->rx_only) {
		lverr_set(EINVAL, "tx_only and rx_only exclude each other");
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		lverr_set(ENOMEM, "out of memory");
		return NULL;
	}
	p->kick_fd = p->notify_fd = -1;
	p->mem = MAP_FAILED;
	p->no_tx_poll = params && params->no_tx_poll;

	sock = params && params->socket ? params->socket : ctl_default_socket();
	p->ctl = ctl_client_connect(sock);
	if (!p->ctl) {
		lverr_set(errno, "cannot reach valed at %s: %s%s", sock, strerror(errno),
			  errno == ENOENT || errno == ECONNREFUSED
			      ? " (is valed running? set VALE_SOCKET to its socket)"
			      : "");
		goto err_connect;
	}
	if (do_register(p, name, &n, params, &result, &fds))
		goto err_register;
	p->kick_fd = fds.kick;
	p->notify_fd = fds.notify;
	if (read_result(p, result, &if_offset))
		goto err_result;

	if (map_region(p, result, &fds, n.base))
		goto err_result;
	if (lvport_layout(p, p->mem, p->mem_size, (size_t)if_offset))
		goto err_result;
	/* poll() tells us when to read; reading must never block. */
	fl = fcntl(p->notify_fd, F_GETFL);
	if (fl < 0 || fcntl(p->notify_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		lverr_set(errno, "cannot make the notify eventfd non-blocking: %s",
			  strerror(errno));
		goto err_layout;
	}
	close(fds.mem); /* the mapping keeps the region */
	if (fds.area >= 0)
		close(fds.area);
	json_decref(result);
	return p;

err_layout:
	lvport_layout_free(p);
err_result:
	close(fds.mem);
	if (fds.area >= 0)
		close(fds.area);
	json_decref(result);
err_register:
err_connect:
	rc = errno;
	vale_close(p);
	errno = rc;
	return NULL;
}

void vale_close(struct vale_port *p)
{
	if (!p)
		return;
	lvport_layout_free(p);
	if (p->mem != MAP_FAILED && p->mem)
		munmap(p->mem, p->mem_size);
	if (p->notify_fd >= 0)
		close(p->notify_fd);
	if (p->kick_fd >= 0)
		close(p->kick_fd);
	ctl_client_close(p->ctl); /* unregisters the port */
	free(p);
}
