#ifndef HV_GUEST_LOADER_H
#define HV_GUEST_LOADER_H
#include "core/types.h"
struct guest_image {
	u64 entry;
	u32 mode;	/* 32 or 64: ELF class */
	u64 lo, hi;	/* physical range the image occupies */
};
/* Copy the guest ELF (a multiboot module) to its physical addresses.
 * Refuses images that would overlap [prot_lo, prot_hi) or sit below
 * GUEST_LOAD_MIN: a clear panic, never a half-loaded guest. */
void guest_load(u64 start, u64 end, u64 prot_lo, u64 prot_hi, struct guest_image *out);
#endif
