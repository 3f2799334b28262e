/*
 * Host driver for hv/core/nested_build.c: PAL tables built in a host pool in
 * two entry formats and walked back.  The second format leaves bit 0 clear in
 * table entries (as EPT's read bit is not a "present" bit), so a builder that
 * tests a format's bit instead of "nonzero" builds a new table on each page.
 * Prints "ok" and exits 0 when every case holds.
 */
#include <stdio.h>
#include <string.h>
#include "core/nested_build.h"

#define POOL 16
static u64 pages[POOL][512] __attribute__((aligned(4096)));
static int failures;

static u64 a_table(u64 pa) { return pa | 0x7; }
static u64 a_leaf(u64 hpa, bool w) { return hpa | 0x5 | (w ? 0x2 : 0); }
static u64 b_table(u64 pa) { return pa | 0x100; }
static u64 b_leaf(u64 hpa, bool w) { return hpa | 0x200 | (w ? 0x400 : 0); }

static const struct nested_format fmt_a = { a_table, a_leaf, 0x000ffffffffff000ull };
static const struct nested_format fmt_b = { b_table, b_leaf, 0x000ffffffffff000ull };

/* The leaf entry for gpa, or 0 where a level has none. */
static u64 walk(u64 root, const struct nested_format *f, u64 gpa)
{
	u64 *t = (u64 *)(uintptr_t)root;
	for (u32 shift = 39; shift > 12; shift -= 9) {
		u64 e = t[(gpa >> shift) & 511];
		if (!e)
			return 0;
		t = (u64 *)(uintptr_t)(e & f->addr_mask);
	}
	return t[(gpa >> 12) & 511];
}

static const char *format_name;

static void expect(const char *name, bool ok)
{
	if (!ok) {
		printf("FAIL %s: %s\n", format_name, name);
		failures++;
	}
}

static void one_format(const char *name, const struct nested_format *f)
{
	struct nested_pool pool = { pages, POOL, 0 };
	const struct pal_map maps[] = {
		{ 0x1234000, 0x1234000, true },
		{ 0x1235000, 0x1235000, false },	/* same PT */
		{ 0x40200000, 0x77000000, true },	/* another PDPT entry: PD + PT */
		{ 0x8000000000ull, 0x5000, false },	/* another PML4 entry: PDPT + PD + PT */
	};
	memset(pages, 0xee, sizeof(pages));	/* the builder must clear what it takes */
	u64 root = nested_build(&pool, f, maps, 4);
	format_name = name;
	expect("root", root == (u64)(uintptr_t)pages[0]);
	expect("tables", pool.used == 1 + 3 + 2 + 3);
	for (u32 i = 0; i < 4; i++)
		expect("leaf", walk(root, f, maps[i].gpa) == f->leaf(maps[i].hpa, maps[i].writable));
	expect("neighbour page", walk(root, f, 0x1236000) == 0);
	expect("neighbour table", walk(root, f, 0x1434000) == 0);
	expect("low page", walk(root, f, 0) == 0);

	/* A rebuild starts the pool over: the old pages are gone. */
	root = nested_build(&pool, f, &maps[1], 1);
	expect("rebuilt", pool.used == 4 && walk(root, f, maps[1].gpa) == f->leaf(maps[1].hpa, false));
	expect("forgotten", walk(root, f, maps[0].gpa) == 0 && walk(root, f, maps[3].gpa) == 0);

	/* Exactly enough tables: built; one fewer: 0, never a write past the pool. */
	pool.size = 9;
	expect("exact pool", nested_build(&pool, f, maps, 4) != 0);
	pool.size = 8;
	expect("pool too small", nested_build(&pool, f, maps, 4) == 0 && pool.used == 8);
	pool.size = 0;
	expect("empty pool", nested_build(&pool, f, maps, 1) == 0);
}

int main(void)
{
	one_format("format a", &fmt_a);
	one_format("format b", &fmt_b);
	if (failures)
		return 1;
	printf("ok\n");
	return 0;
}
