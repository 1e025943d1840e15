/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of ring/csb.h: the wake-up handshake.
 *
 * The waker writes an eventfd exactly when the sleeper's flag asks for it,
 * and the sleeper never loses a wake-up. The second is shown by two threads
 * playing one ring's two sides for ROUNDS rounds. Each round the waker
 * releases the sleeper from a rendezvous, so that both race from the same
 * moment (the waker a little later each round), makes one unit of work and
 * waits until the sleeper has taken it. The sleeper takes work while there
 * is some, and otherwise arms its flag, re-checks and sleeps in poll() on
 * its eventfd with no timeout. A lost wake-up would leave it asleep next to
 * work nobody woke it for. So that such a failure is reported, not a hang,
 * a waker that has waited SPINS turns writes a second eventfd (the rescue)
 * naming the round: a sleeper that only the rescue woke, for the round it
 * waits for, with work in sight, was never woken properly (a proper wake-up
 * is written before the rescue). Rescuing a sleeper that was merely slow
 * finds its eventfd readable or no sleeper at all, and counts for nothing.
 * Bounded by counts, not timers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "cpu.h"
#include "csb.h"
#include "kring.h"

#define NSLOTS 16
#define BUF_SIZE 256
#define BUF_NUM 64
#define ROUNDS 20000
#define SPINS 1000 /* then yield, or rescue */
#define DELAY_LOOPS 4096
#define CALM_EVERY 500 /* rounds made only once the sleeper sleeps */

struct fixture {
	struct kring k;
	struct netmap_ring *ring; /* the client's view of k's ring */
	char *bufs;
	int efd;    /* the sleeper's eventfd: kick or notify */
	int rescue; /* see the header comment */
};

static struct fixture *fixture_new(uint16_t dir)
{
	struct fixture *f = calloc(1, sizeof(*f));
	size_t rsz = vale_ring_size(NSLOTS);

	assert_non_null(f);
	f->ring = aligned_alloc(NM_CACHE_ALIGN, rsz + (size_t)BUF_NUM * BUF_SIZE);
	assert_non_null(f->ring);
	memset(f->ring, 0, rsz);
	f->bufs = (char *)f->ring + rsz;
	assert_int_equal(kring_init(&f->k, f->ring, dir, 0, NSLOTS, f->bufs, BUF_SIZE, BUF_NUM), 0);
	for (uint32_t i = 0; i < NSLOTS; i++)
		f->ring->slot[i].buf_idx = 2 + i;
	f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->rescue = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(f->efd >= 0 && f->rescue >= 0);
	return f;
}

static int setup_tx(void **state)
{
	*state = fixture_new(NR_TX);
	return 0;
}

static int setup_rx(void **state)
{
	*state = fixture_new(NR_RX);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->efd);
	close(f->rescue);
	kring_fini(&f->k);
	free(f->ring);
	free(f);
	return 0;
}

/* The eventfd's count, drained (0: it was not readable). */
static uint64_t drain(int fd)
{
	uint64_t v;

	return read(fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
}

/* ---- the waker writes exactly when asked ------------------------------------ */

static void test_kick_exactly_when_asked(void **state)
{
	struct fixture *f = *state;
	struct vale_csb *csb = f->k.csb;
	uint32_t kicks = 0, asked = 0;

	for (uint32_t i = 1; i <= 64; i++) {
		bool arm = (i % 3) == 0;

		if (arm) {
			/* Nothing new since the last head: it may sleep. */
			assert_true(csb_switch_may_sleep(csb, (i - 1) % NSLOTS));
			asked++;
		}
		f->ring->head = f->ring->cur = i % NSLOTS;
		csb_appl_publish(f->ring, csb);
		assert_int_equal(csb_switch_head(csb), i % NSLOTS);
		if (csb_switch_wants_kick(csb)) {
			csb_wake(f->efd);
			kicks++;
		}
		if (arm)
			csb_switch_disarm(csb);
	}
	assert_int_equal(kicks, asked);
	assert_int_equal(drain(f->efd), asked);
	assert_false(csb_switch_wants_kick(csb));
	/* Work that came in before the switch armed: it must not sleep. */
	assert_false(csb_switch_may_sleep(csb, f->ring->head + 1));
	assert_true(csb_switch_wants_kick(csb)); /* armed all the same */
	csb_switch_disarm(csb);
}

static void test_notify_exactly_when_asked(void **state)
{
	struct fixture *f = *state;
	struct vale_csb *csb = f->k.csb;
	uint32_t notified = 0, asked = 0;

	for (uint32_t i = 1; i <= 64; i++) {
		bool arm = (i % 4) == 1;
		uint32_t start, id;

		if (arm) {
			csb_appl_arm(csb);
			asked++;
		}
		kring_lock(&f->k);
		kring_rxsync(&f->k);
		id = kring_lease(&f->k, 1, &start);
		assert_true(kring_lease_complete(&f->k, id, kring_next(&f->k, start)));
		kring_unlock(&f->k);
		notified += csb_notify_appl(csb, f->efd);
		/* The client takes the slot and returns it. */
		csb_appl_update_tail(f->ring, csb);
		assert_int_equal(f->ring->tail, i % NSLOTS);
		f->ring->head = f->ring->cur = f->ring->tail;
		csb_appl_publish(f->ring, csb);
		if (arm)
			csb_appl_disarm(csb);
	}
	assert_int_equal(notified, asked);
	assert_int_equal(drain(f->efd), asked);
	assert_false(csb_appl_wants_notify(csb));
	assert_false(csb_notify_appl(csb, f->efd));
	assert_int_equal(drain(f->efd), 0);
}

/* A client that has published nothing new need not publish again. */
static void test_appl_published(void **state)
{
	struct fixture *f = *state;

	assert_true(csb_appl_published(f->ring, f->k.csb));
	f->ring->cur = 3;
	assert_false(csb_appl_published(f->ring, f->k.csb));
	f->ring->head = 3;
	csb_appl_publish(f->ring, f->k.csb);
	assert_true(csb_appl_published(f->ring, f->k.csb));
}

/* ---- no lost wake-up: two threads ------------------------------------------- */

/* What the two threads share; the rest is each one's own. */
struct race {
	struct fixture *f;
	uint32_t seen;	       /* the head before round 1 */
	uint32_t go;	       /* waker -> sleeper: the round it is about to make */
	uint32_t done;	       /* sleeper -> waker: rounds taken */
	uint32_t rescue_round; /* waker -> sleeper: the round the rescue is for */
	pid_t tid;	       /* the sleeper's thread id, for asleep() */
	/* The sleeper's counts, read after the join. */
	uint32_t sleeps;
	uint32_t lost;
};

/* Wait until *v >= want: spin first (the other thread acts within
 * nanoseconds, where the races are), then yield (it may need our CPU). */
static void wait_for(const uint32_t *v, uint32_t want)
{
	uint32_t spins = 0;

	while (__atomic_load_n(v, __ATOMIC_ACQUIRE) < want) {
		if (++spins < SPINS)
			cpu_relax();
		else
			sched_yield();
	}
}

/* True when the sleeper is blocked (in poll(): it blocks nowhere else). */
static bool asleep(const struct race *r)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)r->tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

/*
 * Run the sleeper on one CPU and the caller on another, when there are two,
 * so that they race rather than take turns. Returns the caller's old mask,
 * for unpin().
 */
static cpu_set_t pin(pthread_t sleeper)
{
	cpu_set_t old, one;
	int cpu[2], n = 0;

	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &old))
			cpu[n++] = c;
	if (n == 2) {
		CPU_ZERO(&one);
		CPU_SET(cpu[0], &one);
		assert_int_equal(pthread_setaffinity_np(sleeper, sizeof(one), &one), 0);
		CPU_ZERO(&one);
		CPU_SET(cpu[1], &one);
		assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	}
	return old;
}

static void unpin(const cpu_set_t *old)
{
	assert_int_equal(sched_setaffinity(0, sizeof(*old), old), 0);
}

/*
 * The waker's round: tell the sleeper (it leaves its wait and heads for
 * sleep at once), wait a little longer each round (up to DELAY_LOOPS
 * iterations of nothing), so that its work lands anywhere on the sleeper's
 * way from the rendezvous to poll(), make the work and wake the sleeper if
 * it asked; then wait until the sleeper took it, and rescue it if that
 * takes long. Every CALM_EVERY rounds it makes the work only once the
 * sleeper sleeps, so that every run has sleeps that a wake-up must end.
 */
static void waker_round(struct race *r, uint32_t round, void (*work)(struct race *r))
{
	uint32_t spins = 0;

	__atomic_store_n(&r->go, round, __ATOMIC_RELEASE);
	/* Now and then, the plain case: work for a sleeper that sleeps. */
	if (round % CALM_EVERY == 0)
		while (!asleep(r))
			sched_yield();
	for (uint32_t i = 0; i < (round * 13) % DELAY_LOOPS; i++)
		__asm__ __volatile__("" ::: "memory");
	work(r);
	while (__atomic_load_n(&r->done, __ATOMIC_ACQUIRE) < round) {
		if (spins < SPINS) {
			spins++;
			cpu_relax();
			continue;
		}
		if (spins++ == SPINS) {
			__atomic_store_n(&r->rescue_round, round, __ATOMIC_RELEASE);
			csb_wake(r->f->rescue);
		}
		sched_yield();
	}
}

/* The sleeper took one round's work; then it waits for the next round. */
static void taken(struct race *r)
{
	uint32_t done = r->done + 1;

	__atomic_store_n(&r->done, done, __ATOMIC_RELEASE);
	if (done < ROUNDS)
		wait_for(&r->go, done + 1);
}

/*
 * The sleeper is back from poll() (efd and the rescue drained here). True
 * if only the rescue woke it, for the round it waits for, while work was in
 * sight: a lost wake-up.
 */
static bool woke_lost(struct race *r, bool work)
{
	bool woken = drain(r->f->efd) != 0;
	bool rescued = drain(r->f->rescue) != 0;

	return rescued && !woken && work &&
	       __atomic_load_n(&r->rescue_round, __ATOMIC_ACQUIRE) == r->done + 1;
}

static void sleep_poll(const struct race *r)
{
	struct pollfd pfd[2] = {{.fd = r->f->efd, .events = POLLIN},
				{.fd = r->f->rescue, .events = POLLIN}};

	while (poll(pfd, 2, -1) < 0 && errno == EINTR)
		;
}

/* The switch sleeps on its kick fd; the work is a new head. */
static void *switch_sleeper(void *arg)
{
	struct race *r = arg;
	struct vale_csb *csb = r->f->k.csb;
	uint32_t seen = r->seen;

	__atomic_store_n(&r->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	wait_for(&r->go, 1);
	while (r->done < ROUNDS) {
		uint32_t head = csb_switch_head(csb);

		if (head != seen) {
			seen = head;
			taken(r);
			continue;
		}
		if (!csb_switch_may_sleep(csb, seen)) {
			csb_switch_disarm(csb);
			continue;
		}
		r->sleeps++;
		sleep_poll(r);
		csb_switch_disarm(csb);
		r->lost += woke_lost(r, csb_switch_head(csb) != seen);
	}
	return NULL;
}

/* The client publishes a new head and kicks if the switch asked. */
static void publish_head(struct race *r)
{
	struct netmap_ring *ring = r->f->ring;

	ring->head = ring->cur = (ring->head + 1) % NSLOTS;
	csb_appl_publish(ring, r->f->k.csb);
	if (csb_switch_wants_kick(r->f->k.csb))
		csb_wake(r->f->efd);
}

static void test_switch_never_misses_a_kick(void **state)
{
	struct race r = {.f = *state};
	cpu_set_t mask;
	pthread_t t;

	r.seen = csb_switch_head(r.f->k.csb);
	assert_int_equal(pthread_create(&t, NULL, switch_sleeper, &r), 0);
	mask = pin(t);
	wait_for((const uint32_t *)&r.tid, 1);
	for (uint32_t round = 1; round <= ROUNDS; round++)
		waker_round(&r, round, publish_head);
	assert_int_equal(pthread_join(t, NULL), 0);
	unpin(&mask);
	assert_int_equal(r.lost, 0);
	assert_int_equal(r.done, ROUNDS);
	assert_true(r.sleeps >= ROUNDS / CALM_EVERY); /* the handshake was exercised */
}

/* The application sleeps on its notify fd; the work is a received slot. */
static void *appl_sleeper(void *arg)
{
	struct race *r = arg;
	struct netmap_ring *ring = r->f->ring;
	struct vale_csb *csb = r->f->k.csb;

	__atomic_store_n(&r->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	wait_for(&r->go, 1);
	while (r->done < ROUNDS) {
		csb_appl_update_tail(ring, csb);
		if (!nm_ring_empty(ring)) {
			ring->head = ring->cur = ring->tail; /* return the slots */
			csb_appl_publish(ring, csb);
			taken(r);
			continue;
		}
		csb_appl_arm(csb);
		csb_appl_update_tail(ring, csb);
		if (!nm_ring_empty(ring)) {
			csb_appl_disarm(csb);
			continue;
		}
		r->sleeps++;
		sleep_poll(r);
		csb_appl_disarm(csb);
		csb_appl_update_tail(ring, csb);
		r->lost += woke_lost(r, !nm_ring_empty(ring));
	}
	return NULL;
}

/* The switch delivers one packet, as a forwarding thread does, and
 * notifies the client if it asked. */
static void deliver_one(struct race *r)
{
	struct kring *k = &r->f->k;
	uint32_t start, id;

	kring_lock(k);
	kring_rxsync(k); /* the slots the client returned */
	id = kring_lease(k, 1, &start);
	k->ring->slot[start].len = 60;
	kring_lease_complete(k, id, kring_next(k, start));
	kring_unlock(k);
	csb_notify_appl(k->csb, r->f->efd);
}

static void test_appl_never_misses_a_notify(void **state)
{
	struct race r = {.f = *state};
	cpu_set_t mask;
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, appl_sleeper, &r), 0);
	mask = pin(t);
	wait_for((const uint32_t *)&r.tid, 1);
	for (uint32_t round = 1; round <= ROUNDS; round++)
		waker_round(&r, round, deliver_one);
	assert_int_equal(pthread_join(t, NULL), 0);
	unpin(&mask);
	assert_int_equal(r.lost, 0);
	assert_int_equal(r.done, ROUNDS);
	assert_true(r.sleeps >= ROUNDS / CALM_EVERY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_kick_exactly_when_asked, setup_tx, teardown),
	    cmocka_unit_test_setup_teardown(test_notify_exactly_when_asked, setup_rx, teardown),
	    cmocka_unit_test_setup_teardown(test_appl_published, setup_tx, teardown),
	    cmocka_unit_test_setup_teardown(test_switch_never_misses_a_kick, setup_tx, teardown),
	    cmocka_unit_test_setup_teardown(test_appl_never_misses_a_notify, setup_rx, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
