/*
 * The only things trace/ needs from its environment.  The hypervisor implements
 * them in hv/; host tests and tools implement them in trace/tests/host_platform.c.
 */
#ifndef HEISEN_TRACE_PLATFORM_H
#define HEISEN_TRACE_PLATFORM_H

#include <stdint.h>

struct trace_ring;

/*
 * This CPU's ring, or NULL before the rings exist (emission is then a no-op).
 * O(1) and callable from NMI context: no locks, no faults.
 */
struct trace_ring *trace_this_cpu_ring(void);

/* Timestamp of a record: rdtsc on the hypervisor.  Callable from NMI context. */
uint64_t trace_now(void);

/* One byte to the serial port (the hypervisor polls the 16550 LSR before each). */
void trace_serial_putc(uint8_t byte);

/* CPUs whose rings the drain visits, and the ring of CPU `cpu` (NULL if none). */
unsigned trace_ncpus(void);
struct trace_ring *trace_ring_of(unsigned cpu);

#endif
