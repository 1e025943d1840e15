/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fault - does a write to this address fault? For the tests that prove a
 * mapping read-only (zero-copy monitors): the write runs in a forked child,
 * so the test process survives it.
 */
#ifndef VALE_TESTS_FAULT_H
#define VALE_TESTS_FAULT_H

#include <stdbool.h>

/* Write one byte at p in a child process; true if SIGSEGV killed it (false
 * if the write went through, or the child could not be made). */
bool write_faults(volatile char *p);

#endif /* VALE_TESTS_FAULT_H */
