#ifndef HV_HYPAPPS_H
#define HV_HYPAPPS_H
#include "core/types.h"
struct vcpu;
/* The seed's TV_HC_TEST (hv/hypapps/test.c). */
u64 hypapp_test(struct vcpu *v, u64 arg);
#endif
