/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * methods - valed's control methods (doc/control-protocol.md): one handler
 * per method, each turning validated JSON params into registry calls and the
 * registry's answer into a JSON result.
 *
 * Threads: the control thread (they run inside the rpc server's loop).
 */
#ifndef VALE_CTL_METHODS_H
#define VALE_CTL_METHODS_H

#include <stdbool.h>
#include <stdint.h>

#include "attach.h"
#include "authz.h"
#include "registry.h"
#include "rpc.h"

struct methods_ctx {
	struct reg *reg;
	struct att *att; /* kernel interfaces: NICs, host ports, taps */
	const struct authz *authz; /* who may do what (every method asks it first) */
	const char *socket_path;
	uint64_t started_ns; /* CLOCK_MONOTONIC at start, for uptime */
	struct ctl_server *server; /* set by methods_register */
	struct quota *quota;	   /* the limits (also the registry's); NULL: none */
};

/* Register every method on s; ctx must outlive s. 0 or -errno. */
int methods_register(struct ctl_server *s, struct methods_ctx *ctx);

/* The methods of kernel interfaces (methods_nic.c). */
int methods_nic_register(struct ctl_server *s, struct methods_ctx *ctx);

/*
 * Kernel ports (NICs, host ports, taps) as the methods of both files show
 * them. methods_kport_find: the entry of "vale0:a1" or "vale0:a1^" (a host
 * port's name is no valid VALE name), or NULL. methods_kport_describe adds
 * "port", "type" and "detail" to o; methods_kport_counters adds the kernel
 * side's counters "rx_frames", "tx_frames", "rx_dropped", "tx_dropped".
 * methods_host_port_missing: for a host port's name that methods_kport_find
 * did not find, fills e with ENOENT and returns true (the VALE-port lookup
 * would call the name malformed); false for any other name.
 */
struct att_entry *methods_kport_find(const struct att *att, const char *name);
/* The caller of a method, for authz. */
void methods_who(const struct ctl_conn *c, struct authz_who *ret_who);
bool methods_host_port_missing(const char *name, struct ctl_error *e);
void methods_kport_describe(json_t *o, const struct att_entry *a);
void methods_kport_counters(json_t *o, const struct att_entry *a);

#endif /* VALE_CTL_METHODS_H */
