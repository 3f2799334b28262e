/*
 * Host NMI handler (vector 2, IST 1).  Every physical NMI reaches the
 * hypervisor here: either while the CPU was in the hypervisor (GIF=1), or
 * held across an NMI #VMEXIT until the exit loop's STGI (SVM keeps an
 * intercepted NMI pending while GIF=0, notes "NMIs").  The handler only
 * classifies and latches: the NMI is for the guest unless it is this CPU's
 * quiesce signal (hv/core/quiesce.c) -- and it can be both, XMHF64's lost
 * NMI ("Race condition" table): the quiesce check never swallows a guest NMI.
 *
 * Nesting: the CPU blocks NMIs until this handler's IRET, so `nmi_depth` > 1
 * only if an exception inside the handler IRETs early (a hypervisor bug the
 * depth field makes visible in the trace).
 */
#include "core/trap.h"
#include "core/percpu.h"
#include "core/nmi_virt.h"
#include "core/quiesce.h"
#include "core/chaos.h"
#include "core/halt.h"
#include "arch/arch.h"
#include <heisen/defs.h>


void host_nmi(struct trap_frame *f)
{
	struct percpu *c = this_cpu();
	u32 depth = ++c->nmi_depth;
	u32 where = depth > 1 ? TRACE_HOST_NMI_WHERE_NESTED
		  : c->last_exit_was_nmi ? TRACE_HOST_NMI_WHERE_EXIT : TRACE_HOST_NMI_WHERE_HV;
	/* An NMI in the STI shadow of halt_for(): resume after its HLT, or the
	 * HLT may wait for a wakeup taken before it (core/halt.c). */
	if (f->rip == (u64)halt_hlt) {
		f->rip++;	/* HLT is one byte */
		where = TRACE_HOST_NMI_WHERE_YIELD_HLT;
	}
	c->last_exit_was_nmi = 0;
	c->vcpu.nmi.host_nmis++;
	arch_host_nmi(c, &f->rip);

	chaos_spin(c);
	enum nmi_class cls = quiesce_classify_nmi(c, where == TRACE_HOST_NMI_WHERE_HV ||
						     where == TRACE_HOST_NMI_WHERE_YIELD_HLT);
	u32 kind = cls == NMI_QUIESCE ? TRACE_HOST_NMI_KIND_QUIESCE
		 : cls == NMI_FOR_GUEST ? TRACE_HOST_NMI_KIND_GUEST : 0;	/* 0: dropped */
	trace_host_nmi(kind, where, depth);
	if (cls == NMI_FOR_GUEST)
		nmi_virt_latch(&c->vcpu);
	else if (cls == NMI_QUIESCE)
		quiesce_stop_here(c);
	c->nmi_depth--;
}
