/*
 * Host driver for hv/core/gpt_walk.c: synthetic 4-level tables in a small
 * array of "guest-physical" pages.  Each case builds a table, walks one
 * address and checks the status, the address and the effective permissions.
 * Prints "ok" and exits 0 when every case holds.
 */
#include <stdio.h>
#include <string.h>
#include "core/gpt_walk.h"

#define NPAGES 16
#define P 1ull
#define RW 2ull
#define US 4ull
#define PS 0x80ull
#define NX (1ull << 63)
#define ALL (P | RW | US)

static u64 mem[NPAGES][512];
static int failures;

static bool reader(void *ctx, u64 gpa, u64 *val)
{
	(void)ctx;
	if (gpa & 7 || gpa / 4096 >= NPAGES)
		return false;
	*val = mem[gpa / 4096][(gpa % 4096) / 8];
	return true;
}

/* Page n of mem as a table address. */
static u64 pg(u32 n) { return (u64)n << 12; }

static u64 *tbl(u32 n) { return mem[n]; }

#define VA 0x00007f1234567abcull	/* PML4 254, PDPT 72, PD 418, PT 359 */
#define I4 ((VA >> 39) & 511)
#define I3 ((VA >> 30) & 511)
#define I2 ((VA >> 21) & 511)
#define I1 ((VA >> 12) & 511)

/* CR3 = page 1; PML4 1 -> PDPT 2 -> PD 3 -> PT 4, every level `flags`. */
static void build_4k(u64 f4, u64 f3, u64 f2, u64 f1)
{
	memset(mem, 0, sizeof(mem));
	tbl(1)[I4] = pg(2) | f4;
	tbl(2)[I3] = pg(3) | f3;
	tbl(3)[I2] = pg(4) | f2;
	tbl(4)[I1] = 0xabcde000ull | f1;
}

static void expect(const char *name, u64 va, enum gpt_status st, u64 pa, int w, int u, int nx, u32 level)
{
	struct gpt_result r;
	enum gpt_status got = gpt_walk(pg(1) | 0x5, va, reader, NULL, &r);	/* PCID bits ignored */
	if (got != st) {
		printf("%s: status %d, want %d\n", name, got, st);
		failures++;
		return;
	}
	if (level && r.level != level) {
		printf("%s: level %u, want %u\n", name, r.level, level);
		failures++;
	}
	if (st != GPT_OK)
		return;
	if (r.pa != pa || r.writable != w || r.user != u || r.nx != nx) {
		printf("%s: pa %llx w%d u%d nx%d, want pa %llx w%d u%d nx%d\n", name,
		       (unsigned long long)r.pa, r.writable, r.user, r.nx, (unsigned long long)pa, w, u, nx);
		failures++;
	}
}

static void mappings(void)
{
	build_4k(ALL, ALL, ALL, ALL);
	expect("4k", VA, GPT_OK, 0xabcdeabcull, 1, 1, 0, 1);
	tbl(3)[I2] = 0x40000000ull | ALL | PS;	/* 2 MiB at 1 GiB */
	expect("2m", VA, GPT_OK, 0x40000000ull | (VA & 0x1fffff), 1, 1, 0, 2);
	tbl(3)[I2] = 0x40000000ull | ALL | PS | 0x1000;	/* PAT bit: not address */
	expect("2m-pat", VA, GPT_OK, 0x40000000ull | (VA & 0x1fffff), 1, 1, 0, 2);
	tbl(2)[I3] = 0x80000000ull | ALL | PS;	/* 1 GiB at 2 GiB */
	expect("1g", VA, GPT_OK, 0x80000000ull | (VA & 0x3fffffff), 1, 1, 0, 3);
}

static void not_present(void)
{
	for (u32 level = 4; level >= 1; level--) {
		build_4k(ALL, ALL, ALL, ALL);
		u64 *e = level == 4 ? &tbl(1)[I4] : level == 3 ? &tbl(2)[I3] : level == 2 ? &tbl(3)[I2] : &tbl(4)[I1];
		*e &= ~P;
		char name[32];
		snprintf(name, sizeof(name), "not-present-%u", level);
		expect(name, VA, GPT_NOT_PRESENT, 0, 0, 0, 0, level);
	}
}

static void accumulation(void)
{
	const u64 fl[4] = { ALL, ALL, ALL, ALL };
	for (u32 lv = 0; lv < 4; lv++) {
		u64 f[4];
		char name[32];
		memcpy(f, fl, sizeof(f));
		f[lv] = P | RW;		/* supervisor at one level */
		build_4k(f[0], f[1], f[2], f[3]);
		snprintf(name, sizeof(name), "user-cleared-%u", 4 - lv);
		expect(name, VA, GPT_OK, 0xabcdeabcull, 1, 0, 0, 1);
		memcpy(f, fl, sizeof(f));
		f[lv] = P | US;		/* read-only at one level */
		build_4k(f[0], f[1], f[2], f[3]);
		snprintf(name, sizeof(name), "ro-%u", 4 - lv);
		expect(name, VA, GPT_OK, 0xabcdeabcull, 0, 1, 0, 1);
		memcpy(f, fl, sizeof(f));
		f[lv] = ALL | NX;
		build_4k(f[0], f[1], f[2], f[3]);
		snprintf(name, sizeof(name), "nx-%u", 4 - lv);
		expect(name, VA, GPT_OK, 0xabcdeabcull, 1, 1, 1, 1);
	}
	build_4k(ALL, ALL, ALL, ALL);
	tbl(3)[I2] = 0x40000000ull | P | US | PS;	/* read-only 2 MiB leaf */
	expect("ro-2m-leaf", VA, GPT_OK, 0x40000000ull | (VA & 0x1fffff), 0, 1, 0, 2);
}

static void refused(void)
{
	build_4k(ALL, ALL, ALL, ALL);
	expect("noncanonical-low", 0x0000800000000000ull, GPT_NONCANONICAL, 0, 0, 0, 0, 0);
	expect("noncanonical-high", 0xffff7fffffffffffull, GPT_NONCANONICAL, 0, 0, 0, 0, 0);
	tbl(1)[I4] |= PS;
	expect("ps-in-pml4", VA, GPT_RESERVED, 0, 0, 0, 0, 4);
	build_4k(ALL, ALL, ALL, ALL);
	tbl(4)[I1] |= 1ull << 50;
	expect("high-phys-bit", VA, GPT_RESERVED, 0, 0, 0, 0, 1);
	build_4k(ALL, ALL, ALL, ALL);
	tbl(3)[I2] = 0x40000000ull | ALL | PS | 0x2000;
	expect("2m-low-bits", VA, GPT_RESERVED, 0, 0, 0, 0, 2);
	build_4k(ALL, ALL, ALL, ALL);
	tbl(2)[I3] = 0x80000000ull | ALL | PS | 0x200000;
	expect("1g-low-bits", VA, GPT_RESERVED, 0, 0, 0, 0, 3);
	build_4k(ALL, ALL, ALL, ALL);
	tbl(2)[I3] = 0x7000000ull | ALL;	/* a PD the reader refuses */
	expect("unreadable", VA, GPT_UNREADABLE, 0, 0, 0, 0, 2);
	build_4k(ALL, ALL, ALL, ALL);
	tbl(4)[I1] |= 0x7ffull << 52;	/* available bits: ignored */
	expect("available-bits", VA, GPT_OK, 0xabcdeabcull, 1, 1, 0, 1);
	/* A kernel-half address walks like any other once canonical. */
	u64 kva = 0xffff800000001000ull;
	memset(mem, 0, sizeof(mem));
	tbl(1)[256] = pg(2) | ALL;
	tbl(2)[0] = pg(3) | ALL;
	tbl(3)[0] = pg(4) | ALL;
	tbl(4)[1] = 0x5000ull | P;
	expect("kernel-half", kva, GPT_OK, 0x5000, 0, 0, 0, 1);
}

int main(void)
{
	mappings();
	not_present();
	accumulation();
	refused();
	if (failures)
		return 1;
	printf("ok\n");
	return 0;
}
