/* The end of every CPU's run: verdict, NMI totals, idle. */
#include <heisen/defs.h>
#include "hypercall.h"
#include "verdict.h"

void guest_idle(void)
{
	/* IF stays 0 (contract), so hlt only wakes for NMIs, which must keep
	 * being counted after the report. */
	for (;;)
		__asm__ volatile("hlt" ::: "memory");
}

void guest_finish(struct guest_cpu *c, struct verdict v)
{
	/* A nested NMI means the hypervisor injected an NMI before the
	 * handler's IRET: that fails the run whatever the workload saw. */
	if (v.status == 0 && c->nmi_nested != 0)
		v = (struct verdict){ GUEST_FAIL_NESTED_NMI, c->nmi_nested, c->nmi_received };

	/* Once: the hypervisor counts one REPORT per CPU to end the machine. */
	if (!c->reported) {
		c->reported = 1;
		hypercall_report(v.status, v.count, v.detail);
		hypercall_nmi_counts(c->nmi_received, c->nmi_nested, c->nmi_sent);
	}
	guest_idle();
}
