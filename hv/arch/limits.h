/*
 * The backend's limits the core sizes its tables by: the one place the core
 * learns them, so the core names no backend.  One backend today.
 */
#ifndef HV_ARCH_LIMITS_H
#define HV_ARCH_LIMITS_H
#include "arch/svm/limits.h"
#endif
