/* A 32-bit interrupt gate (Intel SDM vol. 3 6.11); guest/common/idt.c builds the table. */
#ifndef GUEST_IDT_GATE_H
#define GUEST_IDT_GATE_H

#include <stdint.h>
#include "segments.h"

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t zero;
	uint8_t type;
	uint16_t offset_high;
} __attribute__((packed));

/* Present, DPL 0, 32-bit interrupt gate (IF cleared on entry; it is 0 anyway). */
#define GATE_INTERRUPT32 0x8E

static inline struct idt_gate idt_gate_for(uintptr_t stub)
{
	return (struct idt_gate){
		.offset_low = (uint16_t)stub,
		.selector = GUEST_CODE_SEL,
		.type = GATE_INTERRUPT32,
		.offset_high = (uint16_t)(stub >> 16),
	};
}

#endif
