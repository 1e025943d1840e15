/* SPDX-License-Identifier: BSD-2-Clause */
/* learn: the learning-bridge lookup ops over an fdb. */
#include "learn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * The last source this thread learned. Packets come in bursts from one host:
 * the same MAC on the same port in the same second, with the table unchanged
 * since (same generation), would only refresh an entry already refreshed this
 * second, so fdb_learn() is skipped. Any add, move or removal in the table
 * changes the generation and ends the shortcut.
 */
struct learn_memo {
	const struct fdb *t;
	uint64_t mac;
	uint32_t now_s;
	uint32_t gen;
	uint8_t port;
};

static __thread struct learn_memo memo;

static inline uint64_t mac_word(const uint8_t *mac)
{
	uint32_t lo;
	uint16_t hi;

	memcpy(&lo, mac, 4);
	memcpy(&hi, mac + 4, 2);
	return lo | (uint64_t)hi << 32;
}

static void learn_source(struct fdb *t, const uint8_t *mac, uint8_t port, uint32_t now_s)
{
	uint64_t m = mac_word(mac);
	uint32_t gen = fdb_generation(t);

	if (memo.t == t && memo.mac == m && memo.port == port && memo.now_s == now_s &&
	    memo.gen == gen)
		return;
	fdb_learn(t, mac, port, now_s);
	/* Remember the generation read before learning: if the table changed
	 * since (our own insert included), the next packet learns once more. */
	memo = (struct learn_memo){t, m, now_s, gen, port};
}

static uint8_t learn_lookup(void *priv, const struct bdg_pkt *pkt, uint32_t now_s)
{
	struct fdb *t = priv;
	const uint8_t *eth = pkt->data;
	uint8_t port;

	/* A group source address is bogus: never learn it. */
	if (!(eth[6] & 1) && !(pkt->slot_flags & NS_NO_LEARN))
		learn_source(t, eth + 6, pkt->src_port, now_s);
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
