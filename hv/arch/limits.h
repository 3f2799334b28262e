/*
 * The backend's limits the core sizes its tables by: the one place the core
 * learns them, so the core names no backend.  The build defines HV_ARCH_<ARCH>
 * (hv/hv.mk).
 */
#ifndef HV_ARCH_LIMITS_H
#define HV_ARCH_LIMITS_H
#if defined(HV_ARCH_vmx)
#include "arch/vmx/limits.h"
#else
#include "arch/svm/limits.h"
#endif
#endif
