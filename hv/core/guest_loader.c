/* Loads the guest kernel ELF (32- or 64-bit) given as a multiboot module. */
#include "core/guest_loader.h"
#include "core/string.h"
#include "core/panic.h"
#include "core/log.h"
#include <heisen/defs.h>

struct seg {
	u32 type;
	u64 offset, paddr, filesz, memsz;
};

static struct seg phdr(const u8 *img, bool is64, u64 phoff, u32 phentsize, u32 i)
{
	const u8 *p = img + phoff + (u64)i * phentsize;
	if (is64)
		return (struct seg){ *(const u32 *)p, *(const u64 *)(p + 8), *(const u64 *)(p + 24),
				     *(const u64 *)(p + 32), *(const u64 *)(p + 40) };
	return (struct seg){ *(const u32 *)p, *(const u32 *)(p + 4), *(const u32 *)(p + 12),
			     *(const u32 *)(p + 16), *(const u32 *)(p + 20) };
}

void guest_load(u64 start, u64 end, u64 prot_lo, u64 prot_hi, struct guest_image *out)
{
	const u8 *img = (const u8 *)start;
	u64 size = end - start;
	if (size < 52 || memcmp(img, "\x7f" "ELF", 4))
		hv_panic(size, 0, 0, "guest module is not an ELF file");
	bool is64 = img[4] == 2;
	u64 phoff = is64 ? *(const u64 *)(img + 32) : *(const u32 *)(img + 28);
	u32 phentsize = *(const u16 *)(img + (is64 ? 54 : 42));
	u32 phnum = *(const u16 *)(img + (is64 ? 56 : 44));
	out->entry = is64 ? *(const u64 *)(img + 24) : *(const u32 *)(img + 24);
	out->mode = is64 ? 64 : 32;
	out->lo = ~0ull;
	out->hi = 0;
	if (phoff + (u64)phnum * phentsize > size)
		hv_panic(phoff, phnum, 0, "guest ELF program headers outside the module");
	for (u32 i = 0; i < phnum; i++) {
		struct seg s = phdr(img, is64, phoff, phentsize, i);
		if (s.type != 1)	/* PT_LOAD */
			continue;
		if (s.offset + s.filesz > size || s.filesz > s.memsz)
			hv_panic(i, s.offset, 0, "guest ELF segment outside the module");
		if (s.paddr < GUEST_LOAD_MIN || s.paddr + s.memsz > 0x40000000 ||
		    (s.paddr < prot_hi && s.paddr + s.memsz > prot_lo) ||
		    (s.paddr < end && s.paddr + s.memsz > start))
			hv_panic(s.paddr, s.memsz, 0, "guest ELF segment at a forbidden address");
		memcpy((void *)s.paddr, img + s.offset, s.filesz);
		memset((void *)(s.paddr + s.filesz), 0, s.memsz - s.filesz);
		if (s.paddr < out->lo)
			out->lo = s.paddr;
		if (s.paddr + s.memsz > out->hi)
			out->hi = s.paddr + s.memsz;
	}
	if (out->hi == 0)
		hv_panic(0, 0, 0, "guest ELF has no loadable segment");
}
