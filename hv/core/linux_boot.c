/*
 * The Linux x86 boot protocol, 32-bit entry (Documentation/arch/x86/boot.rst):
 * read the setup header of a bzImage, choose where its protected-mode part
 * goes, and fill the zero page (struct boot_params) with the command line,
 * the initrd, the memory map and the ACPI RSDP.  QEMU's direct kernel boot
 * (its linuxboot option ROM) enters the kernel the same way: code32_start in
 * flat 32-bit protected mode, paging off, ESI = the zero page.
 * Pure functions over buffers, tested on the host (tests/test_linux_boot.py).
 */
#include "core/linux_boot.h"
#include "core/string.h"

/* Offsets in the zero page (arch/x86/include/uapi/asm/bootparam.h). */
#define BP_ACPI_RSDP 0x070
#define BP_E820_ENTRIES 0x1e8
#define BP_SETUP_SECTS 0x1f1
#define BP_BOOT_FLAG 0x1fe
#define BP_JUMP 0x200
#define BP_HEADER 0x202
#define BP_VERSION 0x206
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS 0x211
#define BP_CODE32_START 0x214
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_CMD_LINE_PTR 0x228
#define BP_INITRD_ADDR_MAX 0x22c
#define BP_KERNEL_ALIGNMENT 0x230
#define BP_RELOCATABLE 0x234
#define BP_CMDLINE_SIZE 0x238
#define BP_PREF_ADDRESS 0x258
#define BP_INIT_SIZE 0x260
#define BP_HEADER_LIMIT 0x290	/* struct setup_header ends before _pad7 */
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128
#define LOADED_HIGH 0x01
#define LOADER_UNDEFINED 0xff	/* type_of_loader: "no assigned id" */

static u32 rd32(const u8 *p) { u32 v; memcpy(&v, p, 4); return v; }
static u64 rd64(const u8 *p) { u64 v; memcpy(&v, p, 8); return v; }
static void wr32(u8 *p, u32 v) { memcpy(p, &v, 4); }
static void wr64(u8 *p, u64 v) { memcpy(p, &v, 8); }

bool linux_is_bzimage(const u8 *img, u64 size)
{
	return size >= BP_HEADER + 4 && !memcmp(img + BP_HEADER, "HdrS", 4);
}

const char *linux_parse(const u8 *img, u64 size, struct linux_kernel *k)
{
	if (size < BP_HEADER_LIMIT || !linux_is_bzimage(img, size))
		return "not a bzImage (no HdrS setup header)";
	if (img[BP_BOOT_FLAG] != 0x55 || img[BP_BOOT_FLAG + 1] != 0xaa)
		return "bzImage without the 0xAA55 boot flag";
	k->version = (u16)(img[BP_VERSION] | img[BP_VERSION + 1] << 8);
	/* 2.10 brought init_size and pref_address, which the placement needs. */
	if (k->version < 0x020a)
		return "boot protocol older than 2.10";
	if (!(img[BP_LOADFLAGS] & LOADED_HIGH))
		return "zImage (loads at 0x10000), not a bzImage";
	/* Not relocatable means it runs at 1 MiB, where the hypervisor is. */
	if (!img[BP_RELOCATABLE])
		return "kernel is not relocatable";
	k->header_end = BP_HEADER + img[BP_JUMP + 1];
	if (k->header_end > BP_HEADER_LIMIT)
		return "setup header longer than struct setup_header";
	u32 sects = img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4;
	k->pm_offset = (u64)(sects + 1) * 512;
	if (k->pm_offset >= size)
		return "bzImage shorter than its setup sectors";
	k->pm_size = size - k->pm_offset;
	k->alignment = rd32(img + BP_KERNEL_ALIGNMENT);
	if (k->alignment < 4096 || (k->alignment & (k->alignment - 1)))
		return "kernel_alignment is not a power of two of at least 4 KiB";
	k->init_size = rd32(img + BP_INIT_SIZE);
	if (k->init_size < k->pm_size)
		k->init_size = k->pm_size;
	k->pref_address = rd64(img + BP_PREF_ADDRESS);
	k->cmdline_size = rd32(img + BP_CMDLINE_SIZE);
	k->initrd_addr_max = rd32(img + BP_INITRD_ADDR_MAX);
	return NULL;
}

u64 linux_load_address(const struct linux_kernel *k, const struct mem_range *map, u32 nmap,
		       const struct mem_range *avoid, u32 navoid)
{
	u64 a = k->pref_address > 0x100000 ? k->pref_address : 0x100000;
	a = (a + k->alignment - 1) & ~(k->alignment - 1);
	/* The 32-bit entry and code32_start are 32-bit: stay below 4 GiB. */
	for (; a + k->init_size <= 0x100000000ull; a += k->alignment) {
		bool clear = e820_usable(map, nmap, a, k->init_size);
		for (u32 i = 0; clear && i < navoid; i++)
			clear = !mem_overlaps(a, k->init_size, avoid[i].base, avoid[i].len);
		if (clear)
			return a;
	}
	return 0;
}

const char *linux_fill_boot_params(u8 *bp, const u8 *img, const struct linux_kernel *k,
				   const struct linux_boot_args *a)
{
	if (a->nmap > BP_E820_MAX)
		return "memory map longer than boot_params' 128 entries";
	memset(bp, 0, 4096);
	memcpy(bp + BP_SETUP_SECTS, img + BP_SETUP_SECTS, k->header_end - BP_SETUP_SECTS);
	bp[BP_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	wr32(bp + BP_CODE32_START, a->load);
	wr32(bp + BP_RAMDISK_IMAGE, a->initrd_pa);
	wr32(bp + BP_RAMDISK_SIZE, a->initrd_size);
	wr32(bp + BP_CMD_LINE_PTR, a->cmdline_pa);
	wr64(bp + BP_ACPI_RSDP, a->rsdp);
	bp[BP_E820_ENTRIES] = (u8)a->nmap;
	for (u32 i = 0; i < a->nmap; i++) {
		u8 *e = bp + BP_E820_TABLE + 20 * i;
		wr64(e, a->map[i].base);
		wr64(e + 8, a->map[i].len);
		wr32(e + 16, a->map[i].type);
	}
	return NULL;
}
