#ifndef HV_MULTIBOOT_GUEST_H
#define HV_MULTIBOOT_GUEST_H
#include "core/types.h"
#include "core/e820.h"

/*
 * A multiboot (v1) kernel as the guest (the Multiboot Specification 0.6.96,
 * sections 3.1 "OS image format", 3.2 "Machine state", 3.3 "Boot information
 * format").  Pure functions over buffers, tested on the host
 * (tests/hv/multiboot_driver.c, tests/test_multiboot_loader.py).
 */

#define MB_HEADER_MAGIC 0x1BADB002u
#define MB_SEARCH_BYTES 8192u		/* the header lies in the image's first 8 KiB */

/* Header flags (3.1.2).  Bits 0..15 are requirements: a loader that does not
 * know one must refuse the kernel; bits 16..31 are optional features. */
#define MB_HF_PAGE_ALIGN (1u << 0)	/* modules on 4 KiB boundaries */
#define MB_HF_MEMINFO (1u << 1)		/* mem_* and the memory map */
#define MB_HF_VIDEO (1u << 2)		/* a graphics mode (ignored, with a note) */
#define MB_HF_AOUT_KLUDGE (1u << 16)	/* load by the header's address fields, not ELF */
#define MB_HF_REQUIRED 0xffffu

/* Boot information flags (3.3). */
#define MB_INFO_MEM (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS (1u << 3)
#define MB_INFO_MMAP (1u << 6)
#define MB_INFO_LOADER_NAME (1u << 9)

struct mb_header {
	u32 offset;			/* of the magic in the file */
	u32 flags;
	/* Only with MB_HF_AOUT_KLUDGE: */
	u32 header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* One piece of the image to place: file bytes [offset, offset + filesz) at
 * paddr, zero up to paddr + memsz. */
struct mb_segment {
	u64 offset, paddr, filesz, memsz;
};

/*
 * Does the image carry a multiboot header: the magic at a 4-aligned offset in
 * its first 8 KiB with magic + flags + checksum == 0 (mod 2^32)?  The first
 * such header counts.  With the a.out-kludge flag the header must hold its
 * address fields too.
 */
bool mb_find_header(const u8 *img, u64 size, struct mb_header *h);

/* NULL, or why a loader that knows only bits 0, 1, 2 (noted) and 16 must
 * refuse this kernel. */
const char *mb_check_flags(const struct mb_header *h);

/* The a.out-kludge layout (3.1.3): NULL and *seg filled, or why the address
 * fields do not describe the file. */
const char *mb_aout_segment(const struct mb_header *h, u64 size, struct mb_segment *seg);

struct mb_module_in {
	u64 start, end;
	const char *string;		/* NULL: none */
};

struct mb_info_args {
	const char *cmdline;		/* the kernel's whole module string: "path args" */
	const struct mb_module_in *mods;
	u32 nmods;
	const struct mem_range *map;	/* the guest's map (hypervisor hidden) */
	u32 nmap;
	const char *loader_name;	/* NULL: none */
};

/* mem_lower / mem_upper (3.3) from the map: KiB of usable RAM from 0 (at most
 * 640) and KiB of usable RAM contiguous from 1 MiB up to the first hole. */
void mb_mem_sizes(const struct mem_range *map, u32 nmap, u32 *lower_kb, u32 *upper_kb);

/*
 * Write the multiboot information and everything it points to into buf, which
 * the guest will see at guest-physical `pa` (the info structure first, at pa
 * itself).  Flags MEM | CMDLINE | MODS | MMAP (| LOADER_NAME).  Returns NULL,
 * or why it does not fit into `size` bytes or 32 bits.  *used = bytes written.
 */
const char *mb_build_info(u8 *buf, u32 pa, u32 size, const struct mb_info_args *a, u32 *used);

/* Offsets in the information structure (3.3), for the host test. */
#define MBI_FLAGS 0
#define MBI_MEM_LOWER 4
#define MBI_MEM_UPPER 8
#define MBI_CMDLINE 16
#define MBI_MODS_COUNT 20
#define MBI_MODS_ADDR 24
#define MBI_MMAP_LENGTH 44
#define MBI_MMAP_ADDR 48
#define MBI_LOADER_NAME 64
#define MBI_SIZE 120			/* up to and including the framebuffer fields */
#define MB_MMAP_ENTRY 24		/* size (20, excluding itself), base, length, type */
#define MB_MODULE_ENTRY 16		/* mod_start, mod_end, string, reserved */
#endif
