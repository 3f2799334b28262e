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

#include "arch/vmx/vmcs_table.h"

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
