#ifndef HV_SPINLOCK_H
#define HV_SPINLOCK_H
/*
 * The hypervisor's one spinlock (test-and-test-and-set).  Taken with GIF=1 in
 * the quiesce path on purpose: a CPU spinning here must still be stoppable by
 * another CPU's quiesce NMI (hv/core/quiesce.c, "two CPUs requesting at once").
 *
 * Deterministic mode stretches every critical section: right after taking the
 * lock, chaos_spin() spins with PAUSE for a seed-chosen time, and under one TCG
 * thread each PAUSE hands the emulator to another vCPU.  So the other CPUs run
 * *while the lock is held* -- the interleaving a lock-order deadlock needs
 * (XMHF64's print lock vs quiesce: zoo print-lock-order, tests/test_zoo.py),
 * which QEMU's long round-robin turns otherwise almost never produce
 * (docs/determinism.md, "Lock-hold perturbation").  Without seed= it is off.
 */
#include "core/types.h"
#include "core/x86.h"
#include "core/percpu.h"
#include "core/chaos.h"

static inline void spin_lock(u32 *lock)
{
	while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(lock, __ATOMIC_RELAXED))
			cpu_relax();
	chaos_spin(this_cpu());
}

static inline void spin_unlock(u32 *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}
#endif
