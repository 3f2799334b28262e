/* A 64-bit interrupt gate (AMD APM vol. 2 4.8.4); guest/common/idt.c builds the table. */
#ifndef GUEST_IDT_GATE_H
#define GUEST_IDT_GATE_H

#include <stdint.h>
#include "segments.h"

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;		/* 0 for every vector; see vectors.S for why not for NMI */
	uint8_t type;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));

/* Present, DPL 0, 64-bit interrupt gate (IF cleared on entry; it is 0 anyway). */
#define GATE_INTERRUPT64 0x8E

static inline struct idt_gate idt_gate_for(uintptr_t stub)
{
	return (struct idt_gate){
		.offset_low = (uint16_t)stub,
		.selector = GUEST_CODE_SEL,
		.type = GATE_INTERRUPT64,
		.offset_mid = (uint16_t)(stub >> 16),
		.offset_high = (uint32_t)((uint64_t)stub >> 32),
	};
}

#endif
