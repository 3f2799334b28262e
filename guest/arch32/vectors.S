/*
 * 32-bit exception entry: the stubs (vector_stubs.h) and the common paths
 * that save the registers in struct guest_frame order and call C.
 */
#include "layout.h"
#include "vector_stubs.h"

	.code32

	ALL_STUBS

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

	STUB_TABLE .long, 4

	.section .note.GNU-stack, "", @progbits
