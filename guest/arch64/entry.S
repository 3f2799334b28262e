/*
 * 64-bit guest entry.  The hypervisor starts every CPU here in 32-bit
 * protected mode (contract in guest/README.md, shared steps in entry_start.h).
 * This code checks the contract, loads its own GDT, lets the first CPU
 * clear BSS and build the page tables, then turns on long
 * mode the way AMD APM vol. 2, 14.6.1 orders it: PAE, CR3, EFER.LME, CR0.PG,
 * then a far jump to a 64-bit code segment.
 */
#include "layout.h"
#include "segments.h"
#include "entry_start.h"

#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define PTE_PRESENT 0x1
#define PTE_WRITE 0x2
#define PTE_LARGE 0x80			/* 2 MiB page in a PD entry */
#define PAGE_2M 0x200000
#define PD_ENTRIES_4G 2048		/* 4 GiB / 2 MiB */

	.section .text.entry, "ax"
	.code32
	.globl guest_entry
guest_entry:
	START_CONTRACT GUEST_CODE32_SEL
	FIRST_CPU_BEGIN
	/*
	 * Identity map of the low 4 GiB with 2 MiB pages: PML4[0] -> PDPT,
	 * PDPT[0..3] -> four PDs.  Covers the guest image and the LAPIC at
	 * 0xFEE00000 (MMIO stays uncached through the firmware's MTRRs).  The
	 * high halves of the entries are already 0 from the BSS clear.  Inline,
	 * not a call: there is no stack yet.
	 */
	mov $guest_pdpt + (PTE_PRESENT | PTE_WRITE), %eax
	mov %eax, guest_pml4

	mov $guest_pd + (PTE_PRESENT | PTE_WRITE), %eax
	mov $guest_pdpt, %edi
	mov $4, %ecx
2:	mov %eax, (%edi)
	add $4096, %eax
	add $8, %edi
	loop 2b

	mov $(PTE_PRESENT | PTE_WRITE | PTE_LARGE), %eax
	mov $guest_pd, %edi
	mov $PD_ENTRIES_4G, %ecx
3:	mov %eax, (%edi)
	add $PAGE_2M, %eax
	add $8, %edi
	loop 3b

	FIRST_CPU_END

	mov $guest_pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov $MSR_EFER, %ecx		/* intercepted by the hypervisor, which keeps SVME hidden */
	rdmsr
	or $EFER_LME, %eax
	wrmsr
	mov %cr0, %eax
	or $CR0_PG, %eax
	mov %eax, %cr0			/* EFER.LMA is set now; still 32-bit code until the jump */
	ljmp $GUEST_CODE_SEL, $long_mode

	BAD_START

	.code64
long_mode:
	mov $GUEST_DATA_SEL, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	/* 32-bit writes zero-extend only in 64-bit mode; the upper halves
	 * written in protected mode are undefined, so redo them here. */
	mov %esi, %edi			/* arg 1: CPU index */
	mov %ebp, %esi			/* arg 2: CPU count */
	lea 1(%rdi), %rax
	shl $GUEST_STACK_SHIFT, %rax
	add $guest_stacks, %rax
	mov %rax, %rsp			/* 16-byte aligned: the call leaves it at 8 mod 16, as the ABI wants */
	xor %ebp, %ebp
	call guest_main
	ud2				/* guest_main does not return */

	/* Accessed bits preset (0x9B/0x93) so the CPU never writes the table.
	 * Alone on its page: the delivery suite takes the page away from the
	 * guest and expects only the CPU's delivery (the gate's CS) to read it. */
	.section .data.gdt_page, "aw"
	.balign 4096
	.globl guest_gdt_page
guest_gdt_page:
gdt:
	.quad 0
	.quad 0x00CF9B000000FFFF	/* GUEST_CODE32_SEL: 4 GiB, 32-bit, ring 0 */
	.quad 0x00CF93000000FFFF	/* GUEST_DATA_SEL: 4 GiB, writable */
	.quad 0x00AF9B000000FFFF	/* GUEST_CODE_SEL: 64-bit (L=1, D=0), ring 0 */
gdt_end:
	.balign 4096, 0
	.data
gdt_descriptor:
	.word gdt_end - gdt - 1
	.long gdt			/* 6-byte form: loaded in 32-bit mode, base < 4 GiB */

	.bss
	.balign 4096
guest_pml4:
	.skip 4096
guest_pdpt:
	.skip 4096
guest_pd:
	.skip 4 * 4096

	INIT_STATE_AND_STACKS

	.section .note.GNU-stack, "", @progbits
