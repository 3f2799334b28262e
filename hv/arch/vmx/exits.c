/*
 * VM-exit dispatch: one named handler per basic exit reason (exit reason
 * bits 15:0, defs/exits_vmx.toml), in a table (as KVM's
 * kvm_vmx_exit_handlers).  An exit without a handler is reported with the
 * guest's state and stops the machine with DEBUG_EXIT_PANIC.
 */
#include "arch/arch.h"
#include "arch/vmx/vmx.h"
#include "core/guest_cpuid.h"
#include "core/hypercall.h"
#include "core/nmi_virt.h"
#include "core/npf.h"
#include "core/sipi.h"
#include "core/guest_exit.h"
#include "core/panic.h"
#include "core/log.h"
#include "core/x86.h"
#include "core/gpt_walk.h"
#include "core/memory.h"
#include <heisen/defs.h>

#define DB_VECTOR 1
#define UD_VECTOR 6
#define EPT_QUAL_WRITE (1ull << 1)
#define EPT_QUAL_FETCH (1ull << 2)
#define EPT_QUAL_NMI_UNBLOCKED (1ull << 12)	/* the access was by an IRET that unblocked NMIs */
#define IO_QUAL_IN (1ull << 3)
#define IO_QUAL_STRING (1ull << 4)

typedef void (*exit_handler)(struct percpu *c);

static void handle_hypercall(struct percpu *c, u32 len)
{
	hypercall_dispatch(&c->vcpu);
	vmx_skip_instruction(len);
}

static bool read_guest_pte(void *ctx, u64 gpa, u64 *val)
{
	(void)ctx;
	if (!guest_range_ok(gpa, 8))
		return false;
	*val = *(volatile u64 *)gpa;
	return true;
}

/* The guest's n (<= 3) bytes at RIP, read through its own paging (none, or
 * long mode's 4 levels; 32-bit paging guests do not use VMMCALL here). */
bool vmx_guest_code(u8 *out, u32 n)
{
	u64 la = vmcs_read(GUEST_CS_BASE) + vmcs_read(GUEST_RIP);
	u64 pa = la;
	if (vmcs_read(GUEST_CR0) & (1ull << 31)) {
		if (!(vmcs_read(GUEST_EFER) & EFER_LMA))
			return false;
		struct gpt_result r;
		if (gpt_walk(vmcs_read(GUEST_CR3), la, read_guest_pte, NULL, &r) != GPT_OK)
			return false;
		pa = r.pa;
		if ((pa & 4095) > 4096 - n)
			return false;	/* split across pages: not a VMMCALL of ours */
	}
	if (!guest_range_ok(pa, n))
		return false;
	for (u32 i = 0; i < n; i++)
		out[i] = *(volatile u8 *)(pa + i);
	return true;
}

/* Exception or NMI (reason 0).  The NMI was taken by host_nmi() already
 * (vmx.c); #UD may be a VMMCALL: the guests speak AMD's hypercall (0f 01 d9),
 * which Intel does not know, so it is taken here, as KVM does for a guest
 * migrated across vendors; #DB may be our single step. */
static void handle_exception_nmi(struct percpu *c)
{
	u32 info = vmcs_read(EXIT_INTR_INFO);
	u32 type = info & (7u << 8), vector = info & 0xff;
	if (type == INTR_TYPE_NMI)
		return;
	if (vector == UD_VECTOR) {
		u8 b[3];
		if (vmx_guest_code(b, 3) && b[0] == 0x0f && b[1] == 0x01 && b[2] == 0xd9) {
			handle_hypercall(c, 3);
			return;
		}
	}
	if (vector == DB_VECTOR) {
		/* Both owners of the step look at every #DB. */
		bool ours = sipi_after_step(&c->vcpu);
		ours |= nmi_virt_on_single_step(&c->vcpu);
		if (ours)
			return;	/* a #DB exit leaves DR6 untouched (27.1): nothing to undo */
	}
	arch_inject_exception(&c->vcpu, (u8)vector, info & INTR_INFO_HAS_ERROR, vmcs_read(EXIT_INTR_ERROR));
}

/* Exits only with rdtsc_exit=1 (vmx.c arch_rdtsc_exit): the guest reads what it
 * would have read (no TSC offsetting: the TSC itself) in EDX:EAX, the upper
 * halves cleared (SDM vol. 2, RDTSC). */
static void handle_rdtsc(struct percpu *c)
{
	u64 t = rdtsc();
	c->vcpu.gpr.rax = (u32)t;
	c->vcpu.gpr.rdx = (u32)(t >> 32);
	vmx_skip_instruction(vmcs_read(EXIT_INSTR_LEN));
}

static void handle_vmcall(struct percpu *c) { handle_hypercall(c, vmcs_read(EXIT_INSTR_LEN)); }

static void handle_cpuid(struct percpu *c)
{
	struct guest_regs *g = &c->vcpu.gpr;
	u32 r[4];
	guest_cpuid((u32)g->rax, (u32)g->rcx, r);
	g->rax = r[0];
	g->rbx = r[1];
	g->rcx = r[2];
	g->rdx = r[3];
	vmx_skip_instruction(vmcs_read(EXIT_INSTR_LEN));
}

/* No virtual-NMI blocking and no STI/MOV SS shadow any more (vmx.c): for a
 * step out of a shadow, the step is done (as its #DB would say); for the IRET
 * watch, the guest's NMI handler's IRET has retired, and the core unblocks
 * now.  One exit may end both. */
static void handle_nmi_window(struct percpu *c)
{
	struct vmx_cpu *x = vmx_of(c);
	bool iret = x->window_iret;
	if (x->window_step) {
		sipi_after_step(&c->vcpu);
		nmi_virt_on_single_step(&c->vcpu);
	}
	if (iret)
		nmi_virt_iret_retired(&c->vcpu);
}

static void handle_vmx_instruction(struct percpu *c) { arch_inject_exception(&c->vcpu, UD_VECTOR, false, 0); }

/* Only the ports arch_io_intercept() named exit here (25.6.4). */
static void handle_io(struct percpu *c)
{
	u64 q = vmcs_read(EXIT_QUALIFICATION);
	u16 port = (u16)(q >> 16);
	u32 size = (u32)(q & 7) + 1;
	if (q & IO_QUAL_STRING)
		hv_panic(q, port, vmcs_read(GUEST_RIP), "string I/O to an intercepted port (not emulated)");
	u32 mask = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	struct guest_regs *g = &c->vcpu.gpr;
	if (q & IO_QUAL_IN) {
		u32 v = size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
		g->rax = size == 4 ? v : (g->rax & ~(u64)mask) | (v & mask);
	} else {
		guest_io_write(&c->vcpu, port, (u32)g->rax & mask, size);
	}
	vmx_skip_instruction(vmcs_read(EXIT_INSTR_LEN));
}

/* EPT violation (27.2.1): qualification bit 1 write, bit 2 fetch. */
static void handle_ept_violation(struct percpu *c)
{
	u64 q = vmcs_read(EXIT_QUALIFICATION), gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	/* An IRET that faulted after unblocking virtual NMIs: blocking is back
	 * on, or the NMI handler that will rerun it could be interrupted
	 * (27.2.3 / 28.2.3).  Not when the exit cut an event's delivery. */
	if ((q & EPT_QUAL_NMI_UNBLOCKED) && !(vmcs_read(IDT_VECTORING_INFO) & INTR_INFO_VALID))
		vmcs_write(GUEST_INTERRUPTIBILITY, vmcs_read(GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
	if (npf_handle(&c->vcpu, gpa, q & EPT_QUAL_WRITE, q & EPT_QUAL_FETCH))
		return;
	arch_dump_guest(&c->vcpu);
	hv_panic(gpa, q, vmcs_read(GUEST_RIP), "unexpected EPT violation");
}

static void handle_triple_fault(struct percpu *c)
{
	hv_printf("cpu %u: guest shutdown (triple fault)\n", c->index);
	arch_dump_guest(&c->vcpu);
	trace_panic(VMX_EXIT_TRIPLE_FAULT, 0, vmcs_read(GUEST_RIP));
	machine_exit(DEBUG_EXIT_FAIL);
}

static const exit_handler handlers[VMX_EXIT_INVVPID + 1] = {
	[VMX_EXIT_EXCEPTION_NMI] = handle_exception_nmi,
	[VMX_EXIT_TRIPLE_FAULT] = handle_triple_fault,
	[VMX_EXIT_NMI_WINDOW] = handle_nmi_window,
	[VMX_EXIT_CPUID] = handle_cpuid,
	[VMX_EXIT_RDTSC] = handle_rdtsc,
	[VMX_EXIT_VMCALL] = handle_vmcall,
	[VMX_EXIT_VMCLEAR ... VMX_EXIT_VMXON] = handle_vmx_instruction,
	[VMX_EXIT_IO] = handle_io,
	[VMX_EXIT_EPT_VIOLATION] = handle_ept_violation,
	[VMX_EXIT_INVEPT] = handle_vmx_instruction,
	[VMX_EXIT_INVVPID] = handle_vmx_instruction,
};

/*
 * An exit that interrupted the delivery of an event (an EPT violation on the
 * IDT, the handler's stack or the GDT; an NMI exit in the middle) leaves the
 * event in IDT-vectoring information and the CPU forgets it (SDM vol. 3,
 * 28.2.4): deliver it again through the VM-entry interruption fields.
 * Unlike SVM under TCG, VMX reports the instruction length, so a software
 * interrupt is re-injected with it (the pushed return address is then past
 * the INTn, 26.6.1.3) instead of re-executed.  The handler may still replace
 * the injection (a refused access injects #GP).
 */
static void redeliver(struct percpu *c)
{
	u32 info = vmcs_read(IDT_VECTORING_INFO);
	if (!(info & INTR_INFO_VALID))
		return;
	u32 type = (info >> 8) & 7;
	u32 err = info & INTR_INFO_HAS_ERROR ? vmcs_read(IDT_VECTORING_ERROR) : 0;
	trace_event_redeliver(info & 0xff, type, err);
	c->vcpu.redelivered++;
	vmx_inject(info & ~(1u << 12));	/* bit 12 is undefined there, reserved here */
	vmcs_write(ENTRY_EXCEPTION_ERROR, err);
	if (type == 4 || type == 5 || type == 6)
		vmcs_write(ENTRY_INSTR_LEN, vmcs_read(EXIT_INSTR_LEN));
}

void vmx_handle_exit(struct percpu *c, u32 reason)
{
	u32 basic = reason & 0xffff;
	c->vcpu.report.exits++;
	trace_intercept_enter(basic, vmcs_read(GUEST_RIP));
	if (reason & (1u << 31)) {
		hv_printf("cpu %u: VM entry failed, exit reason %x%s (Bochs' log names the check)\n", c->index,
			  reason, basic == VMX_EXIT_INVALID_GUEST_STATE ? " (invalid guest state)" : "");
		arch_dump_guest(&c->vcpu);
		hv_panic(reason, vmcs_read(EXIT_QUALIFICATION), vmcs_read(GUEST_RIP), "VM entry failed");
	}
	redeliver(c);
	exit_handler h = basic < ARRAY_SIZE(handlers) ? handlers[basic] : NULL;
	if (!h) {
		hv_printf("cpu %u: unhandled exit reason %x\n", c->index, reason);
		arch_dump_guest(&c->vcpu);
		hv_panic(reason, vmcs_read(EXIT_QUALIFICATION), vmcs_read(GUEST_RIP), "unhandled VM exit");
	}
	h(c);
	trace_intercept_leave(basic);
}
