/*
 * The kernel's IDT: 32 exception gates, vector 2 the NMI counter.  Loading it
 * is, for the hypervisor, this CPU saying "my NMI handler is in"
 * (hv/core/nmi_virt.c, own_idt_holds_nmi); before it an NMI is held.
 */
#include "kernel.h"

extern const uint32_t exc_stubs[IDT_VECTORS];
volatile uint32_t nmi_count;

static uint64_t idt[IDT_VECTORS] __attribute__((aligned(8)));
static struct {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed)) idt_desc;

void idt_load(void)
{
	if (!idt_desc.limit) {		/* the BSP builds it, before any AP runs */
		for (int v = 0; v < IDT_VECTORS; v++) {
			uint32_t h = exc_stubs[v];
			/* 32-bit interrupt gate, present, DPL 0, selector 0x08 */
			idt[v] = (h & 0xffffu) | (0x08ull << 16) | (0x8e00ull << 32) |
				 ((uint64_t)(h >> 16) << 48);
		}
		idt_desc.base = (uint32_t)idt;
		idt_desc.limit = sizeof(idt) - 1;
	}
	__asm__ __volatile__("lidt %0" :: "m"(idt_desc));
}

void exception_fail(uint32_t vector, uint32_t error, uint32_t eip)
{
	kprintf("exception %u (error %x) at eip %x on APIC %u\n", vector, error, eip, lapic_id());
	fail("an exception", vector, eip);
}

/* An NMI to this CPU through the ICR's self shorthand. */
void send_self_nmi(void)
{
	lapic_icr(0, 0x00040400u);	/* shorthand self, delivery mode NMI */
}
