#ifndef HV_CHAOS_H
#define HV_CHAOS_H
#include "core/types.h"
struct percpu;
struct hv_options;
/* Deterministic-mode perturbation, from `seed=` and `nmi_every=`, and the
 * record/replay NMI request port `nmi_com2=` (chaos.c). */
void chaos_init(const struct hv_options *o);
void chaos_cpu_init(struct percpu *c);
/* The guest is an OS with its own LAPIC timer and interrupts: yields spin. */
void chaos_guest_owns_interrupts(void);
/* End of an exit handler (GIF=1, IF=0, never in NMI context). */
void chaos_exit_point(struct percpu *c);
/* Inside quiesce/NMI paths and after taking a lock: a short seeded spin, then
 * maybe an NMI to a seed-chosen CPU, as at an exit (any context). */
void chaos_spin(struct percpu *c);
/* The seeded xorshift step, and a stream of this seed for another user (salt). */
u64 chaos_next(u64 *s);
u64 chaos_stream(u64 salt);
/* A seed-chosen index below n, or n (none) without seed= (any context). */
u32 chaos_choose(struct percpu *c, u32 n);
#endif
