/* int guest_poke(volatile uint32_t *addr, uint32_t value) -- see poke.h. */
	.text
	.code64
	.globl guest_poke, guest_poke_insn, guest_poke_recover
guest_poke:
	xor %eax, %eax
guest_poke_insn:
	movl %esi, (%rdi)		/* the hypervisor refuses this with a #GP */
	ret
guest_poke_recover:			/* the #GP handler resumes here; IRETQ restored RSP */
	mov $1, %eax
	ret

	.section .note.GNU-stack, "", @progbits
