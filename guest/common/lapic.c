/* Sending NMI IPIs through the memory-mapped xAPIC ICR (Intel SDM vol. 3, 10.6). */
#include "lapic.h"

#define LAPIC_BASE 0xFEE00000u		/* contract: identity-mapped in both guests */
#define LAPIC_ID 0x020
#define LAPIC_ICR_LOW 0x300		/* writing it sends the IPI */
#define LAPIC_ICR_HIGH 0x310		/* destination in bits 31:24 */

#define ICR_DELIVERY_NMI (4u << 8)
#define ICR_SEND_PENDING (1u << 12)
#define ICR_LEVEL_ASSERT (1u << 14)	/* SDM: must be 1 for every mode but INIT de-assert */
#define ICR_DEST_ALL_BUT_SELF (3u << 18)

#define ICR_IDLE_SPINS 1000000u

static volatile uint32_t *lapic_reg(uint32_t offset)
{
	return (volatile uint32_t *)(uintptr_t)(LAPIC_BASE + offset);
}

#define LAPIC_EOI 0x0b0
#define ICR_DEST_SELF (1u << 18)

void lapic_self_interrupt(uint8_t vector)
{
	*lapic_reg(LAPIC_ICR_LOW) = ICR_DEST_SELF | ICR_LEVEL_ASSERT | vector;	/* fixed delivery */
}

void lapic_eoi(void)
{
	*lapic_reg(LAPIC_EOI) = 0;
}

int lapic_send_nmi(enum nmi_target target)
{
	uint32_t spins;

	for (spins = 0; *lapic_reg(LAPIC_ICR_LOW) & ICR_SEND_PENDING; spins++) {
		if (spins == ICR_IDLE_SPINS)
			return 0;
		__builtin_ia32_pause();
	}
	if (target == NMI_TO_OTHERS) {
		*lapic_reg(LAPIC_ICR_LOW) = ICR_DEST_ALL_BUT_SELF | ICR_LEVEL_ASSERT | ICR_DELIVERY_NMI;
		return 1;
	}
	/*
	 * To self by physical destination = own APIC ID, not the "self"
	 * shorthand: the SDM's valid-combinations table (vol. 3, table 10-3)
	 * allows the self shorthand with fixed delivery only, NMI is invalid
	 * there.  High half first: writing the low half sends.
	 */
	*lapic_reg(LAPIC_ICR_HIGH) = *lapic_reg(LAPIC_ID) & 0xFF000000u;
	*lapic_reg(LAPIC_ICR_LOW) = ICR_LEVEL_ASSERT | ICR_DELIVERY_NMI;
	return 1;
}
