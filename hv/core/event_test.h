#ifndef HV_EVENT_TEST_H
#define HV_EVENT_TEST_H
#include "core/types.h"
struct vcpu;
struct hv_options;
/* testhc=1 on the command line enables HC_EVENT_TEST; off, it is refused. */
void event_test_init(const struct hv_options *o);
u64 event_test_hypercall(struct vcpu *v, u64 op, u64 a, u64 b);
/* An NPF on a page NPF_ONCE armed: map it again; true if it was one. */
bool event_test_npf(struct vcpu *v, u64 gpa);
/* After each exit's handler, before the next entry (GIF=1). */
void event_test_exit_point(struct vcpu *v);
#endif
