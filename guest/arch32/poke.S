/* int guest_poke(volatile uint32_t *addr, uint32_t value) -- see poke.h. */
	.text
	.code32
	.globl guest_poke, guest_poke_insn, guest_poke_recover
guest_poke:
	mov 4(%esp), %edx
	mov 8(%esp), %ecx
	xor %eax, %eax
guest_poke_insn:
	movl %ecx, (%edx)		/* the hypervisor refuses this with a #GP */
	ret
guest_poke_recover:			/* the #GP handler resumes here; ESP is as at the store */
	mov $1, %eax
	ret

	.section .note.GNU-stack, "", @progbits

/* uint32_t guest_peek(const volatile uint32_t *addr, uint32_t *faulted) -- see poke.h. */
	.text
	.globl guest_peek, guest_peek_insn, guest_peek_recover
guest_peek:
	mov 4(%esp), %edx
	mov 8(%esp), %ecx
	movl $0, (%ecx)
guest_peek_insn:
	movl (%edx), %eax		/* the hypervisor refuses this with a #GP */
	ret
guest_peek_recover:
	mov 8(%esp), %ecx
	movl $1, (%ecx)
	xor %eax, %eax
	ret

	.section .note.GNU-stack, "", @progbits
