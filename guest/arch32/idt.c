/* The 32-bit IDT: 32 interrupt gates, shared by every CPU. */
#include <stdint.h>
#include "idt.h"
#include "layout.h"
#include "once.h"
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
			.type = GATE_INTERRUPT32,
			.offset_high = (uint16_t)(stub >> 16),
		};
	}
}

void idt_install(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uintptr_t)idt };

	run_once(&idt_state, idt_build);
	__asm__ volatile("lidt %0" : : "m"(idtr));
}
