/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * learn - the learning bridge: the default lookup ops of a switch.
 *
 * It learns each packet's source MAC on its source port (unless the slot has
 * NS_NO_LEARN), sends unicast to the learned port, and floods broadcast,
 * multicast and unknown unicast (BDG_BROADCAST; the core never sends a packet
 * back to its source). Entries age (300 s by default), static entries stay,
 * and a port's entries are flushed when it detaches. The table is fdb.h.
 *
 * config keys: "age" (seconds, >= 1). Threads: as struct bdg_ops says.
 */
#ifndef VALE_SWITCH_LEARN_H
#define VALE_SWITCH_LEARN_H

#include "bdg.h"
#include "fdb.h"

extern const struct bdg_ops learn_ops;

/* Private data for learn_ops: a learning table. NULL + errno. */
void *learn_create(uint32_t max_entries, uint32_t age_s);

/* The table behind a switch using learn_ops (for switch.fdb and friends). */
struct fdb *learn_fdb(void *priv);

#endif /* VALE_SWITCH_LEARN_H */
