/*
 * The machine's verdict.  Each CPU's guest reports its workload result
 * (REPORT) and then its NMI totals (NMI_COUNTS); when the last CPU is done,
 * or as soon as one CPU failed, that CPU prints the verdict and leaves QEMU
 * through isa-debug-exit with PASS or FAIL, so a test knows the outcome
 * without parsing text.
 * A CPU passes when its workload passed, its guest received exactly the NMIs
 * the hypervisor injected (none lost) and none nested.
 */
#include "core/verdict.h"
#include "core/percpu.h"
#include "core/panic.h"
#include "core/nmi_tally.h"
#include "core/log.h"
#include "core/trace_glue.h"
#include <heisen/defs.h>

static u32 cpus_done;
static u32 finishing;
static void __noreturn verdict_finish(void);

void verdict_report(struct vcpu *v, u64 status, u64 count, u64 detail)
{
	/* The verdict records must not be the ones a full ring drops. */
	trace_make_room();
	v->report.reported = 1;
	v->report.status = status;
	v->report.count = count;
	v->report.detail = detail;
	trace_guest_report(status, count, detail);
}

static bool cpu_passed(const struct vcpu *v)
{
	return v->report.reported && v->report.status == 0 && v->report.nmi_nested == 0 &&
	       v->report.nmi_received == v->report.nmi_injected_at_count && v->report.nmis_accounted;
}

void verdict_nmi_counts(struct vcpu *v, u64 received, u64 nested, u64 sent)
{
	if (v->report.counted)
		return;
	trace_make_room();	/* NMI_COUNTS and the summary must reach the serial port */
	v->report.nmi_received = received;
	v->report.nmi_nested = nested;
	v->report.nmi_sent = sent;
	v->report.nmi_injected_at_count = v->nmi.injected;
	v->report.nmis_accounted = nmi_tally_balanced(&v->nmi);
	trace_nmi_counts(received, nested, sent);
	hv_printf("cpu %u: %s -> %s status %lu count %lu detail %lx | exits %lu | nmi host %lu "
		  "injected %lu merged %lu received %lu nested %lu quiesce %lu pending %u\n",
		  v->cpu, v->workload, cpu_passed(v) ? "PASS" : "FAIL",
		  v->report.status, v->report.count, v->report.detail, v->report.exits,
		  v->nmi.host_nmis, v->nmi.injected, v->nmi.merged, received, nested,
		  v->nmi.quiesce_signals, v->nmi.pending);
	v->report.counted = 1;
	/*
	 * Exactly one CPU ends the machine: the one completing the count, or the first
	 * that failed -- a hunt wants a failure the moment it is known, and what the other
	 * CPUs would still do is its consequence.  The exchange makes two CPUs failing at
	 * once (or one failing as another completes the count) finish once; the loser
	 * returns to its guest until the machine stops under it.
	 */
	bool last = __atomic_add_fetch(&cpus_done, 1, __ATOMIC_ACQ_REL) == hv_ncpus;
	if ((last || !cpu_passed(v)) && !__atomic_exchange_n(&finishing, 1, __ATOMIC_ACQ_REL))
		verdict_finish();
}

static void __noreturn verdict_finish(void)
{
	u32 passed = 0;
	for (u32 i = 0; i < hv_ncpus; i++)
		passed += cpu_passed(&cpu_of(i)->vcpu);
	u32 code = passed == hv_ncpus ? DEBUG_EXIT_PASS : DEBUG_EXIT_FAIL;
	u32 done = __atomic_load_n(&cpus_done, __ATOMIC_ACQUIRE);
	hv_printf("verdict: %s (%u of %u CPUs passed, %u reported)\n", code == DEBUG_EXIT_PASS ? "PASS" : "FAIL",
		  passed, hv_ncpus, done);
	trace_verdict(code, passed, hv_ncpus - passed);
	machine_exit(code);
}
