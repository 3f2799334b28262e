/*
 * #VMEXIT dispatch: one named handler per exit code, in a table (as KVM's
 * svm_exit_handlers).  An exit without a handler is reported with the
 * guest's state and stops the machine with DEBUG_EXIT_PANIC.
 */
#include "arch/arch.h"
#include "arch/svm/svm.h"
#include "core/guest_cpuid.h"
#include "core/hypercall.h"
#include "core/nmi_virt.h"
#include "core/npf.h"
#include "core/sipi.h"
#include "core/guest_exit.h"
#include "core/panic.h"
#include "core/log.h"
#include "core/x86.h"
#include <heisen/defs.h>

#define UD_VECTOR 6
#define DB_VECTOR 1
#define DR6_BS (1ull << 14)
#define NPF_WRITE (1ull << 1)
#define NPF_FETCH (1ull << 4)

typedef void (*exit_handler)(struct percpu *c, struct vmcb *vmcb);

static void handle_nmi(struct percpu *c, struct vmcb *vmcb)
{
	/* Nothing to do: the NMI itself was taken by host_nmi() at STGI. */
	(void)c, (void)vmcb;
}

static void handle_cpuid(struct percpu *c, struct vmcb *vmcb)
{
	struct guest_regs *g = &c->vcpu.gpr;
	u32 r[4];
	guest_cpuid((u32)vmcb->save.rax, (u32)g->rcx, r);
	vmcb->save.rax = r[0];
	g->rbx = r[1];
	g->rcx = r[2];
	g->rdx = r[3];
	svm_skip_instruction(vmcb, 2);
}

/* Only EFER is intercepted (hv/arch/svm/svm.c): the guest must not see
 * SVME, and must not clear it (VMRUN requires it set, docs/platform.md P4). */
static void handle_msr(struct percpu *c, struct vmcb *vmcb)
{
	struct guest_regs *g = &c->vcpu.gpr;
	if ((u32)g->rcx != MSR_EFER)
		hv_panic(g->rcx, vmcb->ctl.exitinfo1, vmcb->save.rip, "unexpected MSR intercept");
	if (vmcb->ctl.exitinfo1 == 0) {
		u64 v = vmcb->save.efer & ~(u64)EFER_SVME;
		vmcb->save.rax = (u32)v;
		g->rdx = v >> 32;
	} else {
		u64 v = ((g->rdx & 0xffffffff) << 32) | (vmcb->save.rax & 0xffffffff);
		vmcb->save.efer = (v & ~(u64)EFER_LMA) | (vmcb->save.efer & EFER_LMA) | EFER_SVME;
	}
	svm_skip_instruction(vmcb, 2);
}

/*
 * Intercepted only with rdtsc_exit=1 (arch_rdtsc_exit).  The guest reads what it
 * would have read: RDTSC returns TSC + TSC_OFFSET in EDX:EAX with the upper
 * halves of RAX and RDX cleared (AMD APM vol. 3, RDTSC).  The exit itself is
 * what a deterministic SMP Linux needs (arch.h arch_rdtsc_exit); a PAUSE here
 * changed nothing, byte for byte (docs/linux-guest.md "Determinism").  2 bytes:
 * 0F 31 (no NRIPS under TCG; Linux issues it without prefixes).
 */
static void handle_rdtsc(struct percpu *c, struct vmcb *vmcb)
{
	u64 t = rdtsc() + vmcb->ctl.tsc_offset;
	vmcb->save.rax = (u32)t;
	c->vcpu.gpr.rdx = (u32)(t >> 32);
	svm_skip_instruction(vmcb, 2);
}

static void handle_vmmcall(struct percpu *c, struct vmcb *vmcb)
{
	hypercall_dispatch(&c->vcpu);
	svm_skip_instruction(vmcb, 3);
}

static void handle_iret(struct percpu *c, struct vmcb *vmcb)
{
	(void)vmcb;
	nmi_virt_on_iret(&c->vcpu);
}

static void handle_exception(struct percpu *c, struct vmcb *vmcb)
{
	u32 vector = (u32)(vmcb->ctl.exitcode - SVM_EXIT_EXCP);
	if (vector == DB_VECTOR) {
		/* Both owners of the step look at every #DB: one instruction
		 * may end a LAPIC write's step and an NMI's wait at once. */
		bool ours = sipi_after_step(&c->vcpu);
		ours |= nmi_virt_on_single_step(&c->vcpu);
		if (ours) {
			vmcb->save.dr6 &= ~DR6_BS;	/* our single step, not the guest's */
			return;
		}
	}
	arch_inject_exception(&c->vcpu, (u8)vector, false, 0);
}

/* EXITINFO1 is a page-fault error code (APM vol. 2 15.25.6): bit 1 write,
 * bit 4 instruction fetch; EXITINFO2 the guest-physical address. */
static void handle_npf(struct percpu *c, struct vmcb *vmcb)
{
	u64 gpa = vmcb->ctl.exitinfo2, info = vmcb->ctl.exitinfo1;
	if (npf_handle(&c->vcpu, gpa, info & NPF_WRITE, info & NPF_FETCH))
		return;
	arch_dump_guest(&c->vcpu);
	hv_panic(gpa, info, vmcb->save.rip, "unexpected nested page fault");
}

static void handle_svm_instruction(struct percpu *c, struct vmcb *vmcb)
{
	(void)vmcb;
	arch_inject_exception(&c->vcpu, UD_VECTOR, false, 0);
}

/* Only the ports arch_io_intercept() named exit here (isa-debug-exit for a
 * multiboot guest).  A read is done for the guest; a write goes to the core,
 * which may end the machine. */
static void handle_ioio(struct percpu *c, struct vmcb *vmcb)
{
	u64 info = vmcb->ctl.exitinfo1;
	u16 port = (u16)(info >> IOIO_PORT_SHIFT);
	u32 size = (info >> IOIO_SIZE_SHIFT) & 7;	/* 1, 2 or 4 */
	if (size != 1 && size != 2)
		size = 4;
	if (info & IOIO_STRING)
		hv_panic(info, port, vmcb->save.rip, "string I/O to an intercepted port (not emulated)");
	u32 mask = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	if (info & IOIO_IN) {
		u32 v = size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
		/* A 4-byte IN zero-extends into RAX; 1 and 2 bytes merge. */
		vmcb->save.rax = size == 4 ? v : (vmcb->save.rax & ~(u64)mask) | (v & mask);
	} else {
		guest_io_write(&c->vcpu, port, (u32)vmcb->save.rax & mask, size);
	}
	/* No NRIPS under TCG, but an IOIO exit gives the next RIP in EXITINFO2. */
	vmcb->save.rip = vmcb->ctl.exitinfo2;
	vmcb->ctl.interrupt_shadow &= ~1ull;
}

static void handle_shutdown(struct percpu *c, struct vmcb *vmcb)
{
	hv_printf("cpu %u: guest shutdown (triple fault)\n", c->index);
	arch_dump_guest(&c->vcpu);
	trace_panic(SVM_EXIT_SHUTDOWN, 0, vmcb->save.rip);
	machine_exit(DEBUG_EXIT_FAIL);
}

static const exit_handler handlers[SVM_EXIT_NPF + 1] = {
	[SVM_EXIT_EXCP ... SVM_EXIT_EXCP + 31] = handle_exception,
	[SVM_EXIT_NMI] = handle_nmi,
	[SVM_EXIT_RDTSC] = handle_rdtsc,
	[SVM_EXIT_CPUID] = handle_cpuid,
	[SVM_EXIT_IRET] = handle_iret,
	[SVM_EXIT_MSR] = handle_msr,
	[SVM_EXIT_IOIO] = handle_ioio,
	[SVM_EXIT_SHUTDOWN] = handle_shutdown,
	[SVM_EXIT_VMRUN] = handle_svm_instruction,
	[SVM_EXIT_VMRUN + 2 ... SVM_EXIT_VMRUN + 6] = handle_svm_instruction,	/* VMLOAD..SKINIT */
	[SVM_EXIT_VMMCALL] = handle_vmmcall,
	[SVM_EXIT_NPF] = handle_npf,
};

/*
 * An exit that interrupted the delivery of an event (a nested page fault on
 * the IDT, the handler's stack or the GDT; an NMI or interrupt exit in the
 * middle) leaves the event in EXITINTINFO, and the CPU forgets it: the
 * hypervisor must deliver it again (AMD APM vol. 2 15.20, "Event Injection"
 * and EXITINTINFO).  Test the valid bit, not the word (docs/platform.md P10 on
 * 0x202).  The handler below may still replace EVENTINJ (a refused access
 * injects #GP): that is its choice, made knowing the event.
 *
 * A software interrupt (INTn, type 4) is not injected again but re-executed:
 * without NRIPS (TCG has none) the saved RIP is the INTn itself, and an
 * injected INTn pushes the VMCB's RIP as its return address -- the handler's
 * IRET would run the INTn a second time.  Leaving RIP on the instruction
 * makes the guest execute it once more, which delivers it once (as KVM does
 * without NRIPS).
 */
static void redeliver(struct percpu *c, struct vmcb *vmcb)
{
	u64 info = vmcb->ctl.exitintinfo;
	vmcb->ctl.eventinj = 0;
	if (!(info & EVENT_VALID))
		return;
	u32 type = (u32)(info >> 8) & 7;
	/* QEMU 7.2 reports an external interrupt cut by an exit as type 3
	 * (exception) with its vector (do_interrupt_all: not INTn is EXEPT),
	 * and VMRUN refuses that EVENTINJ for a vector >= 31 (VMEXIT_INVALID).
	 * Exceptions are vectors 0-31: above, it can only be an interrupt,
	 * which the APM's type 0 (INTR) delivers (conformance case IDT_EXTINT). */
	if (type == TRACE_EVENT_REDELIVER_TYPE_EXCEPTION && (info & 0xff) >= 32) {
		type = TRACE_EVENT_REDELIVER_TYPE_INTR;
		info &= ~(7ull << 8);
	}
	trace_event_redeliver(info & 0xff, type, info & EVENT_HAS_ERROR ? info >> 32 : 0);
	c->vcpu.redelivered++;
	if (type != TRACE_EVENT_REDELIVER_TYPE_SOFT_INT)
		vmcb->ctl.eventinj = info;
}

void svm_handle_exit(struct percpu *c)
{
	struct vmcb *vmcb = vmcb_of(c);
	u64 code = vmcb->ctl.exitcode;
	c->vcpu.report.exits++;
	/* A booting Linux reads the TSC tens of thousands of times a second
	 * (sched_clock, printk times, delay loops): an INTERCEPT pair for each
	 * would crowd every other event out of the rings.  Counted, not traced. */
	bool traced = code != SVM_EXIT_RDTSC;
	if (traced)
		trace_intercept_enter(code, vmcb->save.rip);
	redeliver(c, vmcb);
	exit_handler h = code < ARRAY_SIZE(handlers) ? handlers[code] : NULL;
	if (!h) {
		hv_printf("cpu %u: unhandled exit %lx%s\n", c->index, code,
			  code == SVM_EXIT_INVALID ? " (VMRUN failed: invalid guest state)" : "");
		arch_dump_guest(&c->vcpu);
		hv_panic(code, vmcb->ctl.exitinfo1, vmcb->save.rip, "unhandled #VMEXIT");
	}
	h(c, vmcb);
	if (traced)
		trace_intercept_leave(code);
}
