/*
 * The steps of the start contract (guest/README.md) both guest entries take, as
 * assembler macros for guest/arch{32,64}/entry.S.  Both start in 32-bit protected mode
 * with EAX = GUEST_MAGIC, EBX = CPU index, ECX = CPU count, and ESP, GDTR and IDTR
 * undefined; the 64-bit entry adds its page tables between FIRST_CPU_BEGIN and
 * FIRST_CPU_END and turns on long mode after them.  Each entry.S defines gdt_descriptor
 * (its own GDT: the 64-bit one has a second code segment).
 */
#ifndef GUEST_ENTRY_START_H
#define GUEST_ENTRY_START_H

/* Check the contract, load our GDT and flat data segments; CPU index -> ESI, count -> EBP. */
.macro START_CONTRACT code32_sel
	cli
	cld
	cmp guest_magic_expected, %eax
	jne bad_start
	cmp $GUEST_MAX_CPUS, %ebx
	jae bad_start

	lgdt gdt_descriptor
	ljmp $\code32_sel, $1f
1:	mov $GUEST_DATA_SEL, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	mov %ebx, %esi			/* CPU index, kept across rep stos */
	mov %ecx, %ebp			/* CPU count */
.endm

/*
 * Every CPU arrives here, in any order and possibly at once.  Only the first clears
 * BSS (a later CPU would wipe counters and tables the others already use) and does
 * what the entry puts between these two macros; the rest wait at FIRST_CPU_END without
 * touching BSS.  guest_init_state lives in .data, so it is 0 from the ELF image.
 */
.macro FIRST_CPU_BEGIN
	mov $1, %edx
	xor %eax, %eax
	lock cmpxchg %edx, guest_init_state
	jne wait_for_init
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	rep stosb
.endm

.macro FIRST_CPU_END
	movl $2, guest_init_state	/* x86 stores are not reordered with older stores */
	jmp init_done
wait_for_init:
	pause
	cmpl $2, guest_init_state
	jne wait_for_init
init_done:
.endm

/* REPORT(GUEST_FAIL_BAD_START, cpu index, EAX seen), then stop.  32-bit code. */
.macro BAD_START
bad_start:
	mov %eax, %edx
	mov %ebx, %ecx
	mov guest_bad_start_call + 4, %ebx
	mov guest_bad_start_call, %eax
	vmmcall
9:	hlt
	jmp 9b
.endm

/* The init flag, and the per-CPU stacks (not in .bss: the first CPU clears BSS while
 * the others' stacks may be in use). */
.macro INIT_STATE_AND_STACKS
	.data
	.balign 4
guest_init_state:
	.long 0

	.section .guest_stacks, "aw", @nobits
	.balign GUEST_STACK_SIZE
	.globl guest_stacks
guest_stacks:
	.skip GUEST_MAX_CPUS * GUEST_STACK_SIZE
.endm

#endif
