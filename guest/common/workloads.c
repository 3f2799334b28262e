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

/* The list itself is defs/workloads.toml (shared with the harness). */
#define WORKLOAD_ENTRY(name, arg, fn) { name, arg, fn },
static const struct workload workloads[] = { HEISEN_WORKLOADS(WORKLOAD_ENTRY) };

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
