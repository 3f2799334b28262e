#ifndef HV_LINUX_BOOT_H
#define HV_LINUX_BOOT_H
#include "core/types.h"
#include "core/e820.h"

/* What the loader needs from a bzImage's setup header
 * (Documentation/arch/x86/boot.rst, "The Real-Mode Kernel Header"). */
struct linux_kernel {
	u16 version;			/* boot protocol, 0x020f = 2.15 */
	u64 pm_offset, pm_size;		/* the protected-mode kernel in the file */
	u64 alignment;			/* kernel_alignment: the load address's */
	u64 init_size;			/* memory the kernel needs from its load address */
	u64 pref_address;		/* LOAD_PHYSICAL_ADDR: it never runs below this */
	u32 cmdline_size, initrd_addr_max;
	u32 header_end;			/* the setup header is [0x1f1, header_end) */
};

/* Where the loader puts the guest's boot data (below 1 MiB, usable RAM in
 * every PC memory map; the AP trampoline at 0x8000 is below it). */
#define LINUX_BOOT_PARAMS_PA 0x90000u
#define LINUX_CMDLINE_PA 0x91000u
#define LINUX_CMDLINE_MAX 2048u

bool linux_is_bzimage(const u8 *img, u64 size);

/* NULL, or why this kernel cannot be loaded by us. */
const char *linux_parse(const u8 *img, u64 size, struct linux_kernel *k);

/*
 * The lowest load address for the kernel: aligned, at or above pref_address
 * (a relocatable kernel below LOAD_PHYSICAL_ADDR moves itself up to it,
 * arch/x86/boot/compressed/head_64.S), with [load, load + init_size) in one
 * usable range of `map` and clear of every range in `avoid`.  0 if none.
 */
u64 linux_load_address(const struct linux_kernel *k, const struct mem_range *map, u32 nmap,
		       const struct mem_range *avoid, u32 navoid);

struct linux_boot_args {
	u32 load, cmdline_pa, initrd_pa, initrd_size;
	u64 rsdp;			/* ACPI RSDP, 0 if none was found */
	const struct mem_range *map;
	u32 nmap;
};

/* Fill the 4 KiB zero page for the 32-bit entry (boot.rst, "32-bit Boot
 * Protocol"); NULL, or why not (a map too long for the 128 entries). */
const char *linux_fill_boot_params(u8 *bp, const u8 *img, const struct linux_kernel *k,
				   const struct linux_boot_args *a);
#endif
