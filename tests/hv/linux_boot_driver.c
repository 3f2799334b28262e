/*
 * Host driver for hv/core/e820.c and hv/core/linux_boot.c (pure functions):
 * `linux_boot_driver` runs the cases below and prints "ok";
 * `linux_boot_driver BZIMAGE` prints what linux_parse() read from a real kernel,
 * for tests/test_linux_boot.py to compare with its own reading of the header.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/e820.h"
#include "core/linux_boot.h"

#define MiB (1ull << 20)
static u64 rd64(const u8 *p) { u64 v; memcpy(&v, p, 8); return v; }
static u32 rd32(const u8 *p) { u32 v; memcpy(&v, p, 4); return v; }
#define CHECK(c) do { if (!(c)) { printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); exit(1); } } while (0)

static const struct mem_range qemu_map[] = {	/* QEMU -m 512's map, as multiboot gives it */
	{ 0x0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xf0000, 0x10000, 2 },
	{ 0x100000, 0x1fee0000, 1 }, { 0x1ffe0000, 0x20000, 2 }, { 0xfffc0000, 0x40000, 2 },
};

static void e820_cases(void)
{
	struct mem_range out[16];
	int n = e820_hide(qemu_map, 6, 0x100000, 0x14bb000, out, 16);
	CHECK(n == 7);
	CHECK(out[3].base == 0x100000 && out[3].len == 0x13bb000 && out[3].type == E820_RESERVED);
	CHECK(out[4].base == 0x14bb000 && out[4].base + out[4].len == 0x1ffe0000 && out[4].type == E820_RAM);
	CHECK(out[0].type == E820_RAM && out[0].len == 0x9fc00);
	/* a hole in the middle of RAM: three pieces, sorted */
	struct mem_range one[] = { { 0x200000, 0x1000000, 2 }, { 0, 0x200000, 1 } };
	n = e820_hide(one, 2, 0x100000, 0x180000, out, 16);
	CHECK(n == 4 && out[0].base == 0 && out[0].len == 0x100000 && out[1].type == E820_RESERVED &&
	      out[1].len == 0x80000 && out[2].base == 0x180000 && out[2].type == E820_RAM && out[3].type == 2);
	/* a hole inside a reserved range changes nothing */
	n = e820_hide(qemu_map, 6, 0xf8000, 0xf9000, out, 16);
	CHECK(n == 6 && out[2].base == 0xf0000 && out[2].len == 0x10000);
	/* no room, or a range that wraps: -1 */
	CHECK(e820_hide(qemu_map, 6, 0x100000, 0x14bb000, out, 6) == -1);
	struct mem_range wrap[] = { { ~0ull - 10, 100, 1 } };
	CHECK(e820_hide(wrap, 1, 0, 1, out, 16) == -1);
	/* usable: inside one RAM range only */
	n = e820_hide(qemu_map, 6, 0x100000, 0x14bb000, out, 16);
	CHECK(e820_usable(out, (u32)n, 0x2400000, 0x3378000));
	CHECK(!e820_usable(out, (u32)n, 0x1000000, 0x1000));		/* the hidden hypervisor */
	CHECK(!e820_usable(out, (u32)n, 0x1ffd0000, 0x20000));		/* runs into reserved */
	CHECK(!e820_usable(out, (u32)n, ~0ull - 5, 10));		/* wraps */
}

/* A setup header with the Debian cloud kernel's values (../shared/notes/guests.md). */
static void make_header(u8 *img)
{
	memset(img, 0, 0x8000);
	img[0x1f1] = 39;
	img[0x1fe] = 0x55, img[0x1ff] = 0xaa;
	img[0x201] = 0x6a;			/* header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	img[0x206] = 0x0f, img[0x207] = 0x02;	/* 2.15 */
	img[0x211] = 1;				/* LOADED_HIGH */
	*(u32 *)(img + 0x214) = 0x100000;
	*(u32 *)(img + 0x22c) = 0x7fffffff;
	*(u32 *)(img + 0x230) = 0x200000;
	img[0x234] = 1;
	*(u32 *)(img + 0x238) = 2047;
	*(u64 *)(img + 0x258) = 0x1000000;
	*(u32 *)(img + 0x260) = 0x3378000;
	img[0x26b] = 0x5a;			/* last byte of the header */
	img[0x26c] = 0xa5;			/* first byte after it */
}

static void parse_cases(void)
{
	static u8 img[0x8000];
	struct linux_kernel k;
	make_header(img);
	CHECK(linux_parse(img, sizeof(img), &k) == NULL);
	CHECK(k.version == 0x20f && k.pm_offset == 40 * 512 && k.pm_size == sizeof(img) - 40 * 512);
	CHECK(k.alignment == 0x200000 && k.init_size == 0x3378000 && k.pref_address == 0x1000000);
	CHECK(k.header_end == 0x26c && k.cmdline_size == 2047 && k.initrd_addr_max == 0x7fffffff);

	make_header(img), img[0x1f1] = 0;	/* 0 setup sectors means 4 */
	CHECK(linux_parse(img, sizeof(img), &k) == NULL && k.pm_offset == 5 * 512);
	make_header(img), img[0x202] = 'X';
	CHECK(linux_parse(img, sizeof(img), &k) != NULL);
	make_header(img), img[0x1fe] = 0;
	CHECK(linux_parse(img, sizeof(img), &k) != NULL);
	make_header(img), img[0x206] = 0x09;
	CHECK(linux_parse(img, sizeof(img), &k) != NULL);
	make_header(img), img[0x211] = 0;
	CHECK(linux_parse(img, sizeof(img), &k) != NULL);
	make_header(img), img[0x234] = 0;
	CHECK(linux_parse(img, sizeof(img), &k) != NULL);
	make_header(img), *(u32 *)(img + 0x230) = 0x300000;
	CHECK(linux_parse(img, sizeof(img), &k) != NULL);
	make_header(img), img[0x201] = 0x90;
	CHECK(linux_parse(img, sizeof(img), &k) != NULL);
	make_header(img), img[0x1f1] = 200;	/* setup sectors past the file's end */
	CHECK(linux_parse(img, sizeof(img), &k) != NULL);
	CHECK(linux_parse(img, 0x100, &k) != NULL);
	make_header(img), *(u32 *)(img + 0x260) = 0x10;	/* init_size below the image: the image */
	CHECK(linux_parse(img, sizeof(img), &k) == NULL && k.init_size == k.pm_size);
}

static void placement_cases(void)
{
	static u8 img[0x8000];
	struct linux_kernel k;
	make_header(img);
	CHECK(linux_parse(img, sizeof(img), &k) == NULL);
	struct mem_range map[16];
	int n = e820_hide(qemu_map, 6, 0x100000, 0x14bb000, map, 16);
	/* the modules QEMU placed after the hypervisor: bzImage and initrd */
	struct mem_range mods[] = { { 0x14bc000, 0xd887c0, 0 }, { 0x2245000, 0xfbfb9, 0 } };
	CHECK(linux_load_address(&k, map, (u32)n, mods, 2) == 0x2400000);
	CHECK(linux_load_address(&k, map, (u32)n, mods, 0) == 0x1600000);	/* above the hypervisor */
	k.pref_address = 0x4000000;
	CHECK(linux_load_address(&k, map, (u32)n, mods, 2) == 0x4000000);
	k.init_size = 0x1fe00000;	/* more than the machine has */
	CHECK(linux_load_address(&k, map, (u32)n, mods, 2) == 0);
}

static void boot_params_cases(void)
{
	static u8 img[0x8000], bp[4096];
	struct linux_kernel k;
	make_header(img);
	CHECK(linux_parse(img, sizeof(img), &k) == NULL);
	struct mem_range map[16];
	int n = e820_hide(qemu_map, 6, 0x100000, 0x14bb000, map, 16);
	memset(bp, 0xcc, sizeof(bp));
	struct linux_boot_args a = { 0x2400000, 0x91000, 0x2245000, 0xfbfb9, 0xf5a40, map, (u32)n };
	CHECK(linux_fill_boot_params(bp, img, &k, &a) == NULL);
	CHECK(bp[0] == 0 && bp[0x1f0] == 0 && bp[0xfff] == 0);		/* zeroed */
	CHECK(!memcmp(bp + 0x1f1, img + 0x1f1, 0x210 - 0x1f1));
	CHECK(bp[0x26b] == 0x5a && bp[0x26c] == 0);		/* header copied, not a byte more */
	CHECK(bp[0x202] == 'H' && bp[0x210] == 0xff);
	CHECK(*(u32 *)(bp + 0x214) == 0x2400000 && *(u32 *)(bp + 0x228) == 0x91000);
	CHECK(*(u32 *)(bp + 0x218) == 0x2245000 && *(u32 *)(bp + 0x21c) == 0xfbfb9);
	CHECK(*(u64 *)(bp + 0x70) == 0xf5a40 && bp[0x1e8] == (u8)n);
	for (int i = 0; i < n; i++) {
		const u8 *e = bp + 0x2d0 + 20 * i;
		CHECK(rd64(e) == map[i].base && rd64(e + 8) == map[i].len && rd32(e + 16) == map[i].type);
	}
	CHECK(rd32(bp + 0x2d0 + 20 * n) == 0);
	a.nmap = 129;
	CHECK(linux_fill_boot_params(bp, img, &k, &a) != NULL);
}

static int print_kernel(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 2;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	u8 *img = malloc((size_t)size);
	if (!img || fread(img, 1, (size_t)size, f) != (size_t)size)
		return 2;
	fclose(f);
	struct linux_kernel k;
	const char *why = linux_parse(img, (u64)size, &k);
	if (why) {
		printf("error %s\n", why);
		return 1;
	}
	printf("version %#x pm_offset %#llx pm_size %#llx alignment %#llx init_size %#llx pref %#llx "
	       "cmdline_size %u initrd_max %#x header_end %#x\n", k.version, (unsigned long long)k.pm_offset,
	       (unsigned long long)k.pm_size, (unsigned long long)k.alignment, (unsigned long long)k.init_size,
	       (unsigned long long)k.pref_address, k.cmdline_size, k.initrd_addr_max, k.header_end);
	free(img);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2)
		return print_kernel(argv[1]);
	e820_cases();
	parse_cases();
	placement_cases();
	boot_params_cases();
	puts("ok");
	return 0;
}
