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

/* uint32_t guest_peek(const volatile uint32_t *addr, uint32_t *faulted) -- see poke.h. */
	.text
	.globl guest_peek, guest_peek_insn, guest_peek_recover
guest_peek:
	movl $0, (%rsi)
guest_peek_insn:
	movl (%rdi), %eax		/* the hypervisor refuses this with a #GP */
	ret
guest_peek_recover:
	movl $1, (%rsi)
	xor %eax, %eax
	ret

	.section .note.GNU-stack, "", @progbits
