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

#define NPT_4K_SPAN (32ull << 20)
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
