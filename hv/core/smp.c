/*
 * AP bring-up with INIT-SIPI-SIPI (Intel SDM vol. 3 8.4.4.1, "Typical BSP
 * initialization sequence"), one AP at a time: each needs the shared
 * ap_boot_rsp to point into its own per-CPU block before it wakes.
 */
#include "core/smp.h"
#include "core/percpu.h"
#include "core/lapic.h"
#include "core/string.h"
#include "core/panic.h"
#include "core/x86.h"

#define AP_TRAMPOLINE_PA 0x8000ul

extern const u8 ap_tramp_start[], ap_tramp_end[];
extern u64 ap_boot_rsp;
static u32 ap_alive;

static void delay_tsc(u64 cycles)
{
	u64 t = rdtsc();
	while (rdtsc() - t < cycles)
		cpu_relax();
}

void smp_ap_alive(void)
{
	__atomic_store_n(&ap_alive, 1, __ATOMIC_RELEASE);
}

void smp_start_aps(const u32 *apic_ids, u32 n)
{
	memcpy((void *)AP_TRAMPOLINE_PA, ap_tramp_start, (size_t)(ap_tramp_end - ap_tramp_start));
	for (u32 i = 1; i < n; i++) {
		struct percpu *c = cpu_of(i);
		c->index = i;
		c->apic_id = apic_ids[i];
		__atomic_store_n(&ap_alive, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&ap_boot_rsp, (u64)c + PERCPU_SIZE, __ATOMIC_RELEASE);
		lapic_send_init(c->apic_id);
		delay_tsc(1000000);
		lapic_send_sipi(c->apic_id, AP_TRAMPOLINE_PA >> 12);
		delay_tsc(100000);
		lapic_send_sipi(c->apic_id, AP_TRAMPOLINE_PA >> 12);
		u64 t = rdtsc();
		while (!__atomic_load_n(&ap_alive, __ATOMIC_ACQUIRE)) {
			if (rdtsc() - t > 10000000000ull)
				hv_panic(c->apic_id, i, 0, "AP did not come up");
			cpu_relax();
		}
	}
}
