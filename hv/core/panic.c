#include <heisen/defs.h>
#include "core/panic.h"
#include "core/log.h"
#include "core/x86.h"
#include "core/percpu.h"
#include "core/trace_glue.h"
#include "core/serial.h"

void __noreturn machine_exit(u32 code)
{
	trace_flush_all();
	outl(DEBUG_EXIT_PORT, code);
	/* Not reached under QEMU (isa-debug-exit ended it).  Bochs has no such
	 * device: ACPI S5 ends it, and its exit status says nothing, so the
	 * harness judges the trace (harness/bochs.py). */
	serial_drain();
	outw(ACPI_PM1A_CNT_PORT, ACPI_PM1A_S5);
	halt_forever();
	__builtin_unreachable();
}

void __noreturn hv_panic(u64 code, u64 a, u64 rip, const char *why)
{
	hv_printf("PANIC cpu %u: %s (code %lx, %lx, rip %lx)\n", this_cpu()->index, why, code, a, rip);
	trace_panic(code, a, rip);
	machine_exit(DEBUG_EXIT_PANIC);
}
