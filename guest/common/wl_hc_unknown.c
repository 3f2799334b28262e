/*
 * hc-unknown[:NR] -- call a hypercall number nobody defined (default 0xdead).
 * The hypervisor must answer HC_ERR_UNKNOWN_HYPERCALL, leave the other
 * registers alone (ABI: only EAX/RAX is written) and keep running.
 */
#include <heisen/defs.h>
#include "workloads.h"

#define HC_UNASSIGNED 0xdead

struct verdict wl_hc_unknown(struct guest_cpu *c, int has_arg, uint64_t arg)
{
	const uintptr_t b0 = 0x1b1b1b1b, c0 = 0x1c1c1c1c, d0 = 0x1d1d1d1d;
	uintptr_t nr = has_arg ? (uintptr_t)arg : HC_UNASSIGNED;
	uintptr_t ret = nr, b = b0, cx = c0, d = d0;

	(void)c;
	if ((uintptr_t)arg != arg)
		return verdict_bad_workload();
	__asm__ volatile("vmmcall" : "+a"(ret), "+b"(b), "+c"(cx), "+d"(d) : : "memory");

	if (ret != HC_ERR_UNKNOWN_HYPERCALL)
		return (struct verdict){ GUEST_FAIL_BAD_RESULT, 1, ret };
	if (b != b0 || cx != c0 || d != d0)
		return (struct verdict){ GUEST_FAIL_BAD_RESULT, 2, b ^ b0 ? b : cx ^ c0 ? cx : d };
	return (struct verdict){ 0, 1, 0 };
}
