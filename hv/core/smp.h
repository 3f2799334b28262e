#ifndef HV_SMP_H
#define HV_SMP_H
#include "core/types.h"
/* Start every AP listed in `apic_ids[1..n-1]`; each ends up in ap_main(). */
void smp_start_aps(const u32 *apic_ids, u32 n);
#endif
