/*
 * test:N -- XMHF64's TV_HC_TEST loop: N TEST hypercalls, each result
 * checked against hc_test_checksum(i, cpu), progress every N/16 calls so a
 * hang shows where it stopped.
 *
 * The first wrong result or nested NMI ends the loop and the CPU reports at
 * once (the hypervisor then ends the machine, core/verdict.c): a hunt wants
 * the first failure as soon as it happens, and what follows it is its
 * consequence.  The report's count is the calls made, detail the failing one.
 */
#include <heisen/defs.h>
#include "hypercall.h"
#include "workloads.h"

struct verdict test_loop(struct guest_cpu *c, uint64_t arg, uint32_t flags)
{
	uint32_t n, i, every, bad = 0, first_bad = 0;

	/* 32-bit counts: the 32-bit guest must not need 64-bit division. */
	if (arg > UINT32_MAX)
		return verdict_bad_workload();
	n = (uint32_t)arg;
	every = n / 16 ? n / 16 : 1;

	for (i = 0; i < n; i++) {
		uintptr_t r = hypercall_test(i | flags);

		/* Compared at full register width: stray upper bits in RAX
		 * from the hypervisor are a failure too. */
		if (r != (uintptr_t)hc_test_checksum(i | flags, c->index)) {
			bad = 1;
			first_bad = i;
			i++;
			break;
		}
		if (c->nmi_nested) {  /* guest_finish reports it as NESTED_NMI */
			i++;
			break;
		}
		if (i % every == 0)
			hypercall_guest_event(GUEST_EV_PROGRESS, i, n);
	}
	return (struct verdict){ bad ? GUEST_FAIL_BAD_RESULT : 0, i, first_bad };
}

struct verdict wl_test(struct guest_cpu *c, int has_arg, uint64_t arg)
{
	(void)has_arg;
	return test_loop(c, arg, 0);
}
