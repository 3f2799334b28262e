/* The 64-bit IDT: 32 interrupt gates, shared by every CPU. */
#include <stdint.h>
#include "idt.h"
#include "layout.h"
#include "once.h"
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

extern const uintptr_t guest_vector_stubs[GUEST_NUM_VECTORS];

static struct idt_gate idt[GUEST_NUM_VECTORS];
static volatile uint32_t idt_state;

static void idt_build(void)
{
	unsigned v;

	for (v = 0; v < GUEST_NUM_VECTORS; v++) {
		uintptr_t stub = guest_vector_stubs[v];

		idt[v] = (struct idt_gate){
			.offset_low = (uint16_t)stub,
			.selector = GUEST_CODE_SEL,
			.type = GATE_INTERRUPT64,
			.offset_mid = (uint16_t)(stub >> 16),
			.offset_high = (uint32_t)(stub >> 32),
		};
	}
}

void idt_install(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uintptr_t)idt };

	run_once(&idt_state, idt_build);
	__asm__ volatile("lidt %0" : : "m"(idtr));
}
