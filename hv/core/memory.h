#ifndef HV_MEMORY_H
#define HV_MEMORY_H
#include "core/types.h"
/* The hypervisor's own memory: [hv_mem_start, hv_mem_end) is hidden from the guest. */
u64 hv_mem_start(void);
u64 hv_mem_end(void);
void memory_set_guest_ram_end(u64 end);
/* Region HV_REGION_* of the hypervisor's memory, page-rounded; false past the last. */
bool hv_region(u64 which, u64 *start, u64 *end);
/* May the hypervisor write `len` bytes at guest-physical `gpa` for the guest? */
bool guest_range_ok(u64 gpa, u64 len);
#endif
