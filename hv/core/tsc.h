#ifndef HV_TSC_H
#define HV_TSC_H
#include "core/types.h"
/* TSC ticks per millisecond, measured once by tsc_calibrate() on the BSP
 * before any AP starts; 0 until then. */
extern u64 tsc_khz;
void tsc_calibrate(void);
/* Busy-wait `ticks` TSC ticks (interrupts as they are). */
void tsc_spin(u64 ticks);
#endif
