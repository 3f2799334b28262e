#ifndef HV_SIPI_H
#define HV_SIPI_H
#include "core/types.h"
struct percpu;
struct vcpu;

#define SIPI_RUNNING 0		/* in its guest (or INIT/SIPI not virtualized) */
#define SIPI_WAITING 1		/* an AP in wait-for-SIPI, in the hypervisor */
#define SIPI_STEP_REAL 1	/* a write to the real LAPIC page */
#define SIPI_STEP_SHADOW 2	/* a write to ICR_LO, into the shadow page */

/* The guest starts its own APs (an OS): trap its ICR writes.  BSP, before
 * any guest runs. */
void sipi_enable(void);
bool sipi_enabled(void);
/* An AP, before any guest can run: from now on it is in wait-for-SIPI (as
 * hardware is from reset), so a SIPI the guest sends at once finds it. */
void sipi_arm(struct percpu *c);
/* An AP, armed: wait in the hypervisor for the guest's SIPI; returns its vector. */
u8 sipi_wait(struct percpu *c);
/* A nested page fault on the xAPIC page: true if it was ours. */
bool sipi_npf(struct vcpu *v, u64 gpa, bool write);
/* The #DB after a stepped LAPIC write: true if the step was ours. */
bool sipi_after_step(struct vcpu *v);
#endif
