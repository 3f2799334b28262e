/*
 * Arch-neutral view of the guest running on one CPU: its general registers
 * (the ones VMRUN/VMLAUNCH do not switch), the NMI virtualization state and
 * the workload bookkeeping.  The backend keeps its own control structures in
 * the per-CPU arch pages; the core never names them.
 */
#ifndef HV_VCPU_H
#define HV_VCPU_H

#include "core/types.h"

/* vmrun.S addresses these by offset: hv/arch/svm/guest_regs.h, checked at
 * compile time against this struct. */
struct guest_regs {
	u64 rax, rbx, rcx, rdx, rsi, rdi, rbp;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
};

struct vcpu_nmi {
	u32 ready;		/* guest made its first hypercall: its IDT exists */
	u32 ready_by_idt;	/* Linux: ready once it runs in long mode with a full IDT */
	u32 ready_by_lidt;	/* a multiboot kernel: ready once it loaded an IDT holding vector 2 */
	u64 entry_idt_base;	/* the IDTR it started with (firmware's or a SIPI's: not its own) */
	u32 entry_idt_limit;
	u32 pending;		/* guest NMIs latched, at most 1 (see core/nmi_virt.c) */
	u32 blocked;		/* guest is inside its NMI handler (until its IRET retires) */
	u32 awaiting_iret;	/* IRET intercepted, not yet known to have retired */
	u32 singlestep;		/* TF set by us to catch the IRET retiring */
	u32 shadow_step;	/* TF set by us to step out of an interrupt shadow */
	u64 iret_rip;		/* RIP of the intercepted IRET */
	u64 host_nmis;		/* NMIs that reached the hypervisor on this CPU */
	u64 injected;		/* NMIs injected into the guest */
	u64 merged;		/* NMIs merged under the 1-latched rule */
	u64 quiesce_signals;	/* NMIs consumed as this CPU's quiesce signal */
};

struct vcpu_report {
	u32 reported;		/* REPORT hypercall seen */
	u32 counted;		/* NMI_COUNTS hypercall seen: the CPU is done */
	u64 status, count, detail;
	u64 nmi_received, nmi_nested, nmi_sent;
	u64 nmi_injected_at_count;
	u32 nmis_accounted;	/* host NMIs == quiesce + injected + merged + pending */
	u64 exits;
	u64 start_tsc;
};

/* A guest call into a PAL in progress (hv/hypapps/pal.c). */
struct vcpu_pal {
	u32 active;
	u32 slot;
	u64 ret_rip, saved_rsp, saved_cr3;
	u32 syscall_on;		/* a process's PAL: the caller's EFER.SCE */
};

/* HC_EVENT_TEST state (hv/core/event_test.c). */
struct vcpu_etest {
	u64 npf_page;		/* armed by NPF_ONCE, not yet faulted on; 0 = none */
	u32 nmi_countdown;	/* exits until NMI_AT_EXIT sends its NMI, + 1; 0 = off */
};

/* INIT/SIPI virtualization (hv/core/sipi.c). */
struct vcpu_sipi {
	u32 state;		/* SIPI_* */
	u32 start;		/* 0x100 | vector: the SIPI that starts this AP */
	u32 step;		/* a LAPIC write is being single-stepped (SIPI_STEP_*) */
};

struct vcpu {
	struct guest_regs gpr;	/* must stay first: vmrun.S */
	u32 cpu;
	u32 guest_mode;		/* 32 or 64, from the guest ELF class */
	struct vcpu_nmi nmi;
	struct vcpu_report report;
	struct vcpu_pal pal;
	struct vcpu_etest etest;
	struct vcpu_sipi sipi;
	u32 step_owners;	/* STEP_* that want TF (hv/arch/arch.h) */
	u64 redelivered;	/* events delivered again after an exit interrupted them */
	u64 refused;		/* guest accesses to protected memory refused (core/npf.c) */
	char workload[64];	/* this CPU's workload string, e.g. "test:1000" */
	u32 workload_len;
};

#endif
