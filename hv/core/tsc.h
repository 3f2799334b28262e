#ifndef HV_TSC_H
#define HV_TSC_H
#include "core/types.h"
u64 tsc_khz_measure(void);
#endif
