/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * registry - valed's switches and ports, as the control methods see them.
 *
 * This is netmap's register/attach logic without the ioctl: it resolves a
 * name to a switch and a port (creating an ephemeral VALE port on first
 * open, as netmap does), counts who has each port open, enforces exclusive
 * opens, creates and deletes persistent ports (vale.newif / vale.delif),
 * hands each new port to the forwarding worker with the fewest ports, and
 * frees an ephemeral port and an empty switch when their last user leaves.
 *
 * Every call validates completely before it changes anything. Errors are
 * -errno with a sentence for a person in err (REG_ERRLEN bytes).
 *
 * Limits (ports/quota.h): each port belongs to a uid (its owner), which is
 * charged for it before anything is allocated: one port (two for a pipe,
 * one per end), the bytes of any region made for it, its extra buffers, and
 * a switch when the port creates one. Over a limit is -EDQUOT (host-wide:
 * -ENOSPC). The charge is given back when the port is freed, whatever frees
 * it (reg_close of the last user, reg_delif, reg_destroy).
 *
 * Threads: the control thread only (it is the configuration lock).
 */
#ifndef VALE_PORTS_REGISTRY_H
#define VALE_PORTS_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bdg.h"
#include "quota.h"
#include "vport.h"

#define REG_ERRLEN 256

struct reg;
struct reg_port;
struct reg_handle;

struct reg_params {
	uint32_t workers;     /* forwarding threads, >= 1 */
	uint32_t poll_us;     /* their busy-poll time before sleeping */
	uint32_t fdb_max;     /* learning table size of new switches */
	uint32_t fdb_age;     /* aging time of new switches, seconds */
	uint32_t shared_bufs; /* buffers of the shared region (0: REG_SHARED_BUFS) */
	struct quota *quota;  /* charged before allocating; NULL: no limits */
};

/* The shared region, netmap's global allocator: ports opt in by its mem_id. */
#define REG_SHARED_BUFS 16384
#define REG_SHARED_RINGS 64
#define REG_SHARED_SLOTS 4096 /* largest ring it holds */
#define REG_SHARED_ZMONS 8    /* zero-copy monitors of its ports at once */

struct reg_open {
	const char *name; /* "valeX:Y", optionally with "-N" and/or "/x" */
	bool one_ring;	  /* only ring `ring` (as "-N") */
	uint32_t ring;
	bool exclusive;		/* as "/x" */
	bool tx_only;		/* TX rings only (netmap's NR_TX_RINGS_ONLY) */
	bool rx_only;		/* RX rings only (netmap's NR_RX_RINGS_ONLY) */
	bool lossless;		/* set the port lossless */
	struct vport_params vp; /* used when the port is created by this open */
	uid_t owner;		/* who opens: owns (and is charged for) what the open creates */
};

/* What an open gives the client. */
struct reg_info {
	char name[BDG_FULLNAMSIZ];
	char sw[BDG_NAMSIZ];
	char port[BDG_NAMSIZ];
	uint8_t index;
	uint16_t mem_id;
	size_t mem_size;
	size_t if_offset;
	struct vport_params vp; /* effective: defaults applied */
	uint32_t first_tx, last_tx, first_rx, last_rx;
	bool persistent;
	bool lossless;
	bool exclusive;
	uid_t owner; /* reg_port_owner */
	uint32_t users;
	uint32_t worker;
	uint16_t vnet_hdr_len;
	bool pipe;			/* a pipe end ("X{N", "X}N"): sw is "" */
	char peer[BDG_FULLNAMSIZ];	/* a pipe end: the other end's name */
	bool monitor;			/* a monitor ("valeX:Y/r", "/t", "/rt") */
	bool mon_rx, mon_tx;		/* what it copies */
	bool mon_zcopy;			/* a zero-copy monitor ("/z") */
	char monitored[BDG_FULLNAMSIZ]; /* the port it watches */
	/* A zero-copy monitor: its area (vport.h own_area), at area_offset of
	 * the region, area_size bytes; both 0 for any other port. */
	size_t area_offset, area_size;
};

struct reg *reg_create(const struct reg_params *p, char *err);
void reg_destroy(struct reg *r); /* closes every port; accepts NULL */

/*
 * Open a port for a client. On success *ret_h is the registration.
 * A name with "/r", "/t" or "/rt" opens a new monitor of an existing port
 * (netmap's copy monitor, switch/bdg.h) for this registration alone: its
 * own region with RX rings the switch fills with copies. "/z" (both ways),
 * "/zr" or "/zt" open netmap's zero-copy monitor instead: its rings are in
 * the port's region (which keeps room for one, vport.h) and take the port's
 * buffers (BDG_MON_ZCOPY); the port's worker also polls the RX rings it
 * takes from, so the monitor sees returned slots without waiting for the
 * next packet. -ENOENT if the port does not exist, -EINVAL for a monitor of
 * a monitor or with "-N", -EBUSY for a second zero-copy monitor of a
 * direction, -ENOMEM when the region has no room left for one. A
 * monitored port stays while its monitors do, as netmap's adapter does.
 */
int reg_open(struct reg *r, const struct reg_open *o, struct reg_handle **ret_h, char *err);
/* End a registration; frees an ephemeral port left without users. */
void reg_close(struct reg_handle *h);

/*
 * Pipes: a name "X{N" or "X}N" opens end 0 or end 1 of pipe N of X
 * (ports/pipe.h). X is any port name string, a VALE name ("vale0:a") or a
 * plain one ("p"), made of [A-Za-z0-9_.:-]; it is only a namespace: the pipe
 * neither needs nor creates a port X. N is 1..15 of [A-Za-z0-9_.]. Both ends
 * exist from the first open of either until both are closed; "-N" and "/x"
 * work on an end as on a VALE port. Geometry comes from the first open.
 */
struct pipe;
/* The pipe of a pipe end and which end it is (0 for '{'), or NULL. */
struct pipe *reg_port_pipe(const struct reg_port *p, unsigned *ret_end);
/* The region of any port. */
struct mem_region *reg_port_mem(const struct reg_port *p);

/*
 * Who a port belongs to, for authorization (ctl/authz.h): the uid that
 * created it. An ephemeral port is its first opener's (and a new opener's
 * once it was freed); a persistent one is its vale.newif caller's; both
 * ends of a pipe are the uid whose open made the pipe; a monitor is its
 * opener's. The registry records it and decides nothing by it.
 */
uid_t reg_port_owner(const struct reg_port *p);

/*
 * What reg_open(name) would work on, found without changing anything, so
 * that the caller can decide first whether its client may: the port it
 * would open, or monitor (NULL: none yet; an open would create it, a
 * monitor fails with ENOENT), whether the name opens a monitor or a pipe
 * end, the name of that port without ring and flags, and its switch ("" for
 * a pipe end and a monitor of one). Returns 0, or reg_open's error for a
 * malformed name (-EINVAL, -ENAMETOOLONG, -EOPNOTSUPP) with err filled.
 */
struct reg_target {
	struct reg_port *port;
	bool monitor;
	bool pipe;
	char base[BDG_FULLNAMSIZ];
	char sw[BDG_NAMSIZ];
};
int reg_open_target(struct reg *r, const char *name, struct reg_target *ret, char *err);

struct reg_port *reg_handle_port(const struct reg_handle *h);
/* The registration's own view (ring range, exclusive). */
void reg_handle_info(const struct reg_handle *h, struct reg_info *ret_info);

/*
 * The fds a client needs (owned by the port: dup them to pass them on). The
 * region's fd is read-only for a zero-copy monitor, whose client writes
 * only its area: reg_port_area_fd (-1 for other ports), to be mapped at
 * reg_info.area_offset.
 */
int reg_port_mem_fd(const struct reg_port *p);
int reg_port_area_fd(const struct reg_port *p);
int reg_port_kick_fd(const struct reg_port *p);
int reg_port_notify_fd(const struct reg_port *p);

/*
 * Switches are charged to the uid whose port creates them, under the quota
 * key REG_SWITCH_KEY + name, until they are gone. reg_charge_switch: charge
 * owner for switch sw if it does not exist yet (for callers that create
 * switches themselves, hw/attach.c through ctl/); 0, -EDQUOT. reg_settle:
 * give back the charges of switches that are gone; call it after anything
 * that may have destroyed one outside the registry.
 */
#define REG_SWITCH_KEY "switch:"
int reg_charge_switch(struct reg *r, uid_t owner, const char *sw, char *err);
void reg_settle(struct reg *r);

/* Create a persistent port (vale.newif) owned by owner: -EEXIST if it exists,
 * -EDQUOT/-ENOSPC over a limit. */
int reg_newif(struct reg *r, const char *name, const struct vport_params *vp, uid_t owner,
	      char *err);
/* Delete a persistent port (vale.delif): -ENOENT, -EBUSY if open, -EINVAL if ephemeral. */
int reg_delif(struct reg *r, const char *name, char *err);

/* The port named "valeX:Y", or NULL with -ENOENT/-EINVAL/-ENAMETOOLONG in err. */
struct reg_port *reg_find(struct reg *r, const char *name, int *ret_err, char *err);
void reg_port_info(const struct reg_port *p, struct reg_info *ret_info);
/* NULL for a pipe end (it has no bdg port and no vport). */
struct bdg_port *reg_port_bdg(const struct reg_port *p);
struct vport *reg_port_vport(const struct reg_port *p);

/* Set or get the port's virtio-net header length: 0, 10 or 12. */
int reg_port_set_hdr(struct reg_port *p, uint32_t len, char *err);

/* Iterate ports, in switch order then port index order. */
struct reg_port *reg_port_first(const struct reg *r);
struct reg_port *reg_port_next(const struct reg *r, const struct reg_port *p);

/*
 * Polling mode (netmap's VALE_POLLING): a worker of its own forwards p's TX
 * rings without ever sleeping, on CPU cpu (or any, -1). Off: back to the
 * shared workers. -EALREADY, -EINVAL (not polling), -EOPNOTSUPP (pipes,
 * monitors). The thread is charged to uid (-EDQUOT over its limit) until
 * polling ends or the port goes.
 */
int reg_set_polling(struct reg *r, struct reg_port *p, bool on, int cpu, uid_t uid, char *err);
bool reg_port_polling(const struct reg_port *p);

/* Run the switches' housekeeping (aging) at now_s. */
void reg_expire(struct reg *r, uint32_t now_s);

/*
 * The region ports share when they ask for its mem_id (netmap's nr_mem_id of
 * the global allocator): created with the registry, freed with it. Ports'
 * own regions are never shared (a port's memory stays its client's).
 */
struct mem_region *reg_shared_mem(const struct reg *r);

uint32_t reg_worker_count(const struct reg *r);
struct worker *reg_worker(const struct reg *r, uint32_t i);

#endif /* VALE_PORTS_REGISTRY_H */
