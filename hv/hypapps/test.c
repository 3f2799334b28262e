/*
 * The `test` hypapp: the seed's TV_HC_TEST.  Returns test_checksum(arg, cpu)
 * (defs/hypercalls.toml) for the guest to check, optionally after the seed's
 * experiments: TEST_FLAG_SLEEP busy-loops in the hypervisor (NMIs arriving
 * meanwhile must still reach the guest afterwards), TEST_FLAG_QUIESCE stops
 * every other CPU around the computation.
 */
#include "hypapps/hypapps.h"
#include "core/percpu.h"
#include "core/quiesce.h"
#include "core/x86.h"
#include <heisen/defs.h>

#define SLEEP_TSC 2000000ull

u64 hypapp_test(struct vcpu *v, u64 arg)
{
	if (arg & TEST_FLAG_SLEEP) {
		u64 t = rdtsc();
		while (rdtsc() - t < SLEEP_TSC)
			cpu_relax();
	}
	if (!(arg & TEST_FLAG_QUIESCE) || hv_ncpus < 2)
		return hc_test_checksum(arg, v->cpu);
	struct percpu *self = this_cpu();
	u64 epoch = quiesce_begin(self);
	u64 r = hc_test_checksum(arg, v->cpu);
	quiesce_end(self, epoch);
	return r;
}
