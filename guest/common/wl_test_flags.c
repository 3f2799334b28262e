/*
 * Variants of XMHF64's TV_HC_TEST loop with the hypervisor-side experiments
 * on (defs/hypercalls.toml [test_flag]):
 *   test-quiesce:N  every call stops the world (XMHF64's TV_HC_TEST did)
 *   test-sleep:N    every call busy-loops inside the hypervisor first
 * and spin:N, the same loop with no hypercall at all (bench-exit's baseline).
 */
#include <heisen/defs.h>
#include "hypercall.h"
#include "workloads.h"

struct verdict wl_test_quiesce(struct guest_cpu *c, int has_arg, uint64_t arg)
{
	(void)has_arg;
	return test_loop(c, arg, TEST_FLAG_QUIESCE);
}

struct verdict wl_test_sleep(struct guest_cpu *c, int has_arg, uint64_t arg)
{
	(void)has_arg;
	return test_loop(c, arg, TEST_FLAG_SLEEP);
}

struct verdict wl_spin(struct guest_cpu *c, int has_arg, uint64_t arg)
{
	uint32_t n, i, bad = 0;

	(void)has_arg;
	if (arg > UINT32_MAX)
		return verdict_bad_workload();
	n = (uint32_t)arg;
	for (i = 0; i < n; i++) {
		uintptr_t r = hc_test_checksum(i, c->index);

		/* Keep the loop: the compiler must not fold it away. */
		__asm__ volatile("" : "+r"(r));
		bad += r != (uintptr_t)hc_test_checksum(i, c->index);
	}
	return (struct verdict){ bad ? GUEST_FAIL_BAD_RESULT : 0, n, 0 };
}
