/* SPDX-License-Identifier: BSD-2-Clause */
/* tap: a tap interface, possibly in a network namespace, and frame I/O on its queues. */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define TUN_PATH "/dev/net/tun"
#define NETNS_DIR "/run/netns/"
#define NAME_PATTERN "vale%d"
#define OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)
#define CACHELINE 64

/*
 * One queue. Each counter has a single writer (the queue's reader for rx_*,
 * its writer for tx_*), so a relaxed load and store add to it without a
 * read-modify-write; tap_stats loads them relaxed from any thread. Aligned so
 * that the workers of two queues do not share a cache line.
 */
struct tap_queue {
	int fd;
	_Atomic uint64_t rx_packets;
	_Atomic uint64_t rx_bytes;
	_Atomic uint64_t rx_errors;
	_Atomic uint64_t tx_packets;
	_Atomic uint64_t tx_bytes;
	_Atomic uint64_t tx_errors;
} __attribute__((aligned(CACHELINE)));

struct tap {
	char name[IFNAMSIZ];
	uint8_t mac[6];
	uint32_t hdr_len; /* 0 or TAP_VNET_HDR_LEN */
	uint32_t n_queues;
	struct tap_queue *q; /* n_queues, fd -1 until opened */
};

/* What building the interface needs; run where the interface is to live. */
struct build {
	struct tap *t;
	const struct tap_params *p;
	const char *name; /* requested name or NAME_PATTERN */
	uint32_t mtu;
	int netns_fd; /* -1: stay in the caller's namespace */
	char *err;
	int ret; /* 0 or -errno */
};

static void add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static void ifr_init(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
}

static int check_params(const struct tap_params *p, struct build *b, char *err)
{
	if (!p)
		return err_set(err, EINVAL, "no parameters");
	if (p->queues > TAP_QUEUES_MAX)
		return err_set(err, EINVAL, "queues must be 1..%d, not %u", TAP_QUEUES_MAX,
			       p->queues);
	b->mtu = p->mtu ? p->mtu : TAP_MTU_DEFAULT;
	if (b->mtu < TAP_MTU_MIN || b->mtu > TAP_MTU_MAX)
		return err_set(err, EINVAL, "mtu must be %d..%d, not %u", TAP_MTU_MIN, TAP_MTU_MAX,
			       p->mtu);
	b->name = p->name && p->name[0] ? p->name : NAME_PATTERN;
	if (strlen(b->name) >= IFNAMSIZ)
		return err_set(err, ENAMETOOLONG, "name too long: '%s' (at most %d characters)",
			       b->name, IFNAMSIZ - 1);
	if (p->has_mac && ((p->mac[0] & 1) || !memcmp(p->mac, "\0\0\0\0\0\0", 6)))
		return err_set(err, EINVAL, "mac must be a unicast address");
	if (p->netns && p->netns[0]) {
		/* A name, not a path: nothing may lead out of /run/netns. */
		if (strchr(p->netns, '/') || !strcmp(p->netns, ".") || !strcmp(p->netns, ".."))
			return err_set(err, EINVAL, "bad netns name '%s'", p->netns);
		if (strlen(p->netns) > NAME_MAX)
			return err_set(err, ENAMETOOLONG, "netns name too long");
	}
	return 0;
}

static int open_netns(const char *ns, int *ret_fd, char *err)
{
	char path[sizeof(NETNS_DIR) + NAME_MAX];
	int fd;

	snprintf(path, sizeof(path), NETNS_DIR "%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return err_set(err, ENOENT, "netns '%s' does not exist (ip netns add %s)", ns, ns);
	if (fd < 0)
		return err_set(err, errno, "cannot open %s: %s", path, strerror(errno));
	*ret_fd = fd;
	return 0;
}

/* Open queue i and attach it to the interface (creating it for queue 0). */
static int open_queue(struct build *b, uint32_t i)
{
	struct tap *t = b->t;
	struct ifreq ifr;
	int fd, e;

	fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return err_set(b->err, ENODEV, "no " TUN_PATH " (modprobe tun)");
	if (fd < 0)
		return err_set(b->err, errno, "cannot open " TUN_PATH ": %s", strerror(errno));
	t->q[i].fd = fd;

	ifr_init(&ifr, i ? t->name : b->name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (t->hdr_len)
		ifr.ifr_flags |= IFF_VNET_HDR;
	if (t->n_queues > 1)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	/*
	 * The first queue must create the interface: without IFF_TUN_EXCL an
	 * existing (persistent) tap of that name would be attached to, and
	 * someone else's interface taken over. The others attach to it.
	 */
	if (i == 0)
		ifr.ifr_flags |= IFF_TUN_EXCL;
	if (ioctl(fd, TUNSETIFF, &ifr) == 0) {
		if (i == 0)
			memcpy(t->name, ifr.ifr_name, sizeof(t->name));
		return 0;
	}
	e = errno;
	if (i > 0)
		return err_set(b->err, e, "cannot attach queue %u of '%s': %s", i, t->name,
			       strerror(e));
	if (e == EBUSY)
		return err_set(b->err, EEXIST, "interface '%s' already exists", b->name);
	if (e == EPERM)
		return err_set(b->err, EPERM, "creating a tap needs CAP_NET_ADMIN");
	if (e == EINVAL)
		return err_set(b->err, EINVAL, "invalid interface name '%s'", b->name);
	return err_set(b->err, e, "cannot create tap '%s': %s", b->name, strerror(e));
}

/*
 * Header size and offloads are properties of the interface, not of a queue:
 * set once, through queue 0. The header is little endian whatever the host,
 * as virtio 1.0 and switch/offload.h have it.
 */
static int set_vnet(struct build *b)
{
	int fd = b->t->q[0].fd;
	int sz = TAP_VNET_HDR_LEN, le = 1;
	unsigned offloads = b->t->hdr_len ? OFFLOADS : 0;

	if (b->t->hdr_len) {
		if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0)
			return err_set(b->err, errno, "TUNSETVNETHDRSZ: %s", strerror(errno));
		if (ioctl(fd, TUNSETVNETLE, &le) < 0)
			return err_set(b->err, errno, "TUNSETVNETLE: %s", strerror(errno));
	}
	/* Without the header the kernel could not tell us a checksum is partial. */
	if (ioctl(fd, TUNSETOFFLOAD, offloads) < 0)
		return err_set(b->err, errno, "TUNSETOFFLOAD: %s", strerror(errno));
	return 0;
}

/* MAC, MTU and up, through a socket of the namespace the interface is in. */
static int set_link(struct build *b)
{
	struct tap *t = b->t;
	struct ifreq ifr;
	int s, e = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return err_set(b->err, errno, "socket: %s", strerror(errno));
	if (b->p->has_mac) {
		ifr_init(&ifr, t->name);
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(ifr.ifr_hwaddr.sa_data, b->p->mac, 6);
		if (ioctl(s, SIOCSIFHWADDR, &ifr) < 0) {
			e = err_set(b->err, errno, "cannot set the mac of '%s': %s", t->name,
				    strerror(errno));
			goto out;
		}
	}
	ifr_init(&ifr, t->name);
	if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
		e = err_set(b->err, errno, "cannot read the mac of '%s': %s", t->name,
			    strerror(errno));
		goto out;
	}
	memcpy(t->mac, ifr.ifr_hwaddr.sa_data, 6);
	ifr_init(&ifr, t->name);
	ifr.ifr_mtu = (int)b->mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
		e = err_set(b->err, errno, "cannot set mtu %u on '%s': %s", b->mtu, t->name,
			    strerror(errno));
		goto out;
	}
	ifr_init(&ifr, t->name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) == 0)
			goto out;
	}
	e = err_set(b->err, errno, "cannot bring '%s' up: %s", t->name, strerror(errno));
out:
	close(s);
	return e;
}

static int build(struct build *b)
{
	int e;

	if (b->netns_fd >= 0 && setns(b->netns_fd, CLONE_NEWNET) < 0) {
		e = errno;
		if (e == EINVAL)
			return err_set(b->err, e, "'" NETNS_DIR "%s' is not a network namespace",
				       b->p->netns);
		if (e == EPERM)
			return err_set(b->err, e, "entering netns '%s' needs CAP_SYS_ADMIN",
				       b->p->netns);
		return err_set(b->err, e, "cannot enter netns '%s': %s", b->p->netns, strerror(e));
	}
	for (uint32_t i = 0; i < b->t->n_queues; i++) {
		e = open_queue(b, i);
		if (e)
			return e;
	}
	e = set_vnet(b);
	if (e)
		return e;
	return set_link(b);
}

/*
 * The helper thread: setns() changes the namespace of the calling thread
 * only, and this thread ends right after, so no other thread of the daemon
 * ever runs in the container's namespace, and nothing has to switch back.
 * Files opened here (the queues) belong to the whole process.
 */
static void *build_thread(void *arg)
{
	struct build *b = arg;

	b->ret = build(b);
	return NULL;
}

static int build_in_netns(struct build *b)
{
	pthread_t th;
	int e;

	e = pthread_create(&th, NULL, build_thread, b);
	if (e)
		return err_set(b->err, e, "cannot start a thread: %s", strerror(e));
	pthread_join(th, NULL);
	return b->ret;
}

struct tap *tap_create(const struct tap_params *p, char err[ERR_LEN])
{
	struct build b = {.p = p, .netns_fd = -1, .err = err};
	struct tap *t = NULL;
	uint32_t n;
	int e;

	e = check_params(p, &b, err);
	if (e)
		goto err_params;
	n = p->queues ? p->queues : 1;
	t = calloc(1, sizeof(*t));
	if (!t) {
		e = err_set(err, ENOMEM, "out of memory");
		goto err_params;
	}
	t->q = aligned_alloc(CACHELINE, n * sizeof(*t->q));
	if (!t->q) {
		e = err_set(err, ENOMEM, "out of memory");
		goto err_tap;
	}
	memset(t->q, 0, n * sizeof(*t->q));
	for (uint32_t i = 0; i < n; i++)
		t->q[i].fd = -1;
	t->n_queues = n;
	t->hdr_len = p->no_vnet_hdr ? 0 : TAP_VNET_HDR_LEN;
	b.t = t;

	if (p->netns && p->netns[0]) {
		e = open_netns(p->netns, &b.netns_fd, err);
		if (e)
			goto err_tap;
		e = build_in_netns(&b);
		close(b.netns_fd);
	} else {
		e = build(&b);
	}
	if (e)
		goto err_tap;
	return t;

err_tap:
	tap_destroy(t);
err_params:
	errno = -e;
	return NULL;
}

void tap_destroy(struct tap *t)
{
	if (!t)
		return;
	/* Closing the last queue unregisters the interface (it is not persistent). */
	for (uint32_t i = t->n_queues; t->q && i-- > 0;)
		if (t->q[i].fd >= 0)
			close(t->q[i].fd);
	free(t->q);
	free(t);
}

const char *tap_name(const struct tap *t)
{
	return t->name;
}

uint32_t tap_queues(const struct tap *t)
{
	return t->n_queues;
}

void tap_mac(const struct tap *t, uint8_t ret_mac[6])
{
	memcpy(ret_mac, t->mac, 6);
}

uint32_t tap_hdr_len(const struct tap *t)
{
	return t->hdr_len;
}

int tap_fd(const struct tap *t, uint32_t q)
{
	return q < t->n_queues ? t->q[q].fd : -EINVAL;
}

ssize_t tap_readv(struct tap *t, uint32_t q, const struct iovec *iov, int iovcnt)
{
	struct iovec v[TAP_IOV_MAX + 1];
	struct tap_queue *tq;
	uint8_t spill;
	size_t room = 0;
	ssize_t n;
	int e;

	if (q >= t->n_queues || iovcnt < 1 || iovcnt > TAP_IOV_MAX)
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++)
		room += iov[i].iov_len;
	/* tun drops a frame when the room cannot even take the header. */
	if (room < t->hdr_len)
		return -EINVAL;
	tq = &t->q[q];
	memcpy(v, iov, (size_t)iovcnt * sizeof(*v));
	/*
	 * tun truncates a frame to the room it is given and returns what it
	 * copied, so a frame that fills the room exactly and one that did not
	 * fit look the same; one byte beyond the caller's room tells them apart.
	 */
	v[iovcnt] = (struct iovec){.iov_base = &spill, .iov_len = 1};
	n = readv(tq->fd, v, iovcnt + 1);
	if (n < 0) {
		e = errno;
		if (e == EAGAIN || e == EWOULDBLOCK)
			return -EAGAIN;
		add(&tq->rx_errors, 1);
		return -e;
	}
	if ((size_t)n > room) {
		add(&tq->rx_errors, 1);
		return -EMSGSIZE;
	}
	add(&tq->rx_packets, 1);
	add(&tq->rx_bytes, (uint64_t)n - t->hdr_len);
	return n;
}

ssize_t tap_read(struct tap *t, uint32_t q, uint8_t *buf, size_t room)
{
	struct iovec iov = {.iov_base = buf, .iov_len = room};

	return tap_readv(t, q, &iov, 1);
}

ssize_t tap_writev(struct tap *t, uint32_t q, const struct iovec *iov, int iovcnt)
{
	struct tap_queue *tq;
	ssize_t n;
	int e;

	if (q >= t->n_queues || iovcnt < 1 || iovcnt > TAP_IOV_MAX)
		return -EINVAL;
	tq = &t->q[q];
	n = writev(tq->fd, iov, iovcnt);
	if (n < 0) {
		e = errno;
		if (e == EAGAIN || e == EWOULDBLOCK)
			return -EAGAIN;
		add(&tq->tx_errors, 1);
		return -e;
	}
	add(&tq->tx_packets, 1);
	add(&tq->tx_bytes, (uint64_t)n > t->hdr_len ? (uint64_t)n - t->hdr_len : 0);
	return n;
}

ssize_t tap_write(struct tap *t, uint32_t q, const uint8_t *frame, size_t len)
{
	struct iovec iov = {.iov_base = (void *)frame, .iov_len = len};

	return tap_writev(t, q, &iov, 1);
}

void tap_stats(const struct tap *t, struct tap_stats *ret_stats)
{
	struct tap_stats s = {0};

	for (uint32_t i = 0; i < t->n_queues; i++) {
		struct tap_queue *tq = &t->q[i];

		s.rx_packets += atomic_load_explicit(&tq->rx_packets, memory_order_relaxed);
		s.rx_bytes += atomic_load_explicit(&tq->rx_bytes, memory_order_relaxed);
		s.rx_errors += atomic_load_explicit(&tq->rx_errors, memory_order_relaxed);
		s.tx_packets += atomic_load_explicit(&tq->tx_packets, memory_order_relaxed);
		s.tx_bytes += atomic_load_explicit(&tq->tx_bytes, memory_order_relaxed);
		s.tx_errors += atomic_load_explicit(&tq->tx_errors, memory_order_relaxed);
	}
	*ret_stats = s;
}
