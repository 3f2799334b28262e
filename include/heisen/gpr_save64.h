/*
 * Saving the 64-bit GPRs around a call into C, for the hypervisor's host trap
 * entry (hv/core/idt_stubs.S) and the 64-bit guest's exception and NMI entries
 * (guest/arch64/vectors.S).  RAX is pushed first and on its own by each user
 * (the guest's NMI path returns a value in it), so after PUSH_GPRS_BUT_RAX the
 * frame is, from RSP up: r15 .. r8, rbp, rdi, rsi, rdx, rcx, rbx, rax -- the
 * order of struct trap_frame (hv/core/trap.h) and struct guest_frame
 * (guest/arch64/arch.h).  Assembler only.
 */
#ifndef HEISEN_GPR_SAVE64_H
#define HEISEN_GPR_SAVE64_H

.macro PUSH_GPRS_BUT_RAX
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
.endm

.macro POP_GPRS_BUT_RAX
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
.endm

#endif
