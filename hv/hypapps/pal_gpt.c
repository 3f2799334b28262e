/*
 * The guest page table of a PAL that lives in a process's memory.  The
 * process's own tables are the kernel's, in pages the PAL's nested table must
 * not map (they would give it the whole process), so the hypervisor builds
 * one: the PAL's virtual pages to their physical pages, user and writable.
 *
 * Every other canonical address maps too, by 2 MiB pages, to one trap block
 * that the PAL's nested table leaves out.  Why: leaving the PAL is a fetch
 * outside its region (hv/hypapps/pal.c), and that must be a nested page
 * fault the hypervisor sees.  A guest #PF instead would be delivered through
 * the guest's IDT, which the PAL's table does not map.
 *
 * Accessed and Dirty are set in every entry: no walk then needs to update
 * them (APM vol. 2, 5.4.2), and the PAL's run leaves the table as built.  No
 * virtual address maps the table's own pages: the PAL cannot edit it.
 */
#include "hypapps/pal_gpt.h"
#include <heisen/defs.h>

#define G_P 1ull
#define G_RW 2ull
#define G_US 4ull
#define G_A 0x20ull
#define G_D 0x40ull
#define G_PS 0x80ull
#define G_TABLE (G_P | G_RW | G_US | G_A)
#define G_LEAF (G_P | G_RW | G_US | G_A | G_D)

enum { T_PML4, T_PDPT_OTHER, T_PD_OTHER, T_PDPT, T_PD, T_PT };

static u64 pal_gpt[PAL_MAX_PALS][PAL_GPT_PAGES][512] __aligned(4096);

void pal_gpt_build(u32 slot, u64 window, u64 trap, u64 va, const u64 *pages, u32 npages,
		   u64 host[PAL_GPT_PAGES])
{
	u64 (*t)[512] = pal_gpt[slot];
	for (u32 i = 0; i < PAL_GPT_PAGES; i++)
		host[i] = (u64)t[i];
	for (u32 i = 0; i < 512; i++) {
		t[T_PML4][i] = (window + T_PDPT_OTHER * 4096) | G_TABLE;
		t[T_PDPT_OTHER][i] = (window + T_PD_OTHER * 4096) | G_TABLE;
		t[T_PD_OTHER][i] = trap | G_LEAF | G_PS;
		t[T_PDPT][i] = (window + T_PD_OTHER * 4096) | G_TABLE;
		t[T_PD][i] = trap | G_LEAF | G_PS;
		t[T_PT][i] = (trap + ((u64)i << 12)) | G_LEAF;
	}
	t[T_PML4][(va >> 39) & 511] = (window + T_PDPT * 4096) | G_TABLE;
	t[T_PDPT][(va >> 30) & 511] = (window + T_PD * 4096) | G_TABLE;
	t[T_PD][(va >> 21) & 511] = (window + T_PT * 4096) | G_TABLE;
	for (u32 i = 0; i < npages; i++)
		t[T_PT][((va >> 12) + i) & 511] = pages[i] | G_LEAF;
}
