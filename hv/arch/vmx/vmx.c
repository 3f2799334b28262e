/*
 * Intel VMX backend: VMXON per CPU, one VMCS per vCPU, the entry/exit loop
 * and the accessors the core uses (hv/arch/arch.h).  Runs under Bochs 2.7
 * (corei7_skylake_x: EPT, unrestricted guest, virtual NMIs, NMI-window
 * exiting, VPID; docs/platform.md B3).
 *
 * Every VMCS access goes through vmcs.h's typed table.  VMREAD/VMWRITE act on
 * the *current* VMCS, which is the running CPU's own: the accessors below
 * are called for this CPU's vCPU only (vcpu_own() checks it), never for
 * another CPU's, which SVM's VMCB-in-memory would have allowed.
 */
#include "arch/arch.h"
#include "arch/vmx/vmx.h"
#include "arch/vmx/guest_regs.h"
#include "core/nmi_virt.h"
#include "core/chaos.h"
#include "core/event_test.h"
#include "core/trace_glue.h"
#include "core/string.h"
#include "core/panic.h"
#include "core/log.h"
#include "core/x86.h"
#include <heisen/defs.h>

/* vmentry.S's view of struct guest_regs (arch/vmx/guest_regs.h). */
_Static_assert(__builtin_offsetof(struct guest_regs, rax) == GPR_RAX, "vmentry.S: GPR_RAX");
_Static_assert(__builtin_offsetof(struct guest_regs, rbx) == GPR_RBX, "vmentry.S: GPR_RBX");
_Static_assert(__builtin_offsetof(struct guest_regs, rcx) == GPR_RCX, "vmentry.S: GPR_RCX");
_Static_assert(__builtin_offsetof(struct guest_regs, rdx) == GPR_RDX, "vmentry.S: GPR_RDX");
_Static_assert(__builtin_offsetof(struct guest_regs, rsi) == GPR_RSI, "vmentry.S: GPR_RSI");
_Static_assert(__builtin_offsetof(struct guest_regs, rdi) == GPR_RDI, "vmentry.S: GPR_RDI");
_Static_assert(__builtin_offsetof(struct guest_regs, rbp) == GPR_RBP, "vmentry.S: GPR_RBP");
_Static_assert(__builtin_offsetof(struct guest_regs, r8) == GPR_R8, "vmentry.S: GPR_R8");
_Static_assert(__builtin_offsetof(struct guest_regs, r9) == GPR_R9, "vmentry.S: GPR_R9");
_Static_assert(__builtin_offsetof(struct guest_regs, r10) == GPR_R10, "vmentry.S: GPR_R10");
_Static_assert(__builtin_offsetof(struct guest_regs, r11) == GPR_R11, "vmentry.S: GPR_R11");
_Static_assert(__builtin_offsetof(struct guest_regs, r12) == GPR_R12, "vmentry.S: GPR_R12");
_Static_assert(__builtin_offsetof(struct guest_regs, r13) == GPR_R13, "vmentry.S: GPR_R13");
_Static_assert(__builtin_offsetof(struct guest_regs, r14) == GPR_R14, "vmentry.S: GPR_R14");
_Static_assert(__builtin_offsetof(struct guest_regs, r15) == GPR_R15, "vmentry.S: GPR_R15");
_Static_assert(VMCS_HOST_RSP_ENC == VMCS_HOST_RSP, "vmentry.S: HOST_RSP encoding");
_Static_assert(sizeof(struct vmx_cpu) <= 4096, "struct vmx_cpu fits its arch page");

#define MSR_FEATURE_CONTROL 0x3a
#define FEATURE_CONTROL_LOCK 1ull
#define FEATURE_CONTROL_VMXON 4ull	/* VMXON outside SMX */
#define MSR_VMX_BASIC 0x480
#define MSR_VMX_PINBASED 0x481
#define MSR_VMX_PROCBASED 0x482
#define MSR_VMX_EXIT 0x483
#define MSR_VMX_ENTRY 0x484
#define MSR_VMX_CR0_FIXED0 0x486
#define MSR_VMX_CR0_FIXED1 0x487
#define MSR_VMX_CR4_FIXED0 0x488
#define MSR_VMX_CR4_FIXED1 0x489
#define MSR_VMX_PROCBASED2 0x48b
#define MSR_VMX_TRUE_PINBASED 0x48d
#define MSR_VMX_TRUE_PROCBASED 0x48e
#define MSR_VMX_TRUE_EXIT 0x48f
#define MSR_VMX_TRUE_ENTRY 0x490
#define VMX_BASIC_TRUE_CTLS (1ull << 55)
#define MSR_PAT 0x277
#define MSR_FS_BASE 0xc0000100u
#define MSR_GS_BASE 0xc0000101u
#define CR4_VMXE (1ull << 13)
#define CR0_NE (1ull << 5)
#define RFLAGS_TF (1ull << 8)
#define DB_VECTOR 1
#define UD_VECTOR 6
#define PENDING_DBG_BS (1ull << 14)

/* Pin-based (SDM vol. 3, 25.6.1): every physical NMI exits (the hypervisor
 * owns NMIs, as SVM's NMI intercept); virtual NMIs give the guest an NMI
 * blocking bit of its own that its IRET clears. */
#define PIN_NMI_EXITING (1u << 3)
#define PIN_VIRTUAL_NMIS (1u << 5)
/* Processor-based (25.6.2). */
#define PROC_RDTSC_EXITING (1u << 12)
#define PROC_USE_IO_BITMAPS (1u << 25)
#define PROC_USE_MSR_BITMAPS (1u << 28)
#define PROC_SECONDARY (1u << 31)
#define PROC2_EPT (1u << 1)
#define PROC2_VPID (1u << 5)
#define PROC2_UNRESTRICTED (1u << 7)	/* paging-off and real-mode guests */
/* VM-exit (25.7.1) and VM-entry (25.8.1) controls. */
#define EXIT_HOST_64 (1u << 9)
#define EXIT_SAVE_PAT (1u << 18)
#define EXIT_LOAD_PAT (1u << 19)
#define EXIT_SAVE_EFER (1u << 20)
#define EXIT_LOAD_EFER (1u << 21)
#define ENTRY_IA32E_GUEST (1u << 9)
#define ENTRY_LOAD_PAT (1u << 14)
#define ENTRY_LOAD_EFER (1u << 15)

/* The control words every CPU loads, computed once on the BSP. */
static struct {
	u32 pin, proc, proc2, exit, entry;
	u32 revision;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
} ctl;

static u8 msr_bitmap[4096] __aligned(4096);	/* all 0: no MSR exits (EFER is switched by the controls) */
static u8 io_bitmap[2][4096] __aligned(4096);	/* A: ports 0-0x7fff, B: 0x8000-0xffff */
static bool io_intercepts;
static u64 ept_root_shared;

extern const u8 vmx_exit_point[], vmx_window_start[], vmx_window_end[], vmx_window_abort[];

void vmx_access_failed(u32 field, bool write)
{
	u64 err = 0;
	/* VMfailValid leaves the reason in INSTRUCTION_ERROR (read raw: this
	 * is the failure path of the accessors themselves). */
	__asm__ __volatile__("vmread %1, %0" : "=r"(err) : "r"((u64)VMCS_INSTRUCTION_ERROR) : "cc");
	hv_panic(field, err, write, write ? "VMWRITE failed" : "VMREAD failed");
}

static struct percpu *vcpu_own(struct vcpu *v)
{
	struct percpu *c = (struct percpu *)((u64)v & ~(u64)(PERCPU_SIZE - 1));
	if (c != this_cpu())
		hv_panic(v->cpu, this_cpu()->index, 0, "VMCS access for another CPU's vCPU");
	return c;
}

static u64 vmx_cap(u32 true_msr, u32 msr, u64 basic)
{
	return rdmsr((basic & VMX_BASIC_TRUE_CTLS) ? true_msr : msr);
}

/* The controls from the capability MSRs; NULL when they fit, or what is missing. */
static const char *controls_compute(void)
{
	u64 basic = rdmsr(MSR_VMX_BASIC);
	u32 miss;
	ctl.revision = (u32)basic & 0x7fffffff;
	ctl.pin = vmx_adjust_controls(vmx_cap(MSR_VMX_TRUE_PINBASED, MSR_VMX_PINBASED, basic),
				      PIN_NMI_EXITING | PIN_VIRTUAL_NMIS, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS, &miss);
	if (miss)
		return "no virtual NMIs (Bochs: cpu model=corei7_skylake_x)";
	u64 proc_cap = vmx_cap(MSR_VMX_TRUE_PROCBASED, MSR_VMX_PROCBASED, basic);
	/* Wanted 0 where the true MSR allows it: no CR3, INVLPG, RDTSC, HLT exits. */
	ctl.proc = vmx_adjust_controls(proc_cap, PROC_USE_MSR_BITMAPS | PROC_SECONDARY,
				       PROC_USE_MSR_BITMAPS | PROC_SECONDARY | PROC_NMI_WINDOW, &miss);
	if (miss)
		return "no secondary controls or no NMI-window exiting";
	ctl.proc2 = vmx_adjust_controls(rdmsr(MSR_VMX_PROCBASED2), PROC2_EPT | PROC2_VPID | PROC2_UNRESTRICTED,
					PROC2_EPT | PROC2_VPID | PROC2_UNRESTRICTED, &miss);
	if (miss)
		return "no EPT, VPID or unrestricted guest (Bochs: cpu model=corei7_skylake_x)";
	ctl.exit = vmx_adjust_controls(vmx_cap(MSR_VMX_TRUE_EXIT, MSR_VMX_EXIT, basic),
				       EXIT_HOST_64 | EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_EFER | EXIT_LOAD_EFER,
				       EXIT_HOST_64 | EXIT_SAVE_EFER | EXIT_LOAD_EFER, &miss);
	if (miss)
		return "VM exits cannot switch EFER";
	ctl.entry = vmx_adjust_controls(vmx_cap(MSR_VMX_TRUE_ENTRY, MSR_VMX_ENTRY, basic),
					ENTRY_LOAD_PAT | ENTRY_LOAD_EFER, ENTRY_LOAD_EFER, &miss);
	if (miss)
		return "VM entries cannot load EFER";
	ctl.entry &= ~ENTRY_IA32E_GUEST;	/* set per guest (32-bit start) */
	ctl.cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
	ctl.cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
	ctl.cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
	ctl.cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
	return NULL;
}

const char *arch_unsupported_reason(void)
{
	u32 r[4];
	cpuid(1, 0, r);
	if (!(r[2] & (1u << 5)))
		return "no VMX (Bochs: cpu model=corei7_skylake_x)";
	u64 fc = rdmsr(MSR_FEATURE_CONTROL);
	if ((fc & FEATURE_CONTROL_LOCK) && !(fc & FEATURE_CONTROL_VMXON))
		return "VMX disabled by firmware (IA32_FEATURE_CONTROL locked without VMXON)";
	return controls_compute();
}

void arch_io_intercept(u16 port, u16 count)
{
	for (u32 p = port; p < (u32)port + count; p++)
		io_bitmap[p >> 15][(p & 0x7fff) / 8] |= (u8)(1u << (p % 8));
	io_intercepts = true;
}

/* Before arch_global_init (core/main.c), as arch_io_intercept. */
void arch_rdtsc_exit(bool on)
{
	ctl.proc = on ? ctl.proc | PROC_RDTSC_EXITING : ctl.proc & ~PROC_RDTSC_EXITING;
}

void arch_global_init(u64 prot_start, u64 prot_end)
{
	if (io_intercepts)
		ctl.proc |= PROC_USE_IO_BITMAPS;
	ept_root_shared = ept_build(prot_start, prot_end);
}

static bool vmx_insn_failed(void)
{
	bool bad;
	__asm__ __volatile__("" : "=@ccbe"(bad));
	return bad;
}

void arch_cpu_enable(struct percpu *c)
{
	u64 fc = rdmsr(MSR_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCK))
		wrmsr(MSR_FEATURE_CONTROL, fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMXON);
	/* VMXON requires CR0 and CR4 within the fixed bits (SDM vol. 3, 24.8):
	 * CR0.NE, which our boot code leaves clear, and CR4.VMXE. */
	u64 cr0 = (read_cr0() | ctl.cr0_fixed0) & ctl.cr0_fixed1;
	u64 cr4 = (read_cr4() | ctl.cr4_fixed0 | CR4_VMXE) & ctl.cr4_fixed1;
	__asm__ __volatile__("mov %0, %%cr0" :: "r"(cr0) : "memory");
	__asm__ __volatile__("mov %0, %%cr4" :: "r"(cr4) : "memory");
	*(u32 *)c->arch_pages[ARCH_PAGE_VMXON] = ctl.revision;
	*(u32 *)c->arch_pages[ARCH_PAGE_VMCS] = ctl.revision;
	u64 on = (u64)c->arch_pages[ARCH_PAGE_VMXON], vmcs = (u64)c->arch_pages[ARCH_PAGE_VMCS];
	__asm__ __volatile__("vmxon %0" :: "m"(on) : "cc", "memory");
	if (vmx_insn_failed())
		hv_panic(on, cr4, 0, "VMXON failed");
	__asm__ __volatile__("vmclear %0" :: "m"(vmcs) : "cc", "memory");
	if (vmx_insn_failed())
		hv_panic(vmcs, 0, 0, "VMCLEAR failed");
	__asm__ __volatile__("vmptrld %0" :: "m"(vmcs) : "cc", "memory");
	if (vmx_insn_failed())
		hv_panic(vmcs, 0, 0, "VMPTRLD failed");
	memset(vmx_of(c), 0, sizeof(struct vmx_cpu));
}

/* The host half of the VMCS: where an exit lands (SDM vol. 3, 28.5). */
static void host_state(struct percpu *c)
{
	struct __packed { u16 limit; u64 base; } idtr;
	__asm__ __volatile__("sidt %0" : "=m"(idtr));
	u16 fs, gs;
	__asm__ __volatile__("mov %%fs, %0; mov %%gs, %1" : "=r"(fs), "=r"(gs));
	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CR3, read_cr3());
	vmcs_write(HOST_CR4, read_cr4());
	vmcs_write(HOST_CS_SEL, (u16)0x08);
	vmcs_write(HOST_SS_SEL, (u16)0x10);
	vmcs_write(HOST_DS_SEL, (u16)0x10);
	vmcs_write(HOST_ES_SEL, (u16)0x10);
	/* RPL and TI must be 0 (26.2.3); anything else the boot left is a null selector. */
	vmcs_write(HOST_FS_SEL, (u16)(fs & ~7));
	vmcs_write(HOST_GS_SEL, (u16)(gs & ~7));
	vmcs_write(HOST_TR_SEL, (u16)0x28);
	vmcs_write(HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmcs_write(HOST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmcs_write(HOST_TR_BASE, (u64)&c->tss);
	vmcs_write(HOST_GDTR_BASE, (u64)c->gdt);
	vmcs_write(HOST_IDTR_BASE, idtr.base);
	vmcs_write(HOST_SYSENTER_CS, (u32)0);
	vmcs_write(HOST_SYSENTER_ESP, (u64)0);
	vmcs_write(HOST_SYSENTER_EIP, (u64)0);
	vmcs_write(HOST_EFER, rdmsr(MSR_EFER));
	vmcs_write(HOST_PAT, rdmsr(MSR_PAT));
	vmcs_write(HOST_RIP, (u64)vmx_exit_point);
}

static void controls(struct percpu *c)
{
	vmcs_write(PIN_CONTROLS, ctl.pin);
	vmcs_write(PROC_CONTROLS, ctl.proc);
	vmcs_write(PROC_CONTROLS2, ctl.proc2);
	vmcs_write(EXIT_CONTROLS, ctl.exit);
	vmcs_write(ENTRY_CONTROLS, ctl.entry);
	/* #UD: a VMMCALL (the guests' hypercall, AMD's) is #UD on Intel (exits.c). */
	vmcs_write(EXCEPTION_BITMAP, (u32)(1u << UD_VECTOR));
	vmcs_write(CR3_TARGET_COUNT, (u32)0);
	vmcs_write(EXIT_MSR_STORE_COUNT, (u32)0);
	vmcs_write(EXIT_MSR_LOAD_COUNT, (u32)0);
	vmcs_write(ENTRY_MSR_LOAD_COUNT, (u32)0);
	vmcs_write(ENTRY_INTR_INFO, (u32)0);
	vmcs_write(MSR_BITMAP, (u64)msr_bitmap);
	vmcs_write(IO_BITMAP_A, (u64)io_bitmap[0]);
	vmcs_write(IO_BITMAP_B, (u64)io_bitmap[1]);
	vmcs_write(VPID, (u16)(c->index + 1));	/* VPID 0 is the host's */
	struct vmx_cpu *x = vmx_of(c);
	x->ept_root = ept_root_shared;
	x->flush = 1;
	vmcs_write(EPT_POINTER, ept_pointer(x->ept_root));
	/* Bits in the masks are the hypervisor's: the guest reads the shadow's
	 * value and a write that changes them exits (25.6.6).  CR0.NE and
	 * CR4.VMXE must stay 1 while the guest runs (fixed bits, 26.3.1.1);
	 * the guest sees them as it set them. */
	vmcs_write(CR0_MASK, ctl.cr0_fixed0 & ~(u64)0x80000001);	/* PG and PE are free: unrestricted guest */
	vmcs_write(CR4_MASK, ctl.cr4_fixed0 | CR4_VMXE);
	vmcs_write(VMCS_LINK_POINTER, ~0ull);
	vmcs_write(GUEST_DEBUGCTL, (u64)0);
	vmcs_write(GUEST_PAT, 0x0007040600070406ull);
	vmcs_write(GUEST_DR7, (u64)0x400);
	vmcs_write(GUEST_PENDING_DBG, (u64)0);
	vmcs_write(GUEST_INTERRUPTIBILITY, (u32)0);
	vmcs_write(GUEST_ACTIVITY, (u32)0);
	vmcs_write(GUEST_SYSENTER_CS, (u32)0);
	vmcs_write(GUEST_SYSENTER_ESP, (u64)0);
	vmcs_write(GUEST_SYSENTER_EIP, (u64)0);
	host_state(c);
	memset(&c->vcpu.gpr, 0, sizeof(c->vcpu.gpr));
	c->vcpu.step_owners = 0;
}

/* SVM-style 12-bit attributes (access byte 7:0, AVL/L/D/G 11:8) to VMX
 * access rights (type..P 7:0, AVL/L/D/G 15:12; 25.4.1). */
static u32 vmx_ar(u32 attrib) { return (attrib & 0xff) | ((attrib & 0xf00) << 4); }
#define AR_UNUSABLE (1u << 16)

#define SET_SEG(S, sel, base, limit, ar) \
	do { \
		vmcs_write(GUEST_##S##_SEL, (u16)(sel)); \
		vmcs_write(GUEST_##S##_BASE, (u64)(base)); \
		vmcs_write(GUEST_##S##_LIMIT, (u32)(limit)); \
		vmcs_write(GUEST_##S##_AR, (u32)(ar)); \
	} while (0)

static void guest_cr(u64 cr0, u64 cr4)
{
	vmcs_write(CR0_SHADOW, cr0);
	vmcs_write(CR4_SHADOW, cr4);
	vmcs_write(GUEST_CR0, (cr0 | (ctl.cr0_fixed0 & ~(u64)0x80000001)) & ctl.cr0_fixed1);
	vmcs_write(GUEST_CR4, (cr4 | ctl.cr4_fixed0 | CR4_VMXE) & ctl.cr4_fixed1);
	vmcs_write(GUEST_CR3, (u64)0);
}

void arch_vcpu_init(struct percpu *c, const struct guest_entry *e)
{
	controls(c);
	SET_SEG(CS, e->cs, 0, 0xffffffff, vmx_ar(0x0c9b));	/* 32-bit code, G, D */
	SET_SEG(DS, e->ds, 0, 0xffffffff, vmx_ar(0x0c93));
	SET_SEG(ES, e->ds, 0, 0xffffffff, vmx_ar(0x0c93));
	SET_SEG(SS, e->ds, 0, 0xffffffff, vmx_ar(0x0c93));
	SET_SEG(FS, e->ds, 0, 0xffffffff, vmx_ar(0x0c93));
	SET_SEG(GS, e->ds, 0, 0xffffffff, vmx_ar(0x0c93));
	SET_SEG(TR, 0, 0, 0x67, 0x8b);		/* busy 32-bit TSS: a VM entry requires one (26.3.1.2) */
	SET_SEG(LDTR, 0, 0, 0, AR_UNUSABLE);
	vmcs_write(GUEST_GDTR_BASE, (u64)e->gdt_base);
	vmcs_write(GUEST_GDTR_LIMIT, (u32)e->gdt_limit);
	vmcs_write(GUEST_IDTR_BASE, (u64)e->idt_base);
	vmcs_write(GUEST_IDTR_LIMIT, (u32)e->idt_limit);
	guest_cr(0x11, 0);	/* PE | ET: flat protected mode, paging off */
	vmcs_write(GUEST_EFER, (u64)0);
	vmcs_write(GUEST_RFLAGS, (u64)2);
	vmcs_write(GUEST_RSP, (u64)0);
	vmcs_write(GUEST_RIP, e->rip);
	c->vcpu.gpr.rax = e->eax;
	c->vcpu.gpr.rbx = e->ebx;
	c->vcpu.gpr.rcx = e->ecx;
	c->vcpu.gpr.rsi = e->esi;
}

/* INIT/SIPI virtualization (an OS guest starting its APs) needs the
 * xAPIC-page trap and real-mode APs: not in this backend yet. */
void arch_lapic_trap_enable(void)
{
	hv_panic(0, 0, 0, "VMX backend: INIT/SIPI virtualization (OS guests at -smp > 1) not implemented");
}

void arch_vcpu_init_sipi(struct percpu *c, u8 vector)
{
	(void)c;
	hv_panic(vector, 0, 0, "VMX backend: SIPI start not implemented");
}

void arch_lapic_map(struct vcpu *v, enum lapic_map how, u64 shadow_pa)
{
	(void)v;
	hv_panic(how, shadow_pa, 0, "VMX backend: LAPIC trap not implemented");
}

void arch_hold_interrupts(struct vcpu *v, bool on)
{
	(void)v;
	hv_panic(on, 0, 0, "VMX backend: holding interrupts not implemented");
}

static void invalidate_all(void)
{
	/* All-context INVEPT (type 2) and INVVPID (type 2): the descriptor is
	 * read but its contents are ignored for these types (30.3). */
	struct { u64 a, b; } desc = { 0, 0 };
	u64 type = 2;
	__asm__ __volatile__("invept %0, %1" :: "m"(desc), "r"(type) : "cc", "memory");
	if (vmx_insn_failed())
		hv_panic(type, 0, 0, "INVEPT failed");
	__asm__ __volatile__("invvpid %0, %1" :: "m"(desc), "r"(type) : "cc", "memory");
	if (vmx_insn_failed())
		hv_panic(type, 0, 0, "INVVPID failed");
}

/*
 * Entry consistency (26.3.1.5): with STI or MOV SS blocking (or HLT), the
 * pending single-step (BS) must equal RFLAGS.TF.  Our own steps set TF while
 * the guest may sit in a shadow (core/nmi_virt.c shadow_step): the #DB is
 * then delivered after the shadowed instruction, as the core wants.
 */
static void pending_debug_fixup(void)
{
	u32 intr = vmcs_read(GUEST_INTERRUPTIBILITY);
	u32 act = vmcs_read(GUEST_ACTIVITY);
	if (!(intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) && act != GUEST_ACTIVITY_HLT)
		return;
	u64 pd = vmcs_read(GUEST_PENDING_DBG) & ~PENDING_DBG_BS;
	if (vmcs_read(GUEST_RFLAGS) & RFLAGS_TF)
		pd |= PENDING_DBG_BS;
	vmcs_write(GUEST_PENDING_DBG, pd);
}

/* A guest that turned on long mode (EFER.LME, then CR0.PG) runs with
 * EFER.LMA set; the next entry must say so (26.3.1.1: "IA-32e mode guest"
 * equals GUEST_EFER.LMA when the entry loads EFER). */
static void ia32e_fixup(void)
{
	u32 e = vmcs_read(ENTRY_CONTROLS);
	u32 want = (vmcs_read(GUEST_EFER) & EFER_LMA) ? e | ENTRY_IA32E_GUEST : e & ~ENTRY_IA32E_GUEST;
	if (want != e)
		vmcs_write(ENTRY_CONTROLS, want);
}

void __noreturn arch_vcpu_run(struct percpu *c)
{
	struct vcpu *v = &c->vcpu;
	struct vmx_cpu *x = vmx_of(c);
	for (;;) {
		/* No GIF on VMX: an NMI from here to the entry restarts it
		 * (vmentry.S, arch_host_nmi), so a latched NMI never waits for
		 * an exit the guest may not make. */
		__atomic_store_n(&x->nmi_seen, 0, __ATOMIC_RELAXED);
		barrier();
		nmi_virt_before_entry(v);
		if (__atomic_exchange_n(&x->flush, 0, __ATOMIC_ACQ_REL))
			invalidate_all();
		pending_debug_fixup();
		ia32e_fixup();
		u32 r = vmx_enter(&v->gpr, x->launched, &x->nmi_seen);
		if (r == 2)
			continue;	/* an NMI in the entry window: look again */
		if (r) {
			u32 err = vmcs_read(INSTRUCTION_ERROR);
			arch_dump_guest(v);
			hv_panic(err, x->launched, vmcs_read(GUEST_RIP),
				 "VM entry failed (VM-instruction error; Bochs' log names the check)");
		}
		x->launched = 1;
		u32 reason = vmcs_read(EXIT_REASON);
		u32 info = vmcs_read(EXIT_INTR_INFO);
		c->last_exit_was_nmi = (reason & 0xffff) == VMX_EXIT_EXCEPTION_NMI &&
				       (info & (INTR_INFO_VALID | (7u << 8))) == (INTR_INFO_VALID | INTR_TYPE_NMI);
		if (c->last_exit_was_nmi)
			/* The NMI exited instead of being delivered (NMI exiting, 25.2):
			 * run the host handler for it now, through the IDT gate so its
			 * IRET ends the NMI blocking the exit left (as KVM's "int $2"). */
			__asm__ __volatile__("int $2" ::: "memory");
		vmx_handle_exit(c, reason);
		nmi_virt_on_exit(v);
		event_test_exit_point(v);
		trace_drain_point();
		chaos_exit_point(c);
	}
}

/* Host NMI context (core/nmi_host.c), on this CPU's NMI stack. */
void arch_host_nmi(struct percpu *c, u64 *rip)
{
	__atomic_store_n(&vmx_of(c)->nmi_seen, 1, __ATOMIC_RELAXED);
	if (*rip >= (u64)vmx_window_start && *rip < (u64)vmx_window_end)
		*rip = (u64)vmx_window_abort;
}

void vmx_skip_instruction(u32 len)
{
	vmcs_write(GUEST_RIP, vmcs_read(GUEST_RIP) + len);
	/* The skipped instruction was the one an STI/MOV SS shadow covered. */
	vmcs_write(GUEST_INTERRUPTIBILITY,
		   vmcs_read(GUEST_INTERRUPTIBILITY) & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

void vmx_set_exception_intercept(u32 vector, bool on)
{
	u32 b = vmcs_read(EXCEPTION_BITMAP);
	vmcs_write(EXCEPTION_BITMAP, on ? b | (1u << vector) : b & ~(1u << vector));
}

u64 arch_guest_rip(struct vcpu *v) { vcpu_own(v); return vmcs_read(GUEST_RIP); }
void arch_set_guest_rip(struct vcpu *v, u64 rip) { vcpu_own(v); vmcs_write(GUEST_RIP, rip); }
u64 arch_guest_rsp(struct vcpu *v) { vcpu_own(v); return vmcs_read(GUEST_RSP); }
void arch_set_guest_rsp(struct vcpu *v, u64 rsp) { vcpu_own(v); vmcs_write(GUEST_RSP, rsp); }
u64 arch_guest_cr3(struct vcpu *v) { vcpu_own(v); return vmcs_read(GUEST_CR3); }
void arch_set_guest_cr3(struct vcpu *v, u64 cr3) { vcpu_own(v); vmcs_write(GUEST_CR3, cr3); }
u64 arch_guest_rax(struct vcpu *v) { return v->gpr.rax; }
void arch_set_guest_rax(struct vcpu *v, u64 val) { v->gpr.rax = val; }
u32 arch_guest_idt_limit(struct vcpu *v) { vcpu_own(v); return vmcs_read(GUEST_IDTR_LIMIT); }
u64 arch_guest_idt_base(struct vcpu *v) { vcpu_own(v); return vmcs_read(GUEST_IDTR_BASE); }
bool arch_guest_protected_mode(struct vcpu *v) { vcpu_own(v); return vmcs_read(GUEST_CR0) & 1; }
/* SS.DPL is the CPL (SDM vol. 3, 26.3.1.2 requires them equal on entry). */
u32 arch_guest_cpl(struct vcpu *v) { vcpu_own(v); return (vmcs_read(GUEST_SS_AR) >> 5) & 3; }

bool arch_guest_has_tss64(struct vcpu *v)
{
	vcpu_own(v);
	return vmcs_read(GUEST_TR_BASE) != 0 && vmcs_read(GUEST_TR_LIMIT) >= 0x67;
}

bool arch_guest_long_mode(struct vcpu *v)
{
	vcpu_own(v);
	return (vmcs_read(GUEST_EFER) & EFER_LMA) && (vmcs_read(GUEST_CS_AR) & (1u << 13));	/* CS.L */
}

bool arch_guest_syscall(struct vcpu *v, bool on)
{
	vcpu_own(v);
	u64 efer = vmcs_read(GUEST_EFER);
	vmcs_write(GUEST_EFER, on ? efer | EFER_SCE : efer & ~(u64)EFER_SCE);
	return efer & EFER_SCE;
}

/*
 * An event injected into a guest halted by HLT (activity state HLT, which an
 * exit from HLT saves) must wake it, as the event would on hardware: leave
 * the activity state HLT and Bochs delivers the event but keeps the CPU
 * halted, so its handler never runs (a target of nmi-all halted after its
 * NMI_COUNTS never counted the NMI, and the sender waited for it).  KVM's
 * vmx_clear_hlt relies on RIP being past the HLT already; Bochs saves the
 * HLT's own address, so the handler would return onto the HLT and halt again
 * -- and a single step armed at its IRET (core/nmi_virt.c) would wait for
 * the next interrupt to complete that HLT.  A HLT at RIP is skipped.
 */
void vmx_inject(u32 info)
{
	vmcs_write(ENTRY_INTR_INFO, info);
	if (vmcs_read(GUEST_ACTIVITY) != GUEST_ACTIVITY_HLT)
		return;
	vmcs_write(GUEST_ACTIVITY, (u32)GUEST_ACTIVITY_ACTIVE);
	u8 op;
	if (vmx_guest_code(&op, 1) && op == 0xf4)
		vmcs_write(GUEST_RIP, vmcs_read(GUEST_RIP) + 1);
}

void arch_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
	vcpu_own(v);
	vmx_inject(INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector | (has_error ? INTR_INFO_HAS_ERROR : 0));
	vmcs_write(ENTRY_EXCEPTION_ERROR, error);
	trace_guest_fault_inject(vector, error);
}

bool arch_event_injection_busy(struct vcpu *v)
{
	vcpu_own(v);
	return vmcs_read(ENTRY_INTR_INFO) & INTR_INFO_VALID;
}

bool arch_guest_interrupt_shadow(struct vcpu *v)
{
	vcpu_own(v);
	return vmcs_read(GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
}

void arch_inject_nmi(struct vcpu *v)
{
	vcpu_own(v);
#ifdef BUG_inject_while_blocked
	/* Zoo `inject-while-blocked` on VMX: the core injects whatever is pending
	 * and watches no IRET (core/nmi_virt.c), as XMHF64 did before
	 * "Implementing virtual NMI".  The CPU's own virtual-NMI blocking would
	 * still refuse such an entry on hardware (SDM vol. 3, 26.3.1.5: blocking
	 * by NMI must be 0 to inject an NMI with virtual NMIs on), so the bug's
	 * VMX form also drops that blocking: the NMI lands inside the guest's
	 * NMI handler, as XMHF64's did, and the guest counts it nested.  Bochs
	 * 2.7 does not make that check (it delivers the NMI either way). */
	vmcs_write(GUEST_INTERRUPTIBILITY, vmcs_read(GUEST_INTERRUPTIBILITY) & ~INTERRUPTIBILITY_NMI);
#endif
	vmx_inject(INTR_INFO_VALID | INTR_TYPE_NMI | 2u);
}

/*
 * VMX has no IRET intercept.  With virtual NMIs the CPU keeps the guest's
 * NMI blocking itself (set by the injected NMI's delivery, cleared when its
 * IRET retires), and NMI-window exiting exits as soon as that blocking is
 * gone (25.2, 26.7.6): that exit is the core's "IRET seen" (exits.c).
 */
void arch_watch_iret(struct vcpu *v, bool on)
{
	struct vmx_cpu *x = vmx_of(vcpu_own(v));
	x->window_iret = on;
	vmx_update_nmi_window(x);
}

void vmx_update_nmi_window(struct vmx_cpu *x)
{
#ifdef BUG_field_width
	/* Zoo: XMHF64's field-width bug ("Comparing VCPU dump") as it was written
	 * there: a software copy of the controls, the 32-bit processor-based field
	 * read by a VMREAD whose memory operand is 64 bits wide (its width in
	 * 64-bit mode, SDM vol. 3 30.3) -- the upper half, zero, lands on the
	 * neighbouring copy of the exception bitmap, which is then written back:
	 * #UD (the guests' VMMCALL) is no longer intercepted.  It bypasses
	 * vmcs.h's typed accessors, which make this unwritable by accident. */
	struct { u32 proc, exceptions; } copy = { 0, vmcs_read(EXCEPTION_BITMAP) };
	__asm__ __volatile__("vmread %1, %0" : "=m"(*(u64 *)&copy) : "r"((u64)VMCS_PROC_CONTROLS) : "cc");
	copy.proc = x->window_iret || x->window_step ? copy.proc | PROC_NMI_WINDOW : copy.proc & ~PROC_NMI_WINDOW;
	vmcs_write(PROC_CONTROLS, copy.proc);
	vmcs_write(EXCEPTION_BITMAP, copy.exceptions);
#else
	u32 p = vmcs_read(PROC_CONTROLS);
	u32 want = x->window_iret || x->window_step ? p | PROC_NMI_WINDOW : p & ~PROC_NMI_WINDOW;
	if (want != p)
		vmcs_write(PROC_CONTROLS, want);
#endif
}

void arch_single_step(struct vcpu *v, bool on) { arch_single_step_for(v, STEP_NMI, on); }

/*
 * TF, not the monitor trap flag: corei7_skylake_x has no MTF (notes).  Except
 * out of an STI or MOV SS shadow (the core's shadow_step, core/nmi_virt.c):
 * the entry must then make the single step a pending debug exception, which
 * Bochs delivers at once when the shadow is STI's (STI blocks no #DB), before
 * the shadowed instruction -- the NMI then came inside the shadow (conformance
 * case NMI_IN_STI_SHADOW).  NMI-window exiting waits for the shadow to end
 * and for no virtual-NMI blocking (SDM vol. 3, 26.7.6), which a step is only
 * armed without; its exit counts as the step's #DB (exits.c).
 */
void arch_single_step_for(struct vcpu *v, u32 owner, bool on)
{
	struct vmx_cpu *x = vmx_of(vcpu_own(v));
	v->step_owners = on ? v->step_owners | owner : v->step_owners & ~owner;
	bool shadow = vmcs_read(GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
	bool tf = v->step_owners && !shadow;
	x->window_step = v->step_owners && shadow;
	vmx_update_nmi_window(x);
	u64 rf = vmcs_read(GUEST_RFLAGS);
	vmcs_write(GUEST_RFLAGS, tf ? rf | RFLAGS_TF : rf & ~RFLAGS_TF);
	vmx_set_exception_intercept(DB_VECTOR, tf);
}

void arch_dump_guest(struct vcpu *v)
{
	vcpu_own(v);
	hv_printf("cpu %u guest: exit reason %x qual %lx intr %x idt-vec %x insn-err %x\n", v->cpu,
		  vmcs_read(EXIT_REASON), vmcs_read(EXIT_QUALIFICATION), vmcs_read(EXIT_INTR_INFO),
		  vmcs_read(IDT_VECTORING_INFO), vmcs_read(INSTRUCTION_ERROR));
	hv_printf("  rip %lx rsp %lx rflags %lx rax %lx rbx %lx rcx %lx rdx %lx\n", vmcs_read(GUEST_RIP),
		  vmcs_read(GUEST_RSP), vmcs_read(GUEST_RFLAGS), v->gpr.rax, v->gpr.rbx, v->gpr.rcx, v->gpr.rdx);
	hv_printf("  cr0 %lx cr3 %lx cr4 %lx efer %lx cs %x/%x intr-state %x\n", vmcs_read(GUEST_CR0),
		  vmcs_read(GUEST_CR3), vmcs_read(GUEST_CR4), vmcs_read(GUEST_EFER), vmcs_read(GUEST_CS_SEL),
		  vmcs_read(GUEST_CS_AR), vmcs_read(GUEST_INTERRUPTIBILITY));
}

/* Takes effect at the CPU's next entry.  Any CPU may ask (a PAL's
 * registration flushes every CPU); the CPU itself does the INVEPT. */
void arch_request_tlb_flush(struct percpu *c) { __atomic_store_n(&vmx_of(c)->flush, 1, __ATOMIC_RELEASE); }

void arch_set_nested_root(struct vcpu *v, u64 root)
{
	struct percpu *c = vcpu_own(v);
	vmcs_write(EPT_POINTER, ept_pointer(root ? root : vmx_of(c)->ept_root));
	/* Same VPID, another EPT: stale translations must go. */
	vmx_of(c)->flush = 1;
}
