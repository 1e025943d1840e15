/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpu - what a thread does while it spins on memory another thread will
 * write (a worker's busy poll, a seqlock reader): tell the CPU, so that a
 * sibling hyperthread gets the core and the spin ends without a memory-order
 * flush penalty; it is also a compiler barrier, so the spin re-reads memory.
 */
#ifndef VALE_RING_CPU_H
#define VALE_RING_CPU_H

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

#endif /* VALE_RING_CPU_H */
