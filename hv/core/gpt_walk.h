/*
 * A software walk of a guest's 4-level (long mode) page tables.  Pure: the
 * guest's memory is read through a callback, so the hypervisor reads guest
 * RAM and the host tests (tests/hv/gpt_walk_driver.c) feed synthetic tables.
 */
#ifndef HV_GPT_WALK_H
#define HV_GPT_WALK_H
#include "core/types.h"

/* Read the 8-byte entry at guest-physical `gpa` (8-aligned) into *val; false
 * when the hypervisor must not read there (outside guest RAM, its own memory). */
typedef bool (*gpt_read_fn)(void *ctx, u64 gpa, u64 *val);

enum gpt_status {
	GPT_OK,
	GPT_NONCANONICAL,	/* bits 63:47 not all equal: #GP, not #PF, on a CPU */
	GPT_NOT_PRESENT,
	GPT_RESERVED,		/* a reserved bit set: the CPU would #PF with RSVD */
	GPT_UNREADABLE,		/* the reader refused a table's address */
};

struct gpt_result {
	u64 pa;			/* the physical address va translates to */
	u64 page_size;		/* 4 KiB, 2 MiB or 1 GiB */
	u32 level;		/* the level that failed or mapped: 4 = PML4 .. 1 = PT */
	bool writable, user, nx;	/* effective, over every level */
};

enum gpt_status gpt_walk(u64 cr3, u64 va, gpt_read_fn read, void *ctx, struct gpt_result *out);
#endif
