/* SPDX-License-Identifier: BSD-2-Clause */
/* kport: a port bridging a kernel interface (NIC, tap) and a switch, on its own thread. */
#include "kport.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "csb.h"

#define KPORT_BURST 256
#define KPORT_SLOTS 1024
/* With a virtio-net header, frames may be 64 KiB GSO frames over 33 slots
 * each: 4096 slots hold 124 of them, 8 MiB, about what a TCP flow keeps in
 * flight at 10 Gbit/s; with 1024 the RX ring overflowed whenever our thread
 * fell 31 frames behind. */
#define KPORT_SLOTS_GSO 4096
#define KPORT_IOV_MAX 64
#define KPORT_FRAME_MAX 65550 /* a 64 KiB GSO frame and its virtio-net header */
/* An idle thread keeps looking this long before it sleeps: at a steady rate
 * the next frame comes sooner, and a sleeping reader costs the kernel a
 * wakeup per frame (the same default as the workers' poll_us). */
#define KPORT_POLL_NS 50000L

struct kport {
	const struct kport_ops *ops;
	void *be;
	struct vport *v;
	struct bdg *sw;
	struct bdg_scratch *scratch;
	struct netmap_ring *tx, *rx; /* the vport's rings, the kport being their client */
	struct pollfd pfd[2 + KPORT_FDS_MAX]; /* stop, notify, the backend's */
	nfds_t npfd;
	int stop_fd;
	pthread_t thread;
	bool started;
	bool polling;  /* never sleep (relaxed atomic: set by the control thread) */
	bool stopping; /* relaxed atomic: a polling thread's way out */
	/* Switch -> kernel runs on whichever thread gets tx_lock: ours, or the
	 * thread that just delivered into our RX ring (tx_drain). */
	pthread_mutex_t tx_lock;
	int tx_wanted;  /* seq_cst atomic: our RX ring may hold frames for the kernel */
	int tx_handoff; /* seq_cst atomic: frames there wait for our thread */
	bool tx_lock_made;
	uint8_t *linear; /* a frame chained over several RX slots, made whole */
	struct kport_stats stats;
};

static void count(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/*
 * Buffers that follow each other in memory as one iovec: the slots of a ring
 * usually have consecutive buffers, so a 64 KiB frame over 33 slots is one
 * segment for the kernel to walk instead of 33. Returns the new count.
 */
static int iov_merge(struct iovec *iov, uint32_t n)
{
	uint32_t m = 0;

	for (uint32_t i = 1; i < n; i++) {
		if ((uint8_t *)iov[m].iov_base + iov[m].iov_len == iov[i].iov_base)
			iov[m].iov_len += iov[i].iov_len;
		else
			iov[++m] = iov[i];
	}
	return n ? (int)m + 1 : 0;
}

/* Kernel -> switch for backends that read into buffers we give (rx_into):
 * each frame lands in free TX slots directly, chained when long. */
static uint32_t from_kernel_into(struct kport *k)
{
	struct netmap_ring *r = k->tx;
	/* A slot's len is 16 bits: 65536-byte buffers carry 65535 each. */
	const uint32_t bsz =
	    r->nr_buf_size < KRING_SLOT_LEN_MAX ? r->nr_buf_size : KRING_SLOT_LEN_MAX;
	const uint32_t max_slots = (KPORT_FRAME_MAX + bsz - 1) / bsz;
	uint32_t n = 0;

	csb_appl_update_tail(r, VALE_CSB(r));
	while (n < KPORT_BURST && nm_ring_space(r) >= max_slots && max_slots <= KPORT_IOV_MAX) {
		struct iovec iov[KPORT_IOV_MAX];
		uint32_t i = r->head, used;
		int len;

		for (uint32_t j = 0; j < max_slots; j++, i = nm_ring_next(r, i))
			iov[j] = (struct iovec){NETMAP_BUF(r, r->slot[i].buf_idx), bsz};
		len = k->ops->rx_into(k->be, iov, (uint32_t)iov_merge(iov, max_slots));
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

/* Kernel -> switch: copy what the backend received into our TX ring (long
 * frames as NS_MOREFRAG chains) and forward it. Returns frames moved. */
static uint32_t from_kernel(struct kport *k)
{
	struct kport_frame frames[KPORT_BURST];
	struct netmap_ring *r = k->tx;
	const uint32_t bsz =
	    r->nr_buf_size < KRING_SLOT_LEN_MAX ? r->nr_buf_size : KRING_SLOT_LEN_MAX;
	uint32_t n, taken = 0;

	if (k->ops->rx_into)
		return from_kernel_into(k);
	n = k->ops->rx_burst(k->be, frames, KPORT_BURST);
	if (n == 0)
		return 0;
	csb_appl_update_tail(r, VALE_CSB(r));
	for (uint32_t i = 0; i < n; i++) {
		uint32_t need = (frames[i].len + bsz - 1) / bsz;
		uint32_t off = 0;

		if (need == 0)
			need = 1;
		if (nm_ring_space(r) < need) {
			/* Long (GSO) frames fill the ring long before a burst
			 * ends: forward what is in, which frees it, and go on. */
			csb_appl_publish(r, VALE_CSB(r));
			while (bdg_forward(kport_port(k), 0, k->scratch))
				;
			csb_appl_update_tail(r, VALE_CSB(r));
			if (nm_ring_space(r) < need)
				break;
		}
		do {
			struct netmap_slot *slot = &r->slot[r->head];
			uint32_t chunk = frames[i].len - off;

			if (chunk > bsz)
				chunk = bsz;
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
 * joining NS_MOREFRAG chains; with !chains, stop at the first chain and say
 * so in *ret_left. Returns frames moved. */
static uint32_t to_kernel(struct kport *k, bool chains, bool *ret_left)
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
		if (nslots > 1 && !chains) {
			*ret_left = true;
			break;
		}
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
			sent += k->ops->tx_chain(k->be, iov, (uint32_t)iov_merge(iov, nslots));
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

/*
 * Frames wait in our RX ring for our thread: say so, and wake it if it
 * sleeps. Same pairing as the vport's notify: we store tx_handoff, fence,
 * load appl_need_kick; the thread stores appl_need_kick, fences, then looks
 * at the ring.
 */
static void handoff(struct kport *k)
{
	uint64_t one = 1;

	__atomic_store_n(&k->tx_handoff, 1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&VALE_CSB(k->rx)->atok.appl_need_kick, __ATOMIC_RELAXED))
		(void)!write(vport_notify_fd(k->v), &one, sizeof(one));
}

/*
 * Switch -> kernel, from any thread. Whoever holds tx_lock drains the RX ring
 * for everybody: a caller that finds it taken only leaves tx_wanted set, and
 * the holder re-checks tx_wanted after unlocking, so no delivery is left
 * behind (each side stores, then reads the other's store, all seq_cst).
 * With !chains the drain stops at the first chained frame and hands the
 * rest to our thread. Returns the frames this call moved.
 */
static uint32_t tx_drain(struct kport *k, bool chains)
{
	uint32_t moved = 0, m;
	bool left = false;

	__atomic_store_n(&k->tx_wanted, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&k->tx_wanted, __ATOMIC_SEQ_CST)) {
		if (pthread_mutex_trylock(&k->tx_lock))
			break;
		while (__atomic_exchange_n(&k->tx_wanted, 0, __ATOMIC_SEQ_CST))
			while ((m = to_kernel(k, chains, &left)))
				moved += m;
		pthread_mutex_unlock(&k->tx_lock);
	}
	if (left)
		handoff(k);
	return moved;
}

/*
 * The bdg notify callback of our vport, in place of the vport's own (which
 * would wake our thread through the notify eventfd): frames just landed on
 * our RX ring. With tx_direct and our thread asleep, frames of one buffer
 * go to the kernel at once, from the forwarding thread that put them there,
 * as netmap's bwrap calls a NIC's txsync from the sender's context: one
 * syscall per batch, no wakeup, no context switch, which is what small
 * frames cost. Chained (GSO) frames, and all frames when our thread is
 * awake anyway, are left to it: their copies into the kernel, and the
 * receiving stack's work that runs inside that write (a tap's or a veth
 * peer's TCP), then overlap with the delivering thread's next read instead
 * of adding to it. Runs with the switch lock held shared.
 */
static void rx_notify(struct bdg_port *port, uint32_t ring, void *arg)
{
	struct kport *k = arg;

	(void)port;
	(void)ring;
	/* Only a sleeping thread costs a wakeup; an awake one (busy with the
	 * other direction, as with TCP's ACKs) takes the frames for free. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (k->ops->tx_direct &&
	    __atomic_load_n(&VALE_CSB(k->rx)->atok.appl_need_kick, __ATOMIC_RELAXED))
		tx_drain(k, false);
	else
		handoff(k);
}

/*
 * After poll(): a backend fd in error makes poll() return at once until the
 * error is gone, and an idle thread would spin. A socket's pending error
 * (the interface went down, or away) is cleared by reading it; a frame still
 * wakes us later, once the interface is back. An fd whose error cannot be
 * read away (a tap whose interface was deleted) is no longer polled.
 */
static void clear_errors(struct kport *k)
{
	for (nfds_t i = 2; i < k->npfd; i++) {
		int e = 0;
		socklen_t len = sizeof(e);

		if (!(k->pfd[i].revents & (POLLERR | POLLNVAL)))
			continue;
		if (k->pfd[i].revents & POLLNVAL ||
		    getsockopt(k->pfd[i].fd, SOL_SOCKET, SO_ERROR, &e, &len) || !e)
			k->pfd[i].fd = -1; /* poll() skips negative fds */
	}
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void *kport_thread(void *arg)
{
	struct kport *k = arg;
	struct vale_csb *rcsb = VALE_CSB(k->rx);
	int64_t idle_since = 0;

	for (;;) {
		/* RX, and the TX that rx_notify handed us: draining on every
		 * turn would only race the delivering threads for the lock. */
		uint32_t moved = from_kernel(k);
		int nev;

		if (__atomic_exchange_n(&k->tx_handoff, 0, __ATOMIC_SEQ_CST))
			moved += tx_drain(k, true);

		if (moved) {
			idle_since = 0;
			continue;
		}
		if (__atomic_load_n(&k->polling, __ATOMIC_RELAXED)) {
			if (__atomic_load_n(&k->stopping, __ATOMIC_RELAXED))
				return NULL;
			continue;
		}
		/* Busy-poll only where looking is free: a ring in shared memory,
		 * not a read() that fails with EAGAIN (a tap). */
		if (k->ops->rx_burst) {
			if (!idle_since)
				idle_since = now_ns();
			if (now_ns() - idle_since < KPORT_POLL_NS)
				continue;
		}
		idle_since = 0;
		/* Idle: ask for a notification, then re-check before sleeping
		 * (pairs with handoff()'s fence before it reads the flag). The
		 * ring is looked at under tx_lock, by tx_drain: should another
		 * thread hold it, that thread drains, or hands off to us. */
		__atomic_store_n(&rcsb->atok.appl_need_kick, 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (tx_drain(k, true)) {
			__atomic_store_n(&rcsb->atok.appl_need_kick, 0, __ATOMIC_RELAXED);
			continue;
		}
		nev = poll(k->pfd, k->npfd, -1);
		__atomic_store_n(&rcsb->atok.appl_need_kick, 0, __ATOMIC_RELAXED);
		if (nev > 0 && k->pfd[0].revents)
			return NULL;
		if (nev > 0 && k->pfd[1].revents) {
			uint64_t v;
			(void)!read(k->pfd[1].fd, &v, sizeof(v));
		}
		if (nev > 0)
			clear_errors(k);
	}
}

struct kport *kport_create(struct bdg *sw, const char *name, const struct kport_ops *ops,
			   void *be, uint16_t hdr_len, uint32_t buf_size, char *err)
{
	uint32_t slots = hdr_len ? KPORT_SLOTS_GSO : KPORT_SLOTS;
	struct vport_params vp = {.name = name, .tx_slots = slots, .rx_slots = slots,
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
	k->stop_fd = -1;
	if (pthread_mutex_init(&k->tx_lock, NULL)) {
		free(k);
		ops->close(be);
		snprintf(err, 256, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	k->tx_lock_made = true;
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
	/* Before the attach: no delivery may see the vport's callback. */
	bdg_port_set_notify(vport_port(k->v), rx_notify, k);
	e = -bdg_port_set_vnet_hdr_len(vport_port(k->v), hdr_len);
	if (e) {
		snprintf(err, 256, "bad virtio-net header length %u", hdr_len);
		goto err;
	}
	k->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (k->stop_fd < 0) {
		e = errno;
		snprintf(err, 256, "cannot set up the event loop of %s: %s", name, strerror(e));
		goto err;
	}
	{
		int fds[KPORT_FDS_MAX];
		uint32_t n = ops->fds(be, fds, KPORT_FDS_MAX);

		k->pfd[0] = (struct pollfd){.fd = k->stop_fd, .events = POLLIN};
		k->pfd[1] = (struct pollfd){.fd = vport_notify_fd(k->v), .events = POLLIN};
		for (uint32_t i = 0; i < n; i++)
			k->pfd[2 + i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
		k->npfd = 2 + n;
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
	if (k->stop_fd >= 0)
		close(k->stop_fd);
	bdg_scratch_destroy(k->scratch);
	vport_destroy(k->v);
	free(k->linear);
	if (k->tx_lock_made)
		pthread_mutex_destroy(&k->tx_lock);
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
	if (!on) { /* wake it, so that it goes back to sleeping in poll() */
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
