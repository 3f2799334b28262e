/* The guest side of the PAL hypapp (hv/hypapps/pal.c, defs/hypercalls.toml). */
#ifndef GUEST_PAL_H
#define GUEST_PAL_H

#include <stdint.h>
#include "percpu.h"

#define PAL_PAGE 4096u
/* Region: code, data + stack, and (64-bit) the PAL's PML4, PDPT, PD. */
#define PAL_REGION_PAGES 5u

struct pal_desc {
	uint64_t region, npages, entry, cr3, stack_top;
};

enum pal_kind { PAL_COMPUTE, PAL_PEEK };

/* This CPU's region (page aligned, inside one 2 MiB block), filled with the
 * template, secret, counter 0 and the PAL's own page tables. */
uint8_t *pal_prepare(struct guest_cpu *c, enum pal_kind kind, uint64_t secret);
/* A descriptor for the region prepared above. */
void pal_describe(struct pal_desc *d, uint8_t *region);

uintptr_t pal_register(const struct pal_desc *d);
uintptr_t pal_unregister(const void *region);
/* The expected result of the n-th call (n from 1) of PAL_COMPUTE. */
uintptr_t pal_expected(uintptr_t param, uint64_t secret, uintptr_t n);

uintptr_t pal_call(uintptr_t entry, uintptr_t param);

#endif
