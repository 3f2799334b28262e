/*
 * The VMCB (AMD APM vol. 2, appendix B).  Every field is declared with its
 * architectural width and checked against its offset: XMHF64's `field-
 * width` bug was a 32-bit control field accessed as 64 bits, silently
 * clobbering its neighbour.  The zoo's `field-width` puts that back
 * (hv/arch/svm/svm.c, svm_set_intercept_misc).
 */
#ifndef HV_SVM_VMCB_H
#define HV_SVM_VMCB_H

#include "core/types.h"

struct vmcb_seg {
	u16 sel;
	u16 attrib;	/* 12 bits: access byte 7:0, AVL/L/D/G 11:8 (docs/platform.md P6) */
	u32 limit;
	u64 base;
} __packed;

struct vmcb_control {
	u16 cr_read, cr_write;		/* 0x000 */
	u16 dr_read, dr_write;		/* 0x004 */
	u32 exceptions;			/* 0x008 */
	u32 misc1;			/* 0x00c */
	u32 misc2;			/* 0x010 */
	u32 misc3;			/* 0x014 */
	u8 rsvd0[0x3c - 0x18];
	u16 pause_threshold;		/* 0x03c */
	u16 pause_count;		/* 0x03e */
	u64 iopm_pa;			/* 0x040 */
	u64 msrpm_pa;			/* 0x048 */
	u64 tsc_offset;			/* 0x050 */
	u32 asid;			/* 0x058 */
	u8 tlb_control;			/* 0x05c */
	u8 rsvd1[3];
	u64 vintr;			/* 0x060 */
#define V_INTR_MASKING (1ull << 24)	/* physical INTR masked by the host's RFLAGS.IF */
	u64 interrupt_shadow;		/* 0x068 */
	u64 exitcode;			/* 0x070 */
	u64 exitinfo1;			/* 0x078 */
	u64 exitinfo2;			/* 0x080 */
	u64 exitintinfo;		/* 0x088 */
	u64 np_enable;			/* 0x090 */
	u8 rsvd2[0xa8 - 0x98];
	u64 eventinj;			/* 0x0a8 */
	u64 n_cr3;			/* 0x0b0 */
	u64 lbr_virt;			/* 0x0b8 */
	u32 clean;			/* 0x0c0 */
	u32 rsvd3;
	u64 next_rip;			/* 0x0c8: stays 0 under TCG (no NRIPS) */
	u8 rsvd4[0x400 - 0xd0];
} __packed;

struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr;	/* 0x400 */
	u8 rsvd0[0x4cb - 0x4a0];
	u8 cpl;				/* 0x4cb */
	u32 rsvd1;
	u64 efer;			/* 0x4d0 */
	u8 rsvd2[0x548 - 0x4d8];
	u64 cr4, cr3, cr0, dr7, dr6, rflags, rip;	/* 0x548 .. 0x578 */
	u8 rsvd3[0x5d8 - 0x580];
	u64 rsp;			/* 0x5d8 */
	u8 rsvd4[0x5f8 - 0x5e0];
	u64 rax;			/* 0x5f8 */
	u64 star, lstar, cstar, sfmask, kernel_gs_base;	/* 0x600 */
	u64 sysenter_cs, sysenter_esp, sysenter_eip;	/* 0x628 */
	u64 cr2;			/* 0x640 */
	u8 rsvd5[0x668 - 0x648];
	u64 g_pat;			/* 0x668 */
	u8 rsvd6[0x1000 - 0x670];
} __packed;

struct vmcb {
	struct vmcb_control ctl;
	struct vmcb_save save;
} __packed;

_Static_assert(sizeof(struct vmcb) == 4096, "VMCB is one page");
_Static_assert(__builtin_offsetof(struct vmcb, ctl.misc1) == 0x00c, "misc1");
_Static_assert(__builtin_offsetof(struct vmcb, ctl.misc2) == 0x010, "misc2");
_Static_assert(__builtin_offsetof(struct vmcb, ctl.asid) == 0x058, "asid");
_Static_assert(__builtin_offsetof(struct vmcb, ctl.exitcode) == 0x070, "exitcode");
_Static_assert(__builtin_offsetof(struct vmcb, ctl.eventinj) == 0x0a8, "eventinj");
_Static_assert(__builtin_offsetof(struct vmcb, ctl.next_rip) == 0x0c8, "next_rip");
_Static_assert(__builtin_offsetof(struct vmcb, save.cpl) == 0x4cb, "cpl");
_Static_assert(__builtin_offsetof(struct vmcb, save.efer) == 0x4d0, "efer");
_Static_assert(__builtin_offsetof(struct vmcb, save.cr4) == 0x548, "cr4");
_Static_assert(__builtin_offsetof(struct vmcb, save.rip) == 0x578, "rip");
_Static_assert(__builtin_offsetof(struct vmcb, save.rsp) == 0x5d8, "rsp");
_Static_assert(__builtin_offsetof(struct vmcb, save.rax) == 0x5f8, "rax");
_Static_assert(__builtin_offsetof(struct vmcb, save.cr2) == 0x640, "cr2");
_Static_assert(__builtin_offsetof(struct vmcb, save.g_pat) == 0x668, "g_pat");

/* misc1 intercepts */
#define INTERCEPT_NMI (1u << 1)
#define INTERCEPT_RDTSC (1u << 14)
#define INTERCEPT_CPUID (1u << 18)
#define INTERCEPT_IRET (1u << 20)
#define INTERCEPT_IOIO_PROT (1u << 27)
#define INTERCEPT_MSR_PROT (1u << 28)
#define INTERCEPT_SHUTDOWN (1u << 31)
/* misc2 intercepts */
#define INTERCEPT_VMRUN (1u << 0)
#define INTERCEPT_VMMCALL (1u << 1)
#define INTERCEPT_VMLOAD (1u << 2)
#define INTERCEPT_VMSAVE (1u << 3)
#define INTERCEPT_STGI (1u << 4)
#define INTERCEPT_CLGI (1u << 5)
#define INTERCEPT_SKINIT (1u << 6)

/* IOIO exit: EXITINFO1 (APM vol. 2 15.10.2); EXITINFO2 = the next RIP */
#define IOIO_IN (1ull << 0)
#define IOIO_STRING (1ull << 2)
#define IOIO_SIZE_SHIFT 4		/* bits 4..6: 1, 2 or 4 bytes, one-hot */
#define IOIO_PORT_SHIFT 16

/* EVENTINJ / EXITINTINFO */
#define EVENT_VALID (1ull << 31)
#define EVENT_HAS_ERROR (1ull << 11)
#define EVENT_TYPE_NMI (2ull << 8)
#define EVENT_TYPE_EXCEPTION (3ull << 8)

#endif
