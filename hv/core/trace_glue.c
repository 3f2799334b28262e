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
#include "core/cmdline.h"
#include "core/string.h"
#include "core/panic.h"
#include "ring.h"
#include "trace_platform.h"
#include "drain.h"
#include "memlog.h"

/* Slots per CPU ring and the memory log's MiB: hv/hv.mk's TRACE_SLOTS and
 * TRACE_MEMLOG_MB (bench-exit's recording row makes the rings big and the
 * log small). */
#ifndef TRACE_NSLOTS
#define TRACE_NSLOTS 4096
#endif
#ifndef TRACE_MEMLOG_MB
#define TRACE_MEMLOG_MB 16
#endif

u8 trace_rings[HV_MAX_CPUS][TRACE_RING_BYTES(TRACE_NSLOTS)] __aligned(64);
const u64 trace_rings_size = sizeof(trace_rings);	/* hv/core/memory.c's regions */
static u32 rings_ready[HV_MAX_CPUS];

/* Frames of up to 64 records amortise the framing bytes (docs/trace-design.md);
 * a record waits at most ~1 ms of TSC for company, so a quiet CPU's last
 * words still reach the port promptly.  The verdict and panic paths drain
 * without waiting (trace_drain_all / trace_drain_panic). */
#define DRAIN_BATCH_RECORDS 48
#define DRAIN_BATCH_MAX_AGE_TSC 3000000ull

void trace_init_cpu(unsigned cpu)
{
	if (cpu == 0)
		trace_drain_set_batch(DRAIN_BATCH_RECORDS, DRAIN_BATCH_MAX_AGE_TSC);
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

/*
 * `trace=mem`: frames go to `trace_memlog_area` instead of the UART, and the harness
 * reads them from QEMU's shared RAM file by this symbol (harness/launch/memlog.py).  The
 * default 16 MiB holds ~2.8 M records at 6 bytes; beyond that frames are dropped and the decoder
 * reports their sequence gap.  In BSS (zeroed by the loader, which memlog.c relies
 * on) and so inside the hypervisor image the nested page table hides from the guest.
 */
#define MEMLOG_BYTES ((u32)TRACE_MEMLOG_MB << 20)
u8 trace_memlog_area[sizeof(struct trace_memlog) + MEMLOG_BYTES] __aligned(4096);
const u64 trace_memlog_size = sizeof(trace_memlog_area);	/* hv/core/memory.c's regions */
static struct trace_memlog *memlog;

/*
 * `trace=e9`: frames go to I/O port 0xE9 -- Bochs' port_e9_hack, QEMU's
 * -debugcon -- which hands each byte to the host at once.  Bochs' 16550 sends
 * at its baud rate in emulated time (11,520 bytes per emulated second,
 * docs/platform.md B8), which XMHF64's test 4 outruns for its whole run; the
 * 0xE9 device has no rate.  Only the drain owner (or the panic flush that stole
 * the drain) writes here, as for the UART.
 */
#define E9_PORT 0xe9
static bool to_e9;

static void e9_write(const uint8_t *p, size_t n)
{
	__asm__ __volatile__("rep outsb" : "+S"(p), "+c"(n) : "d"((u16)E9_PORT) : "memory");
}

void trace_out_write(const uint8_t *p, size_t n)
{
	if (memlog) {
		trace_memlog_append(memlog, p, n);
		return;
	}
	if (to_e9) {
		e9_write(p, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		serial_putc(p[i]);
}

/* `trace=record` on the command line: record into the rings but never stream
 * from the exit path; the verdict and panic paths drain, into the memory log
 * (trace=mem's transport), so no UART cost is in the run at all.  What a full
 * ring drops is counted in LOST records as always.  bench-exit uses it, with
 * rings that hold its whole run, to measure the cost of recording alone. */
static bool stream_from_exits = true;

void trace_set_mode(const struct hv_options *o)
{
	stream_from_exits = o->trace != TRACE_MODE_RECORD;
	if (o->trace == TRACE_MODE_E9) {
		/* Both devices read back 0xE9 (Bochs' hack, QEMU's debugcon by
		 * default); Bochs without the hack does not.  Without the device the
		 * frames would vanish: stop, while the panic still goes to COM1. */
		if (inb(E9_PORT) != E9_PORT)
			hv_panic(0, 0, 0, "trace=e9: no port 0xE9 device (Bochs port_e9_hack, QEMU -debugcon)");
		/* Bochs prints its banner and debugger lines on the stdout that the
		 * 0xE9 bytes share; text has no 0x00, so a delimiter first marks where
		 * the frames start (harness/launch/bochs.py splits there). */
		to_e9 = true;
		e9_write((const uint8_t *)"", 1);
		return;
	}
	if (o->trace != TRACE_MODE_STREAM) {
		if (!MEMLOG_BYTES)
			hv_panic(0, 0, 0, "trace=mem/record: this build has no memory log (TRACE_MEMLOG_MB=0)");
		trace_memlog_init((struct trace_memlog *)trace_memlog_area, MEMLOG_BYTES);
		memlog = (struct trace_memlog *)trace_memlog_area;
	}
}

void trace_drain_point(void)
{
	if (stream_from_exits)
		trace_drain();
}

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
		trace_drain_all();
		cpu_relax();
	}
}
void trace_flush_all(void) { trace_drain_panic(); }
