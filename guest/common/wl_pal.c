/*
 * PAL workloads (hv/hypapps/pal.c):
 *   pal_demo:N  XMHF64's pal_demo: register, N calls checked, unregister,
 *               PAL_DEMO_ROUNDS times (each registration quiesces all CPUs)
 *   pal-bad     every bad registration gets its error code, never a crash
 *   pal-poke    the rest of the guest cannot write a registered PAL's pages
 *   pal-peek    a PAL cannot read guest memory outside its region
 * A failing step reports GUEST_FAIL_BAD_RESULT with the step in `detail`.
 */
#include <heisen/defs.h>
#include "hypercall.h"
#include "pal.h"
#include "poke.h"
#include "workloads.h"

#define PAL_DEMO_ROUNDS 4u

static struct pal_desc descs[GUEST_MAX_CPUS];
static volatile uintptr_t outside_the_pal = 0x5ec2e7;

static struct verdict fail_at(uintptr_t step, uintptr_t got)
{
	hypercall_guest_event(GUEST_EV_PROGRESS, step, got);
	return (struct verdict){ GUEST_FAIL_BAD_RESULT, got, step };
}

struct verdict wl_pal_demo(struct guest_cpu *c, int has_arg, uint64_t arg)
{
	(void)has_arg;
	if (arg > UINT32_MAX)
		return verdict_bad_workload();
	struct pal_desc *d = &descs[c->index];
	for (uint32_t round = 0; round < PAL_DEMO_ROUNDS; round++) {
		uint64_t secret = 0x1000u * (c->index + 1) + round;
		uint8_t *region = pal_prepare(c, PAL_COMPUTE, secret);
		pal_describe(d, region);
		uintptr_t r = pal_register(d);
		if (r != 0)
			return fail_at(100 + round, r);
		for (uint32_t i = 1; i <= (uint32_t)arg; i++) {
			uintptr_t got = pal_call(d->entry, i);
			if (got != pal_expected(i, secret, i))
				return fail_at(1000 + i, got);
		}
		r = pal_unregister(region);
		if (r != 0)
			return fail_at(200 + round, r);
	}
	return (struct verdict){ 0, (uintptr_t)arg * PAL_DEMO_ROUNDS, 0 };
}

/* Register `d` after `edit`, expect `want`; a registration that succeeds
 * unexpectedly is undone so later steps start clean. */
static uintptr_t try_register(struct pal_desc d, uintptr_t want)
{
	uintptr_t r = pal_register(&d);
	if (r == 0 && want != 0)
		pal_unregister((void *)(uintptr_t)d.region);
	return r;
}

struct verdict wl_pal_bad(struct guest_cpu *c, int has_arg, uint64_t arg)
{
	(void)has_arg, (void)arg;
	uint8_t *region = pal_prepare(c, PAL_COMPUTE, 1);
	struct pal_desc good, d;
	pal_describe(&good, region);
	uintptr_t hv = hypercall_get_info(INFO_HV_START);
	uintptr_t r;

	d = good, d.npages = 0;
	if ((r = try_register(d, PAL_ERR_BAD_DESCRIPTOR)) != PAL_ERR_BAD_DESCRIPTOR)
		return fail_at(1, r);
	d = good, d.region += 8;
	if ((r = try_register(d, PAL_ERR_UNALIGNED)) != PAL_ERR_UNALIGNED)
		return fail_at(2, r);
	d = good, d.region = hv, d.entry = hv, d.stack_top = hv + PAL_PAGE, d.cr3 = 0;
	if ((r = try_register(d, PAL_ERR_BAD_RANGE)) != PAL_ERR_BAD_RANGE)
		return fail_at(3, r);
	if ((r = hypercall(HC_PAL_REGISTER, hv, 0, 0)) != PAL_ERR_BAD_DESCRIPTOR)
		return fail_at(4, r);
	d = good, d.entry = good.region + PAL_REGION_PAGES * PAL_PAGE;
	if ((r = try_register(d, PAL_ERR_BAD_DESCRIPTOR)) != PAL_ERR_BAD_DESCRIPTOR)
		return fail_at(5, r);
	if ((r = pal_register(&good)) != 0)
		return fail_at(6, r);
	if ((r = pal_register(&good)) != PAL_ERR_ALREADY_REGISTERED)
		return fail_at(7, r);
	d = good, d.region += PAL_PAGE, d.npages = 1, d.entry = d.region, d.stack_top = d.region + PAL_PAGE,
	d.cr3 = 0;
	if ((r = try_register(d, PAL_ERR_OVERLAP)) != PAL_ERR_OVERLAP)
		return fail_at(8, r);
	if ((r = pal_unregister(region)) != 0)
		return fail_at(9, r);
	if ((r = pal_unregister(region)) != PAL_ERR_NOT_REGISTERED)
		return fail_at(10, r);
	/* An overlap of exactly one page, from below: a one-page PAL on the region's
	 * second page, then the region's first two pages (mutant pal-overlap-unchecked). */
	struct pal_desc one = good;
	one.region += PAL_PAGE, one.npages = 1, one.entry = one.region, one.stack_top = one.region + PAL_PAGE,
	one.cr3 = 0;
	if ((r = pal_register(&one)) != 0)
		return fail_at(11, r);
	d = good, d.npages = 2, d.stack_top = d.region + 2 * PAL_PAGE, d.cr3 = 0;
	if ((r = try_register(d, PAL_ERR_OVERLAP)) != PAL_ERR_OVERLAP)
		return fail_at(12, r);
	if ((r = pal_unregister((void *)(uintptr_t)one.region)) != 0)
		return fail_at(13, r);
	return (struct verdict){ 0, 13, 0 };
}

struct verdict wl_pal_poke(struct guest_cpu *c, int has_arg, uint64_t arg)
{
	(void)has_arg, (void)arg;
	uint8_t *region = pal_prepare(c, PAL_COMPUTE, 7);
	struct pal_desc *d = &descs[c->index];
	pal_describe(d, region);
	uintptr_t r = pal_register(d);
	if (r != 0)
		return fail_at(1, r);
	uintptr_t target = (uintptr_t)region + PAL_PAGE;	/* the PAL's data page */
	hypercall_guest_event(GUEST_EV_FAULT_EXPECTED, target, 0);
	c->fault_recover_ip = (uintptr_t)guest_poke_recover;
	c->fault_ip = (uintptr_t)guest_poke_insn;
	int faulted = guest_poke((volatile uint32_t *)target, 0xbad);
	c->fault_ip = 0;
	/* The PAL still computes with its untouched secret. */
	uintptr_t got = pal_call(d->entry, 5);
	if ((r = pal_unregister(region)) != 0)
		return fail_at(2, r);
	if (!faulted)
		return (struct verdict){ GUEST_FAIL_NO_FAULT, target, 0 };
	if (got != pal_expected(5, 7, 1))
		return fail_at(3, got);
	return (struct verdict){ 0, 1, 0 };
}

struct verdict wl_pal_peek(struct guest_cpu *c, int has_arg, uint64_t arg)
{
	(void)has_arg, (void)arg;
	uint8_t *region = pal_prepare(c, PAL_PEEK, 0);
	struct pal_desc *d = &descs[c->index];
	pal_describe(d, region);
	uintptr_t r = pal_register(d);
	if (r != 0)
		return fail_at(1, r);
	uintptr_t got = pal_call(d->entry, (uintptr_t)&outside_the_pal);
	if ((r = pal_unregister(region)) != 0)
		return fail_at(2, r);
	if (got != PAL_ERR_ABORTED)
		return fail_at(3, got);
	return (struct verdict){ 0, 1, 0 };
}
