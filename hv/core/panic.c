#include <heisen/defs.h>
#include "core/panic.h"
#include "core/log.h"
#include "core/x86.h"
#include "core/percpu.h"
#include "core/trace_glue.h"

void __noreturn machine_exit(u32 code)
{
	trace_flush_all();
	outl(DEBUG_EXIT_PORT, code);
	halt_forever();	/* not reached under QEMU with isa-debug-exit */
	__builtin_unreachable();
}

void __noreturn hv_panic(u64 code, u64 a, u64 rip, const char *why)
{
	hv_printf("PANIC cpu %u: %s (code %lx, %lx, rip %lx)\n", this_cpu()->index, why, code, a, rip);
	trace_panic(code, a, rip);
	machine_exit(DEBUG_EXIT_PANIC);
}
