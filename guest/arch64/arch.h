/* What common code needs to know about the 64-bit (long mode) guest. */
#ifndef GUEST_ARCH_H
#define GUEST_ARCH_H

#include <stdint.h>

/* The stack as vectors.S leaves it for the C handlers: the GPRs, the stub's
 * vector and (real or dummy) error code, then what the CPU pushed (64-bit
 * mode always pushes RSP and SS). */
struct guest_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t ip, cs, flags, sp, ss;
};

static inline __attribute__((always_inline)) uintptr_t arch_stack_pointer(void)
{
	uintptr_t sp;

	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	return sp;
}

#endif
