/*
 * Moving committed records from the per-CPU rings to the serial port.
 * Call trace_drain() from safe points (exit handler tail, idle loops); it never waits.
 */
#ifndef HEISEN_TRACE_DRAIN_H
#define HEISEN_TRACE_DRAIN_H

#include <stdbool.h>
#include <stdint.h>

/*
 * If no other CPU is draining, writes every ring's committed records (as they were at
 * the start of the call) as frames and returns true; otherwise returns false at once.
 * Never spins, so it is harmless with GIF=0 or inside an NMI (where it is pointless:
 * the interrupted code may hold the drain).
 */
bool trace_drain(void);

/*
 * Batching (default: off, every call sends everything committed).  With it, trace_drain()
 * leaves a ring alone while it holds fewer than min_records committed records, its oldest
 * one is younger than max_age_tsc TSC ticks and the ring is less than half full.  Each
 * frame costs ~16 bytes of header, CRC and delimiter and restarts the running rip, so a
 * drain at every exit (3 records a frame) pays ~5 bytes per record for framing; 32+
 * records a frame pay < 0.5 (docs/trace-design.md, "Bytes per event").
 */
void trace_drain_set_batch(uint32_t min_records, uint64_t max_age_tsc);

/* Like trace_drain() but ignores batching: for "empty my ring now" (before a verdict). */
bool trace_drain_all(void);

/*
 * Panic flush: drains every ring even if another CPU holds the drain and will never
 * let go.  It waits a bounded time for a live drainer, then steals the drain and
 * writes a 0x00 first to end whatever frame the previous owner had half written.
 * What the decoder can then see (docs/trace-design.md): the cut frame fails its CRC
 * and is reported; if the previous owner wrote a whole frame but had not released its
 * records yet, they are sent again in a frame with the same seq; if it is still alive
 * and writing, its bytes and ours interleave and both frames fail their CRC.  Never a
 * frame that decodes to wrong records.
 * It is the machine's last drain (machine_exit), so it also sends each ring's
 * `dropped` as a LOST frame of that CPU: a count a full ring dropped after the CPU's
 * last record reaches the wire instead of ending with the machine (drain.c send_dropped).
 */
void trace_drain_panic(void);

#endif
