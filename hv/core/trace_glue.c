/*
 * The hypervisor side of trace/ (trace/trace_platform.h): where the rings
 * live, how a CPU finds its own, the clock and the serial port.
 *
 * `trace_rings` is one array in hypervisor memory (hidden from the guest by
 * the nested page table) so that the harness can pmemsave it by symbol from
 * a hung machine and recover records that never reached the serial port.
 */
#include "core/trace_glue.h"
#include "core/percpu.h"
#include "core/serial.h"
#include "core/x86.h"
#include "ring.h"
#include "trace_platform.h"
#include "drain.h"

#define TRACE_NSLOTS 4096

u8 trace_rings[HV_MAX_CPUS][TRACE_RING_BYTES(TRACE_NSLOTS)] __aligned(64);
static u32 rings_ready[HV_MAX_CPUS];

void trace_init_cpu(unsigned cpu)
{
	trace_ring_init((struct trace_ring *)trace_rings[cpu], cpu, TRACE_NSLOTS);
	__atomic_store_n(&rings_ready[cpu], 1, __ATOMIC_RELEASE);
}

/* O(1) from any context, NMI included: this_cpu() masks RSP. */
struct trace_ring *trace_this_cpu_ring(void)
{
	return trace_ring_of(this_cpu()->index);
}

struct trace_ring *trace_ring_of(unsigned cpu)
{
	if (cpu >= HV_MAX_CPUS || !__atomic_load_n(&rings_ready[cpu], __ATOMIC_ACQUIRE))
		return NULL;
	return (struct trace_ring *)trace_rings[cpu];
}

unsigned trace_ncpus(void) { return HV_MAX_CPUS; }
uint64_t trace_now(void) { return rdtsc(); }
void trace_serial_putc(uint8_t byte) { serial_putc(byte); }

void trace_drain_point(void) { trace_drain(); }

/* Called from an exit handler (GIF=1, never in NMI context): drain until
 * this CPU's ring is empty, so that what it emits next (the verdict) is not
 * dropped by a ring the serial port could not keep up with.  Bounded: after
 * the bound a record may still be dropped, and is then counted as LOST. */
void trace_make_room(void)
{
	struct trace_ring *r = trace_this_cpu_ring();
	for (u32 i = 0; r && i < 1000000; i++) {
		if (__atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) == __atomic_load_n(&r->commit, __ATOMIC_ACQUIRE))
			return;
		trace_drain();
		cpu_relax();
	}
}
void trace_flush_all(void) { trace_drain_panic(); }
