/*
 * IDT stubs.  The NMI (vector 2) is counted and returned from; every other
 * exception is a failure of the kernel: exception_fail(vector, error, eip).
 */
#include "layout.h"

	.section .text, "ax"
	.code32
	.globl nmi_stub
nmi_stub:
	lock incl nmi_count
	iret


	.macro stub v
	.globl exc_stub_\v
exc_stub_\v:
	.if !((\v == 8) || ((\v >= 10) && (\v <= 14)) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30))
	push $0
	.endif
	push $\v
	jmp exc_common
	.endm

	.irp v, 0,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	stub \v
	.endr

exc_common:				/* stack: vector, error, eip, cs, eflags */
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	pushl 8(%esp)			/* eip */
	pushl 8(%esp)			/* error (moved up by the push) */
	pushl 8(%esp)			/* vector */
	call exception_fail
	ud2

	.section .rodata
	.balign 4
	.globl exc_stubs
exc_stubs:
	.long exc_stub_0, exc_stub_1, nmi_stub, exc_stub_3, exc_stub_4, exc_stub_5, exc_stub_6, exc_stub_7
	.long exc_stub_8, exc_stub_9, exc_stub_10, exc_stub_11, exc_stub_12, exc_stub_13, exc_stub_14, exc_stub_15
	.long exc_stub_16, exc_stub_17, exc_stub_18, exc_stub_19, exc_stub_20, exc_stub_21, exc_stub_22, exc_stub_23
	.long exc_stub_24, exc_stub_25, exc_stub_26, exc_stub_27, exc_stub_28, exc_stub_29, exc_stub_30, exc_stub_31

	.section .note.GNU-stack, "", @progbits
