/* The physical memory map as the hypervisor sees it. */
#include "core/memory.h"
#include "core/percpu.h"
#include <heisen/defs.h>

extern char _hv_start[], _hv_end[], __bss_start[];
extern u8 trace_rings[], trace_memlog_area[];
extern const u64 trace_rings_size, trace_memlog_size;
static u64 guest_ram_end;

u64 hv_mem_start(void) { return (u64)_hv_start; }
u64 hv_mem_end(void) { return (u64)_hv_end; }
void memory_set_guest_ram_end(u64 end) { guest_ram_end = end; }

bool guest_range_ok(u64 gpa, u64 len)
{
	if (len == 0 || len > 0x10000 || gpa + len < gpa)
		return false;
	if (gpa < 0x100000 || gpa + len > guest_ram_end)
		return false;
	return gpa + len <= hv_mem_start() || gpa >= hv_mem_end();
}

bool hv_region(u64 which, u64 *start, u64 *end)
{
	u64 s, e;
	switch (which) {
	case HV_REGION_IMAGE: s = (u64)_hv_start, e = (u64)__bss_start; break;
	case HV_REGION_PERCPU: s = (u64)percpu_area, e = s + sizeof(percpu_area); break;
	case HV_REGION_TRACE_RINGS: s = (u64)trace_rings, e = s + trace_rings_size; break;
	case HV_REGION_MEMLOG: s = (u64)trace_memlog_area, e = s + trace_memlog_size; break;
	case HV_REGION_BSS: s = (u64)__bss_start, e = (u64)_hv_end; break;
	default: return false;
	}
	*start = s & ~4095ull;
	*end = (e + 4095) & ~4095ull;
	return true;
}
