/*
 * nmi-self:N and nmi-all:N -- the guest sends NMIs through its LAPIC (issue
 * 6), one at a time, waiting (bounded) until each has reached every target's
 * NMI handler before sending the next.  Waiting keeps at most one NMI per
 * target in flight, so a missing count is a lost NMI, not a legitimate merge
 * of two pending ones.
 */
#include <heisen/defs.h>
#include "lapic.h"
#include "workloads.h"

/* Bounded waits, in pause iterations: long enough for an NMI to go
 * through a #VMEXIT and an injection under TCG, short enough that a lost
 * NMI ends the run in seconds. */
#define NMI_DELIVERY_SPINS 20000000u
#define ONLINE_SPINS 200000000u

static uint32_t ncpus(void)
{
	uint32_t n = guest_ncpus;

	return n < GUEST_MAX_CPUS ? n : GUEST_MAX_CPUS;
}

static int is_target(uint32_t cpu, uint32_t self, enum nmi_target target)
{
	return target == NMI_TO_SELF ? cpu == self : cpu != self;
}

static int all_delivered(const uint32_t *before, uint32_t self, enum nmi_target target)
{
	uint32_t cpu;

	for (cpu = 0; cpu < ncpus(); cpu++)
		if (is_target(cpu, self, target) &&
		    __atomic_load_n(&guest_cpus[cpu].nmi_received, __ATOMIC_ACQUIRE) == before[cpu])
			return 0;
	return 1;
}

static int wait_delivered(const uint32_t *before, uint32_t self, enum nmi_target target)
{
	uint32_t spins;

	for (spins = 0; spins < NMI_DELIVERY_SPINS; spins++) {
		if (all_delivered(before, self, target))
			return 1;
		__builtin_ia32_pause();
	}
	return all_delivered(before, self, target);
}

/* An NMI sent to a CPU that has no IDT yet would triple-fault it. */
static int wait_all_online(void)
{
	uint32_t spins;

	for (spins = 0; spins < ONLINE_SPINS; spins++) {
		if (__atomic_load_n(&guest_online, __ATOMIC_ACQUIRE) >= ncpus())
			return 1;
		__builtin_ia32_pause();
	}
	return 0;
}

static struct verdict send_nmis(struct guest_cpu *c, uint64_t arg, enum nmi_target target)
{
	uint32_t before[GUEST_MAX_CPUS];
	uint32_t n, i, cpu, delivered = 0;
	uint32_t per_send = target == NMI_TO_SELF ? 1 : ncpus() - 1;

	if (arg > UINT32_MAX)
		return verdict_bad_workload();
	n = (uint32_t)arg;
	if (target == NMI_TO_OTHERS && !wait_all_online())
		return (struct verdict){ GUEST_FAIL_BAD_RESULT, 0, 0 };

	for (i = 0; i < n; i++) {
		for (cpu = 0; cpu < ncpus(); cpu++)
			before[cpu] = __atomic_load_n(&guest_cpus[cpu].nmi_received, __ATOMIC_ACQUIRE);
		if (!lapic_send_nmi(target))
			break;
		/* sent counts NMIs that should arrive somewhere, so the
		 * per-CPU totals balance against injections in the trace. */
		__atomic_add_fetch(&c->nmi_sent, per_send, __ATOMIC_SEQ_CST);
		if (wait_delivered(before, c->index, target))
			delivered++;
	}
	return (struct verdict){ delivered == n ? 0 : GUEST_FAIL_BAD_RESULT, delivered, n };
}

struct verdict wl_nmi_self(struct guest_cpu *c, int has_arg, uint64_t arg)
{
	(void)has_arg;
	return send_nmis(c, arg, NMI_TO_SELF);
}

struct verdict wl_nmi_all(struct guest_cpu *c, int has_arg, uint64_t arg)
{
	(void)has_arg;
	return send_nmis(c, arg, NMI_TO_OTHERS);
}
