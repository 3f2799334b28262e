/*
 * PAL code templates (64-bit), copied into a PAL region's first page by
 * guest/common/pal.c, so they must be position independent.  ABI (hv/hypapps/
 * pal.c): the parameter arrives in RBX, the result leaves in RAX; the PAL
 * returns by fetching an instruction outside its region (jump to 0).
 *
 * pal_compute: the data page (region + 4 KiB) holds secret (+0) and a call
 * counter (+8); result = (param * 3 + secret) ^ ++counter -- proves the PAL
 * sees, and keeps, its own data.
 * pal_peek: reads the address in RBX: outside the region, the hypervisor
 * aborts the PAL (RAX = PAL_ERR_ABORTED).
 */
	.text
	.code64
	.globl pal_compute_start, pal_compute_end, pal_peek_start, pal_peek_end, pal_call
pal_compute_start:
	lea pal_compute_start(%rip), %rsi
	add $4096, %rsi
	incq 8(%rsi)
	lea (%rbx,%rbx,2), %rax
	add (%rsi), %rax
	xor 8(%rsi), %rax
	xor %ecx, %ecx
	jmp *%rcx
pal_compute_end:

pal_peek_start:
	mov (%rbx), %rax
	xor %ecx, %ecx
	jmp *%rcx
pal_peek_end:

/* uintptr_t pal_call(uintptr_t entry, uintptr_t param): a plain call; the
 * PAL clobbers RCX, RSI, RDX (caller-saved) and RAX. */
pal_call:
	push %rbx
	mov %rsi, %rbx
	call *%rdi
	pop %rbx
	ret

	.section .note.GNU-stack, "", @progbits
