/* SPDX-License-Identifier: BSD-2-Clause */
/* kport: a port bridging a kernel interface (NIC, tap) and a switch, on its own thread. */
#include "kport.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "csb.h"

#define KPORT_BURST 256
#define KPORT_SLOTS 1024
#define KPORT_IOV_MAX 64
#define KPORT_FRAME_MAX 65550 /* a 64 KiB GSO frame and its virtio-net header */

struct kport {
	const struct kport_ops *ops;
	void *be;
	struct vport *v;
	struct bdg *sw;
	struct bdg_scratch *scratch;
	struct netmap_ring *tx, *rx; /* the vport's rings, the kport being their client */
	int epfd;
	int stop_fd;
	pthread_t thread;
	bool started;
	bool polling;  /* never sleep (relaxed atomic: set by the control thread) */
	bool stopping; /* relaxed atomic: a polling thread's way out */
	uint8_t *linear; /* a frame chained over several RX slots, made whole */
	struct kport_stats stats;
};

static void count(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* Kernel -> switch: copy what the backend received into our TX ring (long
 * frames as NS_MOREFRAG chains) and forward it. Returns frames moved. */
/* Kernel -> switch for backends that read into buffers we give (rx_into):
 * each frame lands in free TX slots directly, chained when long. */
static uint32_t from_kernel_into(struct kport *k)
{
	struct netmap_ring *r = k->tx;
	const uint32_t bsz = r->nr_buf_size;
	const uint32_t max_slots = (KPORT_FRAME_MAX + bsz - 1) / bsz;
	uint32_t n = 0;

	csb_appl_update_tail(r, VALE_CSB(r));
	while (n < KPORT_BURST && nm_ring_space(r) >= max_slots && max_slots <= KPORT_IOV_MAX) {
		struct iovec iov[KPORT_IOV_MAX];
		uint32_t i = r->head, used;
		int len;

		for (uint32_t j = 0; j < max_slots; j++, i = nm_ring_next(r, i))
			iov[j] = (struct iovec){NETMAP_BUF(r, r->slot[i].buf_idx), bsz};
		len = k->ops->rx_into(k->be, iov, max_slots);
		if (len <= 0)
			break;
		used = ((uint32_t)len + bsz - 1) / bsz;
		for (uint32_t j = 0; j < used; j++) {
			struct netmap_slot *slot = &r->slot[r->head];
			slot->len = (uint16_t)(j + 1 < used ? bsz : (uint32_t)len - j * bsz);
			slot->flags = j + 1 < used ? NS_MOREFRAG : 0;
			r->head = r->cur = nm_ring_next(r, r->head);
		}
		n++;
	}
	if (n == 0)
		return 0;
	count(&k->stats.rx_frames, n);
	csb_appl_publish(r, VALE_CSB(r));
	/* We own this TX ring: forward until the switch took it all. */
	while (bdg_forward(kport_port(k), 0, k->scratch))
		;
	return n;
}

static uint32_t from_kernel(struct kport *k)
{
	struct kport_frame frames[KPORT_BURST];
	struct netmap_ring *r = k->tx;
	uint32_t n, taken = 0;

	if (k->ops->rx_into)
		return from_kernel_into(k);
	n = k->ops->rx_burst(k->be, frames, KPORT_BURST);
	if (n == 0)
		return 0;
	csb_appl_update_tail(r, VALE_CSB(r));
	for (uint32_t i = 0; i < n; i++) {
		uint32_t need = (frames[i].len + r->nr_buf_size - 1) / r->nr_buf_size;
		uint32_t off = 0;

		if (need == 0)
			need = 1;
		if (nm_ring_space(r) < need)
			break;
		do {
			struct netmap_slot *slot = &r->slot[r->head];
			uint32_t chunk = frames[i].len - off;

			if (chunk > r->nr_buf_size)
				chunk = r->nr_buf_size;
			memcpy(NETMAP_BUF(r, slot->buf_idx), frames[i].data + off, chunk);
			slot->len = (uint16_t)chunk;
			off += chunk;
			slot->flags = off < frames[i].len ? NS_MOREFRAG : 0;
			r->head = r->cur = nm_ring_next(r, r->head);
		} while (off < frames[i].len);
		taken++;
	}
	k->ops->rx_release(k->be, n);
	count(&k->stats.rx_frames, taken);
	count(&k->stats.rx_dropped, n - taken);
	csb_appl_publish(r, VALE_CSB(r));
	/* We own this TX ring: forward until the switch took it all. */
	while (bdg_forward(kport_port(k), 0, k->scratch))
		;
	return n;
}

/* Switch -> kernel: hand what the switch put in our RX ring to the backend,
 * joining NS_MOREFRAG chains. Returns frames moved. */
static uint32_t to_kernel(struct kport *k)
{
	struct kport_frame frames[KPORT_BURST];
	struct netmap_ring *r = k->rx;
	uint32_t n = 0, total = 0, sent = 0;
	size_t linear_used = 0;

	csb_appl_update_tail(r, VALE_CSB(r));
	while (total + n < KPORT_BURST && !nm_ring_empty(r)) {
		struct netmap_slot *slot = &r->slot[r->cur];
		uint32_t scan = r->cur, len = 0, nslots = 0;
		bool whole = false;

		/* Find the end of the chain; an unfinished one waits. */
		while (scan != r->tail) {
			len += r->slot[scan].len;
			nslots++;
			if (!(r->slot[scan].flags & NS_MOREFRAG)) {
				whole = true;
				break;
			}
			scan = nm_ring_next(r, scan);
		}
		if (!whole)
			break;
		if (nslots == 1) {
			frames[n].data = (uint8_t *)NETMAP_BUF(r, slot->buf_idx);
			frames[n].len = slot->len;
			n++;
		} else if (k->ops->tx_chain && nslots <= KPORT_IOV_MAX) {
			/* Gather the chain straight from the slots, after what
			 * came before it (order is kept). */
			struct iovec iov[KPORT_IOV_MAX];

			if (n) {
				sent += k->ops->tx_burst(k->be, frames, n);
				total += n;
				n = 0;
			}
			for (uint32_t j = 0, i = r->cur; j < nslots; j++, i = nm_ring_next(r, i))
				iov[j] = (struct iovec){NETMAP_BUF(r, r->slot[i].buf_idx),
							r->slot[i].len};
			sent += k->ops->tx_chain(k->be, iov, nslots);
			total++;
		} else {
			if (linear_used + len > KPORT_FRAME_MAX * 2)
				break; /* the join buffer is full: send what we have */
			frames[n].data = k->linear + linear_used;
			frames[n].len = len;
			for (uint32_t j = 0, i = r->cur; j < nslots; j++, i = nm_ring_next(r, i)) {
				memcpy(k->linear + linear_used, NETMAP_BUF(r, r->slot[i].buf_idx),
				       r->slot[i].len);
				linear_used += r->slot[i].len;
			}
			n++;
		}
		for (uint32_t j = 0; j < nslots; j++)
			r->cur = nm_ring_next(r, r->cur);
	}
	if (n) {
		sent += k->ops->tx_burst(k->be, frames, n);
		total += n;
	}
	if (total == 0)
		return 0;
	count(&k->stats.tx_frames, sent);
	count(&k->stats.tx_dropped, total - sent);
	/* Frames the kernel refused are dropped: a switch port never blocks. */
	r->head = r->cur;
	csb_appl_publish(r, VALE_CSB(r));
	return total;
}

static void *kport_thread(void *arg)
{
	struct kport *k = arg;
	struct vale_csb *rcsb = VALE_CSB(k->rx);

	for (;;) {
		struct epoll_event ev[4];
		uint32_t moved = from_kernel(k) + to_kernel(k);
		int nev;

		if (moved)
			continue;
		if (__atomic_load_n(&k->polling, __ATOMIC_RELAXED)) {
			if (__atomic_load_n(&k->stopping, __ATOMIC_RELAXED))
				return NULL;
			continue;
		}
		/* Idle: ask for a notification, then re-check before sleeping
		 * (pairs with the switch's fence before it reads the flag). */
		__atomic_store_n(&rcsb->atok.appl_need_kick, 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		csb_appl_update_tail(k->rx, rcsb);
		if (!nm_ring_empty(k->rx)) {
			__atomic_store_n(&rcsb->atok.appl_need_kick, 0, __ATOMIC_RELAXED);
			continue;
		}
		nev = epoll_wait(k->epfd, ev, 4, -1);
		__atomic_store_n(&rcsb->atok.appl_need_kick, 0, __ATOMIC_RELAXED);
		for (int i = 0; i < nev; i++) {
			uint64_t v;
			if (ev[i].data.fd == k->stop_fd)
				return NULL;
			if (ev[i].data.fd == vport_notify_fd(k->v))
				(void)!read(ev[i].data.fd, &v, sizeof(v));
		}
	}
}

static int epoll_watch(int epfd, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

struct kport *kport_create(struct bdg *sw, const char *name, const struct kport_ops *ops,
			   void *be, uint16_t hdr_len, uint32_t buf_size, char *err)
{
	struct vport_params vp = {.name = name, .tx_slots = KPORT_SLOTS, .rx_slots = KPORT_SLOTS,
				  .buf_size = buf_size};
	struct kport *k = calloc(1, sizeof(*k));
	int e;

	if (!k) {
		ops->close(be);
		snprintf(err, 256, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	k->ops = ops;
	k->be = be;
	k->sw = sw;
	k->epfd = k->stop_fd = -1;
	k->v = vport_create(&vp);
	k->scratch = bdg_scratch_create();
	k->linear = malloc(KPORT_FRAME_MAX * 2);
	if (!k->v || !k->scratch || !k->linear) {
		e = errno ? errno : ENOMEM;
		snprintf(err, 256, "cannot create port %s: %s", name, strerror(e));
		goto err;
	}
	k->tx = NETMAP_TXRING(vport_if(k->v), 0);
	k->rx = NETMAP_RXRING(vport_if(k->v), 0);
	e = -bdg_port_set_vnet_hdr_len(vport_port(k->v), hdr_len);
	if (e) {
		snprintf(err, 256, "bad virtio-net header length %u", hdr_len);
		goto err;
	}
	k->epfd = epoll_create1(EPOLL_CLOEXEC);
	k->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (k->epfd < 0 || k->stop_fd < 0 || epoll_watch(k->epfd, k->stop_fd) ||
	    epoll_watch(k->epfd, ops->fd(be)) || epoll_watch(k->epfd, vport_notify_fd(k->v))) {
		e = errno;
		snprintf(err, 256, "cannot set up the event loop of %s: %s", name, strerror(e));
		goto err;
	}
	e = bdg_attach(sw, vport_port(k->v));
	if (e < 0) {
		e = -e;
		snprintf(err, 256, "cannot attach %s to %s: %s", name, bdg_name(sw),
			 e == ENOSPC ? "the switch is full" : strerror(e));
		goto err;
	}
	e = pthread_create(&k->thread, NULL, kport_thread, k);
	if (e) {
		bdg_detach(vport_port(k->v));
		snprintf(err, 256, "cannot start the thread of %s: %s", name, strerror(e));
		goto err;
	}
	k->started = true;
	return k;

err:
	kport_destroy(k);
	errno = e;
	return NULL;
}

void kport_destroy(struct kport *k)
{
	if (!k)
		return;
	if (k->started) {
		uint64_t one = 1;
		__atomic_store_n(&k->stopping, true, __ATOMIC_RELAXED);
		(void)!write(k->stop_fd, &one, sizeof(one));
		pthread_join(k->thread, NULL);
		bdg_detach(vport_port(k->v));
	}
	k->ops->close(k->be);
	if (k->epfd >= 0)
		close(k->epfd);
	if (k->stop_fd >= 0)
		close(k->stop_fd);
	bdg_scratch_destroy(k->scratch);
	vport_destroy(k->v);
	free(k->linear);
	free(k);
}

int kport_set_polling(struct kport *k, bool on, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	if (on && cpu >= 0) {
		if (cpu >= CPU_SETSIZE)
			return -EINVAL;
		CPU_SET(cpu, &set);
	} else {
		for (int i = 0; i < CPU_SETSIZE; i++)
			CPU_SET(i, &set);
	}
	int e = pthread_setaffinity_np(k->thread, sizeof(set), &set);
	if (e)
		return -e;
	__atomic_store_n(&k->polling, on, __ATOMIC_RELAXED);
	if (!on) { /* wake it, so that it goes back to sleeping in epoll */
		uint64_t zero_kick = 1;
		(void)!write(vport_notify_fd(k->v), &zero_kick, sizeof(zero_kick));
	}
	return 0;
}

bool kport_polling(const struct kport *k)
{
	return __atomic_load_n(&k->polling, __ATOMIC_RELAXED);
}

struct bdg_port *kport_port(const struct kport *k)
{
	return vport_port(k->v);
}

const char *kport_kind(const struct kport *k)
{
	return k->ops->kind;
}

void kport_get_stats(const struct kport *k, struct kport_stats *ret)
{
	ret->rx_frames = __atomic_load_n(&k->stats.rx_frames, __ATOMIC_RELAXED);
	ret->tx_frames = __atomic_load_n(&k->stats.tx_frames, __ATOMIC_RELAXED);
	ret->rx_dropped = __atomic_load_n(&k->stats.rx_dropped, __ATOMIC_RELAXED);
	ret->tx_dropped = __atomic_load_n(&k->stats.tx_dropped, __ATOMIC_RELAXED);
}
