/*
 * Workloads: one table entry each (workloads.c), one file each (wl_*.c).
 * A workload returns its verdict; guest_finish() reports it.
 */
#ifndef GUEST_WORKLOADS_H
#define GUEST_WORKLOADS_H

#include <stdint.h>
#include "percpu.h"
#include "verdict.h"
#include <heisen/defs.h>

/* has_arg says whether the string had ":ARG"; arg is 0 otherwise. */
typedef struct verdict (*workload_fn)(struct guest_cpu *c, int has_arg, uint64_t arg);

/* Fetch this CPU's workload string, parse it, run it. */
struct verdict workload_run(struct guest_cpu *c);

/* The verdict for a string or argument the guest cannot run. */
static inline struct verdict verdict_bad_workload(void)
{
	return (struct verdict){ GUEST_FAIL_BAD_WORKLOAD, 0, 0 };
}

/* XMHF64's TV_HC_TEST loop: N TEST calls with `flags` (TEST_FLAG_*) set, checked. */
struct verdict test_loop(struct guest_cpu *c, uint64_t arg, uint32_t flags);

/* One declaration per defs/workloads.toml entry. */
#define WORKLOAD_DECL(name, arg, fn) struct verdict fn(struct guest_cpu *c, int has_arg, uint64_t arg);
HEISEN_WORKLOADS(WORKLOAD_DECL)

#endif
