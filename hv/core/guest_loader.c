/*
 * Loads the guest that multiboot module 0 holds, by what it is:
 * - a bzImage: Linux, by the boot protocol (core/linux_boot.c), with the
 *   initrd in module 1 and the kernel command line in module 0's string;
 * - an ELF file: one of guest/'s own kernels, copied to its physical addresses.
 */
#include "core/guest_loader.h"
#include "core/linux_boot.h"
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

static void load_elf(u64 start, u64 end, u64 prot_lo, u64 prot_hi, struct guest_image *out)
{
	const u8 *img = (const u8 *)start;
	u64 size = end - start;
	if (size < 52 || memcmp(img, "\x7f" "ELF", 4))
		hv_panic(size, 0, 0, "guest module is neither an ELF file nor a bzImage");
	bool is64 = img[4] == 2;
	u64 phoff = is64 ? *(const u64 *)(img + 32) : *(const u32 *)(img + 28);
	u32 phentsize = *(const u16 *)(img + (is64 ? 54 : 42));
	u32 phnum = *(const u16 *)(img + (is64 ? 56 : 44));
	out->kind = GUEST_HEISEN;
	out->entry = is64 ? *(const u64 *)(img + 24) : *(const u32 *)(img + 24);
	out->mode = is64 ? 64 : 32;
	out->lo = ~0ull;
	out->hi = 0;
	if (phoff + (u64)phnum * phentsize > size)
		hv_panic(phoff, phnum, 0, "guest ELF program headers outside the module");
	for (u32 i = 0; i < phnum; i++) {
		struct seg s = phdr(img, is64, phoff, phentsize, i);
		if (s.type != 1)	/* PT_LOAD */
			continue;
		if (s.offset + s.filesz > size || s.filesz > s.memsz)
			hv_panic(i, s.offset, 0, "guest ELF segment outside the module");
		if (s.paddr < GUEST_LOAD_MIN || s.paddr + s.memsz > 0x40000000 ||
		    (s.paddr < prot_hi && s.paddr + s.memsz > prot_lo) ||
		    (s.paddr < end && s.paddr + s.memsz > start))
			hv_panic(s.paddr, s.memsz, 0, "guest ELF segment at a forbidden address");
		memcpy((void *)s.paddr, img + s.offset, s.filesz);
		memset((void *)(s.paddr + s.filesz), 0, s.memsz - s.filesz);
		if (s.paddr < out->lo)
			out->lo = s.paddr;
		if (s.paddr + s.memsz > out->hi)
			out->hi = s.paddr + s.memsz;
	}
	if (out->hi == 0)
		hv_panic(0, 0, 0, "guest ELF has no loadable segment");
}

/* A module's string is "path args" (QEMU's -initrd "file args,..."): the
 * arguments start after the first word. */
static const char *module_args(const struct boot_module *m)
{
	const char *s = m->string ? m->string : "";
	while (*s && *s != ' ')
		s++;
	while (*s == ' ')
		s++;
	return s;
}

static void load_linux(const struct boot_info *b, u64 prot_lo, u64 prot_hi, struct guest_image *out)
{
	const u8 *img = (const u8 *)b->mods[0].start;
	struct linux_kernel k;
	const char *why = linux_parse(img, b->mods[0].end - b->mods[0].start, &k);
	if (why)
		hv_panic(b->mods[0].start, 0, 0, why);

	static struct mem_range map[64];
	int nmap = e820_hide(b->map, b->nmap, prot_lo, prot_hi, map, ARRAY_SIZE(map));
	if (b->nmap == 0 || nmap < 0)
		hv_panic(b->nmap, 0, 0, "no usable firmware memory map for the Linux guest");
	/* Every module stays intact until the kernel is copied; the initrd for good. */
	struct mem_range avoid[4];
	for (u32 i = 0; i < b->nmods; i++)
		avoid[i] = (struct mem_range){ b->mods[i].start, b->mods[i].end - b->mods[i].start, 0 };
	u64 load = linux_load_address(&k, map, (u32)nmap, avoid, b->nmods);
	if (!load)
		hv_panic(k.init_size, k.alignment, 0, "no room for the Linux kernel's init_size");

	u32 initrd = 0, initrd_size = 0;
	if (b->nmods > 1) {
		initrd = (u32)b->mods[1].start;
		initrd_size = (u32)(b->mods[1].end - b->mods[1].start);
		if (b->mods[1].end - 1 > k.initrd_addr_max)
			hv_panic(b->mods[1].end, k.initrd_addr_max, 0, "initrd above the kernel's initrd_addr_max");
	}
	const char *args = module_args(&b->mods[0]);
	size_t len = strlen(args);
	if (len >= LINUX_CMDLINE_MAX || (k.cmdline_size && len > k.cmdline_size))
		hv_panic(len, k.cmdline_size, 0, "Linux command line longer than the kernel takes");
	if (!e820_usable(map, (u32)nmap, LINUX_BOOT_PARAMS_PA, LINUX_CMDLINE_PA + LINUX_CMDLINE_MAX - LINUX_BOOT_PARAMS_PA))
		hv_panic(LINUX_BOOT_PARAMS_PA, 0, 0, "no usable RAM for the Linux zero page");
	memcpy((void *)(u64)LINUX_CMDLINE_PA, args, len + 1);
	memcpy((void *)load, img + k.pm_offset, k.pm_size);
	struct linux_boot_args a = { (u32)load, LINUX_CMDLINE_PA, initrd, initrd_size, acpi_rsdp_address(),
				     map, (u32)nmap };
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

void guest_load(const struct boot_info *b, u64 prot_lo, u64 prot_hi, struct guest_image *out)
{
	memset(out, 0, sizeof(*out));
	const u8 *img = (const u8 *)b->mods[0].start;
	if (linux_is_bzimage(img, b->mods[0].end - b->mods[0].start))
		load_linux(b, prot_lo, prot_hi, out);
	else
		load_elf(b->mods[0].start, b->mods[0].end, prot_lo, prot_hi, out);
}
