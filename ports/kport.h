/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kport - a switch port whose other side is a kernel interface: a NIC by
 * AF_XDP or AF_PACKET (hw/), the host stack's tap, or a tap/container port.
 *
 * Design: a kport is a VALE port (vport) whose client is the daemon itself,
 * as netmap's bwrap wraps a NIC. Its thread moves frames both ways:
 *
 *   kernel --rx_burst--> vport TX ring --bdg_forward--> switch ports
 *   switch ports --(leases)--> vport RX ring --tx_burst--> kernel
 *
 * It forwards its own TX ring (no worker serves it). The kport replaces the
 * vport's notify callback (which would wake a client through the notify
 * eventfd) by its own. For a backend with tx_direct (NICs), when the kport's
 * thread sleeps, the thread that delivered into the vport's RX ring hands
 * the frames of one buffer to the kernel itself, as netmap's bwrap calls a
 * NIC's txsync from the sender's context: no wakeup and no context switch
 * per batch, which is what small frames cost. Otherwise (the thread is awake,
 * busy with the other direction as under TCP; chained frames; backends
 * without tx_direct, taps) the frames are handed to the kport's thread,
 * woken through the notify eventfd when it sleeps (appl_need_kick on the RX
 * ring, as any client does), so the receiving stack's work, which runs
 * inside the write, stays off the delivering thread. A lock, tried and
 * never waited for, keeps one thread at a time on the backend's TX side.
 * When idle, the thread of a backend with
 * shared-memory rings (rx_burst) busy-polls them for KPORT_POLL_NS, then
 * sleeps in poll() on the backend's fds. Frames carry the port's
 * virtio-net header when the backend has one (tap: 12 bytes), so offloads
 * cross the switch (switch/offload.h converts for ports without).
 *
 * Backends are a table of ops; one kport has one backend instance and one
 * thread. Threads: create/destroy on the control thread; rx_burst,
 * rx_into and rx_release run on the kport's thread only; tx_burst and
 * tx_chain on one thread at a time, any forwarding thread, concurrently with
 * the RX ops: a backend keeps its RX and TX state apart.
 */
#ifndef VALE_PORTS_KPORT_H
#define VALE_PORTS_KPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "bdg.h"
#include "kframe.h"
#include "vport.h"

#define KPORT_FDS_MAX 16

struct kport_ops {
	const char *kind; /* "afxdp", "afpacket", "tap" */
	/* Frames received from the kernel, valid until rx_release. Either this
	 * pair (rx_burst, rx_release) or rx_into is set. */
	uint32_t (*rx_burst)(void *be, struct kframe *frames, uint32_t max);
	/* Read one frame into the buffers given (scatter): its length, or <= 0
	 * when there is none. Saves the copy rx_burst's frames need. */
	int (*rx_into)(void *be, const struct iovec *iov, uint32_t n);
	/* Give back the frames of the last rx_burst. */
	void (*rx_release)(void *be, uint32_t n);
	/* Send frames (copied); returns how many the kernel took. */
	uint32_t (*tx_burst)(void *be, const struct kframe *frames, uint32_t n);
	/* Send one frame given in pieces (a NS_MOREFRAG chain); 1 if the kernel
	 * took it. Optional: NULL joins the pieces and uses tx_burst. */
	uint32_t (*tx_chain)(void *be, const struct iovec *iov, uint32_t n);
	/* The fds that turn readable when there are frames to receive (one per
	 * queue), at most KPORT_FDS_MAX, into ret_fds; returns how many. The
	 * thread polls them only while it sleeps: a socket that a thread waits
	 * on makes the kernel run a wakeup callback for every frame it
	 * delivers, a cost paid on the sender's CPU. */
	uint32_t (*fds)(const void *be, int *ret_fds, uint32_t max);
	/* While the port's thread sleeps, frames of one buffer are sent by
	 * the thread that delivers them to the port's RX ring (no wakeup):
	 * right for a NIC, where small frames cost a wakeup each. False: the
	 * port's own thread sends everything, which keeps the receiving
	 * stack's work (a tap's TCP) off the delivering thread. */
	bool tx_direct;
	/* Release the backend (close sockets, give the interface back). */
	void (*close)(void *be);
};

struct kport_stats {
	uint64_t rx_frames;  /* from the kernel into the switch */
	uint64_t tx_frames;  /* from the switch to the kernel */
	uint64_t rx_dropped; /* kernel frames that found the TX ring full */
	uint64_t tx_dropped; /* switch frames the kernel refused */
};

struct kport;

/*
 * Create a kport named name with the backend be (owned from now on: on
 * failure it is closed too), attach it to switch sw and start its thread.
 * hdr_len is the virtio-net header the backend's frames carry (0 or 12).
 * NULL + errno, with a sentence in err (256 bytes).
 */
struct kport *kport_create(struct bdg *sw, const char *name, const struct kport_ops *ops,
			   void *be, uint16_t hdr_len, uint32_t buf_size, char *err);

/*
 * Polling mode (netmap's VALE_POLLING): the kport's thread never sleeps and,
 * with cpu >= 0, runs on that CPU only. Off: back to sleeping, on any CPU.
 * 0, -EINVAL (cpu out of range) or the pthread_setaffinity_np error.
 */
int kport_set_polling(struct kport *k, bool on, int cpu);
bool kport_polling(const struct kport *k);

/* Stop the thread, detach, close the backend, free. Accepts NULL. */
void kport_destroy(struct kport *k);

struct bdg_port *kport_port(const struct kport *k);
const char *kport_kind(const struct kport *k);
void kport_get_stats(const struct kport *k, struct kport_stats *ret_stats);

#endif /* VALE_PORTS_KPORT_H */
