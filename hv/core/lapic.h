#ifndef HV_LAPIC_H
#define HV_LAPIC_H
#include "core/types.h"
void lapic_init_this_cpu(void);
/* LINT0/LINT1 as the firmware leaves them for an OS (lapic.c). */
void lapic_init_for_os(bool bsp);
u32 lapic_icr_lo(void);
u32 lapic_icr_hi(void);
void lapic_icr_forward(u32 lo);
u32 lapic_id(void);
void lapic_send_init(u32 apic_id);
void lapic_send_sipi(u32 apic_id, u32 vector);
void lapic_send_nmi(u32 apic_id);
void lapic_timer_oneshot(u32 ticks);
bool lapic_timer_pending(void);
#endif
