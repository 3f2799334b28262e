/*
 * An AP's start.  The SIPI starts it in real mode at TRAMPOLINE_PA (vector 7:
 * CS = 0x0700, IP = 0); smp.c copies [tramp_start, tramp_end) there.  The code
 * is position independent (DS = CS, offsets from tramp_start) until the far
 * jump to ap_entry32, an absolute address in the kernel.
 */
#include "layout.h"

	.section .text, "ax"
	.code16
	.globl tramp_start, tramp_end
tramp_start:
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	lgdtl tramp_gdt_desc - tramp_start	/* 32-bit operand: the full 32-bit base */
	mov %cr0, %eax
	and $0x9fffffff, %eax			/* caches on (CD, NW clear: INIT leaves them set) */
	or $1, %eax				/* PE */
	mov %eax, %cr0
	ljmpl $0x08, $ap_entry32
	.balign 4
tramp_gdt_desc:
	.word 23
	.long gdt
tramp_end:

	.code32
ap_entry32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov $1, %eax
	lock xadd %eax, ap_next			/* this AP's index: 1, 2, ... */
	cmp $MAX_APS, %eax
	ja 2f
	mov %eax, %ecx
	inc %ecx
	shl $12, %ecx				/* 4 KiB each; index i's stack ends at (i + 1) * 4 KiB */
	add $ap_stacks, %ecx
	mov %ecx, %esp
	push %eax
	call ap_main
2:	cli
	hlt
	jmp 2b

	.data
	.balign 4
ap_next:
	.long 1

	.bss
	.balign 4096
ap_stacks:
	.fill (MAX_APS + 1) * 4096, 1, 0

	.section .note.GNU-stack, "", @progbits
