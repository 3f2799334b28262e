/*
 * Halting in the hypervisor until its own LAPIC timer fires: the seeded yield
 * of deterministic mode (chaos.c) and an AP waiting for its guest's SIPI
 * (sipi.c).  The wakeup interrupt goes through wakeup_stub (idt_stubs.S),
 * which only acknowledges it.
 */
#include "core/halt.h"
#include "core/lapic.h"
#include "core/panic.h"
#include "core/percpu.h"

#define ICR_HI ((volatile u32 *)0xfee00310ul)

/* noinline: one copy of the halt_hlt label. */
__attribute__((noinline)) void halt_for(u32 ticks, bool nmi_in_shadow)
{
	lapic_timer_oneshot(ticks);
	/* sti;hlt is atomic w.r.t. interrupts (the STI shadow): the timer
	 * cannot fire between them and leave us halted forever.  Not w.r.t.
	 * NMIs: one taken in the shadow returns to the HLT with IF=1 and no
	 * shadow, the timer's interrupt (pending since it fired during the NMI
	 * handler) is taken before the HLT, and the HLT then waits for a timer
	 * that already fired -- every CPU halted, the machine stuck (stress-all
	 * seed 316).  host_nmi() therefore resumes an NMI that interrupted this
	 * HLT past it: the halt ends early.  Test: tests/test_conformance.py's
	 * NMI_IN_YIELD_SHADOW case, which uses nmi_in_shadow: a self-NMI by the
	 * ICR store right before STI.  Without icount TCG ends a translation
	 * block at STI, not at the store, and checks interrupts between blocks:
	 * the NMI is taken with RIP on the HLT, exactly the race.  The NMI is
	 * addressed to this CPU's APIC ID, not by the "self" shorthand: that
	 * shorthand is for fixed interrupts only (SDM vol. 3, 11.6.1), and
	 * Bochs drops a self-NMI sent with it (docs/platform.md B6). */
	u32 hi = *ICR_HI;
	if (nmi_in_shadow)
		*ICR_HI = this_cpu()->apic_id << 24;
	__asm__ __volatile__("test %0, %0\n\t"
			     "jz 1f\n\t"
			     "movl %1, (%2)\n"
			     "1: sti\n\t"
			     ".globl halt_hlt\n"
			     "halt_hlt: hlt\n\t"
			     "cli"
			     :: "r"((u32)nmi_in_shadow), "r"(0x4400u), "r"(0xfee00300ul) : "memory");
	*ICR_HI = hi;	/* the guest's, as icr_send leaves it (lapic.c) */
	halt_cancel_wakeup();
}

/*
 * A halt that an NMI ended early leaves the timer armed, and one that fires
 * between the NMI's return and the write that stops it leaves its interrupt
 * in the IRR.  Nothing would take it in the hypervisor (IF=0), and with
 * V_INTR_MASKING off the guest's first STI does, through its own IDT: vector
 * 0xef hit a test guest's 33-gate IDT as a #GP on the instruction after STI
 * (the NMI_IN_STI_SHADOW failure, 1 run in 30, after NMI_IN_YIELD_SHADOW's
 * early-ended halt).  So stop the timer, then take what it raised: STI's
 * shadow covers the NOP, the interrupt comes after it and before CLI (TCG
 * ends a block at STI and another after the shadowed instruction, and
 * checks interrupts between blocks).  Test: NMI_IN_YIELD_SHADOW forces both
 * orders (hv/core/event_test.c).
 */
void halt_cancel_wakeup(void)
{
	lapic_timer_oneshot(0);
	if (lapic_timer_pending())
		__asm__ __volatile__("sti; nop; cli" ::: "memory");
	if (lapic_timer_pending())
		hv_panic(0, 0, 0, "the wakeup interrupt stayed pending: the guest would take it");
}
