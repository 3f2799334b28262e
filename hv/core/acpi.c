/* CPUs from the ACPI MADT (ACPI spec 5.2.5 RSDP, 5.2.7 RSDT, 5.2.12 MADT). */
#include "core/acpi.h"
#include "core/string.h"
#include "core/panic.h"

struct sdt_header {
	char sig[4];
	u32 length;
	u8 revision, checksum;
	char oem[6], oem_table[8];
	u32 oem_rev, creator, creator_rev;
} __packed;

static u8 checksum(const void *p, u32 n)
{
	u8 s = 0;
	for (const u8 *b = p; n--; b++)
		s += *b;
	return s;
}

static const u8 *find_rsdp_in(u64 start, u64 end)
{
	for (u64 a = start; a + 20 <= end; a += 16) {
		const u8 *p = (const u8 *)a;
		if (!memcmp(p, "RSD PTR ", 8) && checksum(p, 20) == 0)
			return p;
	}
	return NULL;
}

static const u8 *find_rsdp(void)
{
	/* The BDA word at 0x40e holds the EBDA segment.  Hide the constant
	 * address from gcc, which assumes no object lives near 0. */
	u64 bda = 0x40e;
	__asm__("" : "+r"(bda));
	u64 ebda = (u64)(*(const volatile u16 *)bda) << 4;
	const u8 *p = ebda ? find_rsdp_in(ebda, ebda + 1024) : NULL;
	return p ? p : find_rsdp_in(0xe0000, 0x100000);
}

u64 acpi_rsdp_address(void)
{
	return (u64)find_rsdp();
}

u32 acpi_find_cpus(u32 *apic_ids, u32 max)
{
	const u8 *rsdp = find_rsdp();
	if (!rsdp)
		hv_panic(0, 0, 0, "ACPI RSDP not found");
	const struct sdt_header *rsdt = (const void *)(u64)*(const u32 *)(rsdp + 16);
	u32 nent = (rsdt->length - sizeof(*rsdt)) / 4;
	const u32 *ent = (const u32 *)(rsdt + 1);
	for (u32 i = 0; i < nent; i++) {
		const struct sdt_header *h = (const void *)(u64)ent[i];
		if (memcmp(h->sig, "APIC", 4))
			continue;
		u32 n = 0;
		const u8 *p = (const u8 *)h + sizeof(*h) + 8;	/* skip LAPIC addr, flags */
		const u8 *end = (const u8 *)h + h->length;
		for (; p + 2 <= end && p[1]; p += p[1]) {
			/* type 0: processor local APIC; flags bit 0 = enabled */
			if (p[0] == 0 && (*(const u32 *)(p + 4) & 1) && n < max)
				apic_ids[n++] = p[3];
		}
		return n;
	}
	hv_panic(0, 0, 0, "ACPI MADT not found");
}
