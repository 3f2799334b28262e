/* Multiboot (v1) information: command line, memory size, modules. */
#include "core/multiboot.h"
#include "core/panic.h"

struct mb_info {
	u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	u32 syms[4], mmap_length, mmap_addr;
} __packed;

struct mb_module {
	u32 mod_start, mod_end, string, reserved;
} __packed;

#define MB_INFO_MEM (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS (1u << 3)
#define MB_INFO_MMAP (1u << 6)

struct mb_mmap_entry {
	u32 size;
	u64 base, len;
	u32 type;
} __packed;

const char *multiboot_args(const char *s)
{
	if (!s)
		return "";
	while (*s && *s != ' ')
		s++;
	while (*s == ' ')
		s++;
	return s;
}

void multiboot_parse(u32 magic, u32 info_pa, struct boot_info *out)
{
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
		hv_panic(magic, 0, 0, "not started by a multiboot loader");
	const struct mb_info *mb = (const struct mb_info *)(u64)info_pa;
	out->cmdline = "";
	if (mb->flags & MB_INFO_CMDLINE)
		/* QEMU puts the kernel's path first (docs/platform.md P1). */
		out->cmdline = multiboot_args((const char *)(u64)mb->cmdline);
	out->mem_upper_kb = (mb->flags & MB_INFO_MEM) ? mb->mem_upper : 0;
	out->nmods = 0;
	if (mb->flags & MB_INFO_MODS) {
		const struct mb_module *m = (const struct mb_module *)(u64)mb->mods_addr;
		for (u32 i = 0; i < mb->mods_count && i < 4; i++) {
			out->mods[i].start = m[i].mod_start;
			out->mods[i].end = m[i].mod_end;
			out->mods[i].string = (const char *)(u64)m[i].string;
			out->nmods++;
		}
	}
	out->nmap = 0;
	if (mb->flags & MB_INFO_MMAP) {
		/* Each entry's size field excludes itself (multiboot 0.6.96, 3.3). */
		u64 p = mb->mmap_addr, end = p + mb->mmap_length;
		while (p + sizeof(struct mb_mmap_entry) <= end && out->nmap < ARRAY_SIZE(out->map)) {
			const struct mb_mmap_entry *e = (const struct mb_mmap_entry *)p;
			out->map[out->nmap++] = (struct mem_range){ e->base, e->len, e->type };
			p += (u64)e->size + 4;
		}
	}
}
