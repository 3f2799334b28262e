/*
 * What the loader handed us (Multiboot 0.6.96, 3.2 and 3.3), checked: the
 * magic, a command line, a memory map in which our own image is usable RAM
 * and -- under the Heisenvisor -- the hypervisor's memory is not, mem_upper
 * not claiming it either, and the modules (count as mods= says, each
 * page-aligned as our header asks, in usable RAM, clear of our image).
 * Everything is printed, so a test compares it with what it passed.
 */
#include "kernel.h"
#include <heisen/defs.h>

#define MB_MAGIC 0x2BADB002u

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static const struct mb_mmap *next(const struct mb_mmap *e)
{
	return (const struct mb_mmap *)((const uint8_t *)e + e->size + 4);	/* size excludes itself */
}

#define FOR_EACH_MMAP(e, mbi) \
	for (const struct mb_mmap *e = (const struct mb_mmap *)(mbi)->mmap_addr; \
	     (uint32_t)e + sizeof(*e) <= (mbi)->mmap_addr + (mbi)->mmap_length; e = next(e))

bool mmap_usable(const struct mb_info *mbi, uint64_t base, uint64_t len)
{
	FOR_EACH_MMAP(e, mbi)
		if (e->type == 1 && base >= e->base && base + len <= e->base + e->len)
			return true;
	return false;
}

static void printable(char *out, const uint8_t *p, uint32_t n)
{
	uint32_t i;
	for (i = 0; i < n; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.';
	out[i] = 0;
}

static void check_modules(const struct mb_info *mbi, const char *cmdline)
{
	uint32_t want, n = (mbi->flags & MBI_MODS) ? mbi->mods_count : 0;
	kprintf("modules: %u\n", n);
	if (cmdline_value(cmdline, "mods", &want))
		check(n == want, "the module count differs from mods=", n, want);
	const struct mb_module *m = (const struct mb_module *)mbi->mods_addr;
	uint32_t img = (uint32_t)_image_start, img_len = (uint32_t)(_image_end - _image_start);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t size = m[i].end - m[i].start;
		char head[25];
		printable(head, (const uint8_t *)m[i].start, size < 24 ? size : 24);
		kprintf("module %u: [%x, %x) size %u string '%s' head '%s'\n", i, m[i].start, m[i].end, size,
			m[i].string ? (const char *)m[i].string : "", head);
		check(m[i].end >= m[i].start, "a module ends before it starts", m[i].start, m[i].end);
		check((m[i].start & 0xfff) == 0, "a module is not page-aligned (header flag 0)", i, m[i].start);
		check(!size || mmap_usable(mbi, m[i].start, size), "a module outside usable RAM", i, m[i].start);
		check(!overlaps(m[i].start, size, img, img_len), "a module over the kernel's image", i, m[i].start);
	}
}

void mbi_check(uint32_t magic, const struct mb_info *mbi)
{
	check(magic == MB_MAGIC, "EAX is not the multiboot magic 0x2BADB002", magic, 0);
	uint32_t f = mbi->flags;
	kprintf("mbi: at %x flags %x mem_lower %u mem_upper %u\n", (uint32_t)mbi, f, mbi->mem_lower, mbi->mem_upper);
	check(f & MBI_CMDLINE, "no command line in the multiboot information", f, 0);
	check(f & MBI_MMAP, "no memory map in the multiboot information", f, 0);
	check(f & MBI_MEM, "no mem_lower/mem_upper (header flag 1 asks for them)", f, 0);
	const char *cmdline = (const char *)mbi->cmdline;
	kprintf("cmdline: '%s'\n", cmdline);
	if (f & MBI_LOADER_NAME)
		kprintf("loader: '%s'\n", (const char *)mbi->boot_loader_name);

	uint32_t n = 0;
	FOR_EACH_MMAP(e, mbi) {
		kprintf("mmap: [%llx, %llx) type %u\n", e->base, e->base + e->len, e->type);
		n++;
	}
	check(n > 0, "an empty memory map", mbi->mmap_addr, mbi->mmap_length);
	check(mbi->mem_lower <= 640, "mem_lower above 640 KiB", mbi->mem_lower, 0);
	uint32_t img = (uint32_t)_image_start, img_len = (uint32_t)(_image_end - _image_start);
	check(mmap_usable(mbi, img, img_len), "the kernel's own image is not usable RAM in the map", img, img_len);
	if (under_heisen) {
		uint32_t lo = heisen_info(INFO_HV_START), hi = heisen_info(INFO_HV_END);
		kprintf("hypervisor memory: [%x, %x)\n", lo, hi);
		check(lo < hi, "GET_INFO gave no hypervisor range", lo, hi);
		FOR_EACH_MMAP(e, mbi)
			check(e->type != 1 || !overlaps(e->base, e->len, lo, hi - lo),
			      "the memory map calls the hypervisor's memory usable", (uint32_t)e->base, e->type);
		check(!overlaps(0x100000, (uint64_t)mbi->mem_upper * 1024, lo, hi - lo),
		      "mem_upper claims the hypervisor's memory", mbi->mem_upper, lo);
		kprintf("hypervisor memory: not usable in the map, not in mem_upper\n");
	}
	check_modules(mbi, cmdline);
}
