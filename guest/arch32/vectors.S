/*
 * 32-bit exception stubs.  Each pushes a dummy error code where the CPU does
 * not push one, then its vector, so struct guest_frame (arch.h) fits all.
 * The NMI stub lives in .text.nmi: nmi.c counts any NMI that interrupts
 * that section as nested.
 */
#include "layout.h"

	.code32

	.macro STUB vec
	.if \vec == GUEST_VECTOR_NMI
	.section .text.nmi, "ax"
	.else
	.text
	.endif
vector_\vec:
	.if ((GUEST_ERRCODE_VECTORS >> \vec) & 1) == 0
	push $0
	.endif
	push $\vec
	.if \vec == GUEST_VECTOR_NMI
	jmp nmi_common
	.else
	jmp exception_common
	.endif
	.endm

	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	STUB \vec
	.endr

	.text
/* The C handler may rewrite the frame's EIP (expected #GP), so IRET uses it. */
exception_common:
	pushal
	cld				/* the C ABI wants DF=0; the interrupted code may not */
	mov %esp, %ebp
	and $-16, %esp
	sub $12, %esp
	push %ebp
	call guest_exception
	mov %ebp, %esp
	popal
	add $8, %esp			/* vector, error code */
	iret

	.section .text.nmi, "ax"
nmi_common:
	pushal
	cld
	mov %esp, %ebp
	and $-16, %esp
	sub $12, %esp
	push %ebp
	call guest_nmi			/* EAX = in_nmi flag to clear, or 0 */
	mov %ebp, %esp
	pop %edi
	pop %esi
	pop %ebp
	add $4, %esp			/* PUSHAD's ESP image */
	pop %ebx
	pop %edx
	pop %ecx
	/* As late as possible: from here to the IRET, .text.nmi still
	 * marks an NMI as nested. */
	test %eax, %eax
	jz 1f
	movl $0, (%eax)
1:	pop %eax
	add $8, %esp
	iret

	.section .rodata
	.balign 4
	.globl guest_vector_stubs
guest_vector_stubs:
	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.long vector_\vec
	.endr

	.section .note.GNU-stack, "", @progbits
