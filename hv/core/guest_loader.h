#ifndef HV_GUEST_LOADER_H
#define HV_GUEST_LOADER_H
#include "core/types.h"
#include "core/multiboot.h"

/* What multiboot module 0 holds, found by its contents. */
enum guest_kind {
	GUEST_HEISEN,	/* guest/'s own ELF kernels: the GUEST_MAGIC start contract, every CPU */
	GUEST_LINUX,	/* a bzImage: Linux boot protocol, BSP only */
};

struct guest_image {
	enum guest_kind kind;
	u64 entry;
	u32 mode;		/* 32 or 64: the ELF class (Linux: 64) */
	u64 lo, hi;		/* physical range the image occupies */
	u32 esi;		/* Linux: the zero page */
};

/*
 * Load the guest in module 0 (and, for Linux, its initrd in module 1) into
 * the guest's memory, never over [prot_lo, prot_hi) (the hypervisor) or a
 * module still needed: a clear panic, never a half-loaded guest.
 */
void guest_load(const struct boot_info *boot, u64 prot_lo, u64 prot_hi, struct guest_image *out);
#endif
