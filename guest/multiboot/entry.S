/*
 * The BSP's entry, as the loader leaves it (Multiboot 0.6.96, 3.2): 32-bit
 * protected mode, EAX = 0x2BADB002, EBX = the multiboot information, ESP
 * undefined, GDTR and IDTR maybe invalid.  Note the state first (main.c prints
 * it), then a stack, our own GDT and flat segments, then C.
 */
	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	mov $bsp_stack_top, %esp	/* moves change no flag: EFLAGS is still the loader's */
	pushfl
	popl entry_state + 0		/* eflags */
	cli
	cld
	mov %cr0, %ecx
	mov %ecx, entry_state + 4	/* cr0 */
	movw %cs, entry_state + 8
	movw %ds, entry_state + 10
	movw %ss, entry_state + 12
	sgdt entry_state + 16		/* limit (2), base (4) */
	sidt entry_state + 22
	lgdt gdt_desc
	ljmp $0x08, $1f
1:	mov $0x10, %cx
	mov %cx, %ds
	mov %cx, %es
	mov %cx, %ss
	mov %cx, %fs
	mov %cx, %gs
	push %ebx			/* kmain(magic, mbi) */
	push %eax
	call kmain
	ud2

	.data
	.balign 8
	.globl gdt, gdt_desc
gdt:
	.quad 0
	.quad 0x00CF9B000000FFFF	/* 0x08: flat 32-bit code */
	.quad 0x00CF93000000FFFF	/* 0x10: flat data */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.globl entry_state
	.balign 4
entry_state:
	.fill 32, 1, 0

	.bss
	.balign 16
	.fill 16384, 1, 0
bsp_stack_top:

	.section .note.GNU-stack, "", @progbits
