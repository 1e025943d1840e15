/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hostile - what the hostile-client tests share (tests/func/test_hostile.c,
 * test_churn.c): control calls whose replies they read (jansson), valed's
 * resources seen from /proc, vale-pktgen floods, and churn, clients killed
 * with SIGKILL at random moments while another port floods.
 *
 * Every helper asserts (cmocka) when valed does not answer as documented in
 * doc/control-protocol.md; none of them times anything.
 */
#ifndef VALE_TESTS_HOSTILE_H
#define VALE_TESTS_HOSTILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <vale/vale.h>

#include "harness.h"

/* Call method with params (a JSON object text, or NULL) on a new connection
 * and return the reply's result (the caller's reference); asserts the call
 * succeeds. */
json_t *rpc_ok(const struct valed *d, const char *method, const char *params);

/* A counter of stats.get for port name: a top-level field ("reinits",
 * "tx_errors", ...) or, for "bad_slots" and "drops", the sum over its rings.
 * Asserts the port exists. */
uint64_t port_counter(const struct valed *d, const char *name, const char *field);

/* port.hdr.set name len (asserts success). */
void port_hdr_set(const struct valed *d, const char *name, unsigned int len);

/* A persistent port (vale.newif) with these geometry params, a JSON object
 * text without braces ("" for the defaults), and vale.delif. */
void port_create(const struct valed *d, const char *name, const char *geometry);
void port_delete(const struct valed *d, const char *name);

/* The names of switch sw's ports (vale.list), joined by spaces, in out;
 * returns how many (0 when the switch does not exist). */
unsigned int switch_ports(const struct valed *d, const char *sw, char *out, size_t size);

/* daemon.status' shared_mem_id. */
uint16_t shared_mem_id(const struct valed *d);

/* Start vale-pktgen with args (NULL-terminated, after the program name) on
 * valed d; it dies with the test. Stop it with SIGTERM and reap it:
 * pktgen_stop returns the "packets" of its --json totals (asserts it
 * printed them). */
pid_t pktgen_start(const struct valed *d, const char *const *args);
uint64_t pktgen_stop(pid_t pid);

/* A child that opens name and sends 60-byte broadcast frames from src until
 * it is killed (it dies with its parent too). */
pid_t sender_start(const char *name, uint8_t src);

/*
 * Churn: `cycles` clients, up to `parallel` at a time, each opening
 * "<sw>:<prefix><n>" (n = first_n, first_n + 1, ...) and sending
 * (sender_start) until it is killed with SIGKILL after a random lifetime of
 * 0 to max_life_us (some die inside vale_open, some while sending), then
 * reaped. Asserts valed stays alive throughout; returns the next n.
 */
unsigned int churn(struct valed *d, const char *sw, const char *prefix, unsigned int first_n,
		   unsigned int cycles, unsigned int parallel, unsigned int max_life_us,
		   unsigned int *seed);

/*
 * A frame from one fresh port of sw to another arrives intact: the probe
 * that valed still forwards (the two ports are closed afterwards). Other
 * traffic on the switch (a flood) is skipped over.
 */
void probe_forwarding(const char *sw);

/* Queue a frame of len bytes on TX ring 0 of v as a chain of slots of at
 * most min(buffer size, 65535) bytes (NS_MOREFRAG on all but the last),
 * waiting up to timeout_ms for room, and txsync. False on timeout. */
bool send_chain(struct vale_port *v, const uint8_t *f, uint32_t len, int timeout_ms);

/* What a forked client does first: die with its parent (a failed test
 * must leave none behind), and die of a crash instead of running cmocka's
 * handler, which would go on with the parent's tests in the child. */
void child_init(void);

/* A random number in [0, n) from *seed (rand_r). */
uint32_t rnd(unsigned int *seed, uint32_t n);

#endif /* VALE_TESTS_HOSTILE_H */
