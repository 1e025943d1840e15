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

#include <stdint.h>

#include "attach.h"
#include "registry.h"
#include "rpc.h"

struct methods_ctx {
	struct reg *reg;
	struct att *att; /* kernel interfaces: NICs, host ports, taps */
	const char *socket_path;
	uint64_t started_ns; /* CLOCK_MONOTONIC at start, for uptime */
	struct ctl_server *server; /* set by methods_register */
};

/* Register every method on s; ctx must outlive s. 0 or -errno. */
int methods_register(struct ctl_server *s, struct methods_ctx *ctx);

/* The methods of kernel interfaces (methods_nic.c). */
int methods_nic_register(struct ctl_server *s, struct methods_ctx *ctx);

#endif /* VALE_CTL_METHODS_H */
