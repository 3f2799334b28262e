/* The workload table and its dispatcher. */
#include <heisen/defs.h>
#include "hypercall.h"
#include "workload_parse.h"
#include "workloads.h"

enum arg_rule { ARG_NONE, ARG_OPTIONAL, ARG_REQUIRED };

struct workload {
	const char *name;
	enum arg_rule arg;
	workload_fn run;
};

static const struct workload workloads[] = {
	{ "hello", ARG_NONE, wl_hello },		/* HELLO(cpu) == cpu */
	{ "test", ARG_REQUIRED, wl_test },		/* test:N, the seed's TV_HC_TEST loop */
	{ "poke", ARG_OPTIONAL, wl_poke },		/* poke[:ADDR], default the hypervisor's start */
	{ "nmi-self", ARG_REQUIRED, wl_nmi_self },	/* nmi-self:N NMIs to this CPU */
	{ "nmi-all", ARG_REQUIRED, wl_nmi_all },	/* nmi-all:N NMIs to all but this CPU */
	{ "hc-unknown", ARG_OPTIONAL, wl_hc_unknown },	/* hc-unknown[:NR] an unassigned hypercall */
	{ "test-quiesce", ARG_REQUIRED, wl_test_quiesce },	/* test:N, each call stops the world */
	{ "test-sleep", ARG_REQUIRED, wl_test_sleep },	/* test:N, each call busy-loops in the hypervisor */
	{ "spin", ARG_REQUIRED, wl_spin },		/* test:N's loop without the hypercall */
	{ "pal_demo", ARG_REQUIRED, wl_pal_demo },	/* the seed's pal_demo: N calls per registration */
	{ "pal-bad", ARG_NONE, wl_pal_bad },		/* bad PAL registrations get error codes */
	{ "pal-poke", ARG_NONE, wl_pal_poke },		/* a PAL's pages are closed to the guest */
	{ "pal-peek", ARG_NONE, wl_pal_peek },		/* guest memory is closed to a PAL */
};

static int arg_allowed(enum arg_rule rule, int has_arg)
{
	return rule == ARG_OPTIONAL || (rule == ARG_REQUIRED) == (has_arg != 0);
}

struct verdict workload_run(struct guest_cpu *c)
{
	struct workload_spec spec;
	uintptr_t len;
	unsigned i;

	len = hypercall_get_workload(c->workload, sizeof(c->workload));
	/* Also catches HC_ERR_* results, which are all >= the buffer size. */
	if (len >= sizeof(c->workload))
		return verdict_bad_workload();
	c->workload[len] = '\0';

	if (workload_parse(c->workload, len, &spec) != WL_PARSE_OK)
		return verdict_bad_workload();
	for (i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		if (!workload_name_is(&spec, workloads[i].name))
			continue;
		if (!arg_allowed(workloads[i].arg, spec.has_arg))
			return verdict_bad_workload();
		return workloads[i].run(c, spec.has_arg, spec.arg);
	}
	return verdict_bad_workload();
}
