/*
 * PAL code templates (32-bit); see guest/arch64/pal_template.S for the ABI.
 * No EIP-relative addressing in 32-bit mode: call/pop finds the code page.
 */
	.text
	.code32
	.globl pal_compute_start, pal_compute_end, pal_peek_start, pal_peek_end, pal_call
pal_compute_start:
	call 1f
1:	pop %esi
	and $~0xfff, %esi
	add $4096, %esi
	incl 8(%esi)
	lea (%ebx,%ebx,2), %eax
	add (%esi), %eax
	xor 8(%esi), %eax
	xor %ecx, %ecx
	jmp *%ecx
pal_compute_end:

pal_peek_start:
	mov (%ebx), %eax
	xor %ecx, %ecx
	jmp *%ecx
pal_peek_end:

/* uintptr_t pal_call(uintptr_t entry, uintptr_t param) (cdecl). */
pal_call:
	push %ebx
	push %esi
	mov 12(%esp), %eax
	mov 16(%esp), %ebx
	call *%eax
	pop %esi
	pop %ebx
	ret

	.section .note.GNU-stack, "", @progbits
