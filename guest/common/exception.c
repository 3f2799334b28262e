/*
 * Exceptions other than NMI.  None is expected except the #GP that the
 * hypervisor injects when it refuses a poke workload's store; anything else
 * ends this CPU's run with GUEST_FAIL_UNEXPECTED_EXCEPTION.
 */
#include <heisen/defs.h>
#include "hypercall.h"
#include "lapic.h"
#include "nmi.h"
#include "percpu.h"
#include "verdict.h"

static inline uintptr_t read_cr2(void)
{
	uintptr_t v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static int is_expected_fault(const struct guest_cpu *c, const struct guest_frame *f)
{
	/* Only a #GP on the one armed instruction: a #GP anywhere else while a
	 * poke is in flight is still a bug. */
	return f->vector == GUEST_VECTOR_GP && c->fault_ip != 0 && f->ip == c->fault_ip;
}

void guest_exception(struct guest_frame *f)
{
	struct guest_cpu *c = this_cpu();

	if (c->dt_active) {
		/* The delivery suite counts every exception and checks them itself. */
		c->dt_exc_count++;
		c->dt_exc_vector = (uint32_t)f->vector;
		c->dt_exc_error = f->error_code;
		c->dt_exc_cr2 = f->vector == GUEST_VECTOR_PF ? read_cr2() : 0;
		c->dt_exc_seq = __atomic_add_fetch(&c->dt_seq, 1, __ATOMIC_SEQ_CST);
		if (c->dt_eoi) {
			c->dt_eoi = 0;
			lapic_eoi();	/* an external interrupt: its ISR bit */
		}
		/* An exit on purpose, inside the handler: an NMI held back while
		 * this event was being delivered is injected here at the latest. */
		hypercall_guest_event(GUEST_EV_EXCEPTION, f->vector, f->ip);
		if (c->nmi_in_exception) {
			/* NMI_IN_EXCEPTION_HANDLER: an NMI at this exit, delivered
			 * on top of this handler (an exception blocks no NMI). */
			c->nmi_in_exception = 0;
			hypercall(HC_EVENT_TEST, EVENT_TEST_NMI_AT_EXIT, 0, 0);
			c->dt_nmis_in_handler = c->nmi_received;
		}
		if (c->fault_ip != 0 && f->ip == c->fault_ip) {
			c->fault_ip = 0;
			f->ip = c->fault_recover_ip;
		}
		return;
	}
	if (is_expected_fault(c, f)) {
		c->fault_ip = 0;
		f->ip = c->fault_recover_ip;
		return;
	}
	if (c->in_fatal)
		guest_idle();
	c->in_fatal = 1;
	hypercall_guest_event(GUEST_EV_EXCEPTION, f->vector, f->ip);
	guest_finish(c, (struct verdict){ GUEST_FAIL_UNEXPECTED_EXCEPTION, f->vector, f->ip });
}
