/* Per-CPU guest state, found from the stack pointer in any context. */
#ifndef GUEST_PERCPU_H
#define GUEST_PERCPU_H

#include <stddef.h>
#include <stdint.h>
#include "layout.h"
#include "arch.h"

struct guest_cpu {
	/* Set by the NMI handler on entry, cleared by its stub just before
	 * IRET; seeing it set on entry means the hypervisor injected an NMI
	 * while the guest was still blocking NMIs. */
	volatile uint32_t in_nmi;
	volatile uint32_t nmi_received;
	volatile uint32_t nmi_nested;
	volatile uint32_t nmi_sent;
	uint32_t index;
	/* Set while an unexpected exception is being reported: a second one
	 * (e.g. VMMCALL raising #UD with no hypervisor) just idles instead of
	 * recursing until the stack overflows. */
	volatile uint32_t in_fatal;
	uint32_t reported;
	/* The one instruction allowed to take a #GP and where to resume
	 * (poke workload); 0 when no fault is expected. */
	volatile uintptr_t fault_ip;
	volatile uintptr_t fault_recover_ip;
	/* Delivery suite (wl_delivery.c): while dt_active, exceptions are
	 * recorded here instead of failing the run; dt_seq orders events. */
	volatile uint32_t dt_active;
	volatile uint32_t dt_seq;
	volatile uint32_t dt_exc_count;
	volatile uint32_t dt_exc_vector;
	volatile uint32_t dt_exc_seq;
	volatile uint32_t nmi_last_seq;
	volatile uint32_t nmi_again;	/* the NMI handler asks for one more NMI (once) */
	volatile uint32_t nmi_at_iret;	/* ... at the exit of its own IRET intercept (once) */
	volatile uint32_t nmi_in_exception;	/* the exception handler asks for an NMI (once) */
	volatile uint32_t dt_eoi;		/* the next exception is an external interrupt: EOI it */
	volatile uint32_t dt_nmis_in_handler;	/* nmi_received as the exception handler saw it after asking */
	volatile uintptr_t dt_exc_error;
	volatile uintptr_t dt_exc_cr2;
	volatile uintptr_t nmi_last_ip;		/* the IP the last NMI interrupted */
	char workload[GUEST_WORKLOAD_MAX];
} __attribute__((aligned(GUEST_CPU_STRIDE)));

_Static_assert(sizeof(struct guest_cpu) == GUEST_CPU_STRIDE, "GUEST_CPU_STRIDE is stale");

extern struct guest_cpu guest_cpus[GUEST_MAX_CPUS];
extern char guest_stacks[];	/* linker script: GUEST_MAX_CPUS stacks */
extern volatile uint32_t guest_ncpus;	/* ECX at entry */
extern volatile uint32_t guest_online;	/* CPUs with their IDT loaded */

static inline __attribute__((always_inline)) struct guest_cpu *this_cpu(void)
{
	uintptr_t slot = (arch_stack_pointer() - (uintptr_t)guest_stacks) >> GUEST_STACK_SHIFT;

	return &guest_cpus[slot];
}

#endif
