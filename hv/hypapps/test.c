/*
 * The `test` hypapp: XMHF64's TV_HC_TEST.  Returns test_checksum(arg, cpu)
 * (defs/hypercalls.toml) for the guest to check, optionally after XMHF64's
 * experiments: TEST_FLAG_SLEEP busy-loops in the hypervisor (NMIs arriving
 * meanwhile must still reach the guest afterwards), TEST_FLAG_QUIESCE stops
 * every other CPU around the computation, TEST_FLAG_SELF_NMI sends this CPU
 * an NMI IPI first: it arrives in the hypervisor, between the exit and the
 * next VMRUN, and must reach the guest exactly once (XMHF64's
 * `./test 1000008`, which found the VMREAD operand-width bug).
 */
#include "hypapps/hypapps.h"
#include "core/percpu.h"
#include "core/quiesce.h"
#include "core/x86.h"
#include "core/lapic.h"
#include <heisen/defs.h>

#define SLEEP_ROUNDS 200000ull

/*
 * The sleep: recompute the checksum many times in a leaf function whose
 * state lives in stack locals (-O0).  Built with the red zone allowed (zoo
 * `red-zone`), gcc keeps those locals below RSP without moving RSP --
 * XMHF64's __vmx_vmread -- and an NMI taken on this stack overwrites them:
 * the guest then sees a wrong result.  With -mno-red-zone gcc reserves the
 * frame first and the same code is safe.
 */
__attribute__((optimize("O0"), noinline)) static u64 sleep_checksum(u64 arg, u64 cpu)
{
	u64 x = arg ^ (cpu << 24), r = 0;
	for (u64 i = 0; i < SLEEP_ROUNDS; i++)
		r = (x * 2654435761ull) & 0xffffffffull;
	return r;
}

static u64 test_call(struct vcpu *v, u64 arg, u64 unused_b, u64 unused_c)
{
	(void)unused_b, (void)unused_c;
#ifdef BUG_print_lock_order
	/* XMHF64's verbose "TV[0]:appmain.c:do_TV_HC_TEST:202: test hypercall" line. */
	bug_locked_print("TV[0]:appmain.c:do_TV_HC_TEST:202: test hypercall, ecx=", arg);
#endif
	if (arg & TEST_FLAG_SELF_NMI)
		lapic_send_nmi(this_cpu()->apic_id);
	u64 r = (arg & TEST_FLAG_SLEEP) ? sleep_checksum(arg, v->cpu) : hc_test_checksum(arg, v->cpu);
	if (!(arg & TEST_FLAG_QUIESCE) || hv_ncpus < 2)
		return r;
	struct percpu *self = this_cpu();
	u64 epoch = quiesce_begin(self);
	r = hc_test_checksum(arg, v->cpu);
	quiesce_end(self, epoch);
	return r;
}

static const struct hypapp_call calls[] = { { HC_TEST, test_call } };
const struct hypapp test_hypapp = { .name = "test", .calls = calls, .ncalls = ARRAY_SIZE(calls) };
