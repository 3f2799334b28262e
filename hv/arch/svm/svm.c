/*
 * AMD SVM backend: enabling SVM, the guest's initial VMCB, the VMRUN loop
 * and the accessors the core uses (hv/arch/arch.h).
 */
#include "arch/arch.h"
#include "arch/svm/svm.h"
#include "arch/svm/guest_regs.h"
#include "core/nmi_virt.h"
#include "core/chaos.h"
#include "core/event_test.h"
#include "core/trace_glue.h"
#include "core/string.h"
#include "core/panic.h"
#include "core/log.h"
#include "core/x86.h"
#include <heisen/defs.h>

/* vmrun.S's view of struct guest_regs (arch/svm/guest_regs.h) is this one. */
_Static_assert(__builtin_offsetof(struct guest_regs, rbx) == GPR_RBX, "vmrun.S: GPR_RBX");
_Static_assert(__builtin_offsetof(struct guest_regs, rcx) == GPR_RCX, "vmrun.S: GPR_RCX");
_Static_assert(__builtin_offsetof(struct guest_regs, rdx) == GPR_RDX, "vmrun.S: GPR_RDX");
_Static_assert(__builtin_offsetof(struct guest_regs, rsi) == GPR_RSI, "vmrun.S: GPR_RSI");
_Static_assert(__builtin_offsetof(struct guest_regs, rdi) == GPR_RDI, "vmrun.S: GPR_RDI");
_Static_assert(__builtin_offsetof(struct guest_regs, rbp) == GPR_RBP, "vmrun.S: GPR_RBP");
_Static_assert(__builtin_offsetof(struct guest_regs, r8) == GPR_R8, "vmrun.S: GPR_R8");
_Static_assert(__builtin_offsetof(struct guest_regs, r9) == GPR_R9, "vmrun.S: GPR_R9");
_Static_assert(__builtin_offsetof(struct guest_regs, r10) == GPR_R10, "vmrun.S: GPR_R10");
_Static_assert(__builtin_offsetof(struct guest_regs, r11) == GPR_R11, "vmrun.S: GPR_R11");
_Static_assert(__builtin_offsetof(struct guest_regs, r12) == GPR_R12, "vmrun.S: GPR_R12");
_Static_assert(__builtin_offsetof(struct guest_regs, r13) == GPR_R13, "vmrun.S: GPR_R13");
_Static_assert(__builtin_offsetof(struct guest_regs, r14) == GPR_R14, "vmrun.S: GPR_R14");
_Static_assert(__builtin_offsetof(struct guest_regs, r15) == GPR_R15, "vmrun.S: GPR_R15");

#define MSR_VM_CR 0xc0010114u
#define MSR_VM_HSAVE_PA 0xc0010117u
#define VM_CR_SVMDIS (1u << 4)
#define RFLAGS_TF (1ull << 8)
#define DB_VECTOR 1

static u8 msr_bitmap[8192] __aligned(4096);
/* I/O permission map (APM vol. 2 15.10.1): one bit per port, 12 KiB. */
static u8 io_bitmap[3 * 4096] __aligned(4096);
static bool io_intercepts;
static bool rdtsc_exit;		/* arch_rdtsc_exit: RDTSC intercepted */
static u64 npt_root;
static bool per_cpu_npt;	/* INIT/SIPI virtualized: each CPU its own root */

static u64 default_root(u32 cpu)
{
	return per_cpu_npt ? npt_cpu_root(cpu) : npt_root;
}

const char *arch_unsupported_reason(void)
{
	u32 r[4];
	cpuid(0x80000001, 0, r);
	if (!(r[2] & (1u << 2)))
		return "no SVM (run QEMU with -cpu qemu64,+svm,+npt)";
	cpuid(0x8000000a, 0, r);
	if (!(r[3] & 1))
		return "no nested paging (run QEMU with -cpu qemu64,+svm,+npt)";
	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS)
		return "SVM disabled by firmware (VM_CR.SVMDIS)";
	return NULL;
}

/* MSR permission map (APM vol. 2 15.11): 2 bits per MSR (read, write);
 * 0xC0000000..0xC0001FFF live at byte offset 0x800. */
static void msr_intercept(u32 msr)
{
	u32 bit = (msr - 0xc0000000u) * 2;
	msr_bitmap[0x800 + bit / 8] |= (u8)(3u << (bit % 8));
}

void arch_io_intercept(u16 port, u16 count)
{
	for (u32 p = port; p < (u32)port + count; p++)
		io_bitmap[p / 8] |= (u8)(1u << (p % 8));
	io_intercepts = true;
}

void arch_rdtsc_exit(bool on)
{
	rdtsc_exit = on;
}

void arch_global_init(u64 prot_start, u64 prot_end)
{
	msr_intercept(MSR_EFER);	/* keep EFER.SVME hidden and set */
	npt_root = npt_build(prot_start, prot_end);
}

void arch_cpu_enable(struct percpu *c)
{
	/* NXE: nested page faults report "instruction fetch" (EXITINFO1 bit 4)
	 * only with no-execute paging on -- the PAL hypapp tells a call into a
	 * PAL from a data access by that bit. */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME | EFER_NXE);
	/* Always per CPU: QEMU does not check it and would silently write the
	 * host state to physical page 0 (docs/platform.md P5). */
	wrmsr(MSR_VM_HSAVE_PA, (u64)c->arch_pages[ARCH_PAGE_HSAVE]);
}

static struct vmcb_seg flat_seg(u16 sel, u16 attrib)
{
	return (struct vmcb_seg){ .sel = sel, .attrib = attrib, .limit = 0xffffffff, .base = 0 };
}

static struct vmcb *vmcb_reset(struct percpu *c)
{
	struct vmcb *vmcb = vmcb_of(c);
	memset(vmcb, 0, sizeof(*vmcb));
	struct vmcb_control *ctl = &vmcb->ctl;
	ctl->misc1 = INTERCEPT_NMI | INTERCEPT_CPUID | INTERCEPT_MSR_PROT | INTERCEPT_SHUTDOWN;
	/* VMRUN must be intercepted or VMRUN fails (docs/platform.md P4); the other SVM
	 * instructions would act on the real machine (GIF!) if the guest ran them. */
	ctl->misc2 = INTERCEPT_VMRUN | INTERCEPT_VMMCALL | INTERCEPT_VMLOAD | INTERCEPT_VMSAVE |
		     INTERCEPT_STGI | INTERCEPT_CLGI | INTERCEPT_SKINIT;
	ctl->msrpm_pa = (u64)msr_bitmap;
	if (rdtsc_exit)
		ctl->misc1 |= INTERCEPT_RDTSC;
	if (io_intercepts) {
		ctl->misc1 |= INTERCEPT_IOIO_PROT;
		ctl->iopm_pa = (u64)io_bitmap;
	}
	ctl->asid = c->index + 1;	/* ASID 0 is the host's */
	ctl->tlb_control = 1;		/* flush everything on the first VMRUN */
	ctl->np_enable = 1;
	ctl->n_cr3 = per_cpu_npt ? npt_build_cpu(c->index) : npt_root;
	vmcb->save.efer = EFER_SVME;	/* VMRUN requires it (docs/platform.md P4); hidden from the guest */
	vmcb->save.dr7 = 0x400;
	vmcb->save.dr6 = 0xffff0ff0;
	vmcb->save.rflags = 2;
	vmcb->save.g_pat = 0x0007040600070406ull;
	memset(&c->vcpu.gpr, 0, sizeof(c->vcpu.gpr));
	c->vcpu.step_owners = 0;
	return vmcb;
}

void arch_vcpu_init(struct percpu *c, const struct guest_entry *e)
{
	struct vmcb *vmcb = vmcb_reset(c);
	struct vmcb_save *s = &vmcb->save;
	s->cs = flat_seg(e->cs, 0x0c9b);	/* 32-bit code, G, D (docs/platform.md P6) */
	s->ds = s->es = s->ss = s->fs = s->gs = flat_seg(e->ds, 0x0c93);
	s->tr = (struct vmcb_seg){ .sel = 0, .attrib = 0x008b, .limit = 0x67, .base = 0 };
	s->ldtr = (struct vmcb_seg){ .sel = 0, .attrib = 0x0082, .limit = 0, .base = 0 };
	s->gdtr = (struct vmcb_seg){ .limit = e->gdt_limit, .base = e->gdt_base };
	s->idtr = (struct vmcb_seg){ .limit = e->idt_limit, .base = e->idt_base };
	s->cpl = 0;
	s->cr0 = 0x11;		/* PE | ET: flat protected mode, paging off */
	s->rip = e->rip;
	s->rax = e->eax;
	c->vcpu.gpr.rbx = e->ebx;
	c->vcpu.gpr.rcx = e->ecx;
	c->vcpu.gpr.rsi = e->esi;
}

/* The state a SIPI leaves a CPU in (Intel SDM vol. 3 9.1.1, AMD APM vol. 2
 * 14.1.3), as measured under TCG (docs/platform.md G3, "Real-mode
 * guests under SVM"): real mode, CS = vector << 8, IP = 0. */
void arch_vcpu_init_sipi(struct percpu *c, u8 vector)
{
	struct vmcb *vmcb = vmcb_reset(c);
	struct vmcb_save *s = &vmcb->save;
	s->cs = (struct vmcb_seg){ .sel = (u16)(vector << 8), .attrib = 0x9b, .limit = 0xffff,
				   .base = (u64)vector << 12 };
	s->ds = s->es = s->ss = s->fs = s->gs =
		(struct vmcb_seg){ .sel = 0, .attrib = 0x93, .limit = 0xffff, .base = 0 };
	s->tr = (struct vmcb_seg){ .sel = 0, .attrib = 0x83, .limit = 0xffff, .base = 0 };
	s->ldtr = (struct vmcb_seg){ .sel = 0, .attrib = 0x82, .limit = 0xffff, .base = 0 };
	s->gdtr.limit = s->idtr.limit = 0xffff;
	s->cr0 = 0x60000010;	/* CD | NW | ET, as after INIT */
	s->rip = 0;
}

void arch_lapic_trap_enable(void) { per_cpu_npt = true; }

void arch_lapic_map(struct vcpu *v, enum lapic_map how, u64 shadow_pa)
{
	npt_set_lapic(v->cpu, how, shadow_pa);
	/* Write access taken away again: no stale writable translation may stay. */
	vcpu_vmcb(v)->ctl.tlb_control = 1;
}

void arch_hold_interrupts(struct vcpu *v, bool on)
{
	struct vmcb *vmcb = vcpu_vmcb(v);
	vmcb->ctl.vintr = on ? vmcb->ctl.vintr | V_INTR_MASKING : vmcb->ctl.vintr & ~V_INTR_MASKING;
}

void __noreturn arch_vcpu_run(struct percpu *c)
{
	struct vmcb *vmcb = vmcb_of(c);
	struct vcpu *v = &c->vcpu;
	for (;;) {
		__asm__ __volatile__("clgi" ::: "memory");
		nmi_virt_before_entry(v);
		svm_vmrun((u64)vmcb, &v->gpr, (u64)c->arch_pages[ARCH_PAGE_HOST_SAVE]);
		vmcb->ctl.tlb_control = 0;
		c->last_exit_was_nmi = vmcb->ctl.exitcode == SVM_EXIT_NMI;
		/* A physical NMI held since the exit (GIF=0) is taken right here,
		 * by host_nmi(), before the exit is handled. */
		__asm__ __volatile__("stgi" ::: "memory");
		svm_handle_exit(c);
		nmi_virt_on_exit(v);
		event_test_exit_point(v);
		trace_drain_point();
		chaos_exit_point(c);
	}
}

void svm_skip_instruction(struct vmcb *vmcb, u32 len)
{
	/* No NRIPS under TCG (next_rip stays 0, docs/platform.md P2): lengths are known
	 * per intercepted instruction. */
	vmcb->save.rip += len;
	/* The skipped instruction was the one a MOV SS/STI shadow covered
	 * (if any): the shadow ends with it, as it would have on hardware. */
	vmcb->ctl.interrupt_shadow &= ~1ull;
}

u64 arch_guest_rip(struct vcpu *v) { return vcpu_vmcb(v)->save.rip; }
u64 arch_guest_rax(struct vcpu *v) { return vcpu_vmcb(v)->save.rax; }
void arch_set_guest_rax(struct vcpu *v, u64 val) { vcpu_vmcb(v)->save.rax = val; }

u32 arch_guest_idt_limit(struct vcpu *v) { return vcpu_vmcb(v)->save.idtr.limit; }
u64 arch_guest_idt_base(struct vcpu *v) { return vcpu_vmcb(v)->save.idtr.base; }
bool arch_guest_protected_mode(struct vcpu *v) { return vcpu_vmcb(v)->save.cr0 & 1; }
bool arch_guest_has_tss64(struct vcpu *v)
{
	const struct vmcb_seg *tr = &vcpu_vmcb(v)->save.tr;
	return tr->base != 0 && tr->limit >= 0x67;
}

bool arch_guest_long_mode(struct vcpu *v)
{
	struct vmcb *vmcb = vcpu_vmcb(v);
	return (vmcb->save.efer & EFER_LMA) && (vmcb->save.cs.attrib & 0x200);	/* CS.L */
}

bool arch_guest_syscall(struct vcpu *v, bool on)
{
	struct vmcb *vmcb = vcpu_vmcb(v);
	bool was = vmcb->save.efer & EFER_SCE;
	vmcb->save.efer = on ? vmcb->save.efer | EFER_SCE : vmcb->save.efer & ~(u64)EFER_SCE;
	return was;
}

void arch_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
	vcpu_vmcb(v)->ctl.eventinj = EVENT_VALID | EVENT_TYPE_EXCEPTION | vector |
				     (has_error ? EVENT_HAS_ERROR | ((u64)error << 32) : 0);
	trace_guest_fault_inject(vector, error);
}

bool arch_event_injection_busy(struct vcpu *v) { return vcpu_vmcb(v)->ctl.eventinj & EVENT_VALID; }

/* INTERRUPT_SHADOW bit 0 (APM vol. 2 15.21): the guest stopped right after
 * a MOV SS or STI, before the instruction the shadow covers. */
bool arch_guest_interrupt_shadow(struct vcpu *v) { return vcpu_vmcb(v)->ctl.interrupt_shadow & 1; }

void arch_inject_nmi(struct vcpu *v)
{
	vcpu_vmcb(v)->ctl.eventinj = EVENT_VALID | EVENT_TYPE_NMI | 2;
}

void arch_watch_iret(struct vcpu *v, bool on)
{
	struct vmcb *vmcb = vcpu_vmcb(v);
	u32 misc1 = on ? vmcb->ctl.misc1 | INTERCEPT_IRET : vmcb->ctl.misc1 & ~INTERCEPT_IRET;
#ifdef BUG_field_width
	/* Zoo: XMHF64's 32-bit VMCS field accessed as 64 bits ("Comparing VCPU
	 * dump"): the store also zeroes misc2, the VMRUN/VMMCALL intercepts. */
	*(volatile u64 *)&vmcb->ctl.misc1 = misc1;
#else
	vmcb->ctl.misc1 = misc1;
#endif
}

void arch_single_step(struct vcpu *v, bool on) { arch_single_step_for(v, STEP_NMI, on); }

void arch_single_step_for(struct vcpu *v, u32 owner, bool on)
{
	struct vmcb *vmcb = vcpu_vmcb(v);
	v->step_owners = on ? v->step_owners | owner : v->step_owners & ~owner;
	if (v->step_owners) {
		vmcb->save.rflags |= RFLAGS_TF;
		vmcb->ctl.exceptions |= 1u << DB_VECTOR;
	} else {
		vmcb->save.rflags &= ~RFLAGS_TF;
		vmcb->ctl.exceptions &= ~(1u << DB_VECTOR);
	}
}

void arch_dump_guest(struct vcpu *v)
{
	struct vmcb *m = vcpu_vmcb(v);
	hv_printf("cpu %u guest: exit %lx info1 %lx info2 %lx intinfo %lx\n", v->cpu, m->ctl.exitcode,
		  m->ctl.exitinfo1, m->ctl.exitinfo2, m->ctl.exitintinfo);
	hv_printf("  rip %lx rsp %lx rflags %lx rax %lx rbx %lx rcx %lx rdx %lx\n", m->save.rip,
		  m->save.rsp, m->save.rflags, m->save.rax, v->gpr.rbx, v->gpr.rcx, v->gpr.rdx);
	hv_printf("  cr0 %lx cr3 %lx cr4 %lx efer %lx cs %x/%x\n", m->save.cr0, m->save.cr3,
		  m->save.cr4, m->save.efer, m->save.cs.sel, m->save.cs.attrib);
}

void arch_set_guest_rip(struct vcpu *v, u64 rip) { vcpu_vmcb(v)->save.rip = rip; }
u64 arch_guest_rsp(struct vcpu *v) { return vcpu_vmcb(v)->save.rsp; }
void arch_set_guest_rsp(struct vcpu *v, u64 rsp) { vcpu_vmcb(v)->save.rsp = rsp; }
u64 arch_guest_cr3(struct vcpu *v) { return vcpu_vmcb(v)->save.cr3; }
/* VMCB CPL: the CPU keeps it equal to SS.DPL (AMD APM vol. 2, 15.5.1). */
u32 arch_guest_cpl(struct vcpu *v) { return vcpu_vmcb(v)->save.cpl; }
void arch_set_guest_cr3(struct vcpu *v, u64 cr3) { vcpu_vmcb(v)->save.cr3 = cr3; }

/* Takes effect at the CPU's next VMRUN; the loop clears it after each run.
 * Callers write another CPU's VMCB only while that CPU is quiesced. */
void arch_request_tlb_flush(struct percpu *c) { vmcb_of(c)->ctl.tlb_control = 1; }

void arch_set_nested_root(struct vcpu *v, u64 root)
{
	struct vmcb *vmcb = vcpu_vmcb(v);
	vmcb->ctl.n_cr3 = root ? root : default_root(v->cpu);
	/* Same ASID, different nested table: stale translations must go. */
	vmcb->ctl.tlb_control = 1;
}
