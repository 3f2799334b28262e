/*
 * delivery -- the event-delivery conformance suite (tests/test_conformance.py).
 *
 * A hypervisor must finish every event the guest's CPU had started to
 * deliver when an exit cut in (AMD APM vol. 2 15.20: EXITINTINFO is the
 * event, EVENTINJ delivers it again), and must not lose or reorder an NMI
 * that becomes pending while another injection is still in flight.  The
 * guests never make either happen by themselves, so each case asks for it
 * (HC_EVENT_TEST, enabled by testhc=1):
 *
 *   {no page, IDT page, stack page, GDT page} x {INT 32, #GP(sel), #PF, NMI,
 *   an external interrupt (a fixed self-IPI, vector 32, taken in an STI window)}:
 *     the page is made not present in the nested tables until its first
 *     touch -- which is the CPU's own IDT read, frame push or CS-descriptor
 *     read while delivering the event.  The event must arrive exactly once,
 *     with its vector and error code (and CR2), and the hypervisor must have
 *     counted exactly one re-delivery (none without a page).
 *   NMI_WHILE_INJECTING: an NMI arrives at the exit where the hypervisor
 *     injects #GP for a refused store (EVENTINJ valid).
 *   NMI_WHILE_REDELIVERING: an NMI arrives at the nested page fault that
 *     interrupted a #GP's delivery (EVENTINJ = the re-delivered #GP).
 *     Both: the #GP once, the NMI once, and the NMI must not have replaced
 *     the #GP (it must not interrupt the faulting instruction itself).
 *   NMI_HELD_UNTIL_IRET: the NMI handler asks for a second NMI; it must wait
 *     through the handler's exits and arrive after its IRET, not nested.
 *   NMI_IN_MOV_SS_SHADOW: an NMI at an exit inside the MOV SS shadow waits
 *     until the shadowed instruction has completed.
 *   NMI_LATCHED_AT_IRET: an NMI that arrives at the handler's IRET intercept
 *     comes right after the IRET retires, not at some later exit.
 *   NMI_IN_STI_SHADOW: the same after STI, whose shadow may hold NMIs
 *     (SDM vol. 2, STI); the hypervisor holds them, as VM entry must (an NMI
 *     is not injected into blocking by STI or MOV SS, SDM vol. 3 26.2.1.5).
 *   NMI_IN_EXCEPTION_HANDLER: an NMI requested inside the #GP handler
 *     arrives there at once (an exception blocks no NMI), not nested.
 *   NMI_IN_YIELD_SHADOW: an NMI between the STI and the HLT of the
 *     hypervisor's own seeded yield does not leave that CPU halted.
 *   BAD_ARGS: EVENT_TEST refuses bad arguments and changes nothing.
 *
 * Every case is reported as GUEST_EVENT(DELIVERY_CASE, case, result):
 * result = DELIVERY_FAIL_* | observed value << 8, 0 = pass.
 */
#include <heisen/defs.h>
#include "hypercall.h"
#include "idt.h"
#include "lapic.h"
#include "workloads.h"

void dt_trigger(uintptr_t kind, uintptr_t stack_top, uintptr_t a, uintptr_t b);
extern const char dt_gp_insn[], dt_store_insn[], dt_recover[], dt_shadow_insn[], dt_sti_shadow_insn[];

enum { PAGE_NONE, PAGE_IDT, PAGE_STACK, PAGE_GDT };
enum { EV_INT, EV_GP, EV_PF, EV_NMI, EV_EXTINT };

/* Pages nothing else uses: BAD_ARGS' double arm, the MOV SS shadow's load. */
static char spare_page[4096] __attribute__((aligned(4096)));
static char shadow_page[4096] __attribute__((aligned(4096)));

static inline uintptr_t etest(uintptr_t op, uintptr_t a)
{
	return hypercall(HC_EVENT_TEST, op, a, 0);
}

static uintptr_t fail(uintptr_t why, uintptr_t got)
{
	return why | got << 8;
}

/* The test stack: the second-lowest page of this CPU's 16 KiB stack, so
 * this_cpu() still works in the handlers, and nothing else touches it (the
 * workload itself runs in the top pages). */
static uintptr_t test_stack_top(const struct guest_cpu *c)
{
	return (uintptr_t)guest_stacks + (uintptr_t)c->index * GUEST_STACK_SIZE + 2 * 4096;
}

static uintptr_t page_of(const struct guest_cpu *c, int page)
{
	switch (page) {
	case PAGE_IDT: return (uintptr_t)guest_idt_page();
	case PAGE_STACK: return test_stack_top(c) - 4096;
	case PAGE_GDT: return (uintptr_t)guest_gdt_page;
	default: return 0;
	}
}

static uintptr_t event_case(struct guest_cpu *c, int page, int ev)
{
	uintptr_t arm = page_of(c, page), top = test_stack_top(c);
	uintptr_t kind = DT_KIND_VMMCALL, a = HC_EVENT_TEST, b = EVENT_TEST_NMI_AT_EXIT;

	if (ev == EV_PF && sizeof(uintptr_t) == 4)
		return DELIVERY_FAIL_SKIPPED;	/* the 32-bit guest runs without paging */
	if (ev == EV_INT)
		kind = DT_KIND_INT;
	if (ev == EV_EXTINT)
		kind = DT_KIND_STI_WINDOW;
	if (ev == EV_GP)
		kind = DT_KIND_GP, c->fault_ip = (uintptr_t)dt_gp_insn;
	if (ev == EV_PF)
		kind = DT_KIND_STORE, a = (uintptr_t)DELIVERY_PF_ADDRESS, c->fault_ip = (uintptr_t)dt_store_insn;
	c->fault_recover_ip = (uintptr_t)dt_recover;

	uintptr_t redelivered = etest(EVENT_TEST_REDELIVERED, 0);
	uint32_t nmis = c->nmi_received;
	c->dt_exc_count = 0;
	if (arm && etest(EVENT_TEST_NPF_ONCE, arm) != 0)
		return fail(DELIVERY_FAIL_BAD_ARG_ACCEPTED, arm);
	c->dt_active = 1;
	if (ev == EV_EXTINT) {
		/* Pending in the IRR until the STI window on the test stack. */
		c->dt_eoi = 1;
		lapic_self_interrupt(DELIVERY_TEST_VECTOR);
	}
	dt_trigger(kind, top, a, b);
	c->dt_active = 0;
	c->fault_ip = 0;

	uintptr_t still = etest(EVENT_TEST_ARMED, 0);
	if (still)
		return fail(DELIVERY_FAIL_NOT_FAULTED, still);
	uintptr_t again = etest(EVENT_TEST_REDELIVERED, 0) - redelivered;
	if (again != (arm ? 1u : 0u))
		return fail(DELIVERY_FAIL_NOT_REDELIVERED, again);
	if (ev == EV_NMI) {
		if (c->nmi_received - nmis != 1)
			return fail(DELIVERY_FAIL_NMI_COUNT, c->nmi_received - nmis);
		if (c->dt_exc_count != 0)
			return fail(DELIVERY_FAIL_COUNT, c->dt_exc_count);
		return 0;
	}
	if (c->dt_exc_count != 1)
		return fail(DELIVERY_FAIL_COUNT, c->dt_exc_count);
	static const uint32_t vector[] = { DELIVERY_TEST_VECTOR, GUEST_VECTOR_GP, GUEST_VECTOR_PF, 2,
					   DELIVERY_TEST_VECTOR };
	static const uint32_t errcode[] = { 0, DELIVERY_GP_SELECTOR, DELIVERY_PF_ERRCODE, 0, 0 };
	if (c->dt_exc_vector != vector[ev])
		return fail(DELIVERY_FAIL_VECTOR, c->dt_exc_vector);
	if (c->dt_exc_error != errcode[ev])
		return fail(DELIVERY_FAIL_ERRCODE, c->dt_exc_error);
	if (ev == EV_PF && c->dt_exc_cr2 != (uintptr_t)DELIVERY_PF_ADDRESS)
		return fail(DELIVERY_FAIL_CR2, c->dt_exc_cr2);
	if (c->nmi_received != nmis)
		return fail(DELIVERY_FAIL_NMI_COUNT, c->nmi_received - nmis);
	return 0;
}

/*
 * An NMI made pending at the exit where another event is in flight:
 * `redeliver` = the #GP's delivery is cut by a nested page fault on the IDT
 * (EVENTINJ holds the re-delivered #GP); else the hypervisor injects #GP for
 * a refused store to its own memory (EVENTINJ holds that #GP).
 */
static uintptr_t nmi_in_flight_case(struct guest_cpu *c, int redeliver)
{
	uintptr_t top = test_stack_top(c), insn;
	uintptr_t redelivered = etest(EVENT_TEST_REDELIVERED, 0);
	uint32_t nmis = c->nmi_received;
	uintptr_t kind, a = 0, err;

	if (redeliver) {
		kind = DT_KIND_GP, insn = (uintptr_t)dt_gp_insn, err = DELIVERY_GP_SELECTOR;
		if (etest(EVENT_TEST_NPF_ONCE, (uintptr_t)guest_idt_page()) != 0)
			return fail(DELIVERY_FAIL_BAD_ARG_ACCEPTED, 0);
	} else {
		kind = DT_KIND_STORE, insn = (uintptr_t)dt_store_insn, err = 0;
		a = hypercall_get_info(INFO_HV_START);
	}
	/* The NMI goes off at the next exit: the NPF (or the refused store). */
	if (etest(EVENT_TEST_NMI_AT_EXIT, 1) != 0)
		return fail(DELIVERY_FAIL_BAD_ARG_ACCEPTED, 1);
	c->dt_exc_count = 0;
	c->nmi_last_ip = 0;
	c->fault_ip = insn;
	c->fault_recover_ip = (uintptr_t)dt_recover;
	c->dt_active = 1;
	dt_trigger(kind, top, a, 0);
	c->dt_active = 0;
	c->fault_ip = 0;
	/* One more exit, in case the NMI is still pending: it must be by now. */
	etest(EVENT_TEST_ARMED, 0);

	if (c->dt_exc_count != 1)
		return fail(DELIVERY_FAIL_COUNT, c->dt_exc_count);
	if (c->dt_exc_vector != GUEST_VECTOR_GP)
		return fail(DELIVERY_FAIL_VECTOR, c->dt_exc_vector);
	if (c->dt_exc_error != err)
		return fail(DELIVERY_FAIL_ERRCODE, c->dt_exc_error);
	if (c->nmi_received - nmis != 1)
		return fail(DELIVERY_FAIL_NMI_COUNT, c->nmi_received - nmis);
	/* Delivered "after" may mean at the #GP handler's first instruction
	 * (hardware) or at its first exit (this hypervisor); never instead of
	 * the #GP, i.e. on the instruction that raised it. */
	if (c->nmi_last_ip == insn)
		return fail(DELIVERY_FAIL_NMI_ORDER, c->nmi_last_ip);
	uintptr_t again = etest(EVENT_TEST_REDELIVERED, 0) - redelivered;
	if (again != (redeliver ? 1u : 0u))
		return fail(DELIVERY_FAIL_NOT_REDELIVERED, again);
	return 0;
}

/* The NMI handler (nmi.c) asks for a second NMI at its own exit: NMIs are
 * blocked until its IRET retires, through all of the handler's exits. */
static uintptr_t nmi_held_case(struct guest_cpu *c)
{
	uint32_t nmis = c->nmi_received, nested = c->nmi_nested;

	c->nmi_again = 1;
	dt_trigger(DT_KIND_VMMCALL, test_stack_top(c), HC_EVENT_TEST, EVENT_TEST_NMI_AT_EXIT);
	etest(EVENT_TEST_ARMED, 0);	/* an exit after the IRET: the second NMI is due */
	if (c->nmi_again)
		return fail(DELIVERY_FAIL_NMI_COUNT, 0);
	if (c->nmi_nested != nested)
		return fail(DELIVERY_FAIL_NMI_NESTED, c->nmi_nested - nested);
	if (c->nmi_received - nmis != 2)
		return fail(DELIVERY_FAIL_NMI_COUNT, c->nmi_received - nmis);
	return 0;
}

/*
 * MOV SS blocks interrupts and NMIs until the next instruction completes
 * (AMD APM vol. 3, MOV to SS; vol. 2 15.21, the VMCB's interrupt shadow; Intel SDM vol. 3 6.8.3), so that
 * MOV SS; MOV xSP switch stacks atomically.  The load after MOV SS faults in
 * the nested tables (NPF_ONCE on its page) and an NMI arrives at that exit:
 * the VMCB's interrupt shadow is set, and the NMI must wait until the load
 * has completed -- not be delivered with RIP on the shadowed instruction.
 */
static uintptr_t nmi_shadow_case(struct guest_cpu *c, int sti)
{
	uint32_t nmis = c->nmi_received;

	if (etest(EVENT_TEST_NPF_ONCE, (uintptr_t)shadow_page) != 0)
		return fail(DELIVERY_FAIL_BAD_ARG_ACCEPTED, 0);
	if (etest(EVENT_TEST_NMI_AT_EXIT, 1) != 0)
		return fail(DELIVERY_FAIL_BAD_ARG_ACCEPTED, 1);
	c->nmi_last_ip = 0;
	dt_trigger(sti ? DT_KIND_STI_LOAD : DT_KIND_SHADOW_LOAD, test_stack_top(c), (uintptr_t)shadow_page, 0);
	etest(EVENT_TEST_ARMED, 0);
	if (c->nmi_received - nmis != 1)
		return fail(DELIVERY_FAIL_NMI_COUNT, c->nmi_received - nmis);
	if (c->nmi_last_ip == (uintptr_t)(sti ? dt_sti_shadow_insn : dt_shadow_insn))
		return fail(DELIVERY_FAIL_SHADOW, c->nmi_last_ip);
	return 0;
}

/*
 * An NMI latched at the handler's IRET intercept -- after the hypervisor saw
 * the IRET, before it retired -- must be injected right after the IRET (the
 * hypervisor steps over it), not at whatever exit comes next: a guest that
 * idles after its handler (HLT with nothing else pending) would never get it.
 * No exit between the IRET and the count below, so a late NMI shows as 1.
 */
static uintptr_t nmi_latched_at_iret_case(struct guest_cpu *c)
{
	uint32_t nmis = c->nmi_received, nested = c->nmi_nested;

	c->nmi_at_iret = 1;
	dt_trigger(DT_KIND_VMMCALL, test_stack_top(c), HC_EVENT_TEST, EVENT_TEST_NMI_AT_EXIT);
	uint32_t got = c->nmi_received - nmis;
	etest(EVENT_TEST_ARMED, 0);	/* an exit: a late NMI arrives here at last */
	if (c->nmi_at_iret)
		return fail(DELIVERY_FAIL_NMI_COUNT, 0);
	if (c->nmi_nested != nested)
		return fail(DELIVERY_FAIL_NMI_NESTED, c->nmi_nested - nested);
	if (got != 2)
		return fail(got == 1 && c->nmi_received - nmis == 2 ? DELIVERY_FAIL_LATE : DELIVERY_FAIL_NMI_COUNT, got);
	return 0;
}

/*
 * The hypervisor's seeded yield arms its LAPIC timer and halts (sti; hlt).
 * An NMI between the STI and the HLT returns to the HLT with interrupts on
 * and the timer's interrupt pending: taken before the HLT, it leaves the HLT
 * waiting for a wakeup that already came (stress-all seed 316 hung so).
 * YIELD_NMI_SHADOW puts a self-NMI exactly there, in two halts; the
 * hypercall must return, and the NMIs (the guest's: no quiesce asked for
 * them) arrive -- as one: the second finds the first still latched and
 * merges with it, as on hardware.  The halts ended early, and their timer's
 * interrupt must not wait for this guest's next STI (hv/core/halt.c): the
 * hypervisor checks its IRR, and the guest opens an interrupt window of its
 * own, in which nothing may arrive.
 */
static uintptr_t nmi_in_yield_shadow_case(struct guest_cpu *c)
{
	uint32_t nmis = c->nmi_received;

	uintptr_t r = etest(EVENT_TEST_YIELD_NMI_SHADOW, 0);
	if (r == 1)
		return fail(DELIVERY_FAIL_WAKEUP_PENDING, 0);
	if (r != 0)
		return fail(DELIVERY_FAIL_WAKEUP_NEVER_FIRED, r);
	etest(EVENT_TEST_ARMED, 0);	/* one more exit: the NMI is delivered by now */
	if (c->nmi_received - nmis != 1)
		return fail(DELIVERY_FAIL_NMI_COUNT, c->nmi_received - nmis);
	c->dt_exc_count = 0;
	c->dt_active = 1;
	dt_trigger(DT_KIND_STI_WINDOW, test_stack_top(c), 0, 0);
	c->dt_active = 0;
	if (c->dt_exc_count != 0)
		return fail(DELIVERY_FAIL_WAKEUP_PENDING, c->dt_exc_vector);
	return 0;
}

/*
 * An exception handler does not block NMIs: one requested inside the #GP
 * handler arrives there, at once, on top of it, and both return -- the NMI
 * handler's IRET to the #GP handler, whose own IRET the hypervisor must not
 * take for the NMI's.
 */
static uintptr_t nmi_in_exception_case(struct guest_cpu *c)
{
	uint32_t nmis = c->nmi_received, nested = c->nmi_nested;

	c->dt_exc_count = 0;
	c->dt_nmis_in_handler = nmis;
	c->fault_ip = (uintptr_t)dt_gp_insn;
	c->fault_recover_ip = (uintptr_t)dt_recover;
	c->nmi_in_exception = 1;
	c->dt_active = 1;
	dt_trigger(DT_KIND_GP, test_stack_top(c), 0, 0);
	c->dt_active = 0;
	c->fault_ip = 0;
	etest(EVENT_TEST_ARMED, 0);	/* an exit: a late NMI would arrive here */
	if (c->dt_exc_count != 1 || c->dt_exc_vector != GUEST_VECTOR_GP)
		return fail(DELIVERY_FAIL_COUNT, c->dt_exc_count);
	if (c->nmi_in_exception)
		return fail(DELIVERY_FAIL_NMI_COUNT, 0);
	if (c->nmi_nested != nested)
		return fail(DELIVERY_FAIL_NMI_NESTED, c->nmi_nested - nested);
	if (c->dt_nmis_in_handler - nmis != 1)
		return fail(DELIVERY_FAIL_LATE, c->dt_nmis_in_handler - nmis);
	if (c->nmi_received - nmis != 1)
		return fail(DELIVERY_FAIL_NMI_COUNT, c->nmi_received - nmis);
	return 0;
}

static uintptr_t bad_args_case(void)
{
	static const struct { uintptr_t op, a; } bad[] = {
		{ 0, 0 },
		{ 99, 0 },
		{ EVENT_TEST_NPF_ONCE, 0 },			/* below guest RAM */
		{ EVENT_TEST_NPF_ONCE, GUEST_LOAD_MIN + 8 },	/* not page aligned */
		{ EVENT_TEST_NPF_ONCE, 0x100000 },		/* the hypervisor's first page */
		{ EVENT_TEST_NPF_ONCE, 0xF0000000u },		/* not RAM, not 4 KiB-mapped */
		{ EVENT_TEST_NMI_AT_EXIT, 1000 },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (etest(bad[i].op, bad[i].a) != HC_ERR_BAD_ARGUMENT)
			return fail(DELIVERY_FAIL_BAD_ARG_ACCEPTED, i);
	/* One armed page per CPU: a second arm is refused until the first faults. */
	if (etest(EVENT_TEST_NPF_ONCE, (uintptr_t)spare_page) != 0)
		return fail(DELIVERY_FAIL_BAD_ARG_ACCEPTED, 100);
	if (etest(EVENT_TEST_NPF_ONCE, (uintptr_t)spare_page) != HC_ERR_BAD_ARGUMENT)
		return fail(DELIVERY_FAIL_BAD_ARG_ACCEPTED, 101);
	(void)*(volatile char *)spare_page;		/* the fault maps it again */
	if (etest(EVENT_TEST_ARMED, 0) != 0)
		return fail(DELIVERY_FAIL_NOT_FAULTED, 102);
	return 0;
}

struct verdict wl_delivery(struct guest_cpu *c, int has_arg, uint64_t arg)
{
	(void)has_arg, (void)arg;
	uintptr_t failed = 0, first = 0, r;

	/* Off on a production command line: a clean error, nothing else. */
	r = etest(EVENT_TEST_REDELIVERED, 0);
	if (r == HC_ERR_DISABLED)
		return (struct verdict){ GUEST_FAIL_BAD_RESULT, 0, r };

	for (uintptr_t id = DELIVERY_CASE_BAD_ARGS; id <= DELIVERY_CASE_GDT_EXTINT; id++) {
		if (id == DELIVERY_CASE_BAD_ARGS)
			r = bad_args_case();
		else if (id <= DELIVERY_CASE_GDT_NMI)
			r = event_case(c, (int)((id - DELIVERY_CASE_INT) / 4), (int)((id - DELIVERY_CASE_INT) % 4));
		else if (id == DELIVERY_CASE_NMI_HELD_UNTIL_IRET)
			r = nmi_held_case(c);
		else if (id == DELIVERY_CASE_NMI_IN_MOV_SS_SHADOW || id == DELIVERY_CASE_NMI_IN_STI_SHADOW)
			r = nmi_shadow_case(c, id == DELIVERY_CASE_NMI_IN_STI_SHADOW);
		else if (id == DELIVERY_CASE_NMI_LATCHED_AT_IRET)
			r = nmi_latched_at_iret_case(c);
		else if (id == DELIVERY_CASE_NMI_IN_YIELD_SHADOW)
			r = nmi_in_yield_shadow_case(c);
		else if (id == DELIVERY_CASE_NMI_IN_EXCEPTION_HANDLER)
			r = nmi_in_exception_case(c);
		else if (id >= DELIVERY_CASE_EXTINT)
			r = event_case(c, (int)(id - DELIVERY_CASE_EXTINT), EV_EXTINT);
		else
			r = nmi_in_flight_case(c, id == DELIVERY_CASE_NMI_WHILE_REDELIVERING);
		hypercall_guest_event(GUEST_EV_DELIVERY_CASE, id, r);
		if (r != 0 && r != DELIVERY_FAIL_SKIPPED && failed++ == 0)
			first = id;
	}
	if (failed)
		return (struct verdict){ GUEST_FAIL_BAD_RESULT, failed, first };
	return (struct verdict){ 0, DELIVERY_CASE_GDT_EXTINT, 0 };
}
