/* SPDX-License-Identifier: BSD-2-Clause */
/* xsk - one AF_XDP socket and its UMEM on one NIC queue, through libxdp. */
#include "xsk.h"

#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
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

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

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
	uint32_t rx_held;    /* frames handed out by rx_burst, not released */
	uint32_t rx_idx;     /* RX ring index of the oldest held frame */
	uint32_t tx_free_n;  /* entries of tx_free in use */
	uint64_t *tx_free;   /* UMEM offsets of free TX frames (a stack) */
	int fd;
	bool zerocopy;
	bool drv;

	/* Single writer (the data-path thread), read by xsk_stats from any
	 * thread: relaxed atomics, so reads are never torn. */
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, tx_errors;

	struct xsk_umem *umem;
	struct xsk_socket *sock;
	size_t area_size;
	bool own_area;
	uint32_t rx_frames;  /* frames [0, rx_frames) feed the fill ring */
	uint32_t frame_num;
};

/*
 * libxdp and libbpf print to stderr unless told otherwise. Their messages
 * go to a per-thread buffer instead, filled only inside xsk_open/xsk_close
 * (capturing is on), so a failure can quote what the library said.
 */
static pthread_once_t print_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread bool capturing;
static __thread char lib_msg[512];

/* Append s to the string in dst (size bytes), truncating quietly. */
static void append(char *dst, size_t size, const char *s)
{
	size_t len = strnlen(dst, size), n = strlen(s);

	if (len + 1 >= size)
		return;
	if (n > size - len - 1)
		n = size - len - 1;
	memcpy(dst + len, s, n);
	dst[len + n] = '\0';
}

static void capture(int warn, const char *fmt, va_list ap)
{
	char msg[sizeof(lib_msg)], old[sizeof(lib_msg)];
	size_t len;

	if (!capturing || !warn)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == '.'))
		msg[--len] = '\0';
	/* Newest first, joined with "; ": the cause (often the kernel's own
	 * message) comes last and must survive truncation. */
	memcpy(old, lib_msg, sizeof(old));
	lib_msg[0] = '\0';
	append(lib_msg, sizeof(lib_msg), msg);
	if (old[0]) {
		append(lib_msg, sizeof(lib_msg), "; ");
		append(lib_msg, sizeof(lib_msg), old);
	}
}

static int xdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	capture(level == LIBXDP_WARN, fmt, ap);
	return 0;
}

static int bpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	capture(level == LIBBPF_WARN, fmt, ap);
	return 0;
}

static void install_print(void)
{
	libxdp_set_print(xdp_print);
	libbpf_set_print(bpf_print);
}

static void lock_lib(void)
{
	pthread_once(&print_once, install_print);
	pthread_mutex_lock(&open_lock);
	capturing = true;
	lib_msg[0] = '\0';
}

static void unlock_lib(void)
{
	capturing = false;
	pthread_mutex_unlock(&open_lock);
}

/* Format err, appending the captured library message if any. */
static void fail(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(char *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err, XSK_ERR_LEN, fmt, ap);
	va_end(ap);
	if (lib_msg[0]) {
		append(err, XSK_ERR_LEN, " (");
		append(err, XSK_ERR_LEN, lib_msg);
		append(err, XSK_ERR_LEN, ")");
	}
}

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
	struct ifreq ifr = { 0 };
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

/* Check p, fill in defaults; the MTU decides the default frame size. */
static int check_params(const struct xsk_params *p, struct xsk_params *q, char *err)
{
	uint32_t mtu = 0;
	int rc;

	*q = *p;
	if (!p->ifname || !p->ifname[0] || strlen(p->ifname) >= IF_NAMESIZE) {
		fail(err, "interface name missing or longer than %d bytes", IF_NAMESIZE - 1);
		return -EINVAL;
	}
	if (!if_nametoindex(p->ifname)) {
		fail(err, "no interface %s in this network namespace", p->ifname);
		return -ENODEV;
	}
	if (!q->frame_num)
		q->frame_num = XSK_FRAME_NUM_DEFAULT;
	if (!q->rx_size)
		q->rx_size = XSK_RING_SIZE_DEFAULT;
	if (!q->tx_size)
		q->tx_size = XSK_RING_SIZE_DEFAULT;
	if (q->frame_num < FRAME_NUM_MIN || q->frame_num > FRAME_NUM_MAX) {
		fail(err, "frame_num %u out of range %u..%u", q->frame_num, FRAME_NUM_MIN,
		     FRAME_NUM_MAX);
		return -EINVAL;
	}
	if (!is_pow2(q->rx_size) || !is_pow2(q->tx_size) || q->rx_size > RING_SIZE_MAX ||
	    q->tx_size > RING_SIZE_MAX) {
		fail(err, "ring sizes (rx %u, tx %u) must be powers of 2 up to %u", q->rx_size,
		     q->tx_size, RING_SIZE_MAX);
		return -EINVAL;
	}
	if (q->bind > XSK_BIND_ZEROCOPY || q->xdp > XSK_XDP_DRV) {
		fail(err, "unknown bind or xdp mode");
		return -EINVAL;
	}
	if (q->bind == XSK_BIND_ZEROCOPY && q->xdp == XSK_XDP_SKB) {
		fail(err, "zero-copy needs drv XDP mode, not skb");
		return -EINVAL;
	}
	if (q->frame_size && q->frame_size != 2048 && q->frame_size != 4096) {
		fail(err, "frame_size %u: must be 2048 or 4096", q->frame_size);
		return -EINVAL;
	}

	rc = get_mtu(p->ifname, &mtu);
	if (rc) {
		fail(err, "cannot read the MTU of %s: %s", p->ifname, strerror(-rc));
		return rc;
	}
	if (mtu > max_mtu(4096)) {
		fail(err, "MTU %u of %s needs multi-buffer AF_XDP, which is not supported "
			  "(max MTU %u); use the generic adapter", mtu, p->ifname, max_mtu(4096));
		return -EOPNOTSUPP;
	}
	if (!q->frame_size)
		q->frame_size = mtu > max_mtu(2048) ? 4096 : 2048;
	if (mtu > max_mtu(q->frame_size)) {
		fail(err, "MTU %u of %s does not fit %u-byte frames (max MTU %u); use 4096",
		     mtu, p->ifname, q->frame_size, max_mtu(q->frame_size));
		return -EINVAL;
	}

	if (q->umem_area) {
		if ((uintptr_t)q->umem_area % (uintptr_t)sysconf(_SC_PAGESIZE) ||
		    q->umem_size < (size_t)q->frame_num * q->frame_size) {
			fail(err, "umem_area must be page aligned and hold %u frames of %u bytes",
			     q->frame_num, q->frame_size);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * The name of XDP program id, in ret_name (BPF_OBJ_NAME_LEN bytes); "" when
 * it cannot be read, in which case libxdp will judge the program itself.
 */
static void prog_name(uint32_t id, char *ret_name)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);
	int fd;

	ret_name[0] = '\0';
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		memcpy(ret_name, info.name, BPF_OBJ_NAME_LEN);
	close(fd);
}

/*
 * The mode of the XDP program already on the interface (XSK_XDP_AUTO: none).
 * -EEXIST, with a sentence, when the program is one libxdp cannot share:
 * neither its XSK program nor its multiprog dispatcher.
 */
static int attached_mode(const char *ifname, enum xsk_xdp_mode *ret_mode, char *err)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, opts);
	char name[BPF_OBJ_NAME_LEN];
	int rc;

	rc = bpf_xdp_query((int)if_nametoindex(ifname), 0, &opts);
	if (rc) {
		fail(err, "cannot query the XDP program of %s: %s", ifname, strerror(-rc));
		return rc;
	}
	switch (opts.attach_mode) {
	case XDP_ATTACHED_NONE:
		*ret_mode = XSK_XDP_AUTO;
		return 0;
	case XDP_ATTACHED_DRV:
	case XDP_ATTACHED_SKB:
		break;
	default:
		fail(err, "%s has XDP programs offloaded or in several modes; detach them first",
		     ifname);
		return -EEXIST;
	}
	prog_name(opts.prog_id, name);
	if (name[0] && strcmp(name, "xsk_def_prog") && strcmp(name, "xdp_dispatcher")) {
		fail(err, "%s already runs XDP program %s, which libxdp cannot share; "
			  "detach it first", ifname, name);
		return -EEXIST;
	}
	*ret_mode = opts.attach_mode == XDP_ATTACHED_DRV ? XSK_XDP_DRV : XSK_XDP_SKB;
	return 0;
}

/* One attempt: a fresh UMEM and socket in one XDP mode. 0 or -errno. */
static int create_once(struct xsk *x, const struct xsk_params *q, bool drv)
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
		.libxdp_flags = 0, /* let libxdp load its default program */
		.xdp_flags = drv ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE,
		.bind_flags = XDP_USE_NEED_WAKEUP,
	};
	int rc;

	/* Generic XDP only delivers by copying; without a flag the kernel
	 * tries zero-copy and falls back to copy by itself. */
	if (!drv || q->bind == XSK_BIND_COPY)
		scfg.bind_flags |= XDP_COPY;
	else if (q->bind == XSK_BIND_ZEROCOPY)
		scfg.bind_flags |= XDP_ZEROCOPY;

	rc = xsk_umem__create(&x->umem, x->area, x->area_size, &x->fill, &x->comp, &ucfg);
	if (rc)
		return rc;
	rc = xsk_socket__create(&x->sock, q->ifname, q->queue_id, x->umem, &x->rx, &x->tx,
				&scfg);
	if (rc) {
		/* libxdp's failed create leaves the UMEM reusable only in
		 * part; start the next attempt from scratch. */
		x->sock = NULL;
		xsk_umem__delete(x->umem);
		x->umem = NULL;
		return rc;
	}
	x->drv = drv;
	return 0;
}

/*
 * create_once, retried while the queue is busy: the kernel releases a closed
 * socket's hold on its queue from a work queue, so closing and reopening a
 * queue at once can meet EBUSY for a moment.
 */
static int try_create(struct xsk *x, const struct xsk_params *q, bool drv)
{
	const struct timespec pause = { .tv_nsec = BUSY_PAUSE_NS };
	int rc, tries = BUSY_TRIES;

	while ((rc = create_once(x, q, drv)) == -EBUSY && --tries)
		nanosleep(&pause, NULL);
	return rc;
}

/* Errors no other mode can cure. */
static bool fatal(int rc)
{
	return rc == -EPERM || rc == -EACCES || rc == -EAFNOSUPPORT || rc == -ENOMEM ||
	       rc == -ENOBUFS || rc == -EBUSY || rc == -ENODEV;
}

static void describe(char *err, const struct xsk_params *q, int rc, const char *what)
{
	switch (-rc) {
	case EAFNOSUPPORT:
		fail(err, "AF_XDP is not available in this kernel");
		break;
	case EPERM:
	case EACCES:
		fail(err, "AF_XDP on %s needs CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF", q->ifname);
		break;
	case EBUSY:
		fail(err, "queue %u of %s already has an AF_XDP socket", q->queue_id, q->ifname);
		break;
	case ENOBUFS:
		fail(err, "cannot pin the UMEM: RLIMIT_MEMLOCK too low (or lacking CAP_IPC_LOCK)");
		break;
	case EINVAL:
		fail(err, "%s on %s queue %u failed: invalid argument (does the queue exist?)",
		     what, q->ifname, q->queue_id);
		break;
	case EOPNOTSUPP:
		fail(err, "%s on %s: not supported by the driver", what, q->ifname);
		break;
	default:
		fail(err, "%s on %s queue %u failed: %s", what, q->ifname, q->queue_id,
		     strerror(-rc));
		break;
	}
}

/* Pick the XDP mode(s) to try and create the socket. */
static int create_socket(struct xsk *x, const struct xsk_params *q, char *err)
{
	enum xsk_xdp_mode want = q->xdp, have = XSK_XDP_AUTO;
	char drv_err[160] = "";
	int rc;

	rc = attached_mode(q->ifname, &have, err);
	if (rc)
		return rc;
	/* Every socket on an interface shares one program, and libxdp
	 * detaches it in the mode of the last socket to close: follow the
	 * mode the program already has. */
	if (have != XSK_XDP_AUTO) {
		if (want != XSK_XDP_AUTO && want != have) {
			fail(err, "%s already has an XDP program in %s mode", q->ifname,
			     have == XSK_XDP_DRV ? "drv" : "skb");
			return -EEXIST;
		}
		want = have;
	}
	if (want == XSK_XDP_SKB && q->bind == XSK_BIND_ZEROCOPY) {
		fail(err, "zero-copy needs drv XDP mode, but %s runs XDP in skb mode", q->ifname);
		return -EOPNOTSUPP;
	}

	if (want != XSK_XDP_SKB) {
		rc = try_create(x, q, true);
		if (!rc)
			return 0;
		if (want == XSK_XDP_DRV || q->bind == XSK_BIND_ZEROCOPY || fatal(rc)) {
			describe(err, q, rc,
				 q->bind == XSK_BIND_ZEROCOPY ? "zero-copy drv mode" : "drv mode");
			return rc;
		}
		append(drv_err, sizeof(drv_err), strerror(-rc));
		if (lib_msg[0]) {
			append(drv_err, sizeof(drv_err), ": ");
			append(drv_err, sizeof(drv_err), lib_msg);
		}
		lib_msg[0] = '\0';
	}
	rc = try_create(x, q, false);
	if (rc) {
		describe(err, q, rc, "skb mode");
		if (drv_err[0] && err) {
			append(err, XSK_ERR_LEN, "; drv mode: ");
			append(err, XSK_ERR_LEN, drv_err);
		}
	}
	return rc;
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
	struct xdp_options opts = { 0 };
	socklen_t len = sizeof(opts);

	if (!getsockopt(x->fd, SOL_XDP, XDP_OPTIONS, &opts, &len))
		x->zerocopy = opts.flags & XDP_OPTIONS_ZEROCOPY;
}

struct xsk *xsk_open(const struct xsk_params *p, char *err)
{
	struct xsk_params q;
	struct xsk *x;
	int rc;

	if (err)
		err[0] = '\0';
	lock_lib();
	if (!p) {
		rc = -EINVAL;
		fail(err, "no parameters");
		goto err_params;
	}
	rc = check_params(p, &q, err);
	if (rc)
		goto err_params;
	x = calloc(1, sizeof(*x));
	if (!x) {
		rc = -ENOMEM;
		fail(err, "out of memory");
		goto err_params;
	}
	rc = alloc_umem(x, &q);
	if (rc) {
		fail(err, "cannot allocate a %zu-byte UMEM: %s", x->area_size, strerror(-rc));
		goto err_alloc;
	}
	x->tx_free = calloc(x->frame_num - x->rx_frames, sizeof(*x->tx_free));
	if (!x->tx_free) {
		rc = -ENOMEM;
		fail(err, "out of memory");
		goto err_umem;
	}
	rc = create_socket(x, &q, err);
	if (rc)
		goto err_free_list;
	x->fd = xsk_socket__fd(x->sock);
	read_options(x);
	if (q.bind == XSK_BIND_ZEROCOPY && !x->zerocopy) {
		rc = -EOPNOTSUPP;
		fail(err, "zero-copy requested but %s bound in copy mode", q.ifname);
		goto err_socket;
	}
	prime_frames(x);
	unlock_lib();
	return x;

err_socket:
	xsk_socket__delete(x->sock);
	xsk_umem__delete(x->umem);
err_free_list:
	free(x->tx_free);
err_umem:
	if (x->own_area)
		munmap(x->area, x->area_size);
err_alloc:
	free(x);
err_params:
	unlock_lib();
	errno = -rc;
	return NULL;
}

void xsk_close(struct xsk *x)
{
	if (!x)
		return;
	lock_lib();
	/* libxdp removes the socket from the XSK map and, when it was the
	 * last user of the program, detaches the program. */
	xsk_socket__delete(x->sock);
	xsk_umem__delete(x->umem);
	unlock_lib();
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

static void count(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, *c + v, __ATOMIC_RELAXED);
}

uint32_t xsk_rx_burst(struct xsk *x, struct xsk_frame *frames, uint32_t max)
{
	uint64_t bytes = 0;
	uint32_t i, n, idx = 0;

	n = xsk_ring_cons__peek(&x->rx, max, &idx);
	if (!n) {
		/* In drv zero-copy mode the driver stops taking fill entries
		 * until woken up; copy mode never sets this. */
		if (xsk_ring_prod__needs_wakeup(&x->fill))
			recvfrom(x->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
		return 0;
	}
	for (i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + i);

		frames[i].data = xsk_umem__get_data(x->area, d->addr);
		frames[i].len = d->len;
		bytes += d->len;
	}
	x->rx_held += n;
	count(&x->rx_packets, n);
	count(&x->rx_bytes, bytes);
	return n;
}

void xsk_rx_release(struct xsk *x, uint32_t n)
{
	uint64_t mask = ~(uint64_t)(x->frame_size - 1);
	uint32_t i, idx = 0;

	if (n > x->rx_held)
		n = x->rx_held;
	if (!n)
		return;
	/* Cannot fail: the fill ring holds rx_frames entries and at most
	 * rx_frames - rx_held of them are in use. */
	xsk_ring_prod__reserve(&x->fill, n, &idx);
	for (i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, x->rx_idx + i);

		/* Back to the frame start: the descriptor points past the
		 * kernel's headroom. */
		*xsk_ring_prod__fill_addr(&x->fill, idx + i) = xsk_umem__extract_addr(d->addr) & mask;
	}
	xsk_ring_prod__submit(&x->fill, n);
	xsk_ring_cons__release(&x->rx, n);
	x->rx_idx += n;
	x->rx_held -= n;
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

uint32_t xsk_tx_burst(struct xsk *x, const struct xsk_frame *frames, uint32_t n)
{
	uint32_t room, used = 0, valid = 0, bad = 0, i, j, idx = 0;
	uint64_t bytes = 0;

	reclaim(x);
	room = xsk_prod_nb_free(&x->tx, x->tx_free_n);
	if (room > x->tx_free_n)
		room = x->tx_free_n;
	/* First pass: how many frames from the front we take. */
	for (used = 0; used < n; used++) {
		if (!frames[used].len || frames[used].len > x->frame_size)
			bad++;
		else if (valid < room)
			valid++;
		else
			break;
	}
	if (valid) {
		xsk_ring_prod__reserve(&x->tx, valid, &idx);
		for (i = 0, j = 0; i < used; i++) {
			struct xdp_desc *d;
			uint64_t addr;

			if (!frames[i].len || frames[i].len > x->frame_size)
				continue;
			addr = x->tx_free[--x->tx_free_n];
			memcpy(x->area + addr, frames[i].data, frames[i].len);
			d = xsk_ring_prod__tx_desc(&x->tx, idx + j++);
			d->addr = addr;
			d->len = frames[i].len;
			d->options = 0;
			bytes += frames[i].len;
		}
		xsk_ring_prod__submit(&x->tx, valid);
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
	struct xdp_statistics ks = { 0 };
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
	ret->rx_dropped = ks.rx_dropped + ks.rx_invalid_descs + ks.rx_ring_full;
	return 0;
}
