#include "core/nested_build.h"

static u64 *pool_take(struct nested_pool *p)
{
	if (p->used == p->size)
		return NULL;
	u64 *t = p->page[p->used++];
	for (int i = 0; i < 512; i++)
		t[i] = 0;
	return t;
}

/* The table under table[index], made on first use; NULL: pool empty.  The
 * hypervisor's memory is identity-mapped, so a pointer is its own address. */
static u64 *next_level(struct nested_pool *p, const struct nested_format *f, u64 *table, u64 index)
{
	if (table[index])
		return (u64 *)(uintptr_t)(table[index] & f->addr_mask);
	u64 *t = pool_take(p);
	if (t)
		table[index] = f->table((u64)(uintptr_t)t);
	return t;
}

u64 nested_build(struct nested_pool *pool, const struct nested_format *f,
		 const struct pal_map *maps, u32 n)
{
	pool->used = 0;
	u64 *root = pool_take(pool);
	for (u32 i = 0; i < n && root; i++) {
		u64 gpa = maps[i].gpa, *t = root;
		for (u32 shift = 39; shift > 12 && t; shift -= 9)
			t = next_level(pool, f, t, (gpa >> shift) & 511);
		if (!t)
			return 0;
		t[(gpa >> 12) & 511] = f->leaf(maps[i].hpa, maps[i].writable);
	}
	return (u64)(uintptr_t)root;
}
