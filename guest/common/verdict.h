/* A workload's outcome and the end of every CPU's run. */
#ifndef GUEST_VERDICT_H
#define GUEST_VERDICT_H

#include <stdint.h>
#include "percpu.h"

/* The REPORT hypercall's arguments: status 0 = pass, else GUEST_FAIL_*. */
struct verdict {
	uintptr_t status;
	uintptr_t count;
	uintptr_t detail;
};

/* REPORT, NMI_COUNTS (once per CPU), then idle forever. */
__attribute__((noreturn)) void guest_finish(struct guest_cpu *c, struct verdict v);

/* hlt with IF=0: only NMIs (counted by the handler) wake the CPU. */
__attribute__((noreturn)) void guest_idle(void);

#endif
