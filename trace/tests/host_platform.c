/* The host implementation of trace_platform.h (see host_platform.h). */
#include "host_platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <x86intrin.h>

#include "trace_platform.h"

static __thread struct trace_ring *current_ring;
static struct trace_ring *rings[HOST_MAX_CPUS];
static unsigned nrings;
static uint8_t *serial_buf;
static size_t serial_cap;
static size_t serial_len;
void (*volatile host_putc_hook)(uint8_t byte);
static enum host_clock clock_mode = HOST_CLOCK_RDTSC;
static uint64_t clock_value;

struct trace_ring *host_ring_new(unsigned cpu, uint32_t nslots)
{
	struct trace_ring *ring = calloc(1, TRACE_RING_BYTES(nslots));
	if (!ring || !trace_ring_init(ring, cpu, nslots)) {
		fprintf(stderr, "host_ring_new: cannot make a ring of %u slots\n", nslots);
		exit(2);
	}
	return ring;
}

void host_set_rings(struct trace_ring *const *r, unsigned n)
{
	for (unsigned i = 0; i < n && i < HOST_MAX_CPUS; i++)
		rings[i] = r[i];
	__atomic_store_n(&nrings, n < HOST_MAX_CPUS ? n : HOST_MAX_CPUS, __ATOMIC_RELEASE);
}

void host_set_current_ring(struct trace_ring *ring)
{
	current_ring = ring;
}

void host_serial_reset(size_t cap)
{
	free(serial_buf);
	serial_buf = malloc(cap ? cap : 1);
	if (!serial_buf) {
		fprintf(stderr, "host_serial_reset: out of memory for %zu bytes\n", cap);
		exit(2);
	}
	serial_cap = cap;
	__atomic_store_n(&serial_len, 0, __ATOMIC_RELEASE);
}

const uint8_t *host_serial_data(size_t *len, size_t *overflow)
{
	size_t n = __atomic_load_n(&serial_len, __ATOMIC_ACQUIRE);
	*len = n < serial_cap ? n : serial_cap;
	if (overflow)
		*overflow = n - *len;
	return serial_buf;
}

void host_clock(enum host_clock mode, uint64_t value)
{
	clock_mode = mode;
	__atomic_store_n(&clock_value, value, __ATOMIC_RELAXED);
}

struct trace_ring *trace_this_cpu_ring(void)
{
	return current_ring;
}

uint64_t trace_now(void)
{
	switch (clock_mode) {
	case HOST_CLOCK_COUNTER:
		return __atomic_add_fetch(&clock_value, 1, __ATOMIC_RELAXED);
	case HOST_CLOCK_SET:
		return __atomic_load_n(&clock_value, __ATOMIC_RELAXED);
	default:
		return __rdtsc();
	}
}

/* Byte by byte, like the UART: the stuck-drainer tests stop a drain mid-frame. */
void trace_out_write(const uint8_t *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		void (*hook)(uint8_t) = host_putc_hook;
		if (hook)
			hook(p[k]);
		/* Atomic append: after a panic steal two drainers may write at once, like a real UART. */
		size_t i = __atomic_fetch_add(&serial_len, 1, __ATOMIC_ACQ_REL);
		if (i < serial_cap)
			serial_buf[i] = p[k];
	}
}

unsigned trace_ncpus(void)
{
	return __atomic_load_n(&nrings, __ATOMIC_ACQUIRE);
}

struct trace_ring *trace_ring_of(unsigned cpu)
{
	return cpu < HOST_MAX_CPUS ? rings[cpu] : NULL;
}
