#ifndef HV_QUIESCE_H
#define HV_QUIESCE_H
#include "core/types.h"
struct percpu;
/* Stop every other CPU inside the hypervisor; returns the epoch. */
u64 quiesce_begin(struct percpu *self);
/* Let them all go again (every stopped CPU resumes before this returns). */
void quiesce_end(struct percpu *self, u64 epoch);
/* Host NMI handler: is a quiesce signal for this CPU outstanding? */
bool quiesce_nmi_pending(struct percpu *c);
/* Host NMI handler: should this NMI also be handed to the guest? */
bool quiesce_nmi_is_also_for_guest(struct percpu *c, bool was_quiesce);
/* Host NMI handler: acknowledge and wait until the epoch ends. */
void quiesce_stop_here(struct percpu *c);
#endif
