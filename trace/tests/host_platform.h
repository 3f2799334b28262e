/*
 * trace_platform.h for host tests and tools: a thread-local "this CPU" ring, a byte
 * buffer as the serial port, and a clock that is either rdtsc or a deterministic
 * counter.
 */
#ifndef HEISEN_TRACE_HOST_PLATFORM_H
#define HEISEN_TRACE_HOST_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "ring.h"

#define HOST_MAX_CPUS 16

/* A ring for `cpu` with nslots slots (calloc'd, initialised); exits on failure. */
struct trace_ring *host_ring_new(unsigned cpu, uint32_t nslots);
/* The rings trace_drain() visits: rings[i] is CPU i's. */
void host_set_rings(struct trace_ring *const *rings, unsigned n);
/* The calling thread's "CPU" (what trace_this_cpu_ring() returns on this thread). */
void host_set_current_ring(struct trace_ring *ring);

/* Serial port: bytes land in a buffer of `cap` bytes (overflow is counted, not stored). */
void host_serial_reset(size_t cap);
const uint8_t *host_serial_data(size_t *len, size_t *overflow);
/* Called with each byte before it is stored (NULL: none): tests stall drainers here. */
extern void (*volatile host_putc_hook)(uint8_t byte);

/* Clock: HOST_CLOCK_COUNTER returns 1, 2, 3, ... (shared, atomic); SET returns a fixed value. */
enum host_clock { HOST_CLOCK_RDTSC, HOST_CLOCK_COUNTER, HOST_CLOCK_SET };
void host_clock(enum host_clock mode, uint64_t value);

#endif
