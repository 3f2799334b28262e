/*
 * The NMI accounting identity, read consistently while this CPU's own NMI
 * handler may interrupt the read.
 *
 * Every NMI that reached this CPU was consumed as a quiesce signal, injected,
 * merged under the 1-latched rule, or is still latched:
 *     host_nmis == quiesce_signals + injected + merged + pending.
 * The NMI_COUNTS hypercall checks it with GIF=1, so an NMI can land between
 * two of the loads.  Read once, the sum was torn: host_nmis loaded before the
 * NMI and merged after it, 171 against 172 on a correct build (stress-all
 * seed 403, one run in 450).  The handler increments host_nmis before any
 * other counter (core/nmi_host.c) and runs to its IRET before the read goes
 * on, so a read bracketed by two equal loads of host_nmis saw no handler in
 * between: that snapshot is consistent; otherwise read again.  The volatile
 * loads keep the compiler from merging or reordering them; the CPU never
 * reorders its own loads against its own NMI handler.
 * Test: tests/test_nmi_tally.py (an NMI at every point of the read).
 */
#ifndef HV_NMI_TALLY_H
#define HV_NMI_TALLY_H

#include "core/vcpu.h"

#ifndef NMI_TALLY_BETWEEN_LOADS
#define NMI_TALLY_BETWEEN_LOADS(step) ((void)0)	/* host test: an NMI lands here */
#endif

static inline bool nmi_tally_balanced(const struct vcpu_nmi *nmi)
{
	const volatile struct vcpu_nmi *n = nmi;
	for (;;) {
		u64 before = n->host_nmis;
		NMI_TALLY_BETWEEN_LOADS(0);
		u64 sum = n->quiesce_signals;
		NMI_TALLY_BETWEEN_LOADS(1);
		sum += n->injected;
		NMI_TALLY_BETWEEN_LOADS(2);
		sum += n->merged;
		NMI_TALLY_BETWEEN_LOADS(3);
		sum += n->pending;
		NMI_TALLY_BETWEEN_LOADS(4);
		if (n->host_nmis == before)
			return before == sum;
	}
}

#endif
