/*
 * The 33 entry stubs both guests share (the 32 exceptions and DELIVERY_TEST_VECTOR), as assembler macros for
 * guest/arch{32,64}/vectors.S.  Each stub pushes a dummy error code where the CPU does
 * not push one, then its vector, so struct guest_frame (arch.h) fits all, and jumps to
 * the arch's exception_common, or nmi_common for the NMI.  The NMI stub lives in
 * .text.nmi: nmi.c counts any NMI that interrupts that section as nested.
 */
#ifndef GUEST_VECTOR_STUBS_H
#define GUEST_VECTOR_STUBS_H

	.macro STUB vec
	.if \vec == GUEST_VECTOR_NMI
	.section .text.nmi, "ax"
	.else
	.text
	.endif
vector_\vec:
	.if \vec >= 32 || ((GUEST_ERRCODE_VECTORS >> (\vec & 31)) & 1) == 0
	push $0
	.endif
	push $\vec
	.if \vec == GUEST_VECTOR_NMI
	jmp nmi_common
	.else
	jmp exception_common
	.endif
	.endm

	.macro ALL_STUBS
	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32
	STUB \vec
	.endr
	.endm

/* guest_vector_stubs[]: the stubs' addresses for idt.c, `ptr` = .long or .quad. */
	.macro STUB_TABLE ptr, align
	.section .rodata
	.balign \align
	.globl guest_vector_stubs
guest_vector_stubs:
	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32
	\ptr vector_\vec
	.endr
	.endm

#endif
