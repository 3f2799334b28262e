#ifndef HV_GUEST_CPUID_H
#define HV_GUEST_CPUID_H
#include "core/types.h"
/* What CPUID(leaf, subleaf) returns to a guest, on either backend (EAX..EDX). */
void guest_cpuid(u32 leaf, u32 subleaf, u32 out[4]);
#endif
