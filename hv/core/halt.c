/*
 * Halting in the hypervisor until its own LAPIC timer fires: the seeded yield
 * of deterministic mode (chaos.c) and an AP waiting for its guest's SIPI
 * (sipi.c).  The wakeup interrupt goes through wakeup_stub (idt_stubs.S),
 * which only acknowledges it.
 */
#include "core/halt.h"
#include "core/lapic.h"

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
	 * the NMI is taken with RIP on the HLT, exactly the race. */
	__asm__ __volatile__("test %0, %0\n\t"
			     "jz 1f\n\t"
			     "movl %1, (%2)\n"
			     "1: sti\n\t"
			     ".globl halt_hlt\n"
			     "halt_hlt: hlt\n\t"
			     "cli"
			     :: "r"((u32)nmi_in_shadow), "r"(0x44400u), "r"(0xfee00300ul) : "memory");
	lapic_timer_oneshot(0);
}

void halt_drain_wakeup(void)
{
	/* The timer is off; an interrupt it raised before that is in the IRR.
	 * STI's shadow covers the PAUSE, after which a pending interrupt is
	 * taken, before CLI (and TCG ends a block at PAUSE). */
	__asm__ __volatile__("sti; pause; cli" ::: "memory");
}
