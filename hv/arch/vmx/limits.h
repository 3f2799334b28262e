/* The VMX backend's limits (included through arch/limits.h). */
#ifndef HV_VMX_LIMITS_H
#define HV_VMX_LIMITS_H

/* One VPID per vCPU (VPID 0 is the host's); the SVM build's count, so the
 * per-CPU tables and the guests' limits are the same on both backends. */
#define ARCH_MAX_VCPUS 15

#endif
