/*
 * The EPT shared by every CPU: the same identity map as the SVM backend's
 * nested table (hv/arch/svm/npt.c, which says why 1 GiB of 4 KiB entries),
 * in EPT's entry format (SDM vol. 3, 29.3.2): the low 1 GiB in 4 KiB pages
 * with the hypervisor's own pages (`_hv_start`..`_hv_end`: code, data,
 * stacks, VMCSs, trace rings) absent, so any guest access to them is an EPT
 * violation the core refuses (core/npf.c); the rest of 4 GiB in 2 MiB pages,
 * the top GiB (LAPIC, IOAPIC, firmware) uncacheable.  Entries come from
 * vmx_pure.h's constructors, which the host tests check.
 */
#include "arch/vmx/vmx.h"
#include "core/panic.h"
#include <heisen/defs.h>

#define EPT_4K_SPAN (1ull << 30)
#define MMIO_START (3ull << 30)

static u64 ept_pml4[512] __aligned(4096);
static u64 ept_pdpt[512] __aligned(4096);
static u64 ept_pd[4][512] __aligned(4096);
static u64 ept_pt[EPT_4K_SPAN >> 21][512] __aligned(4096);

u64 ept_build(u64 prot_start, u64 prot_end)
{
	if (prot_end > EPT_4K_SPAN)
		hv_panic(prot_end, 0, 0, "hypervisor image beyond the 4 KiB-mapped span");
	ept_pml4[0] = ept_table_entry((u64)ept_pdpt);
	for (u64 i = 0; i < 4; i++)
		ept_pdpt[i] = ept_table_entry((u64)ept_pd[i]);
	for (u64 i = 0; i < 4 * 512; i++) {
		u64 gpa = i << 21;
		ept_pd[i / 512][i % 512] = gpa < EPT_4K_SPAN ? ept_table_entry((u64)ept_pt[i])
			: ept_leaf(gpa, true, true, true, gpa >= MMIO_START ? EPT_MT_UC : EPT_MT_WB);
	}
	for (u64 gpa = 0; gpa < EPT_4K_SPAN; gpa += 4096) {
		bool hidden = gpa >= prot_start && gpa < prot_end;
		ept_pt[gpa >> 21][(gpa >> 12) & 511] = ept_leaf(gpa, !hidden, true, false, EPT_MT_WB);
	}
	return (u64)ept_pml4;
}

void arch_npt_set_access(u64 gpa, u32 npages, bool present)
{
	for (u64 a = gpa; a < gpa + (u64)npages * 4096; a += 4096)
		__atomic_store_n(&ept_pt[a >> 21][(a >> 12) & 511], ept_leaf(a, present, true, false, EPT_MT_WB),
				 __ATOMIC_RELEASE);
}

u64 arch_npt_fine_end(void) { return EPT_4K_SPAN; }

static u64 pal_ept_leaf(u64 hpa, bool writable) { return ept_leaf(hpa, true, writable, false, EPT_MT_WB); }

const struct nested_format arch_nested_format = { ept_table_entry, pal_ept_leaf, EPT_ADDR_MASK };
