#ifndef HV_QUIESCE_H
#define HV_QUIESCE_H
#include "core/types.h"
struct percpu;
/* Stop every other CPU inside the hypervisor; returns the epoch. */
u64 quiesce_begin(struct percpu *self);
/* Let them all go again (every stopped CPU resumes before this returns). */
void quiesce_end(struct percpu *self, u64 epoch);
enum nmi_class { NMI_FOR_GUEST, NMI_QUIESCE, NMI_DROPPED /* zoo bugs only */ };
/* Host NMI handler: what is this NMI? */
enum nmi_class quiesce_classify_nmi(struct percpu *c, bool where_hv);
#ifdef BUG_print_lock_order
void bug_locked_print(const char *what, u64 v);
#endif
/* Host NMI handler: acknowledge and wait until the epoch ends. */
void quiesce_stop_here(struct percpu *c);
#endif
