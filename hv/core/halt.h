#ifndef HV_HALT_H
#define HV_HALT_H
#include "core/types.h"
/*
 * Halt this CPU in the hypervisor until its LAPIC timer fires after `ticks`
 * (nanoseconds under QEMU: divide by 1), or an NMI comes.  The host thread of
 * a halted vCPU sleeps, and under one TCG thread the other vCPUs run.
 * nmi_in_shadow: EVENT_TEST YIELD_NMI_SHADOW's self-NMI between STI and HLT.
 */
void halt_for(u32 ticks, bool nmi_in_shadow);
/* Stop the timer and take the interrupt it left pending, if any: with
 * V_INTR_MASKING off, the guest's IDT would get it (halt.c). */
void halt_cancel_wakeup(void);
/* The HLT of halt_for(): nmi_host.c resumes an NMI that interrupted it past it. */
extern const char halt_hlt[];
#endif
