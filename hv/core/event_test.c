/*
 * Test hooks for the event-delivery conformance suite (guest workload
 * `delivery`, tests/test_conformance.py).  A real OS makes exits happen in the
 * middle of event delivery all the time -- a nested page fault on the IDT,
 * the handler's stack or the GDT while the CPU delivers an interrupt,
 * exception or NMI -- and NMIs arrive while another injection is in flight.
 * The test guests never would on their own, so these hooks let a guest ask
 * for exactly that, once, at a known instruction:
 *
 *  - NPF_ONCE: one 4 KiB page of guest RAM is made not present in the shared
 *    nested table until the first fault on it, which maps it again.  If the
 *    fault hits during delivery, EXITINTINFO holds the event and the backend
 *    must deliver it again (AMD APM vol. 2 15.20).
 *  - NMI_AT_EXIT: a physical self-NMI at the n-th exit from now, taken by
 *    host_nmi() on the normal path (so the NMI accounting stays exact),
 *    before the entry that may already carry an EVENTINJ.
 *
 * Off unless the command line says testhc=1: a production hypervisor must
 * not let its guest punch holes in the nested tables.  Bad arguments get
 * HC_ERR_BAD_ARGUMENT and change nothing.
 */
#include "core/event_test.h"
#include "core/cmdline.h"
#include "core/halt.h"
#include "core/lapic.h"
#include "core/memory.h"
#include "core/percpu.h"
#include "core/log.h"
#include "core/tsc.h"
#include "core/x86.h"
#include "arch/arch.h"
#include "core/hypapp.h"
#include <heisen/defs.h>

static bool enabled;

void event_test_init(const struct hv_options *o)
{
	enabled = o->testhc;
	if (enabled)
		hv_printf("testhc=1: EVENT_TEST hypercall enabled (test builds only)\n");
}

static u64 arm_npf(struct vcpu *v, u64 gpa)
{
	if (gpa & 4095 || v->etest.npf_page || v->pal.active)
		return HC_ERR_BAD_ARGUMENT;
	/* Guest RAM only, inside the span the nested table maps page by page,
	 * and not a registered PAL's page (its own table owns it). */
	if (gpa < GUEST_LOAD_MIN || gpa + 4096 > arch_npt_fine_end() || !guest_range_ok(gpa, 4096) ||
	    hypapp_owns(gpa))
		return HC_ERR_BAD_ARGUMENT;
	v->etest.npf_page = gpa;
	arch_npt_set_access(gpa, 1, false);
	/* Other CPUs may keep a stale present translation: they simply do not
	 * fault.  This CPU must not. */
	arch_request_tlb_flush(this_cpu());
	return 0;
}

/*
 * Halts ended by a self-NMI in their STI shadow (halt.c's races), each
 * checked, then the one outcome of the cancel a timer thread may or may not
 * produce, forced:
 *  1. a 1-tick halt, the NMI returning to the HLT: seed 316's hang;
 *  2. a 1 ms halt the NMI ends at once: its timer must be stopped, not fire
 *     2 ms later for the guest (1 if its interrupt is pending by then);
 *  3. a timer that fired with interrupts off, before halt_cancel_wakeup():
 *     its interrupt must be taken (1 if not; 2 if the timer never fired:
 *     nothing shown).
 * The second NMI merges with the first, still latched: the guest gets one.
 */
static u64 yield_nmi_shadow(void)
{
	halt_for(1, true);
	halt_for(1000000, true);	/* LAPIC ticks are nanoseconds under QEMU (divide by 1) */
	tsc_spin(tsc_khz * 2);
	if (lapic_timer_pending())
		return 1;
	lapic_timer_oneshot(1);
	u64 start = rdtsc();
	while (!lapic_timer_pending())
		if (rdtsc() - start > tsc_khz * 10)
			return 2;
	halt_cancel_wakeup();
	return lapic_timer_pending() ? 1 : 0;
}

u64 event_test_hypercall(struct vcpu *v, u64 op, u64 a, u64 b)
{
	(void)b;
	if (!enabled)
		return HC_ERR_DISABLED;
	switch (op) {
	case EVENT_TEST_NPF_ONCE:
		return arm_npf(v, a);
	case EVENT_TEST_NMI_AT_EXIT:
		if (a > 16 || v->etest.nmi_countdown)
			return HC_ERR_BAD_ARGUMENT;
		v->etest.nmi_countdown = a + 1;
		return 0;
	case EVENT_TEST_REDELIVERED:
		return v->redelivered;
	case EVENT_TEST_ARMED:
		return v->etest.npf_page;
	case EVENT_TEST_YIELD_NMI_SHADOW:
		return yield_nmi_shadow();
	default:
		return HC_ERR_BAD_ARGUMENT;
	}
}

bool event_test_npf(struct vcpu *v, u64 gpa)
{
	u64 page = gpa & ~4095ull;
	/* Inside a PAL the fault is against the PAL's own table, not ours. */
	if (v->pal.active || !page)
		return false;
	/* Any CPU may touch a page another CPU armed (the IDT is shared). */
	for (u32 i = 0; i < hv_ncpus; i++) {
		struct vcpu *o = &cpu_of(i)->vcpu;
		if (__atomic_load_n(&o->etest.npf_page, __ATOMIC_ACQUIRE) != page)
			continue;
		__atomic_store_n(&o->etest.npf_page, 0, __ATOMIC_RELEASE);
		/* A PAL registered over the page since it was armed owns it now:
		 * mapping it again would open the PAL to the guest. */
		if (hypapp_owns(page))
			return false;
		arch_npt_set_access(page, 1, true);
		return true;
	}
	return false;
}

void event_test_exit_point(struct vcpu *v)
{
	if (!v->etest.nmi_countdown || --v->etest.nmi_countdown)
		return;
	/* GIF=1 here: the IPI is taken by host_nmi() within a few instructions
	 * and latched as the guest's.  Wait for it, so that it is pending at
	 * this entry and not one later: the point is which entry it meets. */
	u64 before = v->nmi.host_nmis;
	lapic_send_nmi(this_cpu()->apic_id);
	for (u32 spin = 0; spin < 10000000 && __atomic_load_n(&v->nmi.host_nmis, __ATOMIC_ACQUIRE) == before;
	     spin++)
		__builtin_ia32_pause();
}
