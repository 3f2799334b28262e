/* The replay stop's key and landing point: see replay_stop.h. */
#include "replay_stop.h"

/* In .data (initialised), so the ELF file holds it and the harness can patch it. */
volatile uint64_t trace_stop_key = TRACE_STOP_NONE;

/* Counts stops, for the host test and for gdb to print. */
volatile uint64_t trace_stop_hits;

void __attribute__((noinline)) trace_stop_here(uint64_t what, uint64_t a0, uint64_t a1, uint64_t a2)
{
	trace_stop_hits = trace_stop_hits + 1;
	/* Keep the arguments live in their registers up to the breakpoint. */
	__asm__ volatile("" : : "r"(what), "r"(a0), "r"(a1), "r"(a2) : "memory");
}
