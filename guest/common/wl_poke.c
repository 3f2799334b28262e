/*
 * poke[:ADDR] -- store to ADDR (default: the hypervisor's first byte, from
 * GET_INFO) and expect the hypervisor to refuse it with an injected #GP.
 * A store that retires means guest memory isolation is broken.
 */
#include <heisen/defs.h>
#include "hypercall.h"
#include "poke.h"
#include "workloads.h"

/* Recognisable in a memory dump if the store does land. */
#define POKE_VALUE 0x9035E000u

struct verdict wl_poke(struct guest_cpu *c, int has_arg, uint64_t arg)
{
	uint64_t addr = has_arg ? arg : hypercall_get_info(INFO_HV_START);
	int faulted;

	if (addr > UINTPTR_MAX - sizeof(uint32_t) + 1)
		return verdict_bad_workload();

	hypercall_guest_event(GUEST_EV_FAULT_EXPECTED, (uintptr_t)addr, 0);
	c->fault_recover_ip = (uintptr_t)guest_poke_recover;
	c->fault_ip = (uintptr_t)guest_poke_insn;
	faulted = guest_poke((volatile uint32_t *)(uintptr_t)addr, POKE_VALUE);
	c->fault_ip = 0;

	if (!faulted)
		return (struct verdict){ GUEST_FAIL_NO_FAULT, (uintptr_t)addr, 0 };
	return (struct verdict){ 0, 1, 0 };
}
