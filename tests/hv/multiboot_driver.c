/*
 * Host driver for hv/core/multiboot_guest.c (pure functions): the header
 * finder, the flag check, the a.out-kludge layout, mem_lower/mem_upper and the
 * multiboot information the guest gets.  Prints "ok" when every case holds;
 * `multiboot_driver FILE` prints what mb_find_header() read from a real kernel,
 * for tests/test_multiboot_loader.py to compare with Python's reading.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/e820.h"
#include "core/multiboot_guest.h"

#define CHECK(c) do { if (!(c)) { printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); exit(1); } } while (0)
static u32 rd32(const u8 *p) { u32 v; memcpy(&v, p, 4); return v; }
static u64 rd64(const u8 *p) { u64 v; memcpy(&v, p, 8); return v; }
static void wr32(u8 *p, u32 v) { memcpy(p, &v, 4); }

static const struct mem_range qemu_map[] = {	/* QEMU -m 256's map, as multiboot gives it */
	{ 0x0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xf0000, 0x10000, 2 },
	{ 0x100000, 0xfee0000, 1 }, { 0xffe0000, 0x20000, 2 }, { 0xfffc0000, 0x40000, 2 },
};

/* A header at `off` in a zeroed image: magic, flags, checksum (+ a.out fields). */
static void put_header(u8 *img, u32 off, u32 flags, u32 sum_delta, const u32 *aout)
{
	wr32(img + off, MB_HEADER_MAGIC);
	wr32(img + off + 4, flags);
	wr32(img + off + 8, (u32)(0u - MB_HEADER_MAGIC - flags) + sum_delta);
	for (int i = 0; aout && i < 5; i++)
		wr32(img + off + 12 + 4 * i, aout[i]);
}

static void header_cases(void)
{
	static u8 img[16384];
	struct mb_header h;
	memset(img, 0, sizeof(img));
	CHECK(!mb_find_header(img, sizeof(img), &h));		/* none */
	put_header(img, 0x40, MB_HF_PAGE_ALIGN | MB_HF_MEMINFO, 0, NULL);
	CHECK(mb_find_header(img, sizeof(img), &h) && h.offset == 0x40 && h.flags == 3);
	CHECK(mb_check_flags(&h) == NULL);
	/* a bad checksum: not a header */
	memset(img, 0, sizeof(img));
	put_header(img, 0x40, 3, 1, NULL);
	CHECK(!mb_find_header(img, sizeof(img), &h));
	/* not 4-aligned: not found */
	memset(img, 0, sizeof(img));
	put_header(img, 0x42, 3, 0, NULL);
	CHECK(!mb_find_header(img, sizeof(img), &h));
	/* the last place it may start (8192 - 12), and just beyond the 8 KiB */
	memset(img, 0, sizeof(img));
	put_header(img, 8192 - 12, 3, 0, NULL);
	CHECK(mb_find_header(img, sizeof(img), &h) && h.offset == 8192 - 12);
	memset(img, 0, sizeof(img));
	put_header(img, 8192 - 8, 3, 0, NULL);
	CHECK(!mb_find_header(img, sizeof(img), &h));
	memset(img, 0, sizeof(img));
	put_header(img, 8192, 3, 0, NULL);
	CHECK(!mb_find_header(img, sizeof(img), &h));
	/* a file shorter than the header */
	memset(img, 0, sizeof(img));
	put_header(img, 0, 3, 0, NULL);
	CHECK(!mb_find_header(img, 8, &h) && mb_find_header(img, 12, &h));
	/* the first valid one counts: a bad one before it is skipped */
	memset(img, 0, sizeof(img));
	put_header(img, 0x10, 3, 5, NULL);
	put_header(img, 0x80, 2, 0, NULL);
	CHECK(mb_find_header(img, sizeof(img), &h) && h.offset == 0x80 && h.flags == 2);

	/* flags: video is noted, not refused; any other of bits 3..15 is refused;
	 * optional bits 17..31 are ignored */
	h.flags = MB_HF_VIDEO | MB_HF_MEMINFO;
	CHECK(mb_check_flags(&h) == NULL);
	for (u32 bit = 3; bit < 16; bit++) {
		h.flags = 1u << bit;
		CHECK(mb_check_flags(&h) != NULL);
	}
	h.flags = MB_HF_AOUT_KLUDGE | (1u << 20) | (1u << 31);
	CHECK(mb_check_flags(&h) == NULL);
}

static void aout_cases(void)
{
	static u8 img[65536];
	struct mb_header h;
	struct mb_segment s;
	/* A flat binary linked at 32 MiB with its header at offset 0x1000:
	 * text+data 0x3000 bytes, bss up to +0x5000. */
	u32 base = 0x2000000, aout[5] = { base + 0x1000, base, base + 0x3000, base + 0x5000, base + 0x1020 };
	memset(img, 0, sizeof(img));
	put_header(img, 0x1000, MB_HF_AOUT_KLUDGE | MB_HF_MEMINFO, 0, aout);
	CHECK(mb_find_header(img, 0x4000, &h) && h.load_addr == base && h.entry_addr == base + 0x1020);
	CHECK(mb_aout_segment(&h, 0x4000, &s) == NULL);
	CHECK(s.offset == 0 && s.paddr == base && s.filesz == 0x3000 && s.memsz == 0x5000);
	/* load_end_addr 0: the whole file from the load offset; bss_end 0: no bss */
	aout[2] = 0, aout[3] = 0;
	put_header(img, 0x1000, MB_HF_AOUT_KLUDGE, 0, aout);
	CHECK(mb_find_header(img, 0x4000, &h) && mb_aout_segment(&h, 0x4000, &s) == NULL);
	CHECK(s.offset == 0 && s.filesz == 0x4000 && s.memsz == 0x4000);
	/* the header later in the file than in memory: loading starts past the file's start */
	aout[0] = base + 0x800;
	put_header(img, 0x1000, MB_HF_AOUT_KLUDGE, 0, aout);
	CHECK(mb_find_header(img, 0x4000, &h) && mb_aout_segment(&h, 0x4000, &s) == NULL);
	CHECK(s.offset == 0x800 && s.paddr == base && s.filesz == 0x3800);
	/* refusals: load_addr above header_addr; header_addr - load_addr beyond the
	 * header's offset; load_end beyond the file; bss_end below load_end; no flag */
	u32 bad[][5] = {
		{ base, base + 0x10, 0, 0, base },
		{ base + 0x2000, base, 0, 0, base },
		{ base + 0x1000, base, base + 0x8000, 0, base },
		{ base + 0x1000, base, base + 0x3000, base + 0x2000, base },
		{ base + 0x1000, base, base, 0, base },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_header(img, 0x1000, MB_HF_AOUT_KLUDGE, 0, bad[i]);
		CHECK(mb_find_header(img, 0x4000, &h));
		CHECK(mb_aout_segment(&h, 0x4000, &s) != NULL);
	}
	put_header(img, 0x1000, MB_HF_MEMINFO, 0, NULL);
	CHECK(mb_find_header(img, 0x4000, &h) && mb_aout_segment(&h, 0x4000, &s) != NULL);
	/* the address fields must lie in the file */
	memset(img, 0, sizeof(img));
	put_header(img, 0, MB_HF_AOUT_KLUDGE, 0, aout);
	CHECK(!mb_find_header(img, 20, &h) && mb_find_header(img, 32, &h));
}

static void mem_cases(void)
{
	struct mem_range out[16];
	u32 lower, upper;
	mb_mem_sizes(qemu_map, 6, &lower, &upper);
	CHECK(lower == 639 && upper == (0xfee0000 >> 10));
	/* the hypervisor at [1 MiB, 20 MiB) hidden: no upper memory from 1 MiB */
	int n = e820_hide(qemu_map, 6, 0x100000, 0x1400000, out, 16);
	CHECK(n == 7);
	mb_mem_sizes(out, (u32)n, &lower, &upper);
	CHECK(lower == 639 && upper == 0);
	/* touching usable ranges count as one; unsorted input */
	struct mem_range touch[] = { { 0x300000, 0x100000, 1 }, { 0x100000, 0x200000, 1 }, { 0, 0xa0000, 1 } };
	mb_mem_sizes(touch, 3, &lower, &upper);
	CHECK(lower == 640 && upper == 3072);
	/* lower memory is capped at 640 KiB even when RAM runs on */
	struct mem_range flat[] = { { 0, 0x200000, 1 } };
	mb_mem_sizes(flat, 1, &lower, &upper);
	CHECK(lower == 640 && upper == 1024);
}

static void info_cases(void)
{
	static u8 buf[0x8000];
	struct mem_range map[16];
	int n = e820_hide(qemu_map, 6, 0x100000, 0x14bb000, map, 16);
	CHECK(n == 7);
	struct mb_module_in mods[2] = { { 0x14bc000, 0x14bd123, "module1.bin one two" },
					{ 0x14be000, 0x14be000, NULL } };
	struct mb_info_args a = { "multiboot.elf cpus=4 note=a,b", mods, 2, map, (u32)n, "Heisenvisor" };
	u32 pa = 0x90100, used = 0;
	memset(buf, 0xee, sizeof(buf));
	CHECK(mb_build_info(buf, pa, sizeof(buf), &a, &used) == NULL);
	CHECK(used > MBI_SIZE && used < 0x400);
	u32 flags = rd32(buf + MBI_FLAGS);
	CHECK(flags == (MB_INFO_MEM | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MMAP | MB_INFO_LOADER_NAME));
	CHECK(rd32(buf + MBI_MEM_LOWER) == 639 && rd32(buf + MBI_MEM_UPPER) == 0);
	/* the fields the info does not set are zero, not garbage */
	CHECK(rd32(buf + 12) == 0 && rd32(buf + 28) == 0 && rd32(buf + 52) == 0 && rd32(buf + 60) == 0);
	/* command line: the whole module string, path included */
	u32 cmd = rd32(buf + MBI_CMDLINE);
	CHECK(cmd >= pa + MBI_SIZE && cmd < pa + used);
	CHECK(strcmp((char *)buf + (cmd - pa), "multiboot.elf cpus=4 note=a,b") == 0);
	CHECK(strcmp((char *)buf + (rd32(buf + MBI_LOADER_NAME) - pa), "Heisenvisor") == 0);
	/* modules with their strings; a module without one gets "" */
	CHECK(rd32(buf + MBI_MODS_COUNT) == 2);
	const u8 *m = buf + (rd32(buf + MBI_MODS_ADDR) - pa);
	CHECK(rd32(m) == 0x14bc000 && rd32(m + 4) == 0x14bd123 && rd32(m + 12) == 0);
	CHECK(strcmp((char *)buf + (rd32(m + 8) - pa), "module1.bin one two") == 0);
	CHECK(rd32(m + 16) == 0x14be000 && rd32(m + 20) == 0x14be000 && buf[rd32(m + 24) - pa] == 0);
	/* the memory map: 24-byte entries, size 20, the hypervisor reserved */
	CHECK(rd32(buf + MBI_MMAP_LENGTH) == 7 * MB_MMAP_ENTRY);
	const u8 *e = buf + (rd32(buf + MBI_MMAP_ADDR) - pa);
	CHECK((rd32(buf + MBI_MMAP_ADDR) & 3) == 0 && (rd32(buf + MBI_MODS_ADDR) & 3) == 0);
	for (int i = 0; i < n; i++) {
		const u8 *x = e + i * MB_MMAP_ENTRY;
		CHECK(rd32(x) == 20 && rd64(x + 4) == map[i].base && rd64(x + 12) == map[i].len &&
		      rd32(x + 20) == map[i].type);
		if (rd32(x + 20) == E820_RAM)
			CHECK(rd64(x + 4) >= 0x14bb000 || rd64(x + 4) + rd64(x + 12) <= 0x100000);
	}
	CHECK(rd64(e + 3 * MB_MMAP_ENTRY + 4) == 0x100000 && rd32(e + 3 * MB_MMAP_ENTRY + 20) == E820_RESERVED);

	/* no modules, no loader name: MODS set with count 0, LOADER_NAME clear */
	struct mb_info_args b = { "k", NULL, 0, map, (u32)n, NULL };
	CHECK(mb_build_info(buf, pa, sizeof(buf), &b, &used) == NULL);
	CHECK(rd32(buf + MBI_FLAGS) == (MB_INFO_MEM | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MMAP));
	CHECK(rd32(buf + MBI_MODS_COUNT) == 0 && rd32(buf + MBI_MODS_ADDR) == 0);

	/* too small a buffer for any part: a reason, never an overrun (ASan) */
	for (u32 size = 0; size < 0x200; size += 7) {
		u8 *tight = malloc(size ? size : 1);
		const char *why = mb_build_info(tight, pa, size, &a, &used);
		CHECK(why != NULL || used <= size);
		free(tight);
	}
	/* a module beyond 4 GiB, an info area crossing 4 GiB */
	struct mb_module_in high = { 0xfffff000ull, 0x100001000ull, "x" };
	struct mb_info_args c = { "k", &high, 1, map, (u32)n, NULL };
	CHECK(mb_build_info(buf, pa, sizeof(buf), &c, &used) != NULL);
	CHECK(mb_build_info(buf, 0xffffff00u, sizeof(buf), &a, &used) != NULL);
}

int main(int argc, char **argv)
{
	if (argc == 2) {
		FILE *f = fopen(argv[1], "rb");
		if (!f)
			return 2;
		static u8 img[1 << 24];
		size_t size = fread(img, 1, sizeof(img), f);
		fclose(f);
		struct mb_header h;
		if (!mb_find_header(img, size, &h)) {
			printf("none\n");
			return 0;
		}
		const char *why = mb_check_flags(&h);
		printf("offset 0x%x flags 0x%x refused %s\n", h.offset, h.flags, why ? why : "-");
		if (h.flags & MB_HF_AOUT_KLUDGE) {
			struct mb_segment s;
			why = mb_aout_segment(&h, size, &s);
			if (why)
				printf("aout refused: %s\n", why);
			else
				printf("aout offset 0x%llx paddr 0x%llx filesz 0x%llx memsz 0x%llx entry 0x%x\n",
				       (unsigned long long)s.offset, (unsigned long long)s.paddr,
				       (unsigned long long)s.filesz, (unsigned long long)s.memsz, h.entry_addr);
		}
		return 0;
	}
	header_cases();
	aout_cases();
	mem_cases();
	info_cases();
	printf("ok\n");
	return 0;
}
