#ifndef HV_PANIC_H
#define HV_PANIC_H
#include "core/types.h"
/* Stop the machine: trace PANIC, flush the trace, exit QEMU with DEBUG_EXIT_PANIC. */
void __noreturn hv_panic(u64 code, u64 a, u64 rip, const char *why);
/* Leave QEMU through isa-debug-exit with `code` (defs/machine.toml). */
void __noreturn machine_exit(u32 code);
#endif
