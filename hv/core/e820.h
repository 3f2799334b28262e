#ifndef HV_E820_H
#define HV_E820_H
#include "core/types.h"

/* One range of the physical memory map.  Types as in the BIOS E820 call and
 * the multiboot memory map, which share them (ACPI spec 15, "System Address
 * Map Interfaces"): 1 usable RAM, 2 reserved, 3 ACPI reclaimable, 4 ACPI NVS,
 * 5 bad memory. */
struct mem_range {
	u64 base, len;
	u32 type;
};

#define E820_RAM 1
#define E820_RESERVED 2

/*
 * The guest's memory map: the firmware's `in` with [hide_lo, hide_hi) taken
 * out of usable RAM and listed as reserved, so neither Linux nor a multiboot
 * kernel ever allocates the hypervisor's pages (KASLR picks any usable RAM;
 * docs/platform.md G5).  Ranges of other types pass unchanged.  Writes at
 * most `max` ranges, sorted by base; returns how many, or -1 if they do not fit.
 */
int e820_hide(const struct mem_range *in, u32 n, u64 hide_lo, u64 hide_hi, struct mem_range *out, u32 max);

/* Do [a, a + alen) and [b, b + blen) share a byte? */
static inline bool mem_overlaps(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

/* Does [base, base + len) lie inside one usable range of `map`? */
bool e820_usable(const struct mem_range *map, u32 n, u64 base, u64 len);
#endif
