/*
 * The Heisenvisor, when the kernel runs under it: found by CPUID's
 * hypervisor bit and leaf 0x40000000's signature.  Then each CPU reports by
 * hypercall (defs/hypercalls.toml), which the hypervisor's checker rules
 * require of every CPU it started (decoder/rules.toml, guest_reported), and
 * the kernel asks where the hypervisor's memory is, to check that its memory
 * map keeps it out of usable RAM.  On bare QEMU none of this happens.
 */
#include "kernel.h"
#include "hypercall.h"

bool under_heisen;

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ __volatile__("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

bool heisen_detect(void)
{
	uint32_t r[4];
	cpuid(1, r);
	if (!(r[2] & (1u << 31)))
		return under_heisen = false;
	cpuid(0x40000000, r);
	char sig[13];
	memcpy(sig, &r[1], 12);
	sig[12] = 0;
	return under_heisen = !memcmp(sig, "Heisenvisor", 12);
}

void heisen_report(uint32_t status, uint32_t count, uint32_t detail)
{
	if (under_heisen)
		hypercall_report(status, count, detail);
}

uint32_t heisen_info(uint32_t what)
{
	return (uint32_t)hypercall_get_info(what);
}
