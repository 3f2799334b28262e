/*
 * The multiboot (v1) header (Multiboot 0.6.96, 3.1): first in the image, so it
 * lies in the first 8 KiB.  Flags: modules page-aligned (0), memory
 * information (1).  Built twice (multiboot.mk): the ELF kernel, which the
 * loader places by its program headers, and with MB_AOUT the flat binary,
 * which carries the a.out-kludge addresses (flag 16) the loader must use
 * instead.
 */
#define MB_MAGIC 0x1BADB002
#ifdef MB_AOUT
#define MB_FLAGS 0x00010003
#else
#define MB_FLAGS 0x00000003
#endif

	.section .multiboot, "a"
	.balign 4
	.globl mb_header
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
#ifdef MB_AOUT
	.long mb_header			/* header_addr: where these bytes land */
	.long _image_start		/* load_addr: the file's first byte */
	.long _data_end			/* load_end_addr: the file's end */
	.long _image_end		/* bss_end_addr: zeroed up to here */
	.long _start			/* entry_addr */
#endif

	.section .note.GNU-stack, "", @progbits
