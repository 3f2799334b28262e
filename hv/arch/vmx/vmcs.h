/*
 * The VMCS fields the VMX backend uses, in ONE table: name, encoding and
 * the C type each access uses (Intel SDM vol. 3, appendix B).  The width is
 * a property of the encoding (bits 14:13; bit 0 selects the high half of a
 * 64-bit field), so every table row is checked at compile time against its
 * encoding, and the only accessors are the per-field ones generated from the
 * table: vmcs_read_<NAME>() returns the field's type, vmcs_write(NAME, v)
 * refuses at compile time a value wider than the field.
 *
 * Why: XMHF64's field-width bug (bug_018 hunt, "Comparing VCPU dump") read a
 * 32-bit field through a 64-bit memory operand, clobbering the neighbouring
 * variable.  Here no access names a width of its own; it cannot disagree
 * with the encoding.
 */
#ifndef HV_VMX_VMCS_H
#define HV_VMX_VMCS_H
#include "core/types.h"
#include "arch/vmx/vmx_pure.h"

/* X(name, encoding, type) */
#define VMCS_FIELDS(X) \
	X(VPID, 0x0000, u16) \
	X(GUEST_ES_SEL, 0x0800, u16) X(GUEST_CS_SEL, 0x0802, u16) X(GUEST_SS_SEL, 0x0804, u16) \
	X(GUEST_DS_SEL, 0x0806, u16) X(GUEST_FS_SEL, 0x0808, u16) X(GUEST_GS_SEL, 0x080a, u16) \
	X(GUEST_LDTR_SEL, 0x080c, u16) X(GUEST_TR_SEL, 0x080e, u16) \
	X(HOST_ES_SEL, 0x0c00, u16) X(HOST_CS_SEL, 0x0c02, u16) X(HOST_SS_SEL, 0x0c04, u16) \
	X(HOST_DS_SEL, 0x0c06, u16) X(HOST_FS_SEL, 0x0c08, u16) X(HOST_GS_SEL, 0x0c0a, u16) \
	X(HOST_TR_SEL, 0x0c0c, u16) \
	X(IO_BITMAP_A, 0x2000, u64) X(IO_BITMAP_B, 0x2002, u64) X(MSR_BITMAP, 0x2004, u64) \
	X(EPT_POINTER, 0x201a, u64) \
	X(GUEST_PHYSICAL_ADDRESS, 0x2400, u64) \
	X(VMCS_LINK_POINTER, 0x2800, u64) X(GUEST_DEBUGCTL, 0x2802, u64) \
	X(GUEST_PAT, 0x2804, u64) X(GUEST_EFER, 0x2806, u64) \
	X(HOST_PAT, 0x2c00, u64) X(HOST_EFER, 0x2c02, u64) \
	X(PIN_CONTROLS, 0x4000, u32) X(PROC_CONTROLS, 0x4002, u32) \
	X(EXCEPTION_BITMAP, 0x4004, u32) X(CR3_TARGET_COUNT, 0x400a, u32) \
	X(EXIT_CONTROLS, 0x400c, u32) X(EXIT_MSR_STORE_COUNT, 0x400e, u32) \
	X(EXIT_MSR_LOAD_COUNT, 0x4010, u32) X(ENTRY_CONTROLS, 0x4012, u32) \
	X(ENTRY_MSR_LOAD_COUNT, 0x4014, u32) X(ENTRY_INTR_INFO, 0x4016, u32) \
	X(ENTRY_EXCEPTION_ERROR, 0x4018, u32) X(ENTRY_INSTR_LEN, 0x401a, u32) \
	X(PROC_CONTROLS2, 0x401e, u32) \
	X(INSTRUCTION_ERROR, 0x4400, u32) X(EXIT_REASON, 0x4402, u32) \
	X(EXIT_INTR_INFO, 0x4404, u32) X(EXIT_INTR_ERROR, 0x4406, u32) \
	X(IDT_VECTORING_INFO, 0x4408, u32) X(IDT_VECTORING_ERROR, 0x440a, u32) \
	X(EXIT_INSTR_LEN, 0x440c, u32) \
	X(GUEST_ES_LIMIT, 0x4800, u32) X(GUEST_CS_LIMIT, 0x4802, u32) X(GUEST_SS_LIMIT, 0x4804, u32) \
	X(GUEST_DS_LIMIT, 0x4806, u32) X(GUEST_FS_LIMIT, 0x4808, u32) X(GUEST_GS_LIMIT, 0x480a, u32) \
	X(GUEST_LDTR_LIMIT, 0x480c, u32) X(GUEST_TR_LIMIT, 0x480e, u32) \
	X(GUEST_GDTR_LIMIT, 0x4810, u32) X(GUEST_IDTR_LIMIT, 0x4812, u32) \
	X(GUEST_ES_AR, 0x4814, u32) X(GUEST_CS_AR, 0x4816, u32) X(GUEST_SS_AR, 0x4818, u32) \
	X(GUEST_DS_AR, 0x481a, u32) X(GUEST_FS_AR, 0x481c, u32) X(GUEST_GS_AR, 0x481e, u32) \
	X(GUEST_LDTR_AR, 0x4820, u32) X(GUEST_TR_AR, 0x4822, u32) \
	X(GUEST_INTERRUPTIBILITY, 0x4824, u32) X(GUEST_ACTIVITY, 0x4826, u32) \
	X(GUEST_SYSENTER_CS, 0x482a, u32) X(HOST_SYSENTER_CS, 0x4c00, u32) \
	X(CR0_MASK, 0x6000, u64) X(CR4_MASK, 0x6002, u64) \
	X(CR0_SHADOW, 0x6004, u64) X(CR4_SHADOW, 0x6006, u64) \
	X(EXIT_QUALIFICATION, 0x6400, u64) X(GUEST_LINEAR_ADDRESS, 0x640a, u64) \
	X(GUEST_CR0, 0x6800, u64) X(GUEST_CR3, 0x6802, u64) X(GUEST_CR4, 0x6804, u64) \
	X(GUEST_ES_BASE, 0x6806, u64) X(GUEST_CS_BASE, 0x6808, u64) X(GUEST_SS_BASE, 0x680a, u64) \
	X(GUEST_DS_BASE, 0x680c, u64) X(GUEST_FS_BASE, 0x680e, u64) X(GUEST_GS_BASE, 0x6810, u64) \
	X(GUEST_LDTR_BASE, 0x6812, u64) X(GUEST_TR_BASE, 0x6814, u64) \
	X(GUEST_GDTR_BASE, 0x6816, u64) X(GUEST_IDTR_BASE, 0x6818, u64) \
	X(GUEST_DR7, 0x681a, u64) X(GUEST_RSP, 0x681c, u64) X(GUEST_RIP, 0x681e, u64) \
	X(GUEST_RFLAGS, 0x6820, u64) X(GUEST_PENDING_DBG, 0x6822, u64) \
	X(GUEST_SYSENTER_ESP, 0x6824, u64) X(GUEST_SYSENTER_EIP, 0x6826, u64) \
	X(HOST_CR0, 0x6c00, u64) X(HOST_CR3, 0x6c02, u64) X(HOST_CR4, 0x6c04, u64) \
	X(HOST_FS_BASE, 0x6c06, u64) X(HOST_GS_BASE, 0x6c08, u64) X(HOST_TR_BASE, 0x6c0a, u64) \
	X(HOST_GDTR_BASE, 0x6c0c, u64) X(HOST_IDTR_BASE, 0x6c0e, u64) \
	X(HOST_SYSENTER_ESP, 0x6c10, u64) X(HOST_SYSENTER_EIP, 0x6c12, u64) \
	X(HOST_RSP, 0x6c14, u64) X(HOST_RIP, 0x6c16, u64)

#define VMCS_ENUM(name, enc, type) VMCS_##name = enc,
enum vmcs_field { VMCS_FIELDS(VMCS_ENUM) };
#undef VMCS_ENUM

/* A row whose type is not its encoding's width does not compile. */
#define VMCS_CHECK(name, enc, type) \
	_Static_assert(sizeof(type) == VMCS_FIELD_BYTES(enc), "VMCS field " #name ": type is not its encoding's width");
VMCS_FIELDS(VMCS_CHECK)
#undef VMCS_CHECK

/* Raw instructions, private to the accessors below: every VMREAD/VMWRITE
 * moves a full 64-bit register (64-bit mode, SDM vol. 3 30.3), never memory.
 * A failed access (VMfailValid/Invalid: CF or ZF) is a hypervisor bug. */
void vmx_access_failed(u32 field, bool write);

static inline u64 vmcs_read_raw_(u32 field)
{
	u64 v;
	bool bad;
	__asm__ __volatile__("vmread %2, %0" : "=r"(v), "=@ccbe"(bad) : "r"((u64)field) : "cc");
	if (bad)
		vmx_access_failed(field, false);
	return v;
}

static inline void vmcs_write_raw_(u32 field, u64 v)
{
	bool bad;
	__asm__ __volatile__("vmwrite %1, %2" : "=@ccbe"(bad) : "r"(v), "r"((u64)field) : "cc", "memory");
	if (bad)
		vmx_access_failed(field, true);
}

#define VMCS_ACCESSORS(name, enc, type) \
	static inline type vmcs_read_##name(void) { return (type)vmcs_read_raw_(enc); } \
	static inline void vmcs_write_##name(type v) { vmcs_write_raw_(enc, v); }
VMCS_FIELDS(VMCS_ACCESSORS)
#undef VMCS_ACCESSORS

/* vmcs_read(NAME): the field in its own type.  vmcs_write(NAME, v): a value
 * whose type is wider than the field is a compile error, not a truncation
 * (integer constants are int: write 16-bit fields with a u16). */
#define vmcs_read(name) vmcs_read_##name()
#define vmcs_write(name, v) \
	do { \
		_Static_assert(sizeof(v) <= VMCS_FIELD_BYTES(VMCS_##name), \
			       "vmcs_write(" #name "): value wider than the field"); \
		vmcs_write_##name(v); \
	} while (0)

#endif
