/*
 * Host exceptions.  The hypervisor expects none but NMI: any other vector is
 * a hypervisor bug, traced and reported as a panic with the faulting RIP.
 */
#include "core/trap.h"
#include "core/panic.h"
#include "core/x86.h"
#include <heisen/defs.h>

void host_trap(struct trap_frame *f)
{
	if (f->vector == 2) {
		host_nmi(f);
		return;
	}
	trace_exception_enter(f->vector, f->errcode, f->rip);
	u64 cr2;
	__asm__ __volatile__("mov %%cr2, %0" : "=r"(cr2));
	hv_panic(f->vector, f->vector == 14 ? cr2 : f->errcode, f->rip, "unexpected host exception");
}
