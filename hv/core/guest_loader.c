/*
 * Loads the guest that multiboot module 0 holds, by what it is:
 * - a bzImage: Linux, by the boot protocol (core/linux_boot.c), with the
 *   initrd in module 1 and the kernel command line in module 0's string;
 * - a multiboot kernel (a valid multiboot v1 header in its first 8 KiB): as
 *   QEMU -kernel would load it, with its own command line (module 0's whole
 *   string), the other modules as its modules and the hypervisor hidden from
 *   its memory map (core/multiboot_guest.c, docs/multiboot-guest.md);
 * - any other ELF file: one of guest/'s own kernels, copied to its physical
 *   addresses (none of them carries a multiboot header).
 */
#include "core/guest_loader.h"
#include "core/linux_boot.h"
#include "core/multiboot_guest.h"
#include "core/acpi.h"
#include "core/string.h"
#include "core/panic.h"
#include "core/log.h"
#include <heisen/defs.h>

struct seg {
	u32 type;
	u64 offset, paddr, filesz, memsz;
};

static struct seg phdr(const u8 *img, bool is64, u64 phoff, u32 phentsize, u32 i)
{
	const u8 *p = img + phoff + (u64)i * phentsize;
	if (is64)
		return (struct seg){ *(const u32 *)p, *(const u64 *)(p + 8), *(const u64 *)(p + 24),
				     *(const u64 *)(p + 32), *(const u64 *)(p + 40) };
	return (struct seg){ *(const u32 *)p, *(const u32 *)(p + 4), *(const u32 *)(p + 12),
			     *(const u32 *)(p + 16), *(const u32 *)(p + 20) };
}

/* Where an image's pieces may go: never over the hypervisor or a range in
 * `avoid` (modules still needed, boot data); with a map, only inside usable
 * RAM of it. */
struct placement {
	u64 min, max;
	u64 prot_lo, prot_hi;
	const struct mem_range *avoid;
	u32 navoid;
	const struct mem_range *map;	/* NULL: [min, max) is enough */
	u32 nmap;
	const char *why;		/* the panic for any other refusal */
};

static void place(const struct placement *p, u64 paddr, u64 memsz, u32 i)
{
	if (paddr + memsz < paddr)
		hv_panic(i, paddr, 0, p->why);
	if (mem_overlaps(paddr, memsz, p->prot_lo, p->prot_hi - p->prot_lo)) {
		/* Most third-party multiboot kernels link at 1 MiB, where the
		 * hypervisor lives: say where they must go instead. */
		hv_printf("guest image [%lx, %lx) overlaps the hypervisor's memory [%lx, %lx): "
			  "link it at or above %lx\n", paddr, paddr + memsz, p->prot_lo, p->prot_hi, p->prot_hi);
		hv_panic(paddr, memsz, 0, "guest image inside the hypervisor's memory");
	}
	if (paddr < p->min || paddr + memsz > p->max)
		hv_panic(paddr, memsz, 0, p->why);
	for (u32 k = 0; k < p->navoid; k++)
		if (mem_overlaps(paddr, memsz, p->avoid[k].base, p->avoid[k].len)) {
			hv_printf("guest image [%lx, %lx) overlaps [%lx, %lx), which it needs intact\n", paddr,
				  paddr + memsz, p->avoid[k].base, p->avoid[k].base + p->avoid[k].len);
			hv_panic(paddr, memsz, 0, "guest image over a module or its boot information");
		}
	if (p->map && memsz && !e820_usable(p->map, p->nmap, paddr, memsz))
		hv_panic(paddr, memsz, 0, "guest image outside usable RAM");
}

static void copy_in(const u8 *img, u64 offset, u64 paddr, u64 filesz, u64 memsz, struct guest_image *out)
{
	memcpy((void *)paddr, img + offset, filesz);
	memset((void *)(paddr + filesz), 0, memsz - filesz);
	if (paddr < out->lo)
		out->lo = paddr;
	if (paddr + memsz > out->hi)
		out->hi = paddr + memsz;
}

/* Copy every PT_LOAD to its physical address; entry and class into out. */
static void load_elf(u64 start, u64 end, const struct placement *p, struct guest_image *out)
{
	const u8 *img = (const u8 *)start;
	u64 size = end - start;
	if (size < 52 || memcmp(img, "\x7f" "ELF", 4))
		hv_panic(size, 0, 0, "guest module is neither an ELF file nor a bzImage");
	bool is64 = img[4] == 2;
	u64 phoff = is64 ? *(const u64 *)(img + 32) : *(const u32 *)(img + 28);
	u32 phentsize = *(const u16 *)(img + (is64 ? 54 : 42));
	u32 phnum = *(const u16 *)(img + (is64 ? 56 : 44));
	out->entry = is64 ? *(const u64 *)(img + 24) : *(const u32 *)(img + 24);
	out->mode = is64 ? 64 : 32;
	out->lo = ~0ull;
	out->hi = 0;
	if (phoff + (u64)phnum * phentsize > size)
		hv_panic(phoff, phnum, 0, "guest ELF program headers outside the module");
	/* Check every segment before the first copy: no half-loaded guest. */
	for (u32 pass = 0; pass < 2; pass++)
		for (u32 i = 0; i < phnum; i++) {
			struct seg s = phdr(img, is64, phoff, phentsize, i);
			if (s.type != 1)	/* PT_LOAD */
				continue;
			if (s.offset + s.filesz > size || s.filesz > s.memsz)
				hv_panic(i, s.offset, 0, "guest ELF segment outside the module");
			if (pass == 0)
				place(p, s.paddr, s.memsz, i);
			else
				copy_in(img, s.offset, s.paddr, s.filesz, s.memsz, out);
		}
	if (out->hi == 0)
		hv_panic(0, 0, 0, "guest ELF has no loadable segment");
}

/* The guest's memory map: the firmware's with [prot_lo, prot_hi) reserved. */
static u32 hidden_map(const struct boot_info *b, u64 prot_lo, u64 prot_hi, struct mem_range *map, u32 max)
{
	int n = e820_hide(b->map, b->nmap, prot_lo, prot_hi, map, max);
	if (b->nmap == 0 || n < 0)
		hv_panic(b->nmap, 0, 0, "no usable firmware memory map for an OS guest");
	return (u32)n;
}

/* The modules as ranges, to place a kernel clear of them. */
static void module_ranges(const struct boot_info *b, struct mem_range *out)
{
	for (u32 i = 0; i < b->nmods; i++)
		out[i] = (struct mem_range){ b->mods[i].start, b->mods[i].end - b->mods[i].start, 0 };
}

static void load_heisen(const struct boot_info *b, u64 prot_lo, u64 prot_hi, struct guest_image *out)
{
	struct mem_range self = { b->mods[0].start, b->mods[0].end - b->mods[0].start, 0 };
	struct placement p = { GUEST_LOAD_MIN, 0x40000000, prot_lo, prot_hi, &self, 1, NULL, 0,
			       "guest ELF segment at a forbidden address" };
	load_elf(b->mods[0].start, b->mods[0].end, &p, out);
	out->kind = GUEST_HEISEN;
}

static void load_linux(const struct boot_info *b, u64 prot_lo, u64 prot_hi, struct guest_image *out)
{
	const u8 *img = (const u8 *)b->mods[0].start;
	struct linux_kernel k;
	const char *why = linux_parse(img, b->mods[0].end - b->mods[0].start, &k);
	if (why)
		hv_panic(b->mods[0].start, 0, 0, why);

	static struct mem_range map[64];
	u32 nmap = hidden_map(b, prot_lo, prot_hi, map, ARRAY_SIZE(map));
	/* Every module stays intact until the kernel is copied; the initrd for good. */
	struct mem_range avoid[ARRAY_SIZE(b->mods)];
	module_ranges(b, avoid);
	u64 load = linux_load_address(&k, map, nmap, avoid, b->nmods);
	if (!load)
		hv_panic(k.init_size, k.alignment, 0, "no room for the Linux kernel's init_size");

	u32 initrd = 0, initrd_size = 0;
	if (b->nmods > 1) {
		initrd = (u32)b->mods[1].start;
		initrd_size = (u32)(b->mods[1].end - b->mods[1].start);
		if (b->mods[1].end - 1 > k.initrd_addr_max)
			hv_panic(b->mods[1].end, k.initrd_addr_max, 0, "initrd above the kernel's initrd_addr_max");
	}
	const char *args = multiboot_args(b->mods[0].string);
	size_t len = strlen(args);
	if (len >= LINUX_CMDLINE_MAX || (k.cmdline_size && len > k.cmdline_size))
		hv_panic(len, k.cmdline_size, 0, "Linux command line longer than the kernel takes");
	if (!e820_usable(map, nmap, LINUX_BOOT_PARAMS_PA, LINUX_CMDLINE_PA + LINUX_CMDLINE_MAX - LINUX_BOOT_PARAMS_PA))
		hv_panic(LINUX_BOOT_PARAMS_PA, 0, 0, "no usable RAM for the Linux zero page");
	memcpy((void *)(u64)LINUX_CMDLINE_PA, args, len + 1);
	memcpy((void *)load, img + k.pm_offset, k.pm_size);
	struct linux_boot_args a = { (u32)load, LINUX_CMDLINE_PA, initrd, initrd_size, acpi_rsdp_address(),
				     map, nmap };
	why = linux_fill_boot_params((u8 *)(u64)LINUX_BOOT_PARAMS_PA, img, &k, &a);
	if (why)
		hv_panic(nmap, 0, 0, why);
	hv_printf("linux: boot protocol %x, kernel at %lx (+%lx), initrd %x (+%x), cmdline '%s'\n", k.version,
		  load, k.init_size, initrd, initrd_size, args);
	out->kind = GUEST_LINUX;
	out->entry = load;	/* code32_start: the 32-bit entry */
	out->mode = 64;
	out->lo = load;
	out->hi = load + k.init_size;
	out->esi = LINUX_BOOT_PARAMS_PA;
}

/* The GDT a multiboot kernel starts with: QEMU's multiboot option ROM's
 * (pc-bios/optionrom/multiboot.S; measured: GDTR limit 0x27): null, 0x08 flat
 * 32-bit code, 0x10 flat data, 0x18 16-bit code, 0x20 16-bit data.  The spec
 * says the GDTR "may be invalid" until the kernel loads its own; this one is
 * valid, so a kernel that reloads a selector early works here as under QEMU. */
static const u64 mb_gdt[5] = { 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull, 0x00009e000000ffffull,
			       0x000092000000ffffull };

static void load_multiboot(const struct boot_info *b, const struct mb_header *h, u64 prot_lo, u64 prot_hi,
			   struct guest_image *out)
{
	const u8 *img = (const u8 *)b->mods[0].start;
	u64 size = b->mods[0].end - b->mods[0].start;
	const char *why = mb_check_flags(h);
	if (why) {
		hv_printf("multiboot: header flags %x at offset %x\n", h->flags, h->offset);
		hv_panic(h->flags, h->offset, 0, why);
	}
	if (h->flags & MB_HF_VIDEO)
		hv_printf("multiboot: the kernel asks for a graphics mode (flag 2): ignored, no display\n");
	static struct mem_range map[64];
	u32 nmap = hidden_map(b, prot_lo, prot_hi, map, ARRAY_SIZE(map));
	if (!e820_usable(map, nmap, MB_BOOT_PA, MB_BOOT_END - MB_BOOT_PA))
		hv_panic(MB_BOOT_PA, 0, 0, "no usable RAM for the multiboot information");

	/* The kernel's modules are ours from 1 on; none may be overwritten (nor
	 * module 0 while it is copied), nor the boot information. */
	struct mem_range avoid[ARRAY_SIZE(b->mods) + 1];
	struct mb_module_in mods[ARRAY_SIZE(b->mods)];
	module_ranges(b, avoid);
	for (u32 i = 0; i < b->nmods; i++) {
		if (i && (h->flags & MB_HF_PAGE_ALIGN) && (b->mods[i].start & 0xfff))
			hv_panic(i, b->mods[i].start, 0, "the kernel wants page-aligned modules; this one is not");
		if (i)
			mods[i - 1] = (struct mb_module_in){ b->mods[i].start, b->mods[i].end, b->mods[i].string };
	}
	avoid[b->nmods] = (struct mem_range){ MB_BOOT_PA, MB_BOOT_END - MB_BOOT_PA, 0 };
	struct placement p = { 0, 0x100000000ull, prot_lo, prot_hi, avoid, b->nmods + 1, map, nmap,
			       "multiboot kernel at a forbidden address" };
	const char *how;
	if (h->flags & MB_HF_AOUT_KLUDGE) {
		struct mb_segment seg;
		why = mb_aout_segment(h, size, &seg);
		if (why)
			hv_panic(h->load_addr, h->header_addr, 0, why);
		place(&p, seg.paddr, seg.memsz, 0);
		out->lo = ~0ull;
		copy_in(img, seg.offset, seg.paddr, seg.filesz, seg.memsz, out);
		out->entry = h->entry_addr;
		out->mode = 32;
		how = "a.out kludge";
	} else {
		if (size < 4 || memcmp(img, "\x7f" "ELF", 4))
			hv_panic(h->flags, 0, 0, "multiboot kernel is not ELF and has no a.out-kludge addresses");
		load_elf(b->mods[0].start, b->mods[0].end, &p, out);
		if (out->entry >= 0x100000000ull)
			hv_panic(out->entry, 0, 0, "multiboot kernel's entry beyond 4 GiB");
		out->mode = 32;		/* entered in 32-bit protected mode whatever its ELF class */
		how = "ELF";
	}

	memcpy((void *)(u64)MB_BOOT_PA, mb_gdt, sizeof(mb_gdt));
	struct mb_info_args a = { b->mods[0].string, mods, b->nmods - 1, map, nmap, "Heisenvisor" };
	u32 used;
	why = mb_build_info((u8 *)(u64)MB_INFO_PA, MB_INFO_PA, MB_BOOT_END - MB_INFO_PA, &a, &used);
	if (why)
		hv_panic(nmap, b->nmods, 0, why);
	hv_printf("multiboot: %s kernel [%lx, %lx), entry %lx, flags %x, %u modules, info at %x (+%x), "
		  "cmdline '%s'\n", how, out->lo, out->hi, out->entry, h->flags, b->nmods - 1, MB_INFO_PA, used,
		  b->mods[0].string ? b->mods[0].string : "");
	out->kind = GUEST_MULTIBOOT;
	out->ebx = MB_INFO_PA;
	out->gdt_base = MB_BOOT_PA;
	out->gdt_limit = sizeof(mb_gdt) - 1;
}

void guest_load(const struct boot_info *b, u64 prot_lo, u64 prot_hi, struct guest_image *out)
{
	memset(out, 0, sizeof(*out));
	const u8 *img = (const u8 *)b->mods[0].start;
	u64 size = b->mods[0].end - b->mods[0].start;
	struct mb_header h;
	if (linux_is_bzimage(img, size))
		load_linux(b, prot_lo, prot_hi, out);
	else if (mb_find_header(img, size, &h))
		load_multiboot(b, &h, prot_lo, prot_hi, out);
	else
		load_heisen(b, prot_lo, prot_hi, out);
}
