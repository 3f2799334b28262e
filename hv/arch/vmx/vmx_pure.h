/*
 * The VMX backend's pure arithmetic: no instruction, no global, so the host
 * tests (tests/hv/vmx_pure_driver.c) run it under ASan/UBSan.
 */
#ifndef HV_VMX_PURE_H
#define HV_VMX_PURE_H
#include "core/types.h"

/* VMCS field encoding (Intel SDM vol. 3, 25.11.2 / appendix B): bits 14:13
 * width (0 = 16-bit, 1 = 64-bit, 2 = 32-bit, 3 = natural width, 64 bits on
 * a 64-bit host); bit 0 = "high" access of a 64-bit field, 32 bits. */
#define VMCS_FIELD_BYTES(enc) \
	((((enc) >> 13) & 3) == 0 ? 2 : (((enc) >> 13) & 3) == 2 ? 4 : \
	 (((enc) >> 13) & 3) == 1 && ((enc) & 1) ? 4 : 8)

static inline u32 vmcs_field_bytes(u32 enc) { return VMCS_FIELD_BYTES(enc); }

/*
 * A VMX control word from what the hypervisor wants and the capability MSR
 * (SDM vol. 3, A.3-A.5): the low 32 bits are the allowed-0 settings (a 1
 * there: the bit must be 1), the high 32 bits the allowed-1 settings (a 0
 * there: the bit must be 0).  `required` are bits the backend cannot run
 * without; *missing gets those the CPU cannot set (0 = usable).
 */
static inline u32 vmx_adjust_controls(u64 cap_msr, u32 wanted, u32 required, u32 *missing)
{
	u32 must_be_1 = (u32)cap_msr, may_be_1 = (u32)(cap_msr >> 32);
	u32 v = (wanted | must_be_1) & may_be_1;
	*missing = required & ~may_be_1;
	return v;
}

/* EPT entries (SDM vol. 3, 29.3.2): bit 0 read, 1 write, 2 execute; in a
 * leaf, bits 5:3 the memory type and bit 7 a large page.  Present = any of
 * R/W/X; write without read is a misconfiguration, so `write` implies read. */
#define EPT_R 1ull
#define EPT_W 2ull
#define EPT_X 4ull
#define EPT_RWX (EPT_R | EPT_W | EPT_X)
#define EPT_LARGE (1ull << 7)
#define EPT_MT_UC 0ull
#define EPT_MT_WB 6ull
#define EPT_ADDR_MASK 0x000ffffffffff000ull

/* A table entry pointing at the next-level table at `table_pa`. */
static inline u64 ept_table_entry(u64 table_pa) { return (table_pa & EPT_ADDR_MASK) | EPT_RWX; }

/* A leaf (4 KiB, or 2 MiB if `large`) mapping `hpa`; not `present`: 0. */
static inline u64 ept_leaf(u64 hpa, bool present, bool writable, bool large, u64 memtype)
{
	if (!present)
		return 0;
	return (hpa & EPT_ADDR_MASK) | EPT_R | EPT_X | (writable ? EPT_W : 0) | (memtype << 3) |
	       (large ? EPT_LARGE : 0);
}

/* EPTP (SDM vol. 3, 25.6.11): WB paging-structure accesses, 4-level walk. */
static inline u64 ept_pointer(u64 root_pa) { return (root_pa & EPT_ADDR_MASK) | EPT_MT_WB | (3ull << 3); }

#endif
