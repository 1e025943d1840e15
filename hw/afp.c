/* SPDX-License-Identifier: BSD-2-Clause */
/* afp - AF_PACKET TPACKET_V3 rings on one interface: the generic NIC adapter's I/O. */
#include "afp.h"

#include <errno.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_packet.h>

/* Newer than the uapi headers of some distributions; the value is ABI. */
#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000 /* Linux 6.9 */
#endif

#define VLAN_HLEN 4
#define VNET_HDR_LEN 10
#define VNET_HDR_MRG_LEN 12
#define VNET_F_NEEDS_CSUM 1
#define FRAME_SIZE_MIN 256u
#define FRAME_SIZE_MAX (1u << 20)
#define VNET_FRAME_SIZE 65536u
#define RX_BLOCK_MIN (128u << 10)
#define RX_RING_BYTES (4u << 20)
/* With vnet_hdr a GSO frame takes a block (of 128 KiB) to itself: 16 MiB
 * keep 128 of them, 8 MiB of TCP in flight, as a 4 MiB ring keeps 30000
 * small frames. */
#define RX_RING_BYTES_VNET (16u << 20)
#define RX_BLOCKS_MIN 8u
#define TX_BLOCK_MIN (64u << 10)
#define TX_RING_BYTES (2u << 20)
#define TX_FRAMES_MIN 64u

/* Where a TX frame's data starts in its slot: the kernel's tp_hdrlen - sockaddr_ll. */
#define TX_DATA_OFF (TPACKET3_HDRLEN - sizeof(struct sockaddr_ll))

struct afp {
	int fd;
	int big_fd; /* frames over a TX slot (GSO, with vnet_hdr): sendmsg(); -1 if none */
	int ifindex;
	uint32_t mtu;
	uint32_t vnet_len;
	bool promisc; /* we hold a PACKET_MR_PROMISC membership */

	uint8_t *map; /* RX blocks, then TX slots */
	size_t map_len;

	/* RX: blocks [rel, cur) are consumed and still ours; cur may be partly read. */
	uint8_t *rx_ring;
	uint32_t rx_block_size;
	uint32_t rx_blocks;
	uint32_t rx_cur;
	uint32_t rx_rel;
	uint32_t rx_held;   /* consumed blocks not yet released: cur - rel */
	uint8_t *rx_pkt;    /* next packet in block cur, NULL before opening it */
	uint32_t rx_left;   /* packets left in block cur */
	bool rx_cur_opened; /* block cur is ours (status USER) and being read */

	/*
	 * TX: slots [kern, head) are SEND_REQUEST, waiting for the kernel,
	 * whose own head is kern (it takes slots in order, only inside our
	 * send(), so kern is exact after every kick).
	 */
	uint8_t *tx_ring;
	uint32_t tx_frame_size;
	uint32_t tx_frames_per_block;
	uint32_t tx_block_size;
	uint32_t tx_frames;
	uint32_t tx_head;
	uint32_t tx_kern;
	uint32_t tx_pending;
	uint32_t tx_max; /* largest frame we take, vnet header included */
	uint32_t tx_slot_max; /* largest frame a TX slot holds; longer ones go by big_fd */
	bool tx_kick;	 /* the last send() left frames behind */

	struct afp_stats st;
};

static uint32_t pow2_at_least(uint32_t v)
{
	uint32_t r = 1;

	while (r < v)
		r <<= 1;
	return r;
}

static int setopt_int(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val)) ? -errno : 0;
}

/* Interface facts we size and check against: index, MTU, link type. */
static int query_if(struct afp *a, const char *ifname, char *err)
{
	struct ifreq ifr;

	if (!ifname || !ifname[0] || strlen(ifname) >= IFNAMSIZ) {
		return err_set(err, EINVAL, "bad interface name '%s'", ifname ? ifname : "(null)");
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(a->fd, SIOCGIFINDEX, &ifr) < 0) {
		int e = errno;

		if (e == ENODEV)
			return err_set(err, e, "no interface '%s' (in this network namespace)",
				       ifname);
		return err_set(err, e, "interface '%s': %s", ifname, strerror(e));
	}
	a->ifindex = ifr.ifr_ifindex;
	if (ioctl(a->fd, SIOCGIFHWADDR, &ifr) < 0) {
		return err_set(err, errno, "interface '%s': link type: %s", ifname,
			       strerror(errno));
	}
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		return err_set(
		    err, EINVAL,
		    "interface '%s' is not Ethernet (link type %u): a switch port carries "
		    "Ethernet frames",
		    ifname, ifr.ifr_hwaddr.sa_family);
	}
	if (ioctl(a->fd, SIOCGIFMTU, &ifr) < 0) {
		return err_set(err, errno, "interface '%s': MTU: %s", ifname, strerror(errno));
	}
	a->mtu = (uint32_t)ifr.ifr_mtu;
	return 0;
}

/* Ring geometry from the params and the MTU. */
static int size_rings(struct afp *a, const struct afp_params *p, char *err)
{
	uint32_t need = (uint32_t)TX_DATA_OFF + a->vnet_len + ETH_HLEN + VLAN_HLEN + a->mtu;
	uint32_t fs = p->frame_size;
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	uint32_t rx_fs;
	uint64_t bytes;

	if (!fs) {
		/*
		 * Power of two slots, so TX blocks hold whole slots without
		 * waste. Sized for the MTU even with vnet_hdr: GSO frames (up
		 * to 64 KiB) take the side socket, and 64 KiB slots would leave
		 * a ring of 32 of them, too few for a burst of small frames.
		 */
		fs = pow2_at_least(need > AFP_FRAME_SIZE_DEFAULT ? need : AFP_FRAME_SIZE_DEFAULT);
	} else if (fs < FRAME_SIZE_MIN || fs > FRAME_SIZE_MAX || fs % TPACKET_ALIGNMENT) {
		return err_set(err, EINVAL, "frame size %u: must be a multiple of %u from %u to %u",
			       fs, TPACKET_ALIGNMENT, FRAME_SIZE_MIN, FRAME_SIZE_MAX);
	} else if (fs < need) {
		return err_set(err, EINVAL, "frame size %u too small for MTU %u (needs %u)", fs,
			       a->mtu, need);
	}
	a->tx_frame_size = fs;
	a->tx_slot_max = fs - (uint32_t)TX_DATA_OFF;
	a->tx_max = a->tx_slot_max;
	if (!a->vnet_len && a->tx_max > need - (uint32_t)TX_DATA_OFF)
		a->tx_max = need - (uint32_t)TX_DATA_OFF; /* the kernel's cap: MTU + headers */
	if (a->vnet_len && a->tx_max < VNET_FRAME_SIZE - (uint32_t)TX_DATA_OFF)
		a->tx_max = VNET_FRAME_SIZE - (uint32_t)TX_DATA_OFF; /* GSO frames: 64 KiB */
	/* A received GSO frame must fit one RX block, header and all. */
	rx_fs = a->vnet_len && fs < VNET_FRAME_SIZE ? VNET_FRAME_SIZE : fs;

	a->rx_block_size = p->rx_block_size;
	if (!a->rx_block_size) {
		a->rx_block_size = pow2_at_least(2 * rx_fs);
		if (a->rx_block_size < RX_BLOCK_MIN)
			a->rx_block_size = RX_BLOCK_MIN;
	} else if (a->rx_block_size % page || a->rx_block_size & (a->rx_block_size - 1) ||
		   a->rx_block_size < 2 * rx_fs || a->rx_block_size > (1u << 30)) {
		return err_set(
		    err, EINVAL,
		    "rx block size %u: must be a power of two, a page multiple and >= 2 frames "
		    "(%u)",
		    a->rx_block_size, 2 * rx_fs);
	}
	a->rx_blocks = p->rx_blocks;
	if (!a->rx_blocks) {
		a->rx_blocks = (a->vnet_len ? RX_RING_BYTES_VNET : RX_RING_BYTES) / a->rx_block_size;
		if (a->rx_blocks < RX_BLOCKS_MIN)
			a->rx_blocks = RX_BLOCKS_MIN;
	}

	a->tx_block_size = pow2_at_least(fs < TX_BLOCK_MIN ? TX_BLOCK_MIN : fs);
	if (a->tx_block_size < page)
		a->tx_block_size = page;
	a->tx_frames_per_block = a->tx_block_size / fs;
	a->tx_frames = p->tx_frames;
	if (!a->tx_frames) {
		a->tx_frames = TX_RING_BYTES / fs;
		if (a->tx_frames < TX_FRAMES_MIN)
			a->tx_frames = TX_FRAMES_MIN;
	}
	/* Whole blocks: the kernel wants frame_nr == blocks * frames_per_block. */
	a->tx_frames = (a->tx_frames + a->tx_frames_per_block - 1) / a->tx_frames_per_block *
		       a->tx_frames_per_block;

	bytes = (uint64_t)a->rx_block_size * a->rx_blocks +
		(uint64_t)a->tx_block_size * (a->tx_frames / a->tx_frames_per_block);
	if (a->rx_blocks > 65536 || a->tx_frames > (1u << 20) || bytes > (1ull << 32)) {
		return err_set(err, EINVAL, "rings too large (%llu bytes)",
			       (unsigned long long)bytes);
	}
	return 0;
}

static int setup_rings(struct afp *a, const struct afp_params *p, char *err)
{
	struct tpacket_req3 req;
	uint32_t tx_blocks = a->tx_frames / a->tx_frames_per_block;
	int r;

	memset(&req, 0, sizeof(req));
	req.tp_block_size = a->rx_block_size;
	req.tp_block_nr = a->rx_blocks;
	/* V3 RX frames are variable-sized; the kernel only checks this arithmetic. */
	req.tp_frame_size = a->tx_frame_size;
	req.tp_frame_nr = a->rx_block_size / a->tx_frame_size * a->rx_blocks;
	req.tp_retire_blk_tov = p->rx_timeout_ms ? p->rx_timeout_ms : AFP_RX_TIMEOUT_MS_DEFAULT;
	if (setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
		r = -errno;
		return err_set(err, -r, "rx ring (%u blocks of %u bytes): %s", a->rx_blocks,
			       a->rx_block_size, strerror(errno));
	}

	memset(&req, 0, sizeof(req));
	req.tp_block_size = a->tx_block_size;
	req.tp_block_nr = tx_blocks;
	req.tp_frame_size = a->tx_frame_size;
	req.tp_frame_nr = a->tx_frames;
	if (setsockopt(a->fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) < 0) {
		r = -errno;
		return err_set(err, -r, "tx ring (%u slots of %u bytes): %s", a->tx_frames,
			       a->tx_frame_size, strerror(errno));
	}

	a->map_len = (size_t)a->rx_block_size * a->rx_blocks + (size_t)a->tx_block_size * tx_blocks;
	a->map =
	    mmap(NULL, a->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, a->fd, 0);
	if (a->map == MAP_FAILED) {
		r = -errno;
		a->map = NULL;
		return err_set(err, -r, "mapping the rings (%zu bytes): %s", a->map_len,
			       strerror(errno));
	}
	a->rx_ring = a->map;
	a->tx_ring = a->map + (size_t)a->rx_block_size * a->rx_blocks;
	return 0;
}

static int join_fanout(struct afp *a, uint16_t group, char *err)
{
	int mode = PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
	int r;

	r = setopt_int(a->fd, SOL_PACKET, PACKET_FANOUT, group | mode << 16);
	if (r == -EINVAL) {
		/*
		 * Before Linux 6.9 the flag is unknown and a group ignores the
		 * members' PACKET_IGNORE_OUTGOING; afp_rx_burst() then skips
		 * outgoing frames itself.
		 */
		r = setopt_int(a->fd, SOL_PACKET, PACKET_FANOUT, group | PACKET_FANOUT_HASH << 16);
	}
	if (r < 0)
		return err_set(err, -r, "fanout group %u: %s%s", group, strerror(-r),
			       r == -EINVAL
				   ? " (the id is in use on another interface or in another mode)"
				   : "");
	return 0;
}

/*
 * The side socket for frames longer than a TX slot: no ring, so sendmsg()
 * takes any length the virtio-net header allows; protocol 0, so it receives
 * nothing. It shares the main socket's options that matter on TX.
 */
static int open_big(struct afp *a, char *err)
{
	struct sockaddr_ll sll;
	int r;

	a->big_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (a->big_fd < 0) {
		r = -errno;
		return err_set(err, -r, "AF_PACKET socket for GSO frames: %s", strerror(-r));
	}
	r = setopt_int(a->big_fd, SOL_PACKET, PACKET_VNET_HDR, 1);
	if (r == 0)
		r = setopt_int(a->big_fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1);
	if (r < 0) {
		return err_set(err, -r, "socket options for GSO frames: %s", strerror(-r));
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = a->ifindex;
	if (bind(a->big_fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		r = -errno;
		return err_set(err, -r, "binding the GSO socket to ifindex %d: %s", a->ifindex,
			       strerror(-r));
	}
	return 0;
}

static int set_promisc(struct afp *a, int opt)
{
	struct packet_mreq mr;

	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = a->ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	return setsockopt(a->fd, SOL_PACKET, opt, &mr, sizeof(mr)) ? -errno : 0;
}

struct afp *afp_open(const struct afp_params *p, char *err)
{
	struct sockaddr_ll sll;
	struct afp *a;
	int r;

	if (!p) {
		errno = -err_set(err, EINVAL, "no parameters");
		return NULL;
	}
	if (p->vnet_hdr && p->vnet_hdr_len && p->vnet_hdr_len != VNET_HDR_LEN &&
	    p->vnet_hdr_len != VNET_HDR_MRG_LEN) {
		errno = -err_set(err, EINVAL, "virtio-net header length %u: must be 10 or 12",
				 p->vnet_hdr_len);
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		errno = -err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	a->vnet_len = p->vnet_hdr ? (p->vnet_hdr_len ? p->vnet_hdr_len : VNET_HDR_LEN) : 0;
	a->big_fd = -1;

	/* Protocol 0: nothing is received until bind() names the interface. */
	a->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (a->fd < 0) {
		r = -errno;
		if (r == -EPERM || r == -EACCES)
			err_set(err, -r,
				"permission denied: CAP_NET_RAW needed for AF_PACKET sockets");
		else
			err_set(err, -r, "AF_PACKET socket: %s", strerror(-r));
		goto err_socket;
	}
	r = query_if(a, p->ifname, err);
	if (r < 0)
		goto err_setup;
	r = size_rings(a, p, err);
	if (r < 0)
		goto err_setup;

	/* Version, header and loss mode must be set before the rings exist. */
	r = setopt_int(a->fd, SOL_PACKET, PACKET_VERSION, TPACKET_V3);
	if (r < 0) {
		err_set(err, -r, "TPACKET_V3: %s", strerror(-r));
		goto err_setup;
	}
	/*
	 * The kernel's header is always the 10-byte one: PACKET_VNET_HDR_SZ
	 * (Linux 6.2) gives 12 bytes on TX, but the RX ring still gets 10 bytes
	 * at mac - 10. The 12-byte form is made here, the same on any kernel.
	 */
	if (a->vnet_len) {
		r = setopt_int(a->fd, SOL_PACKET, PACKET_VNET_HDR, 1);
		if (r < 0) {
			err_set(err, -r, "virtio-net header: %s", strerror(-r));
			goto err_setup;
		}
	}
	/*
	 * A malformed TX frame would otherwise stop the kernel at its slot
	 * (TP_STATUS_WRONG_FORMAT) with every later frame stuck behind it;
	 * with PACKET_LOSS it is skipped. afp_tx_burst() checks lengths first,
	 * so only frames with a bad virtio-net header are lost this way.
	 */
	r = setopt_int(a->fd, SOL_PACKET, PACKET_LOSS, 1);
	if (r < 0) {
		err_set(err, -r, "PACKET_LOSS: %s", strerror(-r));
		goto err_setup;
	}
	r = setup_rings(a, p, err);
	if (r < 0)
		goto err_setup;

	r = setopt_int(a->fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1);
	if (r == 0)
		r = setopt_int(a->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
	if (r < 0) {
		err_set(err, -r, "socket options: %s", strerror(-r));
		goto err_setup;
	}
	/*
	 * The TX ring already bounds what we send; let the send buffer hold
	 * all of it so a burst is not cut at the default 208 KiB (best
	 * effort: FORCE needs CAP_NET_ADMIN, the plain one is capped).
	 */
	if (setopt_int(a->fd, SOL_SOCKET, SO_SNDBUFFORCE,
		       (int)(a->tx_frames * a->tx_frame_size / 2)))
		(void)setopt_int(a->fd, SOL_SOCKET, SO_SNDBUF,
				 (int)(a->tx_frames * a->tx_frame_size / 2));

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = a->ifindex;
	if (bind(a->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		r = -errno;
		err_set(err, -r, "binding to '%s': %s", p->ifname, strerror(errno));
		goto err_setup;
	}
	/* A down interface is fine: the socket works once it is up. */
	(void)afp_get_error(a);
	if (a->tx_max > a->tx_slot_max) {
		r = open_big(a, err);
		if (r < 0)
			goto err_setup;
	}

	if (p->fanout_group) {
		r = join_fanout(a, p->fanout_group, err);
		if (r < 0)
			goto err_setup;
	}
	r = set_promisc(a, PACKET_ADD_MEMBERSHIP);
	if (r < 0) {
		err_set(err, -r, "promiscuous mode on '%s': %s", p->ifname, strerror(-r));
		goto err_setup;
	}
	a->promisc = true;
	return a;

err_setup:
	if (a->big_fd >= 0)
		close(a->big_fd);
	if (a->map)
		munmap(a->map, a->map_len);
	close(a->fd);
err_socket:
	free(a);
	errno = -r;
	return NULL;
}

void afp_close(struct afp *a)
{
	if (!a)
		return;
	/* close() would flush the membership too; say it where it matters. */
	if (a->promisc)
		(void)set_promisc(a, PACKET_DROP_MEMBERSHIP);
	if (a->map)
		munmap(a->map, a->map_len);
	if (a->big_fd >= 0)
		close(a->big_fd);
	close(a->fd);
	free(a);
}

int afp_fd(const struct afp *a)
{
	return a->fd;
}

uint32_t afp_vnet_hdr_len(const struct afp *a)
{
	return a->vnet_len;
}

uint32_t afp_max_frame(const struct afp *a)
{
	return a->tx_max;
}

uint32_t afp_mtu(const struct afp *a)
{
	return a->mtu;
}

int afp_get_error(struct afp *a)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		return -errno;
	return -e;
}

/* ---- RX ---- */

static struct tpacket_block_desc *rx_block(const struct afp *a, uint32_t i)
{
	return (struct tpacket_block_desc *)(a->rx_ring + (size_t)i * a->rx_block_size);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/*
 * Lay the frame out as the caller wants it, in place. The kernel leaves its
 * 10-byte virtio-net header right before the MAC header, the MAC header
 * without the 802.1Q tag it stripped, and a gap of 14 bytes after its
 * sockaddr_ll (the MAC header is placed so the network header is aligned).
 * The header moves back by the 2 bytes of num_buffers (12-byte form) and
 * the 4 of the tag, the addresses by the 4 of the tag; the header's offsets
 * count from the frame's start, so they grow by 4 with the tag. Returns the
 * first byte, or NULL if the gap is too small (it never is).
 */
static uint8_t *rx_layout(const struct afp *a, struct tpacket3_hdr *h, uint8_t *mac)
{
	uint32_t tag = h->tp_status & TP_STATUS_VLAN_VALID ? VLAN_HLEN : 0;
	uint8_t *vh = mac - tag - a->vnet_len;
	uint16_t tpid = ETH_P_8021Q;

	if (vh < (uint8_t *)h + sizeof(*h))
		return NULL;
	if (a->vnet_len) {
		if (vh != mac - VNET_HDR_LEN)
			memmove(vh, mac - VNET_HDR_LEN, VNET_HDR_LEN);
		if (a->vnet_len == VNET_HDR_MRG_LEN)
			put_le16(vh + VNET_HDR_LEN, 1); /* num_buffers: the frame is one buffer */
		if (tag && vh[0] & VNET_F_NEEDS_CSUM)
			put_le16(vh + 6, (uint16_t)(get_le16(vh + 6) + VLAN_HLEN));
		if (tag && get_le16(vh + 2))
			put_le16(vh + 2, (uint16_t)(get_le16(vh + 2) + VLAN_HLEN));
	}
	if (tag) {
		if (h->tp_status & TP_STATUS_VLAN_TPID_VALID && h->hv1.tp_vlan_tpid)
			tpid = h->hv1.tp_vlan_tpid;
		memmove(mac - VLAN_HLEN, mac, 2 * ETH_ALEN);
		put_be16(mac - VLAN_HLEN + 2 * ETH_ALEN, tpid);
		put_be16(mac - VLAN_HLEN + 2 * ETH_ALEN + 2, (uint16_t)h->hv1.tp_vlan_tci);
	}
	return vh;
}

/* One packet of the open block into *f; false when it is not handed out. */
static bool rx_one(struct afp *a, struct tpacket3_hdr *h, struct kframe *f)
{
	const struct sockaddr_ll *sll =
	    (const struct sockaddr_ll *)((uint8_t *)h + TPACKET_ALIGN(sizeof(*h)));
	uint32_t len = h->tp_snaplen;
	uint8_t *data;

	/* Only reaches us in a fanout group on kernels before 6.9. */
	if (sll->sll_pkttype == PACKET_OUTGOING)
		return false;
	if (h->tp_snaplen < h->tp_len) {
		a->st.rx_truncated++;
		return false;
	}
	data = rx_layout(a, h, (uint8_t *)h + h->tp_mac);
	if (!data) {
		a->st.rx_truncated++;
		return false;
	}
	if (h->tp_status & TP_STATUS_VLAN_VALID)
		len += VLAN_HLEN;
	f->data = data;
	f->len = len + a->vnet_len;
	f->flags = 0;
	if (h->tp_status & TP_STATUS_CSUMNOTREADY)
		f->flags |= KFRAME_CSUM_PARTIAL;
	if (h->tp_status & TP_STATUS_CSUM_VALID)
		f->flags |= KFRAME_CSUM_VALID;
	a->st.rx_packets++;
	a->st.rx_bytes += len;
	return true;
}

uint32_t afp_rx_burst(struct afp *a, struct kframe *frames, uint32_t max)
{
	uint32_t n = 0;

	while (n < max) {
		struct tpacket_block_desc *b = rx_block(a, a->rx_cur);
		struct tpacket3_hdr *h;

		if (!a->rx_cur_opened) {
			/*
			 * Acquire: pairs with the kernel's smp_wmb() before it
			 * sets TP_STATUS_USER on a retired block; the packets
			 * are visible once the status is.
			 */
			if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
			      TP_STATUS_USER))
				break;
			if (a->rx_held == a->rx_blocks)
				break; /* every block is ours already: release first */
			a->rx_cur_opened = true;
			a->rx_left = b->hdr.bh1.num_pkts;
			a->rx_pkt = (uint8_t *)b + b->hdr.bh1.offset_to_first_pkt;
		}
		if (a->rx_left) {
			h = (struct tpacket3_hdr *)a->rx_pkt;
			if (rx_one(a, h, &frames[n]))
				n++;
			a->rx_pkt += h->tp_next_offset;
			a->rx_left--;
		}
		if (!a->rx_left) {
			a->rx_cur_opened = false;
			a->rx_pkt = NULL;
			a->rx_held++;
			a->rx_cur = a->rx_cur + 1 == a->rx_blocks ? 0 : a->rx_cur + 1;
		}
	}
	return n;
}

void afp_rx_release(struct afp *a)
{
	while (a->rx_held) {
		/* Release: our reads of the block happen before the kernel refills it. */
		__atomic_store_n(&rx_block(a, a->rx_rel)->hdr.bh1.block_status, TP_STATUS_KERNEL,
				 __ATOMIC_RELEASE);
		a->rx_rel = a->rx_rel + 1 == a->rx_blocks ? 0 : a->rx_rel + 1;
		a->rx_held--;
	}
}

/* ---- TX ---- */

static struct tpacket3_hdr *tx_slot(const struct afp *a, uint32_t i)
{
	uint32_t blk = i / a->tx_frames_per_block;
	uint32_t off = i % a->tx_frames_per_block;

	return (struct tpacket3_hdr *)(a->tx_ring + (size_t)blk * a->tx_block_size +
				       (size_t)off * a->tx_frame_size);
}

static uint32_t tx_next(const struct afp *a, uint32_t i)
{
	return i + 1 == a->tx_frames ? 0 : i + 1;
}

/* Frames the kernel would refuse (and, with PACKET_LOSS, drop silently). */
static bool tx_len_ok(const struct afp *a, const struct kframe *f)
{
	uint32_t l2;
	const uint8_t *eth;

	if (f->len < a->vnet_len + ETH_HLEN || f->len > a->tx_max)
		return false;
	if (a->vnet_len)
		return true; /* GSO frames may exceed the MTU; the kernel checks the header */
	l2 = f->len;
	eth = f->data;
	/* The kernel allows 4 more bytes for an 802.1Q tag only. */
	if (l2 > a->mtu + ETH_HLEN)
		return l2 <= a->mtu + ETH_HLEN + VLAN_HLEN && eth[12] == 0x81 && eth[13] == 0x00;
	return true;
}

/* Account for the slots the kernel took in the last send(). */
static void tx_sync(struct afp *a)
{
	while (a->tx_pending) {
		struct tpacket3_hdr *h = tx_slot(a, a->tx_kern);
		/* Acquire: pairs with the kernel's status store when it takes a slot. */
		uint32_t s = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);

		if (s == TP_STATUS_SEND_REQUEST)
			break;
		if (s & TP_STATUS_WRONG_FORMAT) {
			/* Not with PACKET_LOSS; counted and recycled should it happen. */
			a->st.tx_errors++;
			__atomic_store_n(&h->tp_status, TP_STATUS_AVAILABLE, __ATOMIC_RELEASE);
		} else {
			a->st.tx_packets++;
			a->st.tx_bytes += h->tp_len - (a->vnet_len ? VNET_HDR_LEN : 0);
		}
		a->tx_kern = tx_next(a, a->tx_kern);
		a->tx_pending--;
	}
}

/*
 * Nothing will send what is left: give the slots back and rewind head to
 * the kernel's head, which stays at the first of them.
 */
static void tx_drop_pending(struct afp *a)
{
	while (a->tx_pending) {
		struct tpacket3_hdr *h = tx_slot(a, a->tx_kern);

		__atomic_store_n(&h->tp_status, TP_STATUS_AVAILABLE, __ATOMIC_RELAXED);
		a->tx_kern = tx_next(a, a->tx_kern);
		a->tx_pending--;
		a->st.tx_errors++;
	}
	a->tx_head = a->tx_kern;
}

/* Into a slot; the 12-byte header loses num_buffers (the kernel's is 10). */
static uint32_t tx_copy(const struct afp *a, uint8_t *dst, const struct kframe *f)
{
	if (a->vnet_len != VNET_HDR_MRG_LEN) {
		memcpy(dst, f->data, f->len);
		return f->len;
	}
	memcpy(dst, f->data, VNET_HDR_LEN);
	memcpy(dst + VNET_HDR_LEN, f->data + VNET_HDR_MRG_LEN, f->len - VNET_HDR_MRG_LEN);
	return f->len - (VNET_HDR_MRG_LEN - VNET_HDR_LEN);
}

static void tx_kick(struct afp *a)
{
	ssize_t r = send(a->fd, NULL, 0, MSG_DONTWAIT);
	int e = r < 0 ? errno : 0;

	tx_sync(a);
	if (e == ENETDOWN || e == ENXIO || e == ENODEV)
		tx_drop_pending(a); /* a switch drops what a down link cannot carry */
	/* EAGAIN (send buffer full), ENOBUFS (driver queue full): retry later. */
	a->tx_kick = a->tx_pending != 0;
}

/*
 * A frame longer than a TX slot, by the side socket, after the ring's frames
 * (kicked first, so the order holds). The 12-byte header loses num_buffers.
 * False when the kernel has no room now (try again later).
 */
static bool tx_big(struct afp *a, const struct kframe *f)
{
	uint32_t hl = a->vnet_len == VNET_HDR_MRG_LEN ? VNET_HDR_LEN : a->vnet_len;
	struct iovec iov[2] = {{f->data, hl},
			       {f->data + a->vnet_len, f->len - a->vnet_len}};
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t r;

	if (a->tx_pending)
		tx_kick(a);
	r = sendmsg(a->big_fd, &m, MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == ENOBUFS))
		return false;
	if (r < 0) {
		a->st.tx_errors++; /* a bad header, or the link is down */
	} else {
		a->st.tx_packets++;
		a->st.tx_bytes += f->len - a->vnet_len;
	}
	return true;
}

uint32_t afp_tx_burst(struct afp *a, const struct kframe *frames, uint32_t n)
{
	uint32_t i, len, queued = 0;

	for (i = 0; i < n; i++) {
		const struct kframe *f = &frames[i];
		struct tpacket3_hdr *h;

		if (!tx_len_ok(a, f)) {
			a->st.tx_errors++;
			continue;
		}
		if (f->len > a->tx_slot_max) {
			if (!tx_big(a, f))
				break;
			queued = 0;
			continue;
		}
		h = tx_slot(a, a->tx_head);
		/* Acquire: pairs with tpacket_destruct_skb()'s release of the slot. */
		if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE) {
			/*
			 * In flight, or waiting for the kernel. Most drivers
			 * (veth, for one) free a frame within the send() that
			 * pushed it: push what is queued and look again; stop
			 * when that did not free the slot.
			 */
			if (!a->tx_pending)
				break;
			tx_kick(a);
			queued = 0;
			if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE)
				break;
		}
		len = tx_copy(a, (uint8_t *)h + TX_DATA_OFF, f);
		h->tp_len = len;
		h->tp_snaplen = len;
		h->tp_next_offset = 0;
		/* Release: the frame's bytes before the status the kernel checks. */
		__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
		a->tx_head = tx_next(a, a->tx_head);
		a->tx_pending++;
		queued++;
	}
	if (queued || a->tx_kick)
		tx_kick(a);
	return i;
}

void afp_get_stats(struct afp *a, struct afp_stats *ret_stats)
{
	struct tpacket_stats_v3 ks;
	socklen_t len = sizeof(ks);

	/* The kernel zeroes its counters on every read: fold them in. */
	if (getsockopt(a->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &len) == 0)
		a->st.rx_drops += ks.tp_drops;
	*ret_stats = a->st;
}
