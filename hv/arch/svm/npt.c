/*
 * Nested page table shared by every CPU: identity map of the low 4 GiB
 * (guest RAM, the LAPIC and other MMIO pass through), with the
 * hypervisor's own pages absent, so any guest access to them -- code,
 * data, stacks, VMCBs, trace rings -- ends in an NPF the hypervisor
 * refuses (hv/arch/svm/exits.c).  The low 32 MiB use 4 KiB pages so the
 * hole is exact; the rest uses 2 MiB pages.  Every level has U/S=1: nested
 * walks are user accesses (notes, pitfall 7).
 */
#include "arch/svm/svm.h"
#include "core/panic.h"
#include <heisen/defs.h>

#define NPT_4K_SPAN (64ull << 20)	/* hypervisor and guest images: PAL regions live here */
#define PTE_P 1ull
#define PTE_RW 2ull
#define PTE_US 4ull
#define PTE_PS 0x80ull
#define PTE_RWX_USER (PTE_P | PTE_RW | PTE_US)

static u64 npt_pml4[512] __aligned(4096);
static u64 npt_pdpt[512] __aligned(4096);
static u64 npt_pd[4][512] __aligned(4096);
static u64 npt_pt[NPT_4K_SPAN >> 21][512] __aligned(4096);

u64 npt_build(u64 prot_start, u64 prot_end)
{
	if (prot_end > NPT_4K_SPAN)
		hv_panic(prot_end, 0, 0, "hypervisor image beyond the 4 KiB-mapped span");
	npt_pml4[0] = (u64)npt_pdpt | PTE_RWX_USER;
	for (u64 i = 0; i < 4; i++)
		npt_pdpt[i] = (u64)npt_pd[i] | PTE_RWX_USER;
	for (u64 i = 0; i < 4 * 512; i++) {
		u64 gpa = i << 21;
		npt_pd[i / 512][i % 512] = gpa < NPT_4K_SPAN ? (u64)npt_pt[i] | PTE_RWX_USER
							     : gpa | PTE_RWX_USER | PTE_PS;
	}
	for (u64 gpa = 0; gpa < NPT_4K_SPAN; gpa += 4096) {
		bool hidden = gpa >= prot_start && gpa < prot_end;
		npt_pt[gpa >> 21][(gpa >> 12) & 511] = hidden ? 0 : gpa | PTE_RWX_USER;
	}
	return (u64)npt_pml4;
}

void arch_npt_set_access(u64 gpa, u32 npages, bool present)
{
	for (u64 a = gpa; a < gpa + (u64)npages * 4096; a += 4096)
		__atomic_store_n(&npt_pt[a >> 21][(a >> 12) & 511], present ? a | PTE_RWX_USER : 0,
				 __ATOMIC_RELEASE);
}

u64 arch_npt_fine_end(void) { return NPT_4K_SPAN; }

/* A PAL's own nested table: its region, nothing else (callers keep the
 * region inside one 2 MiB block, so one table per level suffices). */
static u64 pal_tables[PAL_MAX_PALS][4][512] __aligned(4096);

u64 arch_pal_npt_build(u32 slot, u64 gpa, u32 npages)
{
	u64 (*t)[512] = pal_tables[slot];
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 512; j++)
			t[i][j] = 0;
	t[0][(gpa >> 39) & 511] = (u64)t[1] | PTE_RWX_USER;
	t[1][(gpa >> 30) & 511] = (u64)t[2] | PTE_RWX_USER;
	t[2][(gpa >> 21) & 511] = (u64)t[3] | PTE_RWX_USER;
	for (u64 a = gpa; a < gpa + (u64)npages * 4096; a += 4096)
		t[3][(a >> 12) & 511] = a | PTE_RWX_USER;
	return (u64)t[0];
}
