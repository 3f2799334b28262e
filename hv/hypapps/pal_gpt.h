#ifndef HV_PAL_GPT_H
#define HV_PAL_GPT_H
#include "core/types.h"
/* The guest page table a process's PAL runs on (hv/hypapps/pal_gpt.c). */
#define PAL_GPT_PAGES 6
/* Builds slot's table in hypervisor memory: `va` (npages, one 2 MiB block)
 * -> pages[], every other address -> the 2 MiB block at `trap`.  The table's
 * page i sits at guest-physical window + i * 4096 (page 0: the PML4, the
 * PAL's CR3); its host address is returned in host[i]. */
void pal_gpt_build(u32 slot, u64 window, u64 trap, u64 va, const u64 *pages, u32 npages,
		   u64 host[PAL_GPT_PAGES]);
#endif
