/*
 * Multiboot (v1) kernels as guests: find and check the kernel's header, lay
 * out an a.out-kludge image, and build the boot information the kernel finds
 * in EBX -- its command line, its modules and a memory map in which the
 * hypervisor's memory is reserved.  QEMU's -kernel (hw/i386/multiboot.c and
 * its multiboot option ROM) does the same for a kernel on bare QEMU; the
 * loader that uses these is core/guest_loader.c, docs/multiboot-guest.md.
 * Pure functions over buffers: tests/hv/multiboot_driver.c runs them on the
 * host under ASan/UBSan.
 */
#include "core/multiboot_guest.h"
#include "core/string.h"

static u32 rd32(const u8 *p) { u32 v; memcpy(&v, p, 4); return v; }
static void wr32(u8 *p, u32 v) { memcpy(p, &v, 4); }
static void wr64(u8 *p, u64 v) { memcpy(p, &v, 8); }

bool mb_find_header(const u8 *img, u64 size, struct mb_header *h)
{
	u64 end = size < MB_SEARCH_BYTES ? size : MB_SEARCH_BYTES;
	for (u64 off = 0; off + 12 <= end; off += 4) {
		u32 magic = rd32(img + off), flags = rd32(img + off + 4), sum = rd32(img + off + 8);
		if (magic != MB_HEADER_MAGIC || (u32)(magic + flags + sum) != 0)
			continue;
		memset(h, 0, sizeof(*h));
		h->offset = (u32)off;
		h->flags = flags;
		if (flags & MB_HF_AOUT_KLUDGE) {
			/* The address fields follow the checksum; they need not lie in
			 * the first 8 KiB, but they must lie in the file. */
			if (off + 32 > size)
				return false;
			h->header_addr = rd32(img + off + 12);
			h->load_addr = rd32(img + off + 16);
			h->load_end_addr = rd32(img + off + 20);
			h->bss_end_addr = rd32(img + off + 24);
			h->entry_addr = rd32(img + off + 28);
		}
		return true;
	}
	return false;
}

const char *mb_check_flags(const struct mb_header *h)
{
	/* Bit 2 (a graphics mode) is a requirement too, but this machine has no
	 * display (-nodefaults): the kernel gets no framebuffer information, as
	 * under QEMU's -kernel, which also boots such a kernel (with a warning).
	 * The caller prints a note. */
	u32 unknown = h->flags & MB_HF_REQUIRED & ~(MB_HF_PAGE_ALIGN | MB_HF_MEMINFO | MB_HF_VIDEO);
	if (unknown)
		return "multiboot header requires a feature this loader lacks (flag bits 3..15)";
	return NULL;
}

const char *mb_aout_segment(const struct mb_header *h, u64 size, struct mb_segment *seg)
{
	if (!(h->flags & MB_HF_AOUT_KLUDGE))
		return "no a.out-kludge address fields (flag 16 clear)";
	if (h->load_addr > h->header_addr)
		return "a.out kludge: load_addr above header_addr";
	u64 skip = (u64)h->header_addr - h->load_addr;
	if (skip > h->offset)
		return "a.out kludge: header_addr - load_addr exceeds the header's offset in the file";
	u64 offset = h->offset - skip;
	u64 filesz = size - offset;
	if (h->load_end_addr) {
		if (h->load_end_addr <= h->load_addr)
			return "a.out kludge: load_end_addr not above load_addr";
		filesz = (u64)h->load_end_addr - h->load_addr;
		if (offset + filesz > size)
			return "a.out kludge: load_end_addr beyond the end of the file";
	}
	u64 memsz = filesz;
	if (h->bss_end_addr) {
		if ((u64)h->bss_end_addr < h->load_addr + filesz)
			return "a.out kludge: bss_end_addr below the end of the loaded data";
		memsz = (u64)h->bss_end_addr - h->load_addr;
	}
	if (h->load_addr + memsz > 0x100000000ull)
		return "a.out kludge: image beyond 4 GiB";
	*seg = (struct mb_segment){ offset, h->load_addr, filesz, memsz };
	return NULL;
}

/* Bytes of usable RAM in `map` contiguous from `from` (ranges may touch). */
static u64 usable_from(const struct mem_range *map, u32 nmap, u64 from)
{
	u64 at = from;
	for (bool grew = true; grew;) {
		grew = false;
		for (u32 i = 0; i < nmap; i++)
			if (map[i].type == E820_RAM && map[i].base <= at && map[i].base + map[i].len > at) {
				at = map[i].base + map[i].len;
				grew = true;
			}
	}
	return at - from;
}

void mb_mem_sizes(const struct mem_range *map, u32 nmap, u32 *lower_kb, u32 *upper_kb)
{
	u64 lower = usable_from(map, nmap, 0), upper = usable_from(map, nmap, 0x100000);
	if (lower > 640 * 1024)
		lower = 640 * 1024;
	if (upper / 1024 > 0xffffffffull)
		upper = 0xffffffffull * 1024;
	*lower_kb = (u32)(lower / 1024);
	*upper_kb = (u32)(upper / 1024);
}

/* Bump allocation inside buf; 0 when it does not fit. */
struct cursor {
	u8 *buf;
	u32 pa, size, used;
};

static u32 take(struct cursor *c, u32 len, u32 align)
{
	u32 at = (c->used + align - 1) & ~(align - 1);
	if (at < c->used || at > c->size || len > c->size - at)
		return 0;
	c->used = at + len;
	return at;
}

/* Copy a NUL-terminated string in; its guest address, or 0 (no room). */
static u32 put_string(struct cursor *c, const char *s)
{
	size_t len = strlen(s) + 1;
	if (len > 0xffffffffu)
		return 0;
	u32 at = take(c, (u32)len, 1);
	if (!at)
		return 0;
	memcpy(c->buf + at, s, len);
	return c->pa + at;
}

const char *mb_build_info(u8 *buf, u32 pa, u32 size, const struct mb_info_args *a, u32 *used)
{
	if ((u64)pa + size > 0x100000000ull)
		return "multiboot information beyond 4 GiB";
	if (size < MBI_SIZE)
		return "no room for the multiboot information";
	memset(buf, 0, MBI_SIZE);
	struct cursor c = { buf, pa, size, MBI_SIZE };
	u32 flags = MB_INFO_MEM | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MMAP;
	u32 lower, upper;
	mb_mem_sizes(a->map, a->nmap, &lower, &upper);
	wr32(buf + MBI_MEM_LOWER, lower);
	wr32(buf + MBI_MEM_UPPER, upper);

	/* The memory map: entries of 24 bytes whose size field (20) excludes itself. */
	u32 mmap = take(&c, a->nmap * MB_MMAP_ENTRY, 4);
	if (a->nmap && !mmap)
		return "no room for the multiboot memory map";
	for (u32 i = 0; i < a->nmap; i++) {
		u8 *e = buf + mmap + i * MB_MMAP_ENTRY;
		wr32(e, MB_MMAP_ENTRY - 4);
		wr64(e + 4, a->map[i].base);
		wr64(e + 12, a->map[i].len);
		wr32(e + 20, a->map[i].type);
	}
	wr32(buf + MBI_MMAP_LENGTH, a->nmap * MB_MMAP_ENTRY);
	wr32(buf + MBI_MMAP_ADDR, a->nmap ? pa + mmap : 0);

	u32 mods = take(&c, a->nmods * MB_MODULE_ENTRY, 4);
	if (a->nmods && !mods)
		return "no room for the multiboot module list";
	for (u32 i = 0; i < a->nmods; i++) {
		const struct mb_module_in *m = &a->mods[i];
		if (m->end > 0x100000000ull || m->end < m->start)
			return "a module beyond 4 GiB or ending before it starts";
		u8 *e = buf + mods + i * MB_MODULE_ENTRY;
		u32 str = put_string(&c, m->string ? m->string : "");
		if (!str)
			return "no room for a module's string";
		wr32(e, (u32)m->start);
		wr32(e + 4, (u32)m->end);
		wr32(e + 8, str);
		wr32(e + 12, 0);
	}
	wr32(buf + MBI_MODS_COUNT, a->nmods);
	wr32(buf + MBI_MODS_ADDR, a->nmods ? pa + mods : 0);

	u32 cmdline = put_string(&c, a->cmdline ? a->cmdline : "");
	if (!cmdline)
		return "no room for the kernel's command line";
	wr32(buf + MBI_CMDLINE, cmdline);
	if (a->loader_name) {
		u32 name = put_string(&c, a->loader_name);
		if (!name)
			return "no room for the boot loader's name";
		wr32(buf + MBI_LOADER_NAME, name);
		flags |= MB_INFO_LOADER_NAME;
	}
	wr32(buf + MBI_FLAGS, flags);
	*used = c.used;
	return NULL;
}
