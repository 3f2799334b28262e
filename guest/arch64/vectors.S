/*
 * 64-bit exception entry: the stubs (vector_stubs.h) and the common paths
 * that save the registers in struct guest_frame order and call C.
 * No IST for NMI (the gate's IST field is 0): a nested NMI -- the bug this
 * guest hunts -- would re-enter on the same IST stack and overwrite the
 * outer frame, while on the current stack it simply pushes below it and
 * both handlers return intact.
 */
#include "layout.h"
#include "vector_stubs.h"
#include <heisen/gpr_save64.h>	/* order of struct guest_frame */

	.code64

	ALL_STUBS

	/*
	 * Stack alignment: in 64-bit mode the CPU aligns RSP to 16 before
	 * pushing its 5-word frame; with error code, vector and 15 GPRs that is
	 * 22 words, so RSP is 16-byte aligned at the call, as the psABI wants.
	 */
	.text
/* The C handler may rewrite the frame's RIP (expected #GP), so IRETQ uses it. */
exception_common:
	push %rax
	PUSH_GPRS_BUT_RAX
	cld				/* the C ABI wants DF=0; the interrupted code may not */
	mov %rsp, %rdi
	call guest_exception
	POP_GPRS_BUT_RAX
	pop %rax
	add $16, %rsp			/* vector, error code */
	iretq

	.section .text.nmi, "ax"
nmi_common:
	push %rax
	PUSH_GPRS_BUT_RAX
	cld
	mov %rsp, %rdi
	call guest_nmi			/* RAX = in_nmi flag to clear, or 0 */
	POP_GPRS_BUT_RAX
	/* As late as possible: from here to the IRETQ, .text.nmi still
	 * marks an NMI as nested. */
	test %rax, %rax
	jz 1f
	movl $0, (%rax)
1:	pop %rax
	add $16, %rsp
	iretq

	STUB_TABLE .quad, 8

	.section .note.GNU-stack, "", @progbits
