/* What every CPU does once the entry code has given it a stack. */
#include <heisen/defs.h>
#include "hypercall.h"
#include "idt.h"
#include "percpu.h"
#include "verdict.h"
#include "workloads.h"

__attribute__((noreturn)) void guest_main(uint32_t cpu, uint32_t ncpus);

void guest_main(uint32_t cpu, uint32_t ncpus)
{
	struct guest_cpu *c = &guest_cpus[cpu];

	c->index = cpu;
	guest_ncpus = ncpus;
	idt_install();
	__atomic_add_fetch(&guest_online, 1, __ATOMIC_SEQ_CST);

	/* The entry code chose the stack from EBX; the handlers find their
	 * record from the stack.  If the two disagree every count is wrong. */
	if (this_cpu() != c)
		guest_finish(c, (struct verdict){ GUEST_FAIL_BAD_START, cpu, (uintptr_t)this_cpu() });

	guest_finish(c, workload_run(c));
}
