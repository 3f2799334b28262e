#ifndef HV_CMDLINE_H
#define HV_CMDLINE_H
#include "core/types.h"
/* Value of `key=` in the command line (points into it; *len = its length). */
const char *cmdline_get(const char *cmdline, const char *key, u32 *len);
/* The workload for CPU `cpu`: `wl<cpu>=` if present, else `wl=`, else "hello". */
const char *cmdline_workload(const char *cmdline, u32 cpu, u32 *len);
#endif
