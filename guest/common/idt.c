/* The IDT: 32 interrupt gates, shared by every CPU; the gate format is the arch's (idt_gate.h). */
#include <stdint.h>
#include "idt.h"
#include "idt_gate.h"
#include "layout.h"
#include "once.h"

extern const uintptr_t guest_vector_stubs[GUEST_NUM_VECTORS];

static struct idt_gate idt[GUEST_NUM_VECTORS];
static volatile uint32_t idt_state;

static void idt_build(void)
{
	for (unsigned v = 0; v < GUEST_NUM_VECTORS; v++)
		idt[v] = idt_gate_for(guest_vector_stubs[v]);
}

void idt_install(void)
{
	struct {
		uint16_t limit;
		uintptr_t base;		/* 32 or 64 bits: the IDTR's base in this mode */
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uintptr_t)idt };

	run_once(&idt_state, idt_build);
	__asm__ volatile("lidt %0" : : "m"(idtr));
}
