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
