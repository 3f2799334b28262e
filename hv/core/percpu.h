/*
 * Per-CPU data.  Each CPU owns one PERCPU_SIZE-aligned block holding its
 * bookkeeping, its arch pages (VMCB, host save areas...), its IST stacks and
 * its main stack.  this_cpu() masks RSP: every stack a CPU ever runs on
 * (main, NMI, #DF, #MC) lies inside its block, so the lookup is O(1) and
 * correct in any context -- including an NMI that lands between VMLOAD of the
 * guest's GS base and VMRUN, where a GS-based lookup would read the guest's.
 */
#ifndef HV_PERCPU_H
#define HV_PERCPU_H

#include "core/types.h"
#include "core/vcpu.h"
#include "arch/limits.h"

#define HV_MAX_CPUS ARCH_MAX_VCPUS	/* one vCPU per CPU */
#define PERCPU_SIZE 0x10000
#define ARCH_PAGES 3

struct tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __packed;

struct percpu {
	union {
		struct {	/* first page: bookkeeping */
			u32 index;
			u32 apic_id;
			u32 nmi_depth;		/* host NMI handler nesting */
			u32 last_exit_was_nmi;	/* an NMI #VMEXIT whose NMI is still held */
			u64 q_signal;		/* quiesce epoch this CPU was asked to stop for */
			u64 q_seen;		/* last quiesce epoch this CPU acknowledged */
			u32 q_stopped;		/* inside quiesce_stop_here() */
			u32 q_stale;		/* BUG_nmi_coalesce_drop only */
			u64 rng[2];		/* chaos.c streams: normal context, NMI handler */
			u64 gdt[8];
			struct tss64 tss;
			struct vcpu vcpu;
		};
		u8 page0[4096];
	};
	u8 arch_pages[ARCH_PAGES][4096];	/* backend's per-CPU pages */
	u8 nmi_stack[8192];
	u8 df_stack[4096];
	u8 mc_stack[4096];
	u8 stack[PERCPU_SIZE - 4096 * (1 + ARCH_PAGES) - 8192 - 4096 - 4096];
} __aligned(PERCPU_SIZE);

_Static_assert(sizeof(struct percpu) == PERCPU_SIZE, "per-CPU block must be exactly PERCPU_SIZE");

extern struct percpu percpu_area[HV_MAX_CPUS];
extern u32 hv_ncpus;

static inline struct percpu *this_cpu(void)
{
	u64 rsp;
	__asm__ __volatile__("mov %%rsp, %0" : "=r"(rsp));
	return (struct percpu *)(rsp & ~(u64)(PERCPU_SIZE - 1));
}

static inline struct percpu *cpu_of(u32 index) { return &percpu_area[index]; }

#endif
