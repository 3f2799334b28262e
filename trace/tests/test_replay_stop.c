/*
 * The replay stop (replay_stop.h): with trace_stop_key naming (cpu, slot), exactly the
 * emit call that writes that slot on that CPU stops, once, before writing, with its
 * own arguments; a key for another CPU, or none, never stops.  The run under QEMU is
 * tested in tests/determinism/test_replay_hunt.py.
 */
#include <stdlib.h>

#include "check.h"
#include "drain.h"
#include "host_platform.h"
#include "replay_stop.h"

int check_failures;

static struct trace_ring *ring;

/* Emits n records (the i-th with a0 = 0x100 + i) on CPU 3's fresh ring, so the i-th
 * goes into slot i; returns the i whose emit stopped (the last one, if several). */
static uint64_t emit_n(unsigned n)
{
	uint64_t stopped = TRACE_STOP_NONE;
	for (unsigned i = 0; i < n; i++) {
		uint64_t hits = trace_stop_hits;
		trace_emit(TRACE_EV_CPU_UP, 0x100 + i, i, 0);
		if (trace_stop_hits != hits)
			stopped = i;
	}
	return stopped;
}

static void setup_n(uint32_t nslots)
{
	free(ring);
	ring = host_ring_new(3, nslots);
	host_set_rings(&ring, 1);
	host_set_current_ring(ring);
	host_clock(HOST_CLOCK_COUNTER, 0);
	host_serial_reset(1 << 16);
	trace_stop_hits = 0;
}

static void setup(void)
{
	setup_n(64);
}

static void stops_once_at_the_named_slot(void)
{
	setup();
	trace_stop_key = (uint64_t)3 << 48 | 17;
	CHECK_EQ(emit_n(40), 17);
	CHECK_EQ(trace_stop_hits, 1);
	/* The stop came before the write: the record is there, written after it returned. */
	CHECK_EQ(ring->slot[17].a[0], 0x100 + 17);
	CHECK_EQ(ring->reserve, 40);
}

static void text_stops_too(void)
{
	setup();
	trace_stop_key = (uint64_t)3 << 48 | 2;
	trace_emit(TRACE_EV_CPU_UP, 1, 0, 0);
	trace_emit(TRACE_EV_CPU_UP, 2, 0, 0);
	CHECK_EQ(trace_stop_hits, 0);
	trace_emit_text("hello", 5);
	CHECK_EQ(trace_stop_hits, 1);
}

/*
 * A full ring drops emits; they claim no slot, so none of them stops.  After a drain the
 * next emit claims slot 8 for LOST (written by write_lost, never a stop: it is not a
 * record K can name) and slot 9 for its own record, and that emit stops.
 */
static void drops_and_lost_claim_past_the_named_slot(void)
{
	setup_n(8);
	trace_stop_key = (uint64_t)3 << 48 | 9;
	emit_n(12);  /* slots 0-7, then 4 drops */
	CHECK_EQ(ring->reserve, 8);
	CHECK_EQ(trace_stop_hits, 0);
	CHECK(trace_drain());
	trace_emit(TRACE_EV_CPU_UP, 0xabc, 0, 0);
	CHECK_EQ(trace_stop_hits, 1);
	CHECK_EQ(ring->reserve, 10);
	CHECK_EQ(ring->slot[8 % 8].type, TRACE_EV_LOST);
	CHECK_EQ(ring->slot[9 % 8].a[0], 0xabc);
}

static void another_cpu_or_no_key_never_stops(void)
{
	setup();
	trace_stop_key = (uint64_t)2 << 48 | 5;  /* CPU 2's slot 5: we are CPU 3 */
	emit_n(40);
	CHECK_EQ(trace_stop_hits, 0);
	setup();
	trace_stop_key = TRACE_STOP_NONE;
	emit_n(40);
	CHECK_EQ(trace_stop_hits, 0);
}

int main(void)
{
	RUN(stops_once_at_the_named_slot);
	RUN(text_stops_too);
	RUN(drops_and_lost_claim_past_the_named_slot);
	RUN(another_cpu_or_no_key_never_stops);
	CHECK_MAIN_END();
}
