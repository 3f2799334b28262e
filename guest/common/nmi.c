/*
 * The guest NMI handler: counts NMIs per CPU and detects nesting.
 *
 * Hardware blocks further NMIs from NMI delivery until the handler's IRET
 * retires (AMD APM vol. 2, 8.2.3; Intel SDM vol. 3, 6.7.1).  A correct
 * hypervisor must give its guest the same guarantee (docs/hypervisor.md, "NMIs": track the
 * guest's blocking, unblock only after the IRET completes).  So an NMI that
 * arrives while this handler is still running -- anywhere from the stub's
 * first push up to and including its IRET -- is a hypervisor bug, and is
 * what this file exists to catch.
 */
#include <stdbool.h>
#include <heisen/defs.h>
#include "hypercall.h"
#include "nmi.h"
#include "percpu.h"

/* Linker script: the NMI stub and this function, nothing else. */
extern const char __nmi_text_start[], __nmi_text_end[];

/*
 * Two tests, because the in_nmi flag alone has blind spots: the stub's
 * pushes before this function sets it, and the instructions after the stub
 * clears it up to the IRET itself (a hypervisor that injects on the IRET
 * intercept, which fires before IRET executes, lands exactly there).  Any
 * interrupted IP inside .text.nmi covers both.
 */
static inline __attribute__((always_inline)) bool interrupted_nmi_code(uintptr_t ip)
{
	return ip >= (uintptr_t)__nmi_text_start && ip < (uintptr_t)__nmi_text_end;
}

__attribute__((section(".text.nmi"))) volatile uint32_t *guest_nmi(struct guest_frame *f)
{
	struct guest_cpu *c = this_cpu();
	uint32_t was_in_nmi = c->in_nmi;
	uint32_t n;

	c->in_nmi = 1;
	/* Atomic RMW: a (buggy) nested NMI between a load and a store here
	 * would otherwise lose a count. */
	n = __atomic_add_fetch(&c->nmi_received, 1, __ATOMIC_SEQ_CST);
	if (was_in_nmi || interrupted_nmi_code(f->ip))
		__atomic_add_fetch(&c->nmi_nested, 1, __ATOMIC_SEQ_CST);
	c->nmi_last_ip = f->ip;
	c->nmi_last_seq = __atomic_add_fetch(&c->dt_seq, 1, __ATOMIC_SEQ_CST);
	if (c->nmi_again) {
		/* Delivery suite, NMI_HELD_UNTIL_IRET: an NMI at this very exit,
		 * while this handler blocks NMIs; it must wait for the IRET. */
		c->nmi_again = 0;
		hypercall(HC_EVENT_TEST, EVENT_TEST_NMI_AT_EXIT, 0, 0);
	}
	if (c->nmi_at_iret) {
		/* NMI_LATCHED_AT_IRET: the third exit from here is the IRET
		 * intercept (after the two GUEST_EVENT calls below), where the
		 * hypervisor has just seen the IRET and not yet its retirement. */
		c->nmi_at_iret = 0;
		hypercall(HC_EVENT_TEST, EVENT_TEST_NMI_AT_EXIT, 3, 0);
	}

	hypercall_guest_event(GUEST_EV_NMI_ENTER, n, 0);
	hypercall_guest_event(GUEST_EV_NMI_EXIT, n, 0);

	/* The stub clears the flag right before IRET -- unless this is a
	 * nested handler returning into an outer one that still runs. */
	return was_in_nmi ? 0 : &c->in_nmi;
}
