/*
 * Real-mode start of an application processor.  hv/core/smp.c copies the
 * bytes between ap_tramp_start and ap_tramp_end to AP_TRAMPOLINE_PA (a page
 * below 1 MiB, as the SIPI vector demands: the AP starts at CS = vector << 8,
 * IP = 0).  It loads the boot GDT, enters protected mode and far-jumps to
 * ap_pm32 in the hypervisor image, which enables long mode like the BSP did.
 */
	.section .rodata
	.code16
	.globl ap_tramp_start, ap_tramp_end
ap_tramp_start:
	cli
	mov %cs, %ax
	mov %ax, %ds
	lgdtl (tramp_gdt_ptr - ap_tramp_start)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x18, $ap_pm32
	.align 8
tramp_gdt_ptr:
	.word 31
	.long boot_gdt
ap_tramp_end:
	.code64
