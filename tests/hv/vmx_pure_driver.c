/*
 * Host driver for hv/arch/vmx/vmx_pure.h: VMCS field width from the
 * encoding, control-word adjustment against a capability MSR, EPT entries.
 * With no argument: runs the cases, prints "ok" and exits 0, else names each
 * failed case.  `table`: prints every row of hv/arch/vmx/vmcs.h's field table
 * as "NAME ENCODING BYTES" (tests/test_vmx_pure.py checks them against the SDM).
 */
#include <stdio.h>
#include <string.h>
#include "arch/vmx/vmx_pure.h"
#include "arch/vmx/vmcs_table.h"

static int failures;

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			printf(__VA_ARGS__); \
			printf("\n"); \
			failures++; \
		} \
	} while (0)

static void widths(void)
{
	static const struct { u32 enc, bytes; } cases[] = {
		{ 0x0000, 2 }, { 0x0800, 2 }, { 0x0c0c, 2 },	/* 16-bit: VPID, selectors */
		{ 0x2004, 8 }, { 0x201a, 8 }, { 0x2806, 8 },	/* 64-bit: bitmaps, EPTP, EFER */
		{ 0x2001, 4 }, { 0x2807, 4 },			/* a 64-bit field's high half */
		{ 0x4002, 4 }, { 0x4402, 4 }, { 0x4824, 4 },	/* 32-bit: controls, exit reason */
		{ 0x6800, 8 }, { 0x681e, 8 }, { 0x6c16, 8 },	/* natural: CR0, RIP, HOST_RIP */
		{ 0x6001, 8 },					/* bit 0 means "high" only in 64-bit fields */
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(vmcs_field_bytes(cases[i].enc) == cases[i].bytes, "width of %#x: %u, want %u",
		      cases[i].enc, vmcs_field_bytes(cases[i].enc), cases[i].bytes);
}

static void controls(void)
{
	/* allowed-0 (must be 1): bits 1, 2, 4; allowed-1 (may be 1): 0x0000ffff. */
	u64 cap = ((u64)0x0000ffff << 32) | 0x16;
	u32 miss = 99;
	u32 v = vmx_adjust_controls(cap, 0x300, 0x100, &miss);
	CHECK(v == 0x316, "adjust: %#x, want 0x316 (wanted bits plus the must-be-1 bits)", v);
	CHECK(miss == 0, "adjust: missing %#x, want 0", miss);
	v = vmx_adjust_controls(cap, 0x10300, 0x10000, &miss);
	CHECK(v == 0x316, "adjust: %#x, want 0x316 (a bit the CPU cannot set is dropped)", v);
	CHECK(miss == 0x10000, "adjust: missing %#x, want 0x10000 (required, not allowed)", miss);
	v = vmx_adjust_controls(cap, 0, 0, &miss);
	CHECK(v == 0x16, "adjust: %#x, want 0x16 (nothing wanted: the must-be-1 bits)", v);
	/* A must-be-1 bit that allowed-1 forbids cannot happen on a CPU; the
	 * allowed-1 mask wins so the result is never a setting the CPU refuses. */
	cap = ((u64)0x0000fff0 << 32) | 0x3;
	v = vmx_adjust_controls(cap, 0x100, 0, &miss);
	CHECK(v == 0x100, "adjust: %#x, want 0x100 (allowed-1 clears)", v);
}

static void ept(void)
{
	CHECK(ept_leaf(0x123000, false, true, false, EPT_MT_WB) == 0, "not present: not 0");
	u64 e = ept_leaf(0x123000, true, false, false, EPT_MT_WB);
	CHECK(e == (0x123000 | 1 | 4 | (6 << 3)), "read-only WB leaf: %#llx", (unsigned long long)e);
	e = ept_leaf(0x123000, true, true, false, EPT_MT_WB);
	CHECK(e == (0x123000 | 7 | (6 << 3)), "writable WB leaf: %#llx", (unsigned long long)e);
	e = ept_leaf(0xfee00000, true, true, true, EPT_MT_UC);
	CHECK(e == (0xfee00000ull | 7 | 0x80), "2 MiB UC leaf: %#llx", (unsigned long long)e);
	e = ept_leaf(0x123456789abcdefull, true, true, false, EPT_MT_WB);
	CHECK((e & ~0xfffull) == 0x0003456789abc000ull, "address bits outside 51:12 kept: %#llx",
	      (unsigned long long)e);
	e = ept_table_entry(0x5000 | 0x123);
	CHECK(e == (0x5000 | 7), "table entry: %#llx", (unsigned long long)e);
	e = ept_pointer(0x7000);
	CHECK(e == (0x7000 | 6 | (3 << 3)), "EPTP: %#llx (WB, 4-level walk)", (unsigned long long)e);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "table")) {
#define ROW(name, enc, type) printf("%s %#x %zu\n", #name, (unsigned)(enc), sizeof(type));
		VMCS_FIELDS(ROW)
		return 0;
	}
	widths();
	controls();
	ept();
	if (!failures)
		printf("ok\n");
	return failures != 0;
}
