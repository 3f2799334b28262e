/*
 * A small nested page table built from a fixed pool: exactly the listed
 * guest-physical pages, each to its host page, nothing else (a PAL's own
 * table, hv/hypapps/pal.c).  The walk and the pool are the same for NPT and
 * EPT; only the entry bits differ, and the backend supplies them
 * (arch_nested_format, hv/arch/arch.h).  Pure: the host tests
 * (tests/hv/nested_build_driver.c) build tables in host memory and walk them.
 */
#ifndef HV_NESTED_BUILD_H
#define HV_NESTED_BUILD_H
#include "core/types.h"

struct pal_map {
	u64 gpa, hpa;
	bool writable;
};

/* One backend's entry format.  Every entry either function returns is
 * nonzero: the builder takes a zero entry for "no table here yet". */
struct nested_format {
	u64 (*table)(u64 table_pa);		/* points at a next-level table */
	u64 (*leaf)(u64 hpa, bool writable);	/* a present 4 KiB page, executable */
	u64 addr_mask;				/* a table entry's address bits */
};

/* Tables to build from: `size` zeroed-on-take 4 KiB pages, `used` taken. */
struct nested_pool {
	u64 (*page)[512];
	u32 size, used;
};

/* The root's physical address; 0 when the pool runs out.  The pool is
 * reused from its start: a slot's previous table is gone. */
u64 nested_build(struct nested_pool *pool, const struct nested_format *f,
		 const struct pal_map *maps, u32 n);
#endif
