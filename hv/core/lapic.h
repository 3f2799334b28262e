#ifndef HV_LAPIC_H
#define HV_LAPIC_H
#include "core/types.h"
void lapic_init_this_cpu(void);
/* LINT0 as firmware leaves it on the BSP: ExtINT, unmasked (the 8259's line). */
void lapic_lint0_extint(void);
u32 lapic_icr_lo(void);
u32 lapic_icr_hi(void);
void lapic_icr_forward(u32 lo);
u32 lapic_id(void);
void lapic_send_init(u32 apic_id);
void lapic_send_sipi(u32 apic_id, u32 vector);
void lapic_send_nmi(u32 apic_id);
void lapic_timer_oneshot(u32 ticks);
#endif
