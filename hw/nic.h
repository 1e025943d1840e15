/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nic - attaching a kernel interface to a switch, as netmap's NETMAP_REQ_VALE_ATTACH.
 *
 * The adapter is chosen by admode, as the seed's netmap_admode: `native`
 * is AF_XDP (hw/xsk.h: one socket per RX queue, the interface's frames no
 * longer reach the host stack), `generic` is AF_PACKET (hw/afp.h: works on
 * any interface; frames still reach the host stack too, as with netmap's
 * generic adapter over a stack that keeps its addresses), `best` tries
 * native and falls back to generic, saying why. Either way the interface
 * becomes a kport (ports/kport.h) of the switch. AF_PACKET ports carry a
 * 12-byte virtio-net header, so GSO and checksum offloads cross the switch.
 *
 * Threads: the control thread.
 */
#ifndef VALE_HW_NIC_H
#define VALE_HW_NIC_H

#include "err.h"
#include "kport.h"

enum nic_admode { NIC_ADMODE_BEST, NIC_ADMODE_NATIVE, NIC_ADMODE_GENERIC };

/* "best", "native", "generic" -> admode; -EINVAL otherwise. */
int nic_admode_parse(const char *s, enum nic_admode *ret);
const char *nic_admode_name(enum nic_admode m);

/*
 * Attach interface ifname (in the daemon's network namespace) to switch sw
 * as port ifname. On success, reason (ERR_LEN bytes) says which adapter it got
 * and why ("native AF_XDP copy/drv", "generic AF_PACKET: AF_XDP: ..."). NULL +
 * errno + err otherwise.
 */
struct kport *nic_attach(struct bdg *sw, const char *ifname, enum nic_admode mode, char *reason,
			 char *err);

#endif /* VALE_HW_NIC_H */
