/*
 * protect -- self-protection, probed exhaustively (tests/test_protect.py).
 *
 * The nested page tables hide the hypervisor's memory and every registered
 * PAL's pages from the rest of the guest.  A hole of one page (the first or
 * last of a range, or a page left readable) is as bad as no protection, so
 * this reads and writes every 4 KiB page of [HV_START, HV_END) -- which holds
 * each HV_REGION_* (image, per-CPU stacks/VMCB/host save areas, trace rings,
 * memlog, all of .bss), checked to lie inside -- and every page of a
 * registered PAL, and expects each access refused with a #GP.  The pages just
 * outside each range must stay usable (read, and written back unchanged).
 * Each fully refused range is reported as GUEST_EVENT(PROTECT_RANGE, start,
 * end); a failure as REPORT(NO_FAULT, address, 1 = read | 2 = write) or
 * REPORT(BAD_RESULT, address, step) for a usable page that faulted.
 */
#include <heisen/defs.h>
#include "hypercall.h"
#include "pal.h"
#include "poke.h"
#include "workloads.h"

#define PAGE 4096u

static int refused_read(struct guest_cpu *c, uintptr_t addr)
{
	uint32_t faulted;

	c->fault_recover_ip = (uintptr_t)guest_peek_recover;
	c->fault_ip = (uintptr_t)guest_peek_insn;
	guest_peek((const volatile uint32_t *)addr, &faulted);
	c->fault_ip = 0;
	return faulted;
}

static int refused_write(struct guest_cpu *c, uintptr_t addr, uint32_t value)
{
	c->fault_recover_ip = (uintptr_t)guest_poke_recover;
	c->fault_ip = (uintptr_t)guest_poke_insn;
	int faulted = guest_poke((volatile uint32_t *)addr, value);
	c->fault_ip = 0;
	return faulted;
}

/* Every page of [start, end) refused for reads and writes: 0, else the
 * verdict detail (1 read, 2 write) with *where the page. */
static uintptr_t probe_hidden(struct guest_cpu *c, uintptr_t start, uintptr_t end, uintptr_t *where)
{
	for (uintptr_t p = start; p < end; p += PAGE) {
		/* Last word of the page on reads, first on writes: both ends
		 * of every page are touched across the two probes. */
		*where = p;
		if (!refused_read(c, p + PAGE - 4))
			return 1;
		if (!refused_write(c, p, 0x9035E000u))
			return 2;
	}
	hypercall_guest_event(GUEST_EV_PROTECT_RANGE, start, end);
	return 0;
}

/* A page that must stay usable: read it, write the value back. */
static int usable(struct guest_cpu *c, uintptr_t page)
{
	uint32_t faulted;

	c->fault_recover_ip = (uintptr_t)guest_peek_recover;
	c->fault_ip = (uintptr_t)guest_peek_insn;
	uint32_t v = guest_peek((const volatile uint32_t *)page, &faulted);
	c->fault_ip = 0;
	return !faulted && !refused_write(c, page, v);
}

static struct pal_desc desc;

struct verdict wl_protect(struct guest_cpu *c, int has_arg, uint64_t arg)
{
	(void)has_arg, (void)arg;
	uintptr_t hv_start = hypercall_get_info(INFO_HV_START), hv_end = hypercall_get_info(INFO_HV_END);
	uintptr_t where, how;

	/* Every named region lies inside the probed range, so each of its
	 * pages is probed below. */
	for (uintptr_t i = 0;; i++) {
		uintptr_t s = hypercall_get_info(INFO_REGION + 2 * i), e = hypercall_get_info(INFO_REGION + 2 * i + 1);
		if (s == HC_ERR_BAD_ARGUMENT)
			break;
		if (s < hv_start || e > hv_end || s >= e)
			return (struct verdict){ GUEST_FAIL_BAD_RESULT, s, 100 + i };
	}
	if ((how = probe_hidden(c, hv_start, hv_end, &where)) != 0)
		return (struct verdict){ GUEST_FAIL_NO_FAULT, where, how };
	if (!usable(c, hv_start - PAGE))
		return (struct verdict){ GUEST_FAIL_BAD_RESULT, hv_start - PAGE, 1 };
	if (!usable(c, hv_end))
		return (struct verdict){ GUEST_FAIL_BAD_RESULT, hv_end, 2 };

	/* A registered PAL: all of its pages hidden, its neighbours not. */
	uint8_t *region = pal_prepare(c, PAL_COMPUTE, 3);
	pal_describe(&desc, region);
	uintptr_t r = pal_register(&desc), pal_end = (uintptr_t)region + (uintptr_t)desc.npages * PAGE;
	if (r != 0)
		return (struct verdict){ GUEST_FAIL_BAD_RESULT, r, 3 };
	how = probe_hidden(c, (uintptr_t)region, pal_end, &where);
	int before = usable(c, (uintptr_t)region - PAGE), after = usable(c, pal_end);
	uintptr_t got = pal_call(desc.entry, 5);	/* and the PAL still works */
	if ((r = pal_unregister(region)) != 0)
		return (struct verdict){ GUEST_FAIL_BAD_RESULT, r, 4 };
	if (how)
		return (struct verdict){ GUEST_FAIL_NO_FAULT, where, how };
	if (!before || !after)
		return (struct verdict){ GUEST_FAIL_BAD_RESULT, before ? pal_end : (uintptr_t)region - PAGE, 5 };
	if (got != pal_expected(5, 3, 1))
		return (struct verdict){ GUEST_FAIL_BAD_RESULT, got, 6 };
	/* Unregistered: the pages are the guest's again. */
	for (uintptr_t p = (uintptr_t)region; p < pal_end; p += PAGE)
		if (!usable(c, p))
			return (struct verdict){ GUEST_FAIL_BAD_RESULT, p, 7 };
	return (struct verdict){ 0, (hv_end - hv_start) / PAGE + desc.npages, 0 };
}
