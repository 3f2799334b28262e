/*
 * Building a PAL region in guest memory.  Each CPU has its own region so
 * that CPUs register PALs concurrently (XMHF64's test 2: two pal_demo).
 * For the 64-bit guest the PAL gets page tables of its own inside the
 * region (identity, 1 GiB of 2 MiB pages): its nested table maps only the
 * region, so the guest's own tables would be invisible to it.
 */
#include <heisen/defs.h>
#include "hypercall.h"
#include "pal.h"

extern const uint8_t pal_compute_start[], pal_compute_end[], pal_peek_start[], pal_peek_end[];

static uint8_t pal_regions[GUEST_MAX_CPUS][PAL_REGION_PAGES][PAL_PAGE]
	__attribute__((aligned(0x200000)));

static void build_page_tables(uint8_t *region)
{
	uint64_t *pml4 = (uint64_t *)(region + 2 * PAL_PAGE);
	uint64_t *pdpt = (uint64_t *)(region + 3 * PAL_PAGE);
	uint64_t *pd = (uint64_t *)(region + 4 * PAL_PAGE);

	pml4[0] = (uintptr_t)pdpt | 3;
	pdpt[0] = (uintptr_t)pd | 3;
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | 0x83;	/* present, writable, 2 MiB */
}

uint8_t *pal_prepare(struct guest_cpu *c, enum pal_kind kind, uint64_t secret)
{
	uint8_t *region = pal_regions[c->index][0];
	const uint8_t *from = kind == PAL_COMPUTE ? pal_compute_start : pal_peek_start;
	const uint8_t *to = kind == PAL_COMPUTE ? pal_compute_end : pal_peek_end;

	__builtin_memset(region, 0, PAL_REGION_PAGES * PAL_PAGE);
	__builtin_memcpy(region, from, (size_t)(to - from));
	*(uintptr_t *)(region + PAL_PAGE) = (uintptr_t)secret;
	if (sizeof(void *) == 8)
		build_page_tables(region);
	return region;
}

void pal_describe(struct pal_desc *d, uint8_t *region)
{
	d->region = (uintptr_t)region;
	d->npages = PAL_REGION_PAGES;
	d->entry = (uintptr_t)region;
	d->cr3 = sizeof(void *) == 8 ? (uintptr_t)region + 2 * PAL_PAGE : 0;
	d->stack_top = (uintptr_t)region + 2 * PAL_PAGE;
}

uintptr_t pal_register(const struct pal_desc *d)
{
	return hypercall(HC_PAL_REGISTER, (uintptr_t)d, 0, 0);
}

uintptr_t pal_unregister(const void *region)
{
	return hypercall(HC_PAL_UNREGISTER, (uintptr_t)region, 0, 0);
}

uintptr_t pal_expected(uintptr_t param, uint64_t secret, uintptr_t n)
{
	return (param * 3 + (uintptr_t)secret) ^ n;
}
