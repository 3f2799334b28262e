/*
 * Guest page-table walk (AMD APM vol. 2, 5.3 "Long-mode page translation").
 * Effective permissions combine over the levels as the manual's 5.6.1
 * ("Table 5-7") says: writable only if every level has R/W, user only if
 * every level has U/S, no-execute if any level has NX.  The walk never sets
 * Accessed/Dirty bits: it is a check, not an access the guest made.
 *
 * Reserved bits (5.3.x tables of the PML4E/PDPE/PDE/PTE formats): bits 51:M
 * of every entry with M = GPT_PHYS_BITS, PS in a PML4E, bits 29:13 of a
 * 1 GiB PDPE and 20:13 of a 2 MiB PDE (bit 12 is PAT there).  NX is accepted
 * as if EFER.NXE were set (Linux sets it); bits 62:52 are available to
 * software or protection keys and are ignored.
 */
#include "core/gpt_walk.h"

#define GPT_PHYS_BITS 48	/* the walk's MAXPHYADDR: no guest RAM reaches it */
#define E_P 1ull
#define E_RW 2ull
#define E_US 4ull
#define E_PS 0x80ull
#define E_NX (1ull << 63)
#define ADDR_MASK (((1ull << GPT_PHYS_BITS) - 1) & ~0xfffull)
#define RSVD_HIGH (((1ull << 52) - 1) & ~((1ull << GPT_PHYS_BITS) - 1))

static bool canonical(u64 va)
{
	u64 top = va >> 47;
	return top == 0 || top == 0x1ffff;
}

/* Bits the manual reserves in an entry at `level` (4 = PML4E) that maps
 * (large) or points on. */
static u64 reserved_bits(u32 level, bool large)
{
	if (level == 4)
		return RSVD_HIGH | E_PS;
	if (large && level == 3)
		return RSVD_HIGH | 0x3fffe000ull;
	if (large && level == 2)
		return RSVD_HIGH | 0x1fe000ull;
	return RSVD_HIGH;
}

static enum gpt_status fail(struct gpt_result *out, u32 level, enum gpt_status why)
{
	out->level = level;
	return why;
}

enum gpt_status gpt_walk(u64 cr3, u64 va, gpt_read_fn read, void *ctx, struct gpt_result *out)
{
	*out = (struct gpt_result){ 0, 0, 4, true, true, false };
	if (!canonical(va))
		return GPT_NONCANONICAL;
	u64 table = cr3 & ADDR_MASK;	/* CR3 bits 11:0 are PCD/PWT or the PCID */
	for (u32 level = 4; level >= 1; level--) {
		u32 shift = 12 + 9 * (level - 1);
		u64 e;
		if (!read(ctx, table + ((va >> shift) & 511) * 8, &e))
			return fail(out, level, GPT_UNREADABLE);
		if (!(e & E_P))
			return fail(out, level, GPT_NOT_PRESENT);
		bool large = level > 1 && (e & E_PS);
		if (e & reserved_bits(level, large))
			return fail(out, level, GPT_RESERVED);
		out->writable &= !!(e & E_RW);
		out->user &= !!(e & E_US);
		out->nx |= !!(e & E_NX);
		if (level == 1 || (large && level <= 3)) {
			u64 size = 1ull << shift;
			out->page_size = size;
			out->level = level;
			out->pa = (e & ADDR_MASK & ~(size - 1)) | (va & (size - 1));
			return GPT_OK;
		}
		table = e & ADDR_MASK;
	}
	return fail(out, 1, GPT_NOT_PRESENT);	/* not reached: level 1 always maps */
}
