/*
 * The guest's view of CPUID, one policy for both backends (their exit
 * handlers only move registers): the real CPU's answer, plus the
 * "hypervisor present" bit (CPUID.1:ECX[31], the bit guests test before
 * looking at leaf 0x40000000) and our signature there, minus both hardware
 * virtualization features -- the guest may not nest, and VMRUN/VMXON would
 * act on the real machine's state (tests/test_boot.py, workload hv-detect).
 */
#include "core/guest_cpuid.h"
#include "core/x86.h"

#define CPUID_HV_LEAF 0x40000000u
#define CPUID1_ECX_VMX (1u << 5)		/* Intel SDM vol. 2A, CPUID leaf 1 */
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID_80000001_ECX_SVM (1u << 2)	/* AMD APM vol. 3, CPUID Fn8000_0001 */

static const char signature[12] = "Heisenvisor";

void guest_cpuid(u32 leaf, u32 subleaf, u32 out[4])
{
	if (leaf == CPUID_HV_LEAF) {
		out[0] = CPUID_HV_LEAF;	/* highest hypervisor leaf */
		__builtin_memcpy(&out[1], signature, 12);
		return;
	}
	cpuid(leaf, subleaf, out);
	if (leaf == 1)
		out[2] = (out[2] | CPUID1_ECX_HYPERVISOR) & ~CPUID1_ECX_VMX;
	if (leaf == 0x80000001)
		out[2] &= ~CPUID_80000001_ECX_SVM;
}
