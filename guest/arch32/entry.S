/*
 * 32-bit guest entry.  The hypervisor starts every CPU here (contract in
 * guest/README.md): protected mode, flat segments, paging off, IF=0,
 * EAX = GUEST_MAGIC, EBX = CPU index, ECX = CPU count; ESP, GDTR and IDTR
 * undefined.  So: check the contract, own GDT, first CPU clears BSS, then a
 * per-CPU stack chosen by index, then C.
 */
#include "layout.h"
#include "segments.h"

	.section .text.entry, "ax"
	.code32
	.globl guest_entry
guest_entry:
	cli
	cld
	cmp guest_magic_expected, %eax
	jne bad_start
	cmp $GUEST_MAX_CPUS, %ebx
	jae bad_start

	lgdt gdt_descriptor
	ljmp $GUEST_CODE_SEL, $1f
1:	mov $GUEST_DATA_SEL, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	mov %ebx, %esi			/* CPU index, kept across rep stos */
	mov %ecx, %ebp			/* CPU count */

	/*
	 * Every CPU arrives here, in any order and possibly at once.  Only the
	 * first clears BSS: a later CPU clearing it would wipe counters and
	 * tables the others already use.  The rest wait without touching BSS.
	 * guest_init_state lives in .data, so it is 0 from the ELF image.
	 */
	mov $1, %edx
	xor %eax, %eax
	lock cmpxchg %edx, guest_init_state
	jne wait_for_init
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	rep stosb
	movl $2, guest_init_state	/* x86 stores are not reordered with older stores */
	jmp init_done
wait_for_init:
	pause
	cmpl $2, guest_init_state
	jne wait_for_init
init_done:

	lea 1(%esi), %eax
	shl $GUEST_STACK_SHIFT, %eax
	add $guest_stacks, %eax
	mov %eax, %esp
	sub $8, %esp			/* i386 psABI: 16-byte aligned at the call */
	push %ebp
	push %esi
	call guest_main
	ud2				/* guest_main does not return */

/* REPORT(GUEST_FAIL_BAD_START, cpu index, EAX seen), then stop. */
bad_start:
	mov %eax, %edx
	mov %ebx, %ecx
	mov guest_bad_start_call + 4, %ebx
	mov guest_bad_start_call, %eax
	vmmcall
2:	hlt
	jmp 2b

	.data
	.balign 4
guest_init_state:
	.long 0

	/* Accessed bits preset (0x9B/0x93) so the CPU never writes the table. */
	.balign 8
gdt:
	.quad 0
	.quad 0x00CF9B000000FFFF	/* GUEST_CODE_SEL: base 0, 4 GiB, 32-bit, ring 0 */
	.quad 0x00CF93000000FFFF	/* GUEST_DATA_SEL: base 0, 4 GiB, writable */
gdt_end:
gdt_descriptor:
	.word gdt_end - gdt - 1
	.long gdt

	/* Not in .bss: the first CPU clears BSS while the stacks are in use. */
	.section .guest_stacks, "aw", @nobits
	.balign GUEST_STACK_SIZE
	.globl guest_stacks
guest_stacks:
	.skip GUEST_MAX_CPUS * GUEST_STACK_SIZE

	.section .note.GNU-stack, "", @progbits
