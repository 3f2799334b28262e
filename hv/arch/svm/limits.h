/* The SVM backend's limits (included through arch/limits.h). */
#ifndef HV_SVM_LIMITS_H
#define HV_SVM_LIMITS_H

/* One ASID per vCPU: SVM under TCG reports 16 ASIDs (CPUID 0x8000000A EBX)
 * and ASID 0 is the host's. */
#define ARCH_MAX_VCPUS 15

#endif
