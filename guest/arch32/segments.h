/* GDT selectors of the 32-bit guest (entry.S builds the table). */
#ifndef GUEST_SEGMENTS_H
#define GUEST_SEGMENTS_H
#define GUEST_CODE_SEL 0x08	/* flat 4 GiB, 32-bit, ring 0 */
#define GUEST_DATA_SEL 0x10	/* flat 4 GiB, writable */
#endif
