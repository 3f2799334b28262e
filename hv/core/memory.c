/* The physical memory map as the hypervisor sees it. */
#include "core/memory.h"

extern char _hv_start[], _hv_end[];
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
