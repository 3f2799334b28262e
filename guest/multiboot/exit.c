/*
 * The verdict: a line on the console, a REPORT to the hypervisor when there
 * is one, then QEMU's isa-debug-exit (port 0xf4), which ends the machine with
 * status (code << 1) | 1.  Under the Heisenvisor that write is intercepted,
 * recorded (GUEST_EXIT) and then done by the hypervisor with the same code.
 * The pass code is DEBUG_EXIT_PASS unless the command line says pass-code=N.
 */
#include "kernel.h"
#include <heisen/defs.h>

static volatile uint32_t ending;
uint32_t pass_code = DEBUG_EXIT_PASS;

static void __attribute__((noreturn)) end(uint32_t code)
{
	outl(DEBUG_EXIT_PORT, code);
	for (;;)
		__asm__ __volatile__("cli; hlt");
}

void pass(void)
{
	kprintf("HEISEN-MB: PASS (exit code %x)\n", pass_code);
	end(pass_code);
}

void fail(const char *what, uint32_t a, uint32_t b)
{
	if (__atomic_exchange_n(&ending, 1, __ATOMIC_ACQ_REL))
		end(DEBUG_EXIT_FAIL);	/* another CPU is failing: its line counts */
	kprintf("HEISEN-MB: FAIL %s (%x, %x)\n", what, a, b);
	heisen_report(GUEST_FAIL_BAD_RESULT, a, b);
	end(DEBUG_EXIT_FAIL);
}

void check(bool ok, const char *what, uint32_t a, uint32_t b)
{
	if (!ok)
		fail(what, a, b);
}
