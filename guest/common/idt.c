/* The IDT: 33 interrupt gates, shared by every CPU; the gate format is the arch's (idt_gate.h). */
#include <stdint.h>
#include <heisen/defs.h>
#include "idt.h"
#include "idt_gate.h"
#include "layout.h"
#include "once.h"

extern const uintptr_t guest_vector_stubs[GUEST_NUM_VECTORS];

/* Alone on its page: the delivery suite takes this page away from the guest
 * (nested page fault) and expects only the CPU's delivery to touch it. */
static union {
	struct idt_gate gate[GUEST_NUM_VECTORS];
	char page[4096];
} idt_page __attribute__((aligned(4096)));
#define idt idt_page.gate

const void *guest_idt_page(void) { return &idt_page; }

_Static_assert(DELIVERY_TEST_VECTOR == GUEST_NUM_VECTORS - 1, "vector_stubs.h lists the vectors up to the test vector");
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
	} __attribute__((packed)) idtr = { sizeof(idt_page.gate) - 1, (uintptr_t)idt_page.gate };

	run_once(&idt_state, idt_build);
	__asm__ volatile("lidt %0" : : "m"(idtr));
}
