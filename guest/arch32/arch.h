/* What common code needs to know about the 32-bit (protected mode) guest. */
#ifndef GUEST_ARCH_H
#define GUEST_ARCH_H

#include <stdint.h>

/* The stack as vectors.S leaves it for the C handlers: PUSHAD image, then
 * the stub's vector and (real or dummy) error code, then what the CPU
 * pushed.  Same privilege level, so no ESP/SS in the hardware part. */
struct guest_frame {
	uint32_t edi, esi, ebp, esp_pushad, ebx, edx, ecx, eax;
	uint32_t vector, error_code;
	uint32_t ip, cs, flags;
};

static inline __attribute__((always_inline)) uintptr_t arch_stack_pointer(void)
{
	uintptr_t sp;

	__asm__ volatile("mov %%esp, %0" : "=r"(sp));
	return sp;
}

#endif
