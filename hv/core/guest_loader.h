#ifndef HV_GUEST_LOADER_H
#define HV_GUEST_LOADER_H
#include "core/types.h"
#include "core/multiboot.h"

/* What multiboot module 0 holds, found by its contents. */
enum guest_kind {
	GUEST_HEISEN,	/* guest/'s own ELF kernels: the GUEST_MAGIC start contract, every CPU */
	GUEST_LINUX,	/* a bzImage: Linux boot protocol, BSP only */
	GUEST_MULTIBOOT,	/* a multiboot v1 kernel: started as QEMU -kernel starts it, BSP only */
};

/* A multiboot kernel's boot data, below 1 MiB in RAM every PC map calls usable
 * (the Linux zero page uses the same span; the AP trampoline at 0x8000 is below
 * it): the flat GDT it starts with, then the multiboot information with its
 * memory map, module list and strings. */
#define MB_BOOT_PA 0x90000u
#define MB_INFO_PA 0x90100u
#define MB_BOOT_END 0x98000u

struct guest_image {
	enum guest_kind kind;
	u64 entry;
	u32 mode;		/* 32 or 64: the ELF class (Linux: 64; multiboot: 32, its entry's) */
	u64 lo, hi;		/* physical range the image occupies */
	u32 esi;		/* Linux: the zero page */
	u32 ebx;		/* multiboot: the multiboot information */
	u32 gdt_base;		/* multiboot: its GDT (gdt_limit 0: none of ours) */
	u16 gdt_limit;
};

/*
 * Load the guest in module 0 (and, for Linux, its initrd in module 1) into
 * the guest's memory, never over [prot_lo, prot_hi) (the hypervisor) or a
 * module still needed: a clear panic, never a half-loaded guest.
 */
void guest_load(const struct boot_info *boot, u64 prot_lo, u64 prot_hi, struct guest_image *out);
#endif
