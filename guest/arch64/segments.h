/* GDT selectors of the 64-bit guest (entry.S builds the table). */
#ifndef GUEST_SEGMENTS_H
#define GUEST_SEGMENTS_H
#define GUEST_CODE32_SEL 0x08	/* flat 32-bit code, used until long mode is on */
#define GUEST_DATA_SEL 0x10	/* flat data; in long mode only its presence matters */
#define GUEST_CODE_SEL 0x18	/* 64-bit code (L=1, D=0) */
#endif
