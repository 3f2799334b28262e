/* The guest's physical memory map, with the hypervisor's memory reserved. */
#include "core/e820.h"

static int put(struct mem_range *out, u32 *k, u32 max, u64 base, u64 end, u32 type)
{
	if (end <= base)
		return 0;
	if (*k == max)
		return -1;
	out[(*k)++] = (struct mem_range){ base, end - base, type };
	return 0;
}

static void sort_by_base(struct mem_range *r, u32 n)
{
	for (u32 i = 1; i < n; i++)
		for (u32 j = i; j > 0 && r[j].base < r[j - 1].base; j--) {
			struct mem_range t = r[j];
			r[j] = r[j - 1];
			r[j - 1] = t;
		}
}

int e820_hide(const struct mem_range *in, u32 n, u64 hide_lo, u64 hide_hi, struct mem_range *out, u32 max)
{
	u32 k = 0;
	for (u32 i = 0; i < n; i++) {
		u64 b = in[i].base, e = in[i].base + in[i].len;
		if (e < b)	/* wraps: a firmware bug, not a range */
			return -1;
		if (in[i].type != E820_RAM || e <= hide_lo || b >= hide_hi) {
			if (put(out, &k, max, b, e, in[i].type))
				return -1;
			continue;
		}
		u64 lo = b > hide_lo ? b : hide_lo, hi = e < hide_hi ? e : hide_hi;
		if (put(out, &k, max, b, lo, E820_RAM) || put(out, &k, max, lo, hi, E820_RESERVED) ||
		    put(out, &k, max, hi, e, E820_RAM))
			return -1;
	}
	sort_by_base(out, k);
	return (int)k;
}

bool e820_usable(const struct mem_range *map, u32 n, u64 base, u64 len)
{
	if (base + len < base)
		return false;
	for (u32 i = 0; i < n; i++)
		if (map[i].type == E820_RAM && base >= map[i].base && base + len <= map[i].base + map[i].len)
			return true;
	return false;
}
