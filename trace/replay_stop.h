/*
 * Replay stop: `replay RUN --gdb-at-event K` (harness/gdbat.py) stops the replayed
 * machine just as the emit call that wrote trace record K starts, with one gdb
 * breakpoint hit.
 *
 * The harness patches trace_stop_key in the copy of the ELF it replays to
 * (cpu << 48) | slot: the ring slot that CPU's record K went into, i.e. its ring's
 * `reserve` when that emit call started.  Every emit compares its own key with it.
 * The comparison runs the same instructions whatever the key holds, so up to the
 * stop a replay executes exactly what the recorded run executed: same icount, same
 * vCPU switches.  The branch is taken once, into trace_stop_here, where gdb has its
 * only breakpoint.  (A gdb condition on trace_emit instead stopped QEMU at every
 * emit to evaluate it, which moved the vCPU interleaving at -smp > 1: measured in
 * docs/determinism.md, "replay".)
 *
 * NMI safety: read-only, so an NMI anywhere in it changes nothing.  The first emit
 * on that CPU that sees `reserve == slot` stops.  If an NMI's emit took the slot in
 * the recording, arriving after our compare but before our reservation, then our
 * call stops first and the registers show our arguments, not record K's: gdbat
 * reports that as "drifted" (the gdb condition had the same blind spot).
 * Tested: trace/tests/test_replay_stop.c (host), tests/determinism/test_replay_hunt.py
 * (a -smp 2 replay stops with record K's arguments in registers).
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

static inline void trace_replay_stop_check(const struct trace_ring *ring, uint64_t what,
					   uint64_t a0, uint64_t a1, uint64_t a2)
{
	uint64_t key = (uint64_t)ring->cpu << 48 | __atomic_load_n(&ring->reserve, __ATOMIC_RELAXED);
	if (__builtin_expect(key == trace_stop_key, 0))
		trace_stop_here(what, a0, a1, a2);
}

#endif
