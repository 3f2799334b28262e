#ifndef HV_NMI_EDU_H
#define HV_NMI_EDU_H
#include "core/types.h"
struct percpu;
struct hv_options;
/* `nmi_edu=U`: QEMU's edu device's DMA timer as an NMI source on the virtual
 * clock (nmi_edu.c).  Init on the BSP before any guest runs; panics if the
 * device is missing.  `os`: an OS guest, whose NMIs all go to CPU 0. */
void nmi_edu_init(const struct hv_options *o, bool os);
/* CPU 0's exit tails: re-arm once the last DMA has completed and its gap passed. */
void nmi_edu_exit_point(struct percpu *c);
#endif
