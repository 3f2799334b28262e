/*
 * Guest memory layout shared by the C code and the entry/vector assembly
 * (plain #defines only: this file is included from .S files).
 */
#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

/* CPUs the guest has a stack and a per-CPU record for; a CPU index beyond
 * this is reported as GUEST_FAIL_BAD_START by the entry code. */
#define GUEST_MAX_CPUS 32

/* One stack per CPU, STACK_SIZE-aligned, so the CPU index is
 * (sp - guest_stacks) >> GUEST_STACK_SHIFT in any context, NMI included,
 * without relying on a segment base or a register the hypervisor might not
 * preserve. */
#define GUEST_STACK_SHIFT 14
#define GUEST_STACK_SIZE (1 << GUEST_STACK_SHIFT)

/* sizeof(struct guest_cpu); checked by a _Static_assert in percpu.h. */
#define GUEST_CPU_STRIDE 256

/* Room for the GET_WORKLOAD string, NUL included. */
#define GUEST_WORKLOAD_MAX 128

/* Error-code-pushing exception vectors: #DF 8, #TS 10, #NP 11, #SS 12,
 * #GP 13, #PF 14, #AC 17, #CP 21, #VC 29, #SX 30 (AMD APM vol. 2, 8.2).
 * The stubs push a dummy 0 for every other vector so one frame layout fits all. */
#define GUEST_ERRCODE_VECTORS ((1 << 8) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) | \
                               (1 << 14) | (1 << 17) | (1 << 21) | (1 << 29) | (1 << 30))

#define GUEST_VECTOR_NMI 2
#define GUEST_VECTOR_GP 13
#define GUEST_VECTOR_PF 14
/* The exceptions and DELIVERY_TEST_VECTOR (defs/hypercalls.toml), the
 * delivery suite's software interrupt: vector_stubs.h lists 0..32. */
#define GUEST_NUM_VECTORS 33

/* dt_trigger()'s events (wl_delivery.c, arch{32,64}/delivery.S). */
#define DT_KIND_INT 0		/* INT DELIVERY_TEST_VECTOR */
#define DT_KIND_GP 1		/* load DS with DELIVERY_GP_SELECTOR: #GP(selector) */
#define DT_KIND_STORE 2		/* store to an address: #PF, or a refused NPF (#GP) */
#define DT_KIND_VMMCALL 3	/* a hypercall (e.g. EVENT_TEST NMI_AT_EXIT 0) */
#define DT_KIND_SHADOW_LOAD 4	/* MOV SS, then a load from an address: the load runs in the MOV SS shadow */
#define DT_KIND_STI_LOAD 5	/* STI, then a load from an address: the load runs in the STI shadow (then CLI) */
#define DT_KIND_STI_WINDOW 6	/* STI; NOP; NOP; CLI: a pending external interrupt is taken in between */

#endif
