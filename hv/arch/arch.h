/*
 * The one interface between the arch-neutral core (hv/core) and a
 * virtualization backend (hv/arch/svm today, hv/arch/vmx for Bochs later).
 * The core never names a VMCB or a VMCS: it asks for these operations.
 */
#ifndef HV_ARCH_H
#define HV_ARCH_H

#include "core/types.h"
#include "core/nested_build.h"

struct percpu;
struct vcpu;

/* Why this CPU cannot virtualize, or NULL if it can. */
const char *arch_unsupported_reason(void);
/* Once, on the BSP: shared structures (nested page tables, MSR bitmap).
 * [prot_start, prot_end) is hypervisor memory the guest must not touch. */
void arch_global_init(u64 prot_start, u64 prot_end);
/* Before arch_global_init: the guest's accesses to I/O ports [port, port +
 * count) exit to guest_io_write() (core/guest_exit.h) instead of reaching the
 * device; reads are done for it.  Every other port stays the guest's. */
void arch_io_intercept(u16 port, u16 count);
/* Before arch_global_init: every guest RDTSC exits, and the hypervisor
 * answers it.  Measured under QEMU's one-thread icount round robin: a CPU
 * spinning on the TSC without PAUSE (Linux's BSP waiting for an AP in
 * native_cpu_up) no longer starves the CPU it waits for, and SMP runs are
 * byte-identical per seed (docs/linux-guest.md "Determinism"). */
void arch_rdtsc_exit(bool on);
/* On each CPU: turn virtualization on (EFER.SVME, host save area). */
void arch_cpu_enable(struct percpu *c);
/* A guest's first instruction, in 32-bit flat protected mode with paging and
 * interrupts off, and what it finds in its registers and selectors. */
struct guest_entry {
	u64 rip;
	u32 eax, ebx, ecx, esi;
	u16 cs, ds;	/* the selectors its own GDT will give these segments */
	/* GDTR and IDTR as the guest finds them (base, limit); the hidden parts
	 * of CS and DS are flat 4 GiB whatever they say. */
	u32 gdt_base, idt_base;
	u16 gdt_limit, idt_limit;
};
void arch_vcpu_init(struct percpu *c, const struct guest_entry *e);
/* Enter the guest and handle exits forever. */
void __noreturn arch_vcpu_run(struct percpu *c);

/* Accessors the core's exit logic uses. */
u64 arch_guest_rip(struct vcpu *v);
void arch_set_guest_rip(struct vcpu *v, u64 rip);
u64 arch_guest_rsp(struct vcpu *v);
void arch_set_guest_rsp(struct vcpu *v, u64 rsp);
u64 arch_guest_cr3(struct vcpu *v);
void arch_set_guest_cr3(struct vcpu *v, u64 cr3);
u64 arch_guest_rax(struct vcpu *v);
void arch_set_guest_rax(struct vcpu *v, u64 val);
bool arch_guest_long_mode(struct vcpu *v);
/* EFER.SCE, whether SYSCALL works (else it raises #UD); returns the old value. */
bool arch_guest_syscall(struct vcpu *v, bool on);
/* The guest's current privilege level (0 = its kernel, 3 = a process). */
u32 arch_guest_cpl(struct vcpu *v);
u32 arch_guest_idt_limit(struct vcpu *v);
u64 arch_guest_idt_base(struct vcpu *v);
/* CR0.PE: the guest runs in protected mode (long mode included). */
bool arch_guest_protected_mode(struct vcpu *v);
/* The guest loaded a 64-bit TSS of its own: TR base non-zero, limit >= 0x67. */
bool arch_guest_has_tss64(struct vcpu *v);
void arch_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error);
/* NMI virtualization hooks (hv/core/nmi_virt.c). */
bool arch_event_injection_busy(struct vcpu *v);
/* The guest is in an interrupt shadow (MOV SS / STI): its next instruction
 * must complete before an NMI is delivered. */
bool arch_guest_interrupt_shadow(struct vcpu *v);
void arch_inject_nmi(struct vcpu *v);
void arch_watch_iret(struct vcpu *v, bool on);
void arch_single_step(struct vcpu *v, bool on);
/* Nested paging (hv/hypapps/pal.c).  The shared table maps all guest RAM;
 * a PAL's own table maps only its region.  Changes to the shared table take
 * effect on a CPU after arch_request_tlb_flush() for it. */
void arch_npt_set_access(u64 gpa, u32 npages, bool present);
/* arch_npt_set_access() works on [0, arch_npt_fine_end()) only. */
u64 arch_npt_fine_end(void);
/* The nested table's entry format, for the tables the core builds itself (a
 * PAL's own table: core/nested_build.h). */
extern const struct nested_format arch_nested_format;
void arch_set_nested_root(struct vcpu *v, u64 root);	/* 0: the shared table */
void arch_request_tlb_flush(struct percpu *c);

/* INIT/SIPI virtualization (hv/core/sipi.c).  Once, before any guest runs:
 * every CPU gets its own nested table whose xAPIC page traps writes. */
void arch_lapic_trap_enable(void);
enum lapic_map {
	LAPIC_MAP_TRAP_WRITES,	/* reads reach the LAPIC, writes fault */
	LAPIC_MAP_REAL,		/* the LAPIC, writable */
	LAPIC_MAP_SHADOW,	/* a page of the hypervisor's instead of the LAPIC */
};
/* This CPU's mapping of the xAPIC page, from its next instruction on. */
void arch_lapic_map(struct vcpu *v, enum lapic_map how, u64 shadow_pa);
/* Real mode at vector << 12, as a SIPI starts a CPU in wait-for-SIPI. */
void arch_vcpu_init_sipi(struct percpu *c, u8 vector);
/* Single steps have two owners (NMI virtualization, the LAPIC trap): TF and
 * the #DB intercept stay on while either wants them. */
#define STEP_NMI 1u
#define STEP_LAPIC 2u
void arch_single_step_for(struct vcpu *v, u32 owner, bool on);
/* Hold physical interrupts while the guest runs (V_INTR_MASKING): during a
 * LAPIC step, an interrupt's EOI would land in the shadow page. */
void arch_hold_interrupts(struct vcpu *v, bool on);

/* Every host NMI, from host_nmi() with the interrupted RIP (which it may change):
 * a backend whose entry path NMIs can interrupt (VMX has no GIF) learns of an NMI
 * latched after its last look and restarts the entry.  SVM: nothing (GIF=0 holds
 * NMIs from the loop's CLGI to VMRUN). */
void arch_host_nmi(struct percpu *c, u64 *rip);

/* Print guest state for a report (panic, unknown exit). */
void arch_dump_guest(struct vcpu *v);

#endif
