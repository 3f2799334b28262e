#ifndef HV_TRAP_H
#define HV_TRAP_H
#include "core/types.h"

/* Layout pushed by hv/core/idt_stubs.S, lowest address first. */
struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, errcode;
	u64 rip, cs, rflags, rsp, ss;
};

void host_trap(struct trap_frame *f);
/* Host NMI (vector 2), hv/core/nmi_host.c. */
void host_nmi(struct trap_frame *f);
#endif
