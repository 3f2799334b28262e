/*
 * The xAPIC registers the guest uses to send NMIs.  The guest shares the
 * physical LAPIC with the hypervisor (no APIC virtualisation), so it only
 * ever writes the ICR and never reconfigures the APIC.
 */
#ifndef GUEST_LAPIC_H
#define GUEST_LAPIC_H

#include <stdint.h>

enum nmi_target {
	NMI_TO_SELF,		/* this CPU only */
	NMI_TO_OTHERS,		/* every CPU but this one */
};

/* Send one NMI IPI; returns 0 if the ICR stayed busy (previous IPI never
 * left), 1 once the IPI was written. */
int lapic_send_nmi(enum nmi_target target);
/* A fixed interrupt to this CPU (held in the IRR while IF=0). */
void lapic_self_interrupt(uint8_t vector);
void lapic_eoi(void);

#endif
