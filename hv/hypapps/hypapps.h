#ifndef HV_HYPAPPS_H
#define HV_HYPAPPS_H
#include "core/types.h"
struct vcpu;
/* The seed's TV_HC_TEST (hv/hypapps/test.c). */
u64 hypapp_test(struct vcpu *v, u64 arg);

/* PAL isolation (hv/hypapps/pal.c). */
u64 hypapp_pal_register(struct vcpu *v, u64 desc_gpa);
u64 hypapp_pal_unregister(struct vcpu *v, u64 region_gpa);
enum pal_npf { PAL_NPF_NOT_PAL, PAL_NPF_HANDLED, PAL_NPF_REFUSE };
enum pal_npf hypapp_pal_npf(struct vcpu *v, u64 gpa, bool fetch);
/* Is gpa in a registered PAL's region?  (No side effects.) */
bool hypapp_pal_contains(u64 gpa);
#endif
