/*
 * Exact NMI virtualization without hardware virtual-NMI support (TCG's SVM
 * has no vNMI, notes "What TCG emulates").  The hypervisor intercepts every
 * physical NMI, so it owns the guest's NMI blocking state and models it like
 * the hardware does (AMD APM vol. 2 8.2.13 / Intel SDM vol. 3 6.7.1):
 *
 *  - delivering an NMI blocks further NMIs until the handler's IRET retires;
 *  - while blocked, one more NMI can be latched; further ones are merged
 *    into it (counted in nmi.merged and traced as NMI_MERGED, never silent).
 *
 * Unblocking: an IRET intercept fires *before* the IRET executes, so it cannot
 * unblock there (the guest could fault on the IRET and still be inside its
 * handler).  As KVM does (svm.c iret_interception / awaiting_iret_completion),
 * we remember the IRET's RIP and drop the intercept; the first exit whose RIP
 * differs proves the IRET retired.  If an NMI is already waiting we do not
 * wait for a random exit: TF is set so the guest traps (#DB intercept) right
 * after the IRET -- a single-step trap is taken on TF's value *before* the
 * instruction, so the IRET's popped RFLAGS cannot cancel it.
 *
 * Concurrency: nmi_virt_latch() runs in the host NMI handler; everything
 * else runs on the same CPU either in before_entry or only touches
 * blocked/awaiting/iret_rip, which the NMI handler never writes.  The only
 * shared word is `pending`: the NMI handler sets it, before_entry consumes
 * it -- with GIF=0 on SVM, so no NMI interleaves; VMX has no GIF, so the
 * injection records and clears it in the order that stays exact when one
 * does (below).  Proven by tests/test_boot.py's NMI
 * flood runs (received == injected, nested == 0 per CPU), the late-arming
 * case by test_pal_quiesce.py's nmi-all run, and the need for all of it by
 * tests/test_zoo.py (inject-while-blocked: the guest sees nested NMIs).
 */
#include "core/nmi_virt.h"
#include "core/vcpu.h"
#include "arch/arch.h"
#include <heisen/defs.h>

void nmi_virt_latch(struct vcpu *v)
{
	if (v->nmi.pending) {
		v->nmi.merged++;
		trace_nmi_merged(v->nmi.merged);
		return;
	}
	v->nmi.pending = 1;
}

/* Called after each exit's handler, so the IRET handler's RIP is compared
 * against an exit at the same instruction and nothing changes. */
void nmi_virt_on_exit(struct vcpu *v)
{
	if (v->nmi.shadow_step) {
		/* Any exit ends the step out of a shadow; before_entry arms
		 * it again if the guest is still in one. */
		v->nmi.shadow_step = 0;
		if (!v->nmi.singlestep)
			arch_single_step(v, false);
	}
	if (!v->nmi.awaiting_iret)
		return;
	u64 rip = arch_guest_rip(v);
	if (rip == v->nmi.iret_rip)
		return;		/* the IRET has not retired (yet) */
	v->nmi.awaiting_iret = 0;
	v->nmi.blocked = 0;
	trace_nmi_unblock(rip);
	if (v->nmi.singlestep) {
		v->nmi.singlestep = 0;
		arch_single_step(v, false);
	}
}

void nmi_virt_on_iret(struct vcpu *v)
{
	arch_watch_iret(v, false);
	v->nmi.awaiting_iret = 1;
	v->nmi.iret_rip = arch_guest_rip(v);
	if (v->nmi.pending && !v->nmi.singlestep) {
		v->nmi.singlestep = 1;
		arch_single_step(v, true);
	}
}

/*
 * A backend that sees the IRET retire (VMX: virtual NMIs keep the guest's NMI
 * blocking in the CPU, and NMI-window exiting exits the moment the handler's
 * IRET ends it, SDM vol. 3 26.7.6) unblocks at once: no RIP comparison, no
 * single step -- which would wait forever when the IRET returns onto a HLT
 * (an idle guest's loop: the step completes only when the HLT is woken).
 */
void nmi_virt_iret_retired(struct vcpu *v)
{
	arch_watch_iret(v, false);
	v->nmi.awaiting_iret = 0;
	v->nmi.blocked = 0;
	trace_nmi_unblock(arch_guest_rip(v));
	if (v->nmi.singlestep) {
		v->nmi.singlestep = 0;
		arch_single_step(v, false);
	}
}

bool nmi_virt_on_single_step(struct vcpu *v)
{
	/* Runs before nmi_virt_on_exit() for the same exit: the #DB is ours
	 * exactly when we armed TF; on_exit then unblocks and disarms. */
	return v->nmi.singlestep || v->nmi.shadow_step;
}

/*
 * A multiboot kernel (any OS but Linux): 32-bit, most of them, so the Linux
 * rule above (long mode, a 64-bit TSS) would hold its NMIs forever.  It gets
 * them once it runs in protected mode with an IDT of its own that reaches
 * vector 2's gate: IDTR differs from the one it started with (the BIOS's
 * real-mode IVT on the BSP, a SIPI's on an AP -- through those an NMI would
 * triple-fault it, and the spec tells it not to trust them) and the limit
 * covers the gate (8-byte gates: 0x17; 16-byte gates in long mode: 0x2f).
 * The LIDT is the OS's statement "my handlers are in"; what the gate holds
 * is its business, as on hardware.  Until then NMIs stay latched (and
 * merged, and counted), as for every guest before it is ready; hardware
 * would have delivered them into the firmware's IVT.  A hypercall still
 * makes any guest ready (hypercall.c).  Tested by tests/test_multiboot.py.
 */
static bool own_idt_holds_nmi(struct vcpu *v)
{
	if (!arch_guest_protected_mode(v))
		return false;
	u64 base = arch_guest_idt_base(v);
	u32 limit = arch_guest_idt_limit(v);
	if (base == v->nmi.entry_idt_base && limit == v->nmi.entry_idt_limit)
		return false;
	return limit >= (arch_guest_long_mode(v) ? 0x2fu : 0x17u);
}

void nmi_virt_before_entry(struct vcpu *v)
{
	if (!v->nmi.pending)
		return;
#ifndef BUG_inject_while_blocked
	/* Zoo `inject-while-blocked` compiles this out, and the IRET watch with
	 * it: XMHF64 before "Implementing IRET" injected whatever was pending. */
	if (v->nmi.blocked) {
		/* An NMI that arrived after the IRET intercept but before the
		 * IRET retired: arm the single step now, or the guest could
		 * finish its IRET and idle with no exit to deliver it on. */
		if (v->nmi.awaiting_iret && !v->nmi.singlestep) {
			v->nmi.singlestep = 1;
			arch_single_step(v, true);
		}
		return;		/* delivered after the handler's IRET retires */
	}
#endif
	/* A guest starts with no IDT; an NMI then would triple-fault it, as it
	 * would a real OS before it unmasks LINT1.  Its first hypercall is its
	 * "unmask": until then NMIs stay latched (and merged, and counted).  An
	 * OS never makes one: it is ready once it runs in long mode with all 256
	 * gates and a 64-bit TSS of its own (its NMI gate's IST stack lives
	 * there).  Linux's IDTs before that have no NMI gate (the decompressor's,
	 * the kernel's first: an NMI triple-faults it even on plain QEMU) or one
	 * that drops the NMI uncounted (its early handlers, in the full IDT: 6 of
	 * 13 QMP NMIs were lost so when the gate was the IDT alone).  Linux loads
	 * its TSS (trap_init's cpu_init_exception_handling, an AP's cpu_init)
	 * right before it installs exc_nmi; the decompressor's TSS has base 0.
	 * An NMI exit inside that window (microseconds) would still meet an
	 * early handler.  Tested by tests/test_linux.py's NMI run. */
	if (!v->nmi.ready && v->nmi.ready_by_idt && arch_guest_long_mode(v) &&
	    arch_guest_idt_limit(v) >= 0xfff && arch_guest_has_tss64(v))
		v->nmi.ready = 1;
	if (!v->nmi.ready && v->nmi.ready_by_lidt && own_idt_holds_nmi(v))
		v->nmi.ready = 1;
	if (!v->nmi.ready)
		return;
	/* Between its REPORT and its NMI_COUNTS a guest reads how many NMIs it
	 * received, and the verdict compares that with how many were injected
	 * by NMI_COUNTS: one injected after the read would be counted by the
	 * hypervisor and not by the guest.  Linux's read of /proc/interrupts
	 * takes milliseconds, enough for QMP NMIs 0.1 s apart to land in it one
	 * run in ten (linux-test1).  Held, an NMI stays latched (merged, counted)
	 * and is injected after NMI_COUNTS. */
	if (v->report.reported && !v->report.counted)
		return;		/* held from REPORT to NMI_COUNTS (below) */
	if (v->pal.active)
		return;		/* the PAL's nested table has no guest IDT: after it returns */
	if (arch_event_injection_busy(v))
		return;		/* an interrupted event is re-injected first */
	if (v->sipi.step)
		return;		/* a LAPIC write is stepped with the shadow page mapped (core/sipi.c) */
	if (arch_guest_interrupt_shadow(v)) {
		/* An exit inside a MOV SS (or STI) shadow, e.g. an NPF on the
		 * instruction after MOV SS: MOV SS holds NMIs until that
		 * instruction completes (AMD APM vol. 3 MOV; Intel SDM vol. 3
		 * 6.8.3) -- MOV SS; MOV RSP must not take an NMI on half a
		 * stack -- and EVENTINJ ignores the shadow.  Step over the
		 * instruction (as KVM does) and inject at the #DB exit. */
		if (!v->nmi.singlestep && !v->nmi.shadow_step) {
			v->nmi.shadow_step = 1;
			arch_single_step(v, true);
		}
		return;
	}
	arch_inject_nmi(v);
	/* The record goes out before the latch is cleared, and says what will be
	 * latched after it (0).  VMX has no GIF: an NMI can land anywhere in
	 * here (nmi_virt_latch).  Up to the store below it merges into the NMI
	 * being injected, as a second NMI merges into a pending one on hardware,
	 * and its NMI_MERGED lands before or after this record, both consistent;
	 * after the store it is latched anew.  Recorded after the store, an NMI
	 * between the two showed as HOST_NMI before an NMI_INJECT claiming
	 * nothing latched (checker rule nmi_accounting, zoo-nmi-flood on VMX). */
	trace_nmi_inject(0);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&v->nmi.pending, 0, __ATOMIC_RELAXED);
	v->nmi.blocked = 1;
	v->nmi.injected++;
#ifndef BUG_inject_while_blocked
	arch_watch_iret(v, true);
#endif
}
