#ifndef HV_MULTIBOOT_H
#define HV_MULTIBOOT_H
#include "core/types.h"
#include "core/e820.h"

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002

struct boot_module {
	u64 start, end;
	const char *string;
};

struct boot_info {
	const char *cmdline;	/* hypervisor command line, kernel path word skipped */
	u64 mem_upper_kb;	/* RAM above 1 MiB */
	u32 nmods;
	struct boot_module mods[4];
	u32 nmap;		/* the firmware's memory map (multiboot flag 6) */
	struct mem_range map[32];
};

void multiboot_parse(u32 magic, u32 info_pa, struct boot_info *out);
/* A multiboot string is "path args" (QEMU's -kernel/-initrd "file args"): the
 * arguments, after the first word ("" for none or NULL). */
const char *multiboot_args(const char *s);
#endif
