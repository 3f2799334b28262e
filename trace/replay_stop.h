/*
 * Replay stop: `replay RUN --gdb-at-event K` (harness/det/gdbat.py) stops the replayed
 * machine just as the emit call that claimed record K's ring slot is about to write
 * it, with one gdb breakpoint hit.
 *
 * The harness patches trace_stop_key in the copy of the ELF it replays to
 * (cpu << 48) | slot: the ring slot (the ring's running `reserve` count) that CPU's
 * record K went into.  Every emit that claims a slot compares that slot with the key,
 * after the claim and before the write.  The comparison runs the same instructions
 * whatever the key holds, so up to the stop a replay executes exactly what the
 * recorded run executed: same icount, same vCPU switches.  The branch is taken once,
 * into trace_stop_here, where gdb has its only breakpoint.  (A gdb condition on
 * trace_emit instead stopped QEMU at every emit to evaluate it, which moved the vCPU
 * interleaving at -smp > 1: measured in docs/determinism.md, "replay".)
 *
 * Why after the claim, not at the call's entry: a slot is claimed exactly once (the
 * count only grows), so the stop names one emit however the calls interleave -- an
 * NMI's emit nested between another emit's entry and its claim, emits dropped while
 * the ring was full (they claim nothing), a LOST record claimed first.  Read-only, so
 * an NMI anywhere in it changes nothing.
 * Tested: trace/tests/test_replay_stop.c (host: the named slot, TEXT, drops and LOST),
 * tests/determinism/test_replay_hunt.py (-smp 2 replays stop exactly).
 */
#ifndef HEISEN_TRACE_REPLAY_STOP_H
#define HEISEN_TRACE_REPLAY_STOP_H

#include <stdint.h>

#include "ring.h"

#define TRACE_STOP_NONE (~(uint64_t)0)

/* Written only by the harness, in the ELF file; never by the hypervisor. */
extern volatile uint64_t trace_stop_key;

/* Stops taken so far (the host test reads it; gdb can print it). */
extern volatile uint64_t trace_stop_hits;

/* Receives the emit call's own arguments in the same registers (rdi, rsi, rdx, rcx),
 * so gdb at the stop reads record K's type and arguments as it would at trace_emit. */
void trace_stop_here(uint64_t what, uint64_t a0, uint64_t a1, uint64_t a2);

/* `slot`: the ring count the caller just claimed (its first, for a TEXT message). */
static inline void trace_replay_stop_check(const struct trace_ring *ring, uint64_t slot,
					   uint64_t what, uint64_t a0, uint64_t a1, uint64_t a2)
{
	if (__builtin_expect(((uint64_t)ring->cpu << 48 | slot) == trace_stop_key, 0))
		trace_stop_here(what, a0, a1, a2);
}

#endif
