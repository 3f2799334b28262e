/*
 * The xAPIC at its default address (paging is off: physical = linear), and a
 * delay that needs no calibrated timer: port 0x80 writes, about 1 us each on a
 * PC (under TCG much less; INIT and SIPI need no real delay there).
 */
#include "kernel.h"

#define LAPIC 0xfee00000u
#define LAPIC_ID 0x20
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_PENDING (1u << 12)

static volatile uint32_t *reg(uint32_t off) { return (volatile uint32_t *)(LAPIC + off); }

uint32_t lapic_id(void) { return *reg(LAPIC_ID) >> 24; }

void lapic_icr(uint32_t dest, uint32_t lo)
{
	*reg(LAPIC_ICR_HI) = dest << 24;
	*reg(LAPIC_ICR_LO) = lo;
	for (int i = 0; i < 1000000 && (*reg(LAPIC_ICR_LO) & ICR_PENDING); i++)
		cpu_relax();
}

void udelay(uint32_t us)
{
	while (us--)
		outb(0x80, 0);
}
