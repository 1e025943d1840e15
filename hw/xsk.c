/* SPDX-License-Identifier: BSD-2-Clause */
/* xsk - one AF_XDP socket and its UMEM on one NIC queue (the XDP program is xdpprog.c's). */
#include "xsk.h"

#include "xdpprog.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

/* Multi-buffer AF_XDP (Linux 6.6); older uapi headers lack the names. */
#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4)
#endif
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD (1 << 0)
#endif

#define FRAME_NUM_MIN 64u
#define FRAME_NUM_MAX (1u << 20)
#define RING_SIZE_MAX (1u << 20)
#define VLAN_HLEN 4u
/* Copy-mode TX sends at most this many frames per kick (the kernel's
 * TX_BATCH_SIZE), then answers EAGAIN. */
#define KERNEL_TX_BATCH 32u
/* How long a busy queue is waited for: BUSY_TRIES * BUSY_PAUSE_NS. */
#define BUSY_TRIES 100
#define BUSY_PAUSE_NS 2000000L

struct xsk {
	/* Data path first: touched on every burst. */
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	uint8_t *area;
	uint32_t frame_size;
	uint32_t max_len;   /* longest TX frame: frame_size, more with sg */
	uint32_t rx_held;   /* frames handed out by rx_burst, not released */
	uint32_t rx_idx;    /* RX ring index of the oldest held descriptor */
	uint32_t tx_free_n; /* entries of tx_free in use */
	uint64_t *tx_free;  /* UMEM offsets of free TX frames (a stack) */
	uint8_t *scratch;   /* sg: frames of several descriptors made whole */
	uint32_t scratch_used;
	int fd;
	bool sg; /* bound with XDP_USE_SG (multi-buffer) */
	bool zerocopy;
	bool drv;

	/* Single writer (the data-path thread), read by xsk_stats from any
	 * thread: relaxed atomics, so reads are never torn. */
	uint64_t rx_packets, rx_bytes, rx_oversize, tx_packets, tx_bytes, tx_errors;

	struct xsk_umem *umem;
	struct xsk_socket *sock;
	struct xdpprog *prog;
	uint32_t queue_id;
	size_t area_size;
	bool own_area;
	uint32_t rx_frames; /* frames [0, rx_frames) feed the fill ring */
	uint32_t frame_num;
};

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static uint32_t roundup_pow2(uint32_t v)
{
	uint32_t r = 1;

	while (r < v)
		r <<= 1;
	return r;
}

static int get_mtu(const char *ifname, uint32_t *ret_mtu)
{
	struct ifreq ifr = {0};
	int fd, rc = 0;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0)
		rc = -errno;
	else
		*ret_mtu = (uint32_t)ifr.ifr_mtu;
	close(fd);
	return rc;
}

/* Largest MTU whose frames (Ethernet + one VLAN tag) fit a UMEM frame. */
static uint32_t max_mtu(uint32_t frame_size)
{
	return frame_size - XSK_XDP_HEADROOM - ETH_HLEN - VLAN_HLEN;
}

/*
 * Check p, fill in defaults; the MTU decides the default frame size and
 * whether frames need several descriptors (*ret_sg).
 */
static int check_params(const struct xsk_params *p, struct xsk_params *q, bool *ret_sg, char *err)
{
	uint32_t mtu = 0;
	int rc;

	*q = *p;
	if (!p->ifname || !p->ifname[0] || strlen(p->ifname) >= IF_NAMESIZE) {
		return err_set(err, EINVAL, "interface name missing or longer than %d bytes",
			       IF_NAMESIZE - 1);
	}
	if (!if_nametoindex(p->ifname)) {
		return err_set(err, ENODEV, "no interface %s in this network namespace", p->ifname);
	}
	if (!q->frame_num)
		q->frame_num = XSK_FRAME_NUM_DEFAULT;
	if (!q->rx_size)
		q->rx_size = XSK_RING_SIZE_DEFAULT;
	if (!q->tx_size)
		q->tx_size = XSK_RING_SIZE_DEFAULT;
	if (q->frame_num < FRAME_NUM_MIN || q->frame_num > FRAME_NUM_MAX) {
		return err_set(err, EINVAL, "frame_num %u out of range %u..%u", q->frame_num,
			       FRAME_NUM_MIN, FRAME_NUM_MAX);
	}
	if (!is_pow2(q->rx_size) || !is_pow2(q->tx_size) || q->rx_size > RING_SIZE_MAX ||
	    q->tx_size > RING_SIZE_MAX) {
		return err_set(err, EINVAL,
			       "ring sizes (rx %u, tx %u) must be powers of 2 up to %u", q->rx_size,
			       q->tx_size, RING_SIZE_MAX);
	}
	if (q->bind > XSK_BIND_ZEROCOPY || q->xdp > XSK_XDP_DRV) {
		return err_set(err, EINVAL, "unknown bind or xdp mode");
	}
	if (q->bind == XSK_BIND_ZEROCOPY && q->xdp == XSK_XDP_SKB) {
		return err_set(err, EINVAL, "zero-copy needs drv XDP mode, not skb");
	}
	if (q->frame_size && q->frame_size != 2048 && q->frame_size != 4096) {
		return err_set(err, EINVAL, "frame_size %u: must be 2048 or 4096", q->frame_size);
	}

	rc = get_mtu(p->ifname, &mtu);
	if (rc) {
		return err_set(err, -rc, "cannot read the MTU of %s: %s", p->ifname, strerror(-rc));
	}
	/* Jumbo frames take 4096-byte frames too: a 9000-byte MTU needs 3
	 * descriptors of them, 6 of 2048. */
	if (!q->frame_size)
		q->frame_size = mtu > max_mtu(2048) ? 4096 : 2048;
	if (mtu + ETH_HLEN + VLAN_HLEN > XSK_TX_FRAGS_MAX * q->frame_size) {
		return err_set(err, EINVAL,
			       "MTU %u of %s needs more than %u frames of %u bytes; use 4096", mtu,
			       p->ifname, XSK_TX_FRAGS_MAX, q->frame_size);
	}

	if (q->umem_area) {
		if ((uintptr_t)q->umem_area % (uintptr_t)sysconf(_SC_PAGESIZE) ||
		    q->umem_size < (size_t)q->frame_num * q->frame_size) {
			return err_set(
			    err, EINVAL,
			    "umem_area must be page aligned and hold %u frames of %u bytes",
			    q->frame_num, q->frame_size);
		}
	}
	*ret_sg = mtu > max_mtu(q->frame_size);
	return 0;
}

/* One attempt: a fresh UMEM and socket. 0 or -errno. */
static int create_once(struct xsk *x, const struct xsk_params *q)
{
	struct xsk_umem_config ucfg = {
	    .fill_size = roundup_pow2(x->rx_frames),
	    .comp_size = roundup_pow2(x->frame_num - x->rx_frames),
	    .frame_size = x->frame_size,
	    .frame_headroom = 0,
	    .flags = 0,
	};
	struct xsk_socket_config scfg = {
	    .rx_size = q->rx_size,
	    .tx_size = q->tx_size,
	    .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, /* ours: xdpprog_get */
	    .bind_flags = XDP_USE_NEED_WAKEUP,
	};
	int rc;

	/* Generic XDP only delivers by copying; without a flag the kernel
	 * tries zero-copy and falls back to copy by itself. */
	if (!x->drv || q->bind == XSK_BIND_COPY)
		scfg.bind_flags |= XDP_COPY;
	else if (q->bind == XSK_BIND_ZEROCOPY)
		scfg.bind_flags |= XDP_ZEROCOPY;
	if (x->sg)
		scfg.bind_flags |= XDP_USE_SG;

	rc = xsk_umem__create(&x->umem, x->area, x->area_size, &x->fill, &x->comp, &ucfg);
	if (rc)
		return rc;
	rc = xsk_socket__create(&x->sock, q->ifname, q->queue_id, x->umem, &x->rx, &x->tx, &scfg);
	if (rc) {
		/* libxdp's failed create leaves the UMEM reusable only in
		 * part; start the next attempt from scratch. */
		x->sock = NULL;
		xsk_umem__delete(x->umem);
		x->umem = NULL;
	}
	return rc;
}

/*
 * create_once, retried while the queue is busy: the kernel releases a closed
 * socket's hold on its queue from a work queue, so closing and reopening a
 * queue at once can meet EBUSY for a moment.
 */
static int try_create(struct xsk *x, const struct xsk_params *q)
{
	const struct timespec pause = {.tv_nsec = BUSY_PAUSE_NS};
	int rc, tries = BUSY_TRIES;

	while ((rc = create_once(x, q)) == -EBUSY && --tries)
		nanosleep(&pause, NULL);
	return rc;
}

/* The program, the socket, then the socket into the program's map. */
static int create_socket(struct xsk *x, const struct xsk_params *q, char *err)
{
	int rc;

	rc = xdpprog_get(q, &x->prog, err);
	if (rc)
		return rc;
	x->drv = xdpprog_drv(x->prog);
	rc = try_create(x, q);
	if (rc == -EINVAL && x->sg) {
		err_set(err, EINVAL,
			"binding %s queue %u for multi-buffer frames (XDP_USE_SG, MTU over "
			"%u) failed: invalid argument (needs Linux 6.6)",
			q->ifname, q->queue_id, max_mtu(x->frame_size));
		goto err_prog;
	}
	if (rc) {
		xdp_describe(err, q, rc,
			     q->bind == XSK_BIND_ZEROCOPY ? "zero-copy bind"
			     : x->drv			  ? "AF_XDP bind (drv mode)"
							  : "AF_XDP bind (skb mode)");
		goto err_prog;
	}
	rc = xsk_socket__update_xskmap(x->sock, xdpprog_map_fd(x->prog));
	if (rc) {
		xdp_describe(err, q, rc, "adding the socket to the XSKMAP");
		goto err_socket;
	}
	return 0;

err_socket:
	xsk_socket__delete(x->sock);
	xsk_umem__delete(x->umem);
err_prog:
	xdpprog_put(x->prog);
	return rc;
}

/* Undo create_socket: out of the map, close, drop the program. */
static void destroy_socket(struct xsk *x)
{
	/* Out of the map first, so the program stops steering to it. */
	bpf_map_delete_elem(xdpprog_map_fd(x->prog), &x->queue_id);
	xsk_socket__delete(x->sock);
	xsk_umem__delete(x->umem);
	xdpprog_put(x->prog);
}

static int alloc_umem(struct xsk *x, const struct xsk_params *q)
{
	x->frame_size = q->frame_size;
	x->frame_num = q->frame_num;
	x->rx_frames = q->frame_num / 2;
	if (q->umem_area) {
		x->area = q->umem_area;
		x->area_size = (size_t)q->frame_num * q->frame_size;
		return 0;
	}
	x->area_size = (size_t)q->frame_num * q->frame_size;
	/* MAP_POPULATE: the kernel pins the UMEM at registration anyway. */
	x->area = mmap(NULL, x->area_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x->area == MAP_FAILED) {
		x->area = NULL;
		return -errno;
	}
	x->own_area = true;
	return 0;
}

/* Hand every RX frame to the kernel and stack every TX frame. */
static void prime_frames(struct xsk *x)
{
	uint32_t i, idx = 0, n;

	n = xsk_ring_prod__reserve(&x->fill, x->rx_frames, &idx);
	/* The fill ring was sized to hold all RX frames: n == rx_frames. */
	for (i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&x->fill, idx + i) = (uint64_t)i * x->frame_size;
	xsk_ring_prod__submit(&x->fill, n);

	for (i = x->rx_frames; i < x->frame_num; i++)
		x->tx_free[x->tx_free_n++] = (uint64_t)i * x->frame_size;
	x->rx_idx = x->rx.cached_cons;
}

static void read_options(struct xsk *x)
{
	struct xdp_options opts = {0};
	socklen_t len = sizeof(opts);

	if (!getsockopt(x->fd, SOL_XDP, XDP_OPTIONS, &opts, &len))
		x->zerocopy = opts.flags & XDP_OPTIONS_ZEROCOPY;
}

struct xsk *xsk_open(const struct xsk_params *p, char *err)
{
	struct xsk_params q;
	struct xsk *x;
	bool sg = false;
	int rc;

	if (err)
		err[0] = '\0';
	xdp_lib_lock();
	if (!p) {
		rc = err_set(err, EINVAL, "no parameters");
		goto err_params;
	}
	rc = check_params(p, &q, &sg, err);
	if (rc)
		goto err_params;
	x = calloc(1, sizeof(*x));
	if (!x) {
		rc = err_set(err, ENOMEM, "out of memory");
		goto err_params;
	}
	x->sg = sg;
	x->queue_id = q.queue_id;
	rc = alloc_umem(x, &q);
	if (rc) {
		err_set(err, -rc, "cannot allocate a %zu-byte UMEM: %s", x->area_size,
			strerror(-rc));
		goto err_alloc;
	}
	x->max_len = sg ? XSK_TX_FRAGS_MAX * x->frame_size : x->frame_size;
	x->tx_free = calloc(x->frame_num - x->rx_frames, sizeof(*x->tx_free));
	if (!x->tx_free) {
		rc = err_set(err, ENOMEM, "out of memory");
		goto err_umem;
	}
	if (sg) {
		x->scratch = malloc(XSK_RX_SCRATCH);
		if (!x->scratch) {
			rc = err_set(err, ENOMEM, "out of memory");
			goto err_free_list;
		}
	}
	rc = create_socket(x, &q, err);
	if (rc)
		goto err_scratch;
	x->fd = xsk_socket__fd(x->sock);
	read_options(x);
	if (q.bind == XSK_BIND_ZEROCOPY && !x->zerocopy) {
		rc = err_set(err, EOPNOTSUPP, "zero-copy requested but %s bound in copy mode",
			     q.ifname);
		goto err_socket;
	}
	prime_frames(x);
	xdp_lib_unlock(NULL);
	return x;

err_socket:
	destroy_socket(x);
err_scratch:
	free(x->scratch);
err_free_list:
	free(x->tx_free);
err_umem:
	if (x->own_area)
		munmap(x->area, x->area_size);
err_alloc:
	free(x);
err_params:
	xdp_lib_unlock(err);
	errno = -rc;
	return NULL;
}

void xsk_close(struct xsk *x)
{
	if (!x)
		return;
	xdp_lib_lock();
	destroy_socket(x);
	xdp_lib_unlock(NULL);
	free(x->scratch);
	free(x->tx_free);
	if (x->own_area)
		munmap(x->area, x->area_size);
	free(x);
}

int xsk_fd(const struct xsk *x)
{
	return x->fd;
}

const char *xsk_mode(const struct xsk *x)
{
	if (x->zerocopy)
		return x->drv ? "zero-copy/drv" : "zero-copy/skb";
	return x->drv ? "copy/drv" : "copy/skb";
}

bool xsk_zerocopy(const struct xsk *x)
{
	return x->zerocopy;
}

uint32_t xsk_frame_size(const struct xsk *x)
{
	return x->frame_size;
}

uint32_t xsk_max_len(const struct xsk *x)
{
	return x->max_len;
}

static void count(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, *c + v, __ATOMIC_RELAXED);
}

/*
 * Give the frames of the ndesc oldest held RX descriptors back to the
 * kernel: to the fill ring, and the descriptors' slots to the RX ring.
 */
static void give_back(struct xsk *x, uint32_t ndesc)
{
	uint64_t mask = ~(uint64_t)(x->frame_size - 1);
	uint32_t i, idx = 0;

	/* Cannot fail: the fill ring holds rx_frames entries, and the frames
	 * given back are among the rx_frames not in it. */
	xsk_ring_prod__reserve(&x->fill, ndesc, &idx);
	for (i = 0; i < ndesc; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, x->rx_idx + i);

		/* Back to the frame start: the descriptor points past the
		 * kernel's headroom. */
		*xsk_ring_prod__fill_addr(&x->fill, idx + i) =
		    xsk_umem__extract_addr(d->addr) & mask;
	}
	xsk_ring_prod__submit(&x->fill, ndesc);
	xsk_ring_cons__release(&x->rx, ndesc);
	x->rx_idx += ndesc;
}

/*
 * The extent of the frame whose first descriptor is at RX index idx, among
 * the left descriptors peeked from there: its descriptors (*ret_ndesc) and
 * length (*ret_len). False when its last descriptor is not among them.
 */
static bool frame_extent(const struct xsk *x, uint32_t idx, uint32_t left, uint32_t *ret_ndesc,
			 uint32_t *ret_len)
{
	uint32_t k, len = 0;

	for (k = 0; k < left; k++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + k);

		len += d->len;
		if (!(d->options & XDP_PKT_CONTD)) {
			*ret_ndesc = k + 1;
			*ret_len = len;
			return true;
		}
	}
	return false;
}

/* Copy the ndesc descriptors from RX index idx into the scratch, in a row. */
static uint8_t *gather(struct xsk *x, uint32_t idx, uint32_t ndesc)
{
	uint8_t *start = x->scratch + x->scratch_used;

	for (uint32_t k = 0; k < ndesc; k++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + k);

		memcpy(x->scratch + x->scratch_used, xsk_umem__get_data(x->area, d->addr), d->len);
		x->scratch_used += d->len;
	}
	return start;
}

uint32_t xsk_rx_burst(struct xsk *x, struct kframe *frames, uint32_t max)
{
	uint32_t avail, used = 0, n = 0, idx = 0;
	uint64_t bytes = 0;

	/* With multi-buffer, max frames can take more than max descriptors:
	 * peek at all there are, take whole frames, give the rest back. */
	avail = xsk_ring_cons__peek(&x->rx, x->sg ? x->rx.size : max, &idx);
	if (!avail) {
		/* In drv zero-copy mode the driver stops taking fill entries
		 * until woken up; copy mode never sets this. */
		if (xsk_ring_prod__needs_wakeup(&x->fill))
			recvfrom(x->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
		return 0;
	}
	while (used < avail && n < max) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + used);
		uint32_t ndesc, len;

		if (!(d->options & XDP_PKT_CONTD)) {
			frames[n].data = xsk_umem__get_data(x->area, d->addr);
			frames[n].flags = 0;
			frames[n++].len = d->len;
			bytes += d->len;
			used++;
			continue;
		}
		/* The kernel publishes a frame's descriptors together. */
		if (!frame_extent(x, idx + used, avail - used, &ndesc, &len))
			break;
		if (len > XSK_RX_SCRATCH - x->scratch_used) {
			if (len <= XSK_RX_SCRATCH || x->rx_held || n)
				break; /* the scratch is full until all is released */
			/* It can never fit, and nothing is held before it:
			 * its descriptors are the oldest, give them back. */
			give_back(x, ndesc);
			count(&x->rx_oversize, 1);
			used += ndesc;
			continue;
		}
		frames[n].data = gather(x, idx + used, ndesc);
		frames[n].flags = 0;
		frames[n++].len = len;
		bytes += len;
		used += ndesc;
	}
	xsk_ring_cons__cancel(&x->rx, avail - used);
	x->rx_held += n;
	count(&x->rx_packets, n);
	count(&x->rx_bytes, bytes);
	return n;
}

void xsk_rx_release(struct xsk *x, uint32_t n)
{
	uint32_t ndesc, ends;

	if (n > x->rx_held)
		n = x->rx_held;
	if (!n)
		return;
	ndesc = n;
	if (x->sg) /* the descriptors of n frames: up to the n-th end */
		for (ndesc = 0, ends = 0; ends < n; ndesc++)
			ends += !(xsk_ring_cons__rx_desc(&x->rx, x->rx_idx + ndesc)->options &
				  XDP_PKT_CONTD);
	give_back(x, ndesc);
	x->rx_held -= n;
	if (!x->rx_held)
		x->scratch_used = 0;
}

/* Take back the TX frames the kernel has sent. */
static void reclaim(struct xsk *x)
{
	uint32_t i, n, idx = 0;

	n = xsk_ring_cons__peek(&x->comp, x->frame_num, &idx);
	for (i = 0; i < n; i++)
		x->tx_free[x->tx_free_n++] = *xsk_ring_cons__comp_addr(&x->comp, idx + i);
	if (n)
		xsk_ring_cons__release(&x->comp, n);
}

/* TX descriptors the kernel has not consumed yet. */
static uint32_t tx_pending(struct xsk *x)
{
	return x->tx.size - xsk_prod_nb_free(&x->tx, x->tx.size);
}

static void kick(struct xsk *x)
{
	/* Copy mode sends KERNEL_TX_BATCH frames per call and says EAGAIN
	 * while more remain (or while the completion ring is full): bound the
	 * loop by what the ring can hold. */
	uint32_t tries = x->tx.size / KERNEL_TX_BATCH + 2;

	while (tries--) {
		if (sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			return;
		switch (errno) {
		case EAGAIN:
		case EINTR:
			reclaim(x);
			if (!tx_pending(x))
				return;
			continue;
		case EBUSY:
		case ENOBUFS:
		case ENETDOWN:
			/* Device queue full or link down: frames stay on the
			 * ring for the next kick. */
			return;
		default:
			count(&x->tx_errors, 1);
			return;
		}
	}
}

/* Copy f into free TX frames, described from TX index *idx on. */
static void put_frame(struct xsk *x, const struct kframe *f, uint32_t *idx)
{
	uint32_t off = 0;

	do {
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&x->tx, (*idx)++);
		uint32_t chunk = f->len - off < x->frame_size ? f->len - off : x->frame_size;
		uint64_t addr = x->tx_free[--x->tx_free_n];

		memcpy(x->area + addr, (const uint8_t *)f->data + off, chunk);
		off += chunk;
		d->addr = addr;
		d->len = chunk;
		/* Multi-buffer: all but the frame's last descriptor say so. */
		d->options = off < f->len ? XDP_PKT_CONTD : 0;
	} while (off < f->len);
}

/* A frame xsk_tx_burst can send: not empty, within max_len. */
static inline bool tx_len_ok(const struct xsk *x, uint32_t len)
{
	return len && len <= x->max_len;
}

uint32_t xsk_tx_burst(struct xsk *x, const struct kframe *frames, uint32_t n)
{
	uint32_t room, descs = 0, valid = 0, bad = 0, used, i, idx = 0;
	uint64_t bytes = 0;

	reclaim(x);
	room = xsk_prod_nb_free(&x->tx, x->tx_free_n);
	if (room > x->tx_free_n)
		room = x->tx_free_n;
	/* First pass: how many frames from the front we take, in how many
	 * descriptors (one per UMEM frame they fill). */
	for (used = 0; used < n; used++) {
		uint32_t len = frames[used].len, need;

		if (!tx_len_ok(x, len)) {
			bad++;
			continue;
		}
		need = (len - 1) / x->frame_size + 1;
		if (descs + need > room)
			break;
		descs += need;
		valid++;
	}
	if (valid) {
		xsk_ring_prod__reserve(&x->tx, descs, &idx);
		for (i = 0; i < used; i++) {
			if (!tx_len_ok(x, frames[i].len))
				continue;
			put_frame(x, &frames[i], &idx);
			bytes += frames[i].len;
		}
		xsk_ring_prod__submit(&x->tx, descs);
		count(&x->tx_packets, valid);
		count(&x->tx_bytes, bytes);
	}
	if (bad)
		count(&x->tx_errors, bad);
	if (xsk_ring_prod__needs_wakeup(&x->tx) && tx_pending(x))
		kick(x);
	return used;
}

int xsk_stats(const struct xsk *x, struct xsk_stats *ret)
{
	struct xdp_statistics ks = {0};
	socklen_t len = sizeof(ks);

	if (getsockopt(x->fd, SOL_XDP, XDP_STATISTICS, &ks, &len) < 0)
		return -errno;
	ret->rx_packets = __atomic_load_n(&x->rx_packets, __ATOMIC_RELAXED);
	ret->rx_bytes = __atomic_load_n(&x->rx_bytes, __ATOMIC_RELAXED);
	ret->tx_packets = __atomic_load_n(&x->tx_packets, __ATOMIC_RELAXED);
	ret->tx_bytes = __atomic_load_n(&x->tx_bytes, __ATOMIC_RELAXED);
	ret->tx_errors = __atomic_load_n(&x->tx_errors, __ATOMIC_RELAXED) + ks.tx_invalid_descs;
	/* Kernels before 5.9 fill only the first three fields (len says). */
	ret->rx_ring_full = ks.rx_ring_full;
	ret->rx_fill_empty = ks.rx_fill_ring_empty_descs;
	ret->rx_dropped = ks.rx_dropped + ks.rx_invalid_descs + ks.rx_ring_full +
			  __atomic_load_n(&x->rx_oversize, __ATOMIC_RELAXED);
	return 0;
}
