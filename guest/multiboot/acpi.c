/*
 * The CPUs, as the firmware lists them: RSDP (EBDA or 0xE0000..0xFFFFF) ->
 * RSDT -> MADT ("APIC"), its enabled processor-local-APIC entries.
 */
#include "kernel.h"

static bool checksum_ok(const uint8_t *p, uint32_t len)
{
	uint8_t sum = 0;
	for (uint32_t i = 0; i < len; i++)
		sum += p[i];
	return sum == 0;
}

static const uint8_t *find_rsdp_in(uint32_t start, uint32_t len)
{
	for (uint32_t a = start; a + 20 <= start + len; a += 16) {
		const uint8_t *p = phys(a);
		if (!memcmp(p, "RSD PTR ", 8) && checksum_ok(p, 20))
			return p;
	}
	return NULL;
}

uint32_t acpi_cpus(uint8_t *apic_ids, uint32_t max)
{
	uint32_t ebda = (uint32_t)*(volatile uint16_t *)phys(0x40e) << 4;
	const uint8_t *rsdp = ebda ? find_rsdp_in(ebda, 1024) : NULL;
	if (!rsdp)
		rsdp = find_rsdp_in(0xe0000, 0x20000);
	if (!rsdp)
		return 0;
	const uint8_t *rsdt = phys(*(const uint32_t *)(rsdp + 16));
	if (memcmp(rsdt, "RSDT", 4))
		return 0;
	uint32_t len = *(const uint32_t *)(rsdt + 4);
	for (uint32_t off = 36; off + 4 <= len; off += 4) {
		const uint8_t *t = phys(*(const uint32_t *)(rsdt + off));
		if (memcmp(t, "APIC", 4))
			continue;
		uint32_t tlen = *(const uint32_t *)(t + 4), n = 0;
		for (uint32_t e = 44; e + 2 <= tlen && t[e + 1] >= 2; e += t[e + 1]) {
			/* type 0: processor local APIC; flags bit 0 enabled */
			if (t[e] == 0 && (*(const uint32_t *)(t + e + 4) & 1) && n < max)
				apic_ids[n++] = t[e + 3];
		}
		return n;
	}
	return 0;
}
