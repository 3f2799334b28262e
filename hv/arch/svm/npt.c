/*
 * Nested page table shared by every CPU: identity map of the low 4 GiB
 * (guest RAM, the LAPIC and other MMIO pass through), with the
 * hypervisor's own pages absent, so any guest access to them -- code,
 * data, stacks, VMCBs, trace rings -- ends in an NPF the hypervisor
 * refuses (hv/arch/svm/exits.c).  The low 1 GiB uses 4 KiB pages, the
 * rest 2 MiB pages.  Every level has U/S=1: nested walks are user accesses
 * (docs/platform.md P7).
 *
 * Why 1 GiB of 4 KiB entries built at boot rather than 2 MiB entries split
 * on demand: a PAL's pages (hv/hypapps/pal.c) are hidden one 4 KiB page at a
 * time, and a Linux process's pages lie anywhere in its RAM (the Linux
 * scenarios run with 512 MiB).  A fixed span costs 2 MiB of page tables and
 * nothing at registration; splitting would change a live entry other CPUs
 * may be walking and need a pool that can run out.  Guest RAM above 1 GiB
 * cannot hold a PAL (arch_npt_fine_end()).
 */
#include "arch/svm/svm.h"
#include "core/panic.h"
#include <heisen/defs.h>

#define NPT_4K_SPAN (1ull << 30)	/* hypervisor, guest images, every page a PAL may use */
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

/*
 * Per-CPU nested tables for INIT/SIPI virtualization (hv/core/sipi.c): the
 * shared table, except for the 2 MiB block holding the xAPIC page, which each
 * CPU maps through its own page table.  That page is read-only (writes trap)
 * and is mapped writable -- to the real LAPIC or to a shadow page -- for one
 * single-stepped instruction at a time.  Per CPU because another CPU kept a
 * stale translation for over a second while it stayed in its guest
 * (docs/platform.md G2): in a shared table, the shadow page would be
 * visible to every CPU.  Each CPU edits only its own entry, so no other CPU's
 * TLB can hold it.
 */
#define LAPIC_PAGE 0xfee00000ull

static u64 cpu_pml4[HV_MAX_CPUS][512] __aligned(4096);
static u64 cpu_pdpt[HV_MAX_CPUS][512] __aligned(4096);
static u64 cpu_pd3[HV_MAX_CPUS][512] __aligned(4096);
static u64 cpu_pt_lapic[HV_MAX_CPUS][512] __aligned(4096);

u64 npt_build_cpu(u32 cpu)
{
	for (int i = 0; i < 512; i++) {
		cpu_pml4[cpu][i] = npt_pml4[i];
		cpu_pdpt[cpu][i] = npt_pdpt[i];
		cpu_pd3[cpu][i] = npt_pd[3][i];
		cpu_pt_lapic[cpu][i] = (LAPIC_PAGE + ((u64)i << 12)) | PTE_RWX_USER;
	}
	cpu_pt_lapic[cpu][0] = LAPIC_PAGE | PTE_P | PTE_US;	/* reads pass, writes trap */
	cpu_pd3[cpu][(LAPIC_PAGE >> 21) & 511] = (u64)cpu_pt_lapic[cpu] | PTE_RWX_USER;
	cpu_pdpt[cpu][3] = (u64)cpu_pd3[cpu] | PTE_RWX_USER;
	cpu_pml4[cpu][0] = (u64)cpu_pdpt[cpu] | PTE_RWX_USER;
	return (u64)cpu_pml4[cpu];
}

u64 npt_cpu_root(u32 cpu) { return (u64)cpu_pml4[cpu]; }

void npt_set_lapic(u32 cpu, enum lapic_map how, u64 shadow_pa)
{
	u64 pte = how == LAPIC_MAP_TRAP_WRITES ? LAPIC_PAGE | PTE_P | PTE_US
		: how == LAPIC_MAP_SHADOW ? shadow_pa | PTE_RWX_USER : LAPIC_PAGE | PTE_RWX_USER;
	__atomic_store_n(&cpu_pt_lapic[cpu][0], pte, __ATOMIC_RELEASE);
}

/* A PAL's table: U/S=1 at every level, as in the shared table. */
static u64 npt_table(u64 table_pa) { return table_pa | PTE_RWX_USER; }

static u64 npt_leaf(u64 hpa, bool writable) { return hpa | PTE_P | PTE_US | (writable ? PTE_RW : 0); }

const struct nested_format arch_nested_format = { npt_table, npt_leaf, ~0xfffull };
