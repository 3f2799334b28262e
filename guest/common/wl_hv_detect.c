/*
 * hv-detect -- what the guest sees of the hypervisor (its intercepts):
 * CPUID 0x40000000 carries the "Heisenvisor" signature, CPUID 1 the
 * hypervisor-present bit, and SVM stays hidden (CPUID 0x80000001 ECX bit 2
 * clear, EFER.SVME reads 0).  A failing check is reported in `detail`.
 */
#include <heisen/defs.h>
#include "workloads.h"

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

static uint32_t rdmsr_lo(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo;
}

struct verdict wl_hv_detect(struct guest_cpu *c, int has_arg, uint64_t arg)
{
	static const char want[12] = "Heisenvisor";
	uint32_t r[4];

	(void)c, (void)has_arg, (void)arg;
	cpuid(0x40000000, r);
	if (__builtin_memcmp(&r[1], want, sizeof(want)) != 0)
		return (struct verdict){ GUEST_FAIL_BAD_RESULT, r[1], 1 };
	cpuid(1, r);
	if (!(r[2] & (1u << 31)))
		return (struct verdict){ GUEST_FAIL_BAD_RESULT, r[2], 2 };
	cpuid(0x80000001, r);
	if (r[2] & (1u << 2))
		return (struct verdict){ GUEST_FAIL_BAD_RESULT, r[2], 3 };
	if (rdmsr_lo(0xc0000080) & (1u << 12))
		return (struct verdict){ GUEST_FAIL_BAD_RESULT, 0, 4 };
	return (struct verdict){ 0, 4, 0 };
}
