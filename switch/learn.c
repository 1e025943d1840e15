/* SPDX-License-Identifier: BSD-2-Clause */
/* learn: the learning-bridge lookup ops over an fdb. */
#include "learn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint8_t learn_lookup(void *priv, const struct bdg_pkt *pkt, uint32_t now_s)
{
	struct fdb *t = priv;
	const uint8_t *eth = pkt->data;
	uint8_t port;

	/* A group source address is bogus: never learn it. */
	if (!(eth[6] & 1) && !(pkt->slot_flags & NS_NO_LEARN))
		fdb_learn(t, eth + 6, pkt->src_port, now_s);
	if (eth[0] & 1)
		return BDG_BROADCAST;
	port = fdb_lookup(t, eth);
	return port == FDB_PORT_NONE ? BDG_BROADCAST : port;
}

static int learn_config(void *priv, const char *key, const char *value)
{
	char *end;
	unsigned long v;

	if (strcmp(key, "age") != 0)
		return -ENOENT;
	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno || *end || end == value || v == 0 || v > UINT32_MAX)
		return -EINVAL;
	return fdb_set_age(priv, (uint32_t)v);
}

static void learn_expire(void *priv, uint32_t now_s)
{
	fdb_expire(priv, now_s);
}

static void learn_port_detach(void *priv, uint8_t port)
{
	fdb_flush_port(priv, port);
}

static void learn_dtor(void *priv)
{
	fdb_destroy(priv);
}

const struct bdg_ops learn_ops = {
	.lookup = learn_lookup,
	.config = learn_config,
	.expire = learn_expire,
	.port_detach = learn_port_detach,
	.dtor = learn_dtor,
};

void *learn_create(uint32_t max_entries, uint32_t age_s)
{
	return fdb_create(max_entries, age_s);
}

struct fdb *learn_fdb(void *priv)
{
	return priv;
}
