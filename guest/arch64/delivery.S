/*
 * void dt_trigger(uintptr_t kind, uintptr_t stack_top, uintptr_t a, uintptr_t b)
 * (wl_delivery.c): switch to the test stack, raise one event, switch back.
 * In assembly so that nothing between the switch and the event touches the
 * stack page the suite may have taken away: the first access to it must be
 * the CPU's own push during delivery.
 */
#include "layout.h"
#include <heisen/defs.h>

	.text
	.code64
	.globl dt_trigger, dt_gp_insn, dt_store_insn, dt_recover, dt_shadow_insn, dt_sti_shadow_insn
dt_trigger:
	push %rbx
	push %rbp
	mov %rsp, %rbp
	mov %rsi, %rsp
	cmp $DT_KIND_INT, %rdi
	je 1f
	cmp $DT_KIND_GP, %rdi
	je 2f
	cmp $DT_KIND_STORE, %rdi
	je 3f
	cmp $DT_KIND_SHADOW_LOAD, %rdi
	je 4f
	cmp $DT_KIND_STI_LOAD, %rdi
	je 5f
	cmp $DT_KIND_STI_WINDOW, %rdi
	je 6f
	mov %rdx, %rax			/* DT_KIND_VMMCALL: RAX = a, RBX = b, RCX = 0 */
	mov %rcx, %rbx
	xor %ecx, %ecx
	vmmcall
	jmp dt_recover
1:	int $DELIVERY_TEST_VECTOR
	jmp dt_recover
2:	mov $DELIVERY_GP_SELECTOR, %eax
dt_gp_insn:
	mov %ax, %ds
	jmp dt_recover
3:	xor %eax, %eax
dt_store_insn:
	movl %eax, (%rdx)
	jmp dt_recover
6:	sti				/* a pending interrupt is taken after the first NOP */
	nop
	nop
	cli
	jmp dt_recover
5:	sti				/* interrupts after the next instruction; NMIs may be held too (SDM vol. 2, STI) */
dt_sti_shadow_insn:
	movl (%rdx), %eax
	cli
	jmp dt_recover
4:	mov %ss, %eax
	mov %ax, %ss			/* no interrupt, no NMI until after the next instruction */
dt_shadow_insn:
	movl (%rdx), %eax
dt_recover:				/* the #GP/#PF handler resumes here */
	mov %rbp, %rsp
	pop %rbp
	pop %rbx
	ret

	.section .note.GNU-stack, "", @progbits
