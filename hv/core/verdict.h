#ifndef HV_VERDICT_H
#define HV_VERDICT_H
#include "core/types.h"
struct vcpu;
void verdict_report(struct vcpu *v, u64 status, u64 count, u64 detail);
void verdict_nmi_counts(struct vcpu *v, u64 received, u64 nested, u64 sent);
#endif
