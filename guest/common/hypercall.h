/*
 * The VMMCALL hypercall ABI (defs/hypercalls.toml): number in EAX/RAX,
 * arguments in EBX/RBX, ECX/RCX, EDX/RDX, result in EAX/RAX.
 */
#ifndef GUEST_HYPERCALL_H
#define GUEST_HYPERCALL_H

#include <stdint.h>
#include <heisen/defs.h>

/*
 * always_inline: the NMI handler calls these, and any NMI that interrupts
 * code in .text.nmi counts as nested (nmi.c); an out-of-line copy would sit
 * outside that section.  "memory": GET_WORKLOAD writes guest memory behind
 * the compiler's back, and a hypercall is an ordering point for the trace.
 */
static inline __attribute__((always_inline)) uintptr_t
hypercall(uintptr_t nr, uintptr_t a, uintptr_t b, uintptr_t c)
{
	uintptr_t ret;

	__asm__ volatile("vmmcall" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

static inline __attribute__((always_inline)) uintptr_t hypercall_hello(uintptr_t cpu)
{
	return hypercall(HC_HELLO, cpu, 0, 0);
}

static inline __attribute__((always_inline)) uintptr_t hypercall_get_workload(void *buf, uintptr_t len)
{
	return hypercall(HC_GET_WORKLOAD, (uintptr_t)buf, len, 0);
}

static inline __attribute__((always_inline)) uintptr_t hypercall_test(uintptr_t arg)
{
	return hypercall(HC_TEST, arg, 0, 0);
}

static inline __attribute__((always_inline)) void
hypercall_report(uintptr_t status, uintptr_t count, uintptr_t detail)
{
	hypercall(HC_REPORT, status, count, detail);
}

static inline __attribute__((always_inline)) void hypercall_guest_event(uintptr_t kind, uintptr_t a, uintptr_t b)
{
	hypercall(HC_GUEST_EVENT, kind, a, b);
}

static inline __attribute__((always_inline)) void
hypercall_nmi_counts(uintptr_t received, uintptr_t nested, uintptr_t sent)
{
	hypercall(HC_NMI_COUNTS, received, nested, sent);
}

static inline __attribute__((always_inline)) uintptr_t hypercall_get_info(uintptr_t what)
{
	return hypercall(HC_GET_INFO, what, 0, 0);
}

#endif
