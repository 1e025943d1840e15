/* SPDX-License-Identifier: BSD-2-Clause */
/* offload: checksum completion and TCP segmentation in software (virtio-net offloads). */
#include "offload.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define PROTO_TCP 6
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

void offload_hdr_parse(const uint8_t *raw, struct vnet_hdr *h)
{
	h->flags = raw[0];
	h->gso_type = raw[1];
	h->hdr_len = le16(raw + 2);
	h->gso_size = le16(raw + 4);
	h->csum_start = le16(raw + 6);
	h->csum_offset = le16(raw + 8);
}

/* One's complement sum of big-endian 16-bit words, unfolded. */
static uint64_t sum_bytes(uint64_t sum, const uint8_t *p, uint32_t len)
{
	uint32_t i = 0;

	for (; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	return sum;
}

static uint16_t fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int offload_csum_complete(uint8_t *frame, uint32_t len, uint16_t csum_start, uint16_t csum_offset)
{
	uint32_t at = (uint32_t)csum_start + csum_offset;
	uint16_t c;

	if (csum_start >= len || at + 2 > len)
		return -EINVAL;
	/* The field holds the pseudo-header sum: it is part of the sum. */
	c = fold(sum_bytes(0, frame + csum_start, len - csum_start));
	put16(frame + at, c ? c : 0xffff); /* 0 means "no checksum" to UDP */
	return 0;
}

/* Where the IP and TCP headers of a frame are. */
struct layout {
	uint32_t l3;    /* IP header offset */
	uint32_t l4;    /* TCP header offset */
	uint32_t hdrs;  /* bytes of headers (Ethernet to TCP options) */
	uint32_t payload;
	bool v6;
};

/* Headers are read from the first avail bytes of the frame (avail <= len),
 * so that a frame's first fragment is enough to plan its segments. */
static int parse(const uint8_t *f, uint32_t avail, uint32_t len, const struct vnet_hdr *h,
		 struct layout *ret)
{
	uint32_t off = ETH_HLEN, tcp_hlen;
	uint16_t type;
	uint8_t gso = h->gso_type & ~VNET_HDR_GSO_ECN;

	if (gso != VNET_HDR_GSO_TCPV4 && gso != VNET_HDR_GSO_TCPV6)
		return -EOPNOTSUPP;
	if (h->gso_size == 0 || avail < ETH_HLEN || avail > len)
		return -EINVAL;
	type = get16(f + 12);
	for (int tags = 0; tags < 2 && (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ); tags++) {
		if (off + 4 > avail)
			return -EINVAL;
		type = get16(f + off + 2);
		off += 4;
	}
	ret->l3 = off;
	if (gso == VNET_HDR_GSO_TCPV4) {
		if (type != ETHERTYPE_IPV4 || off + 20 > avail || (f[off] >> 4) != 4 ||
		    f[off + 9] != PROTO_TCP)
			return -EINVAL;
		ret->l4 = off + (uint32_t)(f[off] & 0x0f) * 4;
		ret->v6 = false;
	} else {
		if (type != ETHERTYPE_IPV6 || off + 40 > avail || f[off + 6] != PROTO_TCP)
			return -EINVAL; /* extension headers are not walked */
		ret->l4 = off + 40;
		ret->v6 = true;
	}
	if (ret->l4 + 20 > avail)
		return -EINVAL;
	tcp_hlen = (uint32_t)(f[ret->l4 + 12] >> 4) * 4;
	if (tcp_hlen < 20 || ret->l4 + tcp_hlen > avail)
		return -EINVAL;
	ret->hdrs = ret->l4 + tcp_hlen;
	ret->payload = len - ret->hdrs;
	return 0;
}

int offload_segment_plan(const uint8_t *head, uint32_t head_len, uint32_t len,
			 const struct vnet_hdr *h, uint32_t *ret_longest)
{
	struct layout l;
	int err;

	*ret_longest = len;
	if ((h->gso_type & ~VNET_HDR_GSO_ECN) == VNET_HDR_GSO_NONE)
		return 1;
	err = parse(head, head_len < len ? head_len : len, len, h, &l);
	if (err)
		return err;
	*ret_longest = l.hdrs + (l.payload < h->gso_size ? l.payload : h->gso_size);
	return l.payload == 0 ? 1 : (int)((l.payload + h->gso_size - 1) / h->gso_size);
}

int offload_segment(const uint8_t *frame, uint32_t len, const struct vnet_hdr *h, uint32_t i,
		    uint8_t *out, uint32_t room)
{
	struct layout l;
	uint32_t start, seg, total, n;
	uint8_t *ip, *tcp;
	uint64_t sum;
	int err = parse(frame, len, len, h, &l);

	if (err)
		return err;
	n = l.payload == 0 ? 1 : (l.payload + h->gso_size - 1) / h->gso_size;
	if (i >= n)
		return -EINVAL;
	start = i * h->gso_size;
	seg = l.payload - start < h->gso_size ? l.payload - start : h->gso_size;
	total = l.hdrs + seg;
	if (total > room)
		return -ENOSPC;
	memcpy(out, frame, l.hdrs);
	memcpy(out + l.hdrs, frame + l.hdrs + start, seg);
	ip = out + l.l3;
	tcp = out + l.l4;

	if (l.v6) {
		put16(ip + 4, (uint16_t)(total - l.l4));
	} else {
		put16(ip + 2, (uint16_t)(total - l.l3));
		put16(ip + 4, (uint16_t)(get16(ip + 4) + i)); /* IP id, one per segment */
		put16(ip + 10, 0);
		put16(ip + 10, fold(sum_bytes(0, ip, l.l4 - l.l3)));
	}
	put32(tcp + 4, get32(tcp + 4) + start);
	if (i + 1 < n)
		tcp[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (i > 0)
		tcp[13] &= (uint8_t)~TCP_CWR;

	/* Full TCP checksum: pseudo header, then header and payload. */
	put16(tcp + 16, 0);
	if (l.v6) {
		sum = sum_bytes(0, ip + 8, 32);
		sum += total - l.l4;
	} else {
		sum = sum_bytes(0, ip + 12, 8);
		sum += total - l.l4;
	}
	sum += PROTO_TCP;
	sum = sum_bytes(sum, tcp, total - l.l4);
	put16(tcp + 16, fold(sum));
	return (int)total;
}
