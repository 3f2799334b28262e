/*
 * The only things trace/ needs from its environment.  The hypervisor implements
 * them in hv/; host tests and tools implement them in trace/tests/host_platform.c.
 */
#ifndef HEISEN_TRACE_PLATFORM_H
#define HEISEN_TRACE_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

struct trace_ring;

/*
 * This CPU's ring, or NULL before the rings exist (emission is then a no-op).
 * O(1) and callable from NMI context: no locks, no faults.
 */
struct trace_ring *trace_this_cpu_ring(void);

/* Timestamp of a record: rdtsc on the hypervisor.  Callable from NMI context. */
uint64_t trace_now(void);

/*
 * Bytes out: a whole frame, or the single 0x00 a panic flush uses to end a frame it
 * cut off.  The hypervisor sends them to the UART (polling the 16550 LSR per FIFO
 * load) or, with `trace=mem`, appends them to the memory log (memlog.h).  May run
 * concurrently on two CPUs after a panic steal (drain.c): each call's bytes must stay
 * together or be cut off, never interleave byte by byte inside one transport.
 */
void trace_out_write(const uint8_t *p, size_t n);

/* CPUs whose rings the drain visits, and the ring of CPU `cpu` (NULL if none). */
unsigned trace_ncpus(void);
struct trace_ring *trace_ring_of(unsigned cpu);

#endif
