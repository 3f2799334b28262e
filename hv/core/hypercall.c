/*
 * The hypercall ABI (defs/hypercalls.toml): number in RAX, arguments in
 * RBX, RCX, RDX, result in RAX.  One handler per number: the core's in a
 * table, the hypapps' in their descriptors (core/hypapp.h).  An unknown
 * number or a bad argument is answered with an error code and traced -- a
 * guest can never crash the hypervisor through this door.
 */
#include "core/hypercall.h"
#include "core/percpu.h"
#include "core/verdict.h"
#include "core/memory.h"
#include "core/string.h"
#include "core/log.h"
#include "core/event_test.h"
#include "arch/arch.h"
#include "core/hypapp.h"
#include <heisen/defs.h>

struct hc_args {
	u64 nr, a, b, c;
};

typedef u64 (*hc_handler)(struct vcpu *v, const struct hc_args *x);

static u64 hc_hello(struct vcpu *v, const struct hc_args *x)
{
	(void)x;
	hv_printf("cpu %u: hello from the %u-bit guest\n", v->cpu, v->guest_mode);
	return v->cpu;
}

static u64 hc_get_workload(struct vcpu *v, const struct hc_args *x)
{
	u64 len = v->workload_len;
	if (x->b < len + 1 || !guest_range_ok(x->a, len + 1))
		return HC_ERR_BAD_ARGUMENT;
	memcpy((void *)x->a, v->workload, len);
	((char *)x->a)[len] = 0;
	return len;
}

static u64 hc_report(struct vcpu *v, const struct hc_args *x)
{
	verdict_report(v, x->a, x->b, x->c);
	return 0;
}

static u64 hc_guest_event(struct vcpu *v, const struct hc_args *x)
{
	(void)v;
	trace_guest_event(x->a, x->b, x->c);
	return 0;
}

static u64 hc_nmi_counts(struct vcpu *v, const struct hc_args *x)
{
	verdict_nmi_counts(v, x->a, x->b, x->c);
	return 0;
}

static u64 hc_get_info(struct vcpu *v, const struct hc_args *x)
{
	switch (x->a) {
	case INFO_CPU_INDEX: return v->cpu;
	case INFO_CPU_COUNT: return hv_ncpus;
	case INFO_HV_START: return hv_mem_start();
	case INFO_HV_END: return hv_mem_end();
	}
	u64 start, end;
	if (x->a < INFO_REGION || !hv_region((x->a - INFO_REGION) >> 1, &start, &end))
		return HC_ERR_BAD_ARGUMENT;
	return x->a & 1 ? end : start;
}

static u64 hc_event_test(struct vcpu *v, const struct hc_args *x)
{
	return event_test_hypercall(v, x->a, x->b, x->c);
}

static const hc_handler handlers[] = {
	[HC_HELLO] = hc_hello,
	[HC_GET_WORKLOAD] = hc_get_workload,
	[HC_REPORT] = hc_report,
	[HC_GUEST_EVENT] = hc_guest_event,
	[HC_NMI_COUNTS] = hc_nmi_counts,
	[HC_GET_INFO] = hc_get_info,
	[HC_EVENT_TEST] = hc_event_test,
};

/* A process (CPL > 0) of an OS guest may make only the calls the table
 * marks `user`: the others write guest-physical memory or are test hooks,
 * and a process must not reach the kernel's memory through us. */
static bool user_may_not(struct vcpu *v, u64 nr)
{
	return arch_guest_cpl(v) != 0 && !(HC_USER_MASK & (1ull << nr));
}

void hypercall_dispatch(struct vcpu *v)
{
	/* A 32-bit guest's upper register halves are undefined (AMD APM vol. 1
	 * 3.1.2.3): only the low 32 bits are its arguments. */
	u64 mask = arch_guest_long_mode(v) ? ~0ull : 0xffffffffull;
	struct hc_args x = { arch_guest_rax(v) & mask, v->gpr.rbx & mask, v->gpr.rcx & mask,
			     v->gpr.rdx & mask };
	u64 r;
	v->nmi.ready = 1;	/* see nmi_virt_before_entry() */
	hc_handler core = x.nr < ARRAY_SIZE(handlers) ? handlers[x.nr] : 0;
	const struct hypapp_call *app = core ? 0 : hypapp_call_for(x.nr);
	if ((core || app) && user_may_not(v, x.nr)) {
		r = HC_ERR_PRIVILEGED;	/* traced below, like every result */
	} else if (core) {
		r = core(v, &x);
	} else if (app) {
		r = app->fn(v, x.a, x.b, x.c);
	} else {
		r = HC_ERR_UNKNOWN_HYPERCALL;
		hv_printf("cpu %u: unknown hypercall %lx (rbx %lx) -> error\n", v->cpu, x.nr, x.a);
	}
	trace_hypercall(x.nr, x.a, r);
	arch_set_guest_rax(v, r);
}
