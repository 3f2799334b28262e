#ifndef HV_NPF_H
#define HV_NPF_H
#include "core/types.h"
struct vcpu;
/* A guest access the nested page table refused.  Handles PAL switches,
 * refuses protected memory with a #GP in the guest; false = unexplained. */
bool npf_handle(struct vcpu *v, u64 gpa, bool write, bool fetch);
#endif
