/*
 * A guest that ends the machine itself.  A multiboot kernel of the user's
 * own (a test kernel) reports its result by writing a code to QEMU's
 * isa-debug-exit port, exactly as it would on bare QEMU.  Passing the write
 * through would end QEMU at once: whatever trace the rings still hold would
 * be lost, and nothing would tell the guest's code from the hypervisor's own
 * verdict (both are debug-exit codes).  So the port is intercepted for such a
 * guest: the hypervisor records GUEST_EXIT (code, port, size), flushes the
 * trace and writes the same code itself -- QEMU's exit status is then what it
 * would have been, (code << 1) | 1, and the harness judges the code against
 * the scenario's expected one (harness/judge/verdict.py, docs/multiboot-guest.md).
 */
#include "core/guest_exit.h"
#include "core/panic.h"
#include "core/log.h"
#include "core/x86.h"
#include "core/trace_glue.h"
#include <heisen/defs.h>

static u32 exiting;

void guest_io_write(struct vcpu *v, u16 port, u32 value, u32 size)
{
	if (port < DEBUG_EXIT_PORT || port >= DEBUG_EXIT_PORT + 4)
		hv_panic(port, value, 0, "write to an intercepted I/O port nobody handles");
	if (__atomic_exchange_n(&exiting, 1, __ATOMIC_ACQ_REL)) {
		/* Another CPU ends the machine with its code: the first one counts. */
		for (;;)
			cpu_relax();
	}
	hv_printf("cpu %u: the guest wrote %x to isa-debug-exit (port %x, %u bytes): the machine ends "
		  "with the guest's own code\n", v->cpu, value, port, size);
	trace_make_room();
	trace_guest_exit(value, port, size);
	/* isa-debug-exit takes the value whatever the width or the offset in its
	 * four ports: QEMU exits with (value << 1) | 1 either way. */
	machine_exit(value);
}
