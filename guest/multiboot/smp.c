/*
 * Starting the APs the way an OS does (Intel SDM vol. 3 9.4.4, "MP
 * initialization example"): for each CPU in the MADT but ourselves, INIT
 * assert, INIT de-assert, then two STARTUP IPIs with the trampoline's page
 * as the vector, through the xAPIC's ICR.  Under the Heisenvisor the INITs
 * are dropped and the first SIPI starts the AP, which waited in the
 * hypervisor (hv/core/sipi.c); the second is ignored, as hardware ignores a
 * SIPI to a running CPU.  Each AP reports in (ap_main) and halts.
 */
#include "kernel.h"

#define ICR_INIT_ASSERT 0x0000c500u	/* INIT, level, assert */
#define ICR_INIT_DEASSERT 0x00008500u	/* INIT, level, de-assert */
#define ICR_STARTUP 0x00000600u

extern const char tramp_start[], tramp_end[];
static volatile uint8_t ap_seen[256];
static volatile uint32_t aps_up;

void ap_main(uint32_t index)
{
	idt_load();
	uint32_t id = lapic_id();
	heisen_report(0, 1, id);	/* this CPU passed: it runs our code */
	ap_seen[id] = (uint8_t)index;
	__atomic_add_fetch(&aps_up, 1, __ATOMIC_RELEASE);
	for (;;)
		__asm__ __volatile__("cli; hlt");
}

static bool wait_for(uint32_t id, uint32_t us)
{
	for (uint32_t t = 0; t < us && !ap_seen[id]; t += 100)
		udelay(100);
	return ap_seen[id] != 0;
}

void smp_start_aps(const struct mb_info *mbi, uint32_t expect)
{
	uint8_t ids[MAX_CPUS];
	uint32_t n = acpi_cpus(ids, MAX_CPUS), self = lapic_id();
	kprintf("cpus: %u in the ACPI MADT, this one APIC %u\n", n, self);
	check(n > 0, "no CPU in the ACPI MADT", 0, 0);
	if (expect)
		check(n == expect, "the MADT's CPU count differs from cpus=", n, expect);
	if (n == 1)
		return;
	check(mmap_usable(mbi, TRAMPOLINE_PA, 4096), "the trampoline's page is not usable RAM", TRAMPOLINE_PA, 0);
	memcpy(phys(TRAMPOLINE_PA), tramp_start, (size_t)(tramp_end - tramp_start));
	for (uint32_t i = 0; i < n; i++) {
		uint32_t id = ids[i];
		if (id == self)
			continue;
		lapic_icr(id, ICR_INIT_ASSERT);
		udelay(10000);
		lapic_icr(id, ICR_INIT_DEASSERT);
		udelay(10000);
		for (int k = 0; k < 2; k++) {
			lapic_icr(id, ICR_STARTUP | (TRAMPOLINE_PA >> 12));
			udelay(200);
		}
		check(wait_for(id, 2000000), "an AP did not report in after INIT-SIPI-SIPI", id, 0);
		kprintf("ap: APIC %u up (AP #%u)\n", id, ap_seen[id]);
	}
	check(aps_up == n - 1, "not every AP reported in", aps_up, n - 1);
	kprintf("cpus up: %u of %u\n", aps_up + 1, n);
}
