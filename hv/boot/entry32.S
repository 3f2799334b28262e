/*
 * Multiboot entry: QEMU's -kernel loads us (an ELF32 copy of the ELF64 image)
 * and jumps here in 32-bit protected mode, paging off, EAX = 0x2BADB002,
 * EBX = multiboot info.  We build an identity map of the low 4 GiB with 2 MiB
 * pages (the hypervisor, the LAPIC at 0xFEE00000 and all guest RAM are then
 * reachable at their physical addresses), enter long mode and call hv_main on
 * CPU 0's per-CPU stack.  APs come through ap_pm32 below after the real-mode
 * trampoline (ap_trampoline.S) and reuse the same tables.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003	/* page-align modules, give memory info */
#define PERCPU_SIZE 0x10000

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text.boot32, "ax"
	.code32
	.globl hv_entry32
hv_entry32:
	cli
	cld
	/* Mask LINT1 (firmware made it NMI on the BSP) until our IDT exists:
	 * an NMI before that would triple-fault the machine.  NMIs injected
	 * that early are lost; hv_main unmasks as soon as it can
	 * (lapic_init_this_cpu).  APs come out of INIT with LINT1 masked. */
	movl $0x10400, 0xFEE00360
	mov %eax, %esi			/* keep magic and info across the bss clear */
	mov %ebx, %ebp
	mov $__bss_start, %edi
	mov $_hv_end, %ecx
	sub %edi, %ecx
	shr $2, %ecx
	xor %eax, %eax
	rep stosl
	mov %esi, mb_magic
	mov %ebp, mb_info

	/* PML4[0] -> PDPT; PDPT[0..3] -> PD0..3; PD entries: 2 MiB pages. */
	mov $boot_pdpt, %eax
	or $0x3, %eax
	mov %eax, boot_pml4
	xor %ecx, %ecx
1:	mov %ecx, %eax
	shl $12, %eax
	add $boot_pd, %eax
	or $0x3, %eax
	mov %eax, boot_pdpt(,%ecx,8)
	inc %ecx
	cmp $4, %ecx
	jne 1b
	xor %ecx, %ecx
2:	mov %ecx, %eax
	shl $21, %eax
	or $0x83, %eax			/* present, writable, 2 MiB */
	mov %eax, boot_pd(,%ecx,8)
	mov %ecx, %eax
	shr $11, %eax			/* high dword: bits 32+ of the address */
	mov %eax, boot_pd+4(,%ecx,8)
	inc %ecx
	cmp $2048, %ecx
	jne 2b

	/* Our own GDT before any segment load: the multiboot spec leaves the
	 * loader's GDT undefined, and it differs (QEMU's -kernel: 0x10 is data;
	 * GRUB, the Bochs path: 0x10 is code, so MOV SS faults). */
	lgdt boot_gdt_ptr
	ljmp $0x18, $ap_pm32

	.globl ap_pm32
ap_pm32:				/* APs join here from the trampoline */
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $boot_pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov $0xC0000080, %ecx
	rdmsr
	or $0x100, %eax			/* EFER.LME */
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax		/* PG | PE */
	and $0x9FFFFFFF, %eax		/* CD=NW=0 */
	mov %eax, %cr0
	lgdt boot_gdt_ptr
	ljmp $0x08, $entry64

	.code64
entry64:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %eax, %eax
	mov %ax, %fs
	mov %ax, %gs
	/* The BSP runs on CPU 0's per-CPU stack; an AP on the stack its
	 * bring-up published in ap_boot_rsp (hv/core/smp.c). */
	mov ap_boot_rsp, %rsp
	test %rsp, %rsp
	jnz 3f
	mov $percpu_area + PERCPU_SIZE, %rsp
	xor %ebp, %ebp
	mov mb_magic, %edi
	mov mb_info, %esi
	call hv_main
	jmp 4f
3:	xor %ebp, %ebp
	call ap_main
4:	cli
	hlt
	jmp 4b

	.section .rodata
	.align 16
	.globl boot_gdt
boot_gdt:
	.quad 0
	.quad 0x00AF9A000000FFFF	/* 0x08: 64-bit code */
	.quad 0x00CF92000000FFFF	/* 0x10: flat data */
	.quad 0x00CF9A000000FFFF	/* 0x18: 32-bit code (AP trampoline) */
boot_gdt_end:
	.globl boot_gdt_ptr
boot_gdt_ptr:
	.word boot_gdt_end - boot_gdt - 1
	.quad boot_gdt

	.section .bss
	.align 4096
	.globl boot_pml4
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4096 * 4
	.align 8
	.globl mb_magic, mb_info, ap_boot_rsp
mb_magic:	.skip 8
mb_info:	.skip 8
ap_boot_rsp:	.skip 8
