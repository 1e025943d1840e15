/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * attach - the kernel interfaces valed has made switch ports: attached NICs
 * (vale.attach / vale.detach, netmap's vale-ctl -a/-h/-d), their host ports,
 * and tap/container ports (vale.newif with "tap").
 *
 * Each entry is a kport on a switch, persistent until detached or deleted.
 * A switch is created on the first port attached to it (with the learning
 * bridge) and destroyed with its last port, as the VALE-port registry does.
 * The host port of NIC `eth0` on `vale0` is the tap `vh-eth0`, port
 * `vale0:eth0^` in listings: the host stack talks to the switch through it
 * (move the NIC's addresses and routes to vh-eth0, see doc/nics.md).
 *
 * Errors are -errno with a sentence in err (ERR_LEN bytes). Threads: the control
 * thread only.
 */
#ifndef VALE_HW_ATTACH_H
#define VALE_HW_ATTACH_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "kport.h"
#include "nic.h"
#include "tap.h"

struct att;
struct att_entry;

struct att *att_create(uint32_t fdb_max, uint32_t fdb_age, enum nic_admode admode);
void att_destroy(struct att *a); /* detaches everything; accepts NULL */

enum nic_admode att_admode(const struct att *a);

/*
 * Attach ifname to switch sw ("vale0"); mode NULL means the daemon's admode.
 * With host, also create the host port. -EEXIST if attached already,
 * -ENODEV for no such interface, -EINVAL for a bad mode or name.
 */
int att_nic(struct att *a, const char *sw, const char *ifname, const char *mode, bool host,
	    char *err);
/* Detach ifname (and its host port) from sw: -ENOENT if not attached. */
int att_detach(struct att *a, const char *sw, const char *ifname, char *err);

/* Create tap port `port` on sw: -EEXIST, -ENOENT (netns)... */
int att_tap(struct att *a, const char *sw, const char *port, const struct tap_params *p,
	    char *err);
/* Delete the tap port sw:port: -ENOENT if there is none. */
int att_tap_delete(struct att *a, const char *sw, const char *port, char *err);

/* The entry of port sw:port, or NULL. */
struct att_entry *att_find(const struct att *a, const char *sw, const char *port);

/* Iterate entries in creation order. */
struct att_entry *att_first(const struct att *a);
struct att_entry *att_next(const struct att_entry *e);
const char *att_entry_switch(const struct att_entry *e);
const char *att_entry_port(const struct att_entry *e);
/* "native", "generic", "host" or "tap". */
const char *att_entry_type(const struct att_entry *e);
/* Why this adapter ("native AF_XDP copy/drv, 1 queue") or the tap's name. */
const char *att_entry_detail(const struct att_entry *e);
struct kport *att_entry_kport(const struct att_entry *e);

#endif /* VALE_HW_ATTACH_H */
