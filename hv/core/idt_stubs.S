/*
 * Host IDT entry stubs for vectors 0..31.  Each pushes a dummy error code
 * where the CPU pushes none, then the vector, saves every GPR and calls
 * host_trap(frame).  NMI (2), #DF (8) and #MC (18) run on their own IST
 * stacks (hv/core/cpu_init.c), so an NMI landing anywhere -- even on a
 * stack whose red zone a leaf function is using, see hv/hv.mk -- gets a
 * known-good stack inside this CPU's per-CPU block (this_cpu() still works).
 */
#include <heisen/gpr_save64.h>	/* order of struct trap_frame */

	.text
	.code64

.macro STUB vec, has_err
	.globl trap_stub_\vec
trap_stub_\vec:
	.if \has_err == 0
	pushq $0
	.endif
	pushq $\vec
	jmp trap_common
.endm

STUB 0,0;  STUB 1,0;  STUB 2,0;  STUB 3,0;  STUB 4,0;  STUB 5,0;  STUB 6,0;  STUB 7,0
STUB 8,1;  STUB 9,0;  STUB 10,1; STUB 11,1; STUB 12,1; STUB 13,1; STUB 14,1; STUB 15,0
STUB 16,0; STUB 17,1; STUB 18,0; STUB 19,0; STUB 20,0; STUB 21,1; STUB 22,0; STUB 23,0
STUB 24,0; STUB 25,0; STUB 26,0; STUB 27,0; STUB 28,0; STUB 29,1; STUB 30,1; STUB 31,0

trap_common:
	push %rax
	PUSH_GPRS_BUT_RAX
	mov %rsp, %rdi
	cld
	call host_trap
	POP_GPRS_BUT_RAX
	pop %rax
	add $16, %rsp		/* vector, error code */
	iretq

/*
 * Vectors 32..255.  The only interrupt the hypervisor ever enables is its
 * own LAPIC timer, which wakes a CPU from the seeded yield of deterministic
 * mode (hv/core/chaos.c): acknowledge it and return.
 */
	.globl wakeup_stub
wakeup_stub:
	push %rax
	mov $0xfee000b0, %rax		/* LAPIC EOI */
	movl $0, (%rax)
	pop %rax
	iretq

	.section .rodata
	.align 8
	.globl trap_stub_table
trap_stub_table:
	.irp v,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad trap_stub_\v
	.endr
