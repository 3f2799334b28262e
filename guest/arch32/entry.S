/*
 * 32-bit guest entry.  The hypervisor starts every CPU here (contract in
 * guest/README.md, steps in entry_start.h): check the contract, own GDT, first
 * CPU clears BSS, then a per-CPU stack chosen by index, then C.
 */
#include "layout.h"
#include "segments.h"
#include "entry_start.h"

	.section .text.entry, "ax"
	.code32
	.globl guest_entry
guest_entry:
	START_CONTRACT GUEST_CODE_SEL
	FIRST_CPU_BEGIN
	FIRST_CPU_END

	lea 1(%esi), %eax
	shl $GUEST_STACK_SHIFT, %eax
	add $guest_stacks, %eax
	mov %eax, %esp
	sub $8, %esp			/* i386 psABI: 16-byte aligned at the call */
	push %ebp
	push %esi
	call guest_main
	ud2				/* guest_main does not return */

	BAD_START

	/* Accessed bits preset (0x9B/0x93) so the CPU never writes the table.
	 * Alone on its page: the delivery suite takes the page away from the
	 * guest and expects only the CPU's delivery (the gate's CS) to read it. */
	.section .data.gdt_page, "aw"
	.balign 4096
	.globl guest_gdt_page
guest_gdt_page:
gdt:
	.quad 0
	.quad 0x00CF9B000000FFFF	/* GUEST_CODE_SEL: base 0, 4 GiB, 32-bit, ring 0 */
	.quad 0x00CF93000000FFFF	/* GUEST_DATA_SEL: base 0, 4 GiB, writable */
gdt_end:
	.balign 4096, 0
	.data
gdt_descriptor:
	.word gdt_end - gdt - 1
	.long gdt

	INIT_STATE_AND_STACKS

	.section .note.GNU-stack, "", @progbits
