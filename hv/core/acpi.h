#ifndef HV_ACPI_H
#define HV_ACPI_H
#include "core/types.h"
/* Enabled local APIC IDs from the ACPI MADT; returns how many (<= max). */
u32 acpi_find_cpus(u32 *apic_ids, u32 max);
/* Physical address of the ACPI RSDP (the guest's boot data passes it on), 0 if none. */
u64 acpi_rsdp_address(void);
#endif
