/* SPDX-License-Identifier: BSD-2-Clause */
/* flowhash: hash a frame's L2/L3/L4 flow identity, to pick an RX ring. */
#include "flowhash.h"

#include <string.h>

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_SCTP_ 132

/* Fold 32 bits into the running hash (a multiply-rotate mix). */
static uint32_t mix(uint32_t h, uint32_t v)
{
	v *= 0xcc9e2d51u;
	v = (v << 15) | (v >> 17);
	v *= 0x1b873593u;
	h ^= v;
	h = (h << 13) | (h >> 19);
	return h * 5 + 0xe6546b64u;
}

/* Final avalanche, so that the low bits used for "% n_rings" are good. */
static uint32_t finish(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static uint32_t load32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t load16be(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t hash_words(uint32_t h, const uint8_t *p, uint32_t nwords)
{
	for (uint32_t i = 0; i < nwords; i++)
		h = mix(h, load32(p + 4 * i));
	return h;
}

/* The L4 ports at l4 (first 4 bytes), when the protocol has them. */
static uint32_t hash_ports(uint32_t h, uint8_t proto, const uint8_t *l4, const uint8_t *end)
{
	if (proto != IPPROTO_TCP_ && proto != IPPROTO_UDP_ && proto != IPPROTO_SCTP_)
		return h;
	if (end - l4 < 4)
		return h;
	return mix(h, load32(l4));
}

uint32_t flowhash_frame(const uint8_t *frame, uint32_t len)
{
	const uint8_t *end = frame + len;
	const uint8_t *p;
	uint32_t h = 0x5eed1234u;
	uint16_t type;

	if (len < ETH_HLEN)
		return finish(hash_words(h, frame, len / 4));
	h = hash_words(h, frame, 3); /* both MAC addresses */
	type = load16be(frame + 12);
	p = frame + ETH_HLEN;
	for (int tags = 0; tags < 2 && (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ); tags++) {
		if (end - p < 4)
			return finish(h);
		type = load16be(p + 2);
		p += 4;
	}
	h = mix(h, type);
	if (type == ETHERTYPE_IPV4 && end - p >= 20) {
		uint32_t ihl = (uint32_t)(p[0] & 0x0f) * 4;
		uint16_t frag = load16be(p + 6) & 0x3fff; /* MF flag and offset */

		h = mix(h, p[9]);
		h = hash_words(h, p + 12, 2);
		if (ihl >= 20 && frag == 0 && ihl <= (uint32_t)(end - p))
			h = hash_ports(h, p[9], p + ihl, end);
	} else if (type == ETHERTYPE_IPV6 && end - p >= 40) {
		/* Extension headers are not walked: such flows hash on addresses. */
		h = mix(h, p[6]);
		h = hash_words(h, p + 8, 8);
		h = hash_ports(h, p[6], p + 40, end);
	}
	return finish(h);
}
