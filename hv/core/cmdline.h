#ifndef HV_CMDLINE_H
#define HV_CMDLINE_H
#include "core/types.h"
/* Value of `key=` in the command line (points into it; *len = its length). */
const char *cmdline_get(const char *cmdline, const char *key, u32 *len);
/* The workload for CPU `cpu`: `wl<cpu>=` if present, else `wl=`, else "hello". */
const char *cmdline_workload(const char *cmdline, u32 cpu, u32 *len);

/* A decimal or 0x-hex number that fills [v, v + len) exactly and fits 64 bits. */
bool cmdline_number(const char *v, u32 len, u64 *out);

/* Why a command line was refused: `why`, about the word [word, word + word_len). */
struct cmdline_error {
	const char *why;
	const char *word;
	u32 word_len;
};
#define CMDLINE_VALUE_MAX 63	/* a vCPU's workload buffer holds 63 characters */

/*
 * The whole command line, checked before the hypervisor acts on any of it:
 * only known keys, each at most once; numbers that are numbers; a workload
 * name the guests know with the argument its rule wants (a count >= 1);
 * values of at most CMDLINE_VALUE_MAX characters; `wlN=` only for a CPU
 * below ncpus.  A typo must not run as something else (`wl=test:0` passing
 * with no calls, a 64-character value cut to a shorter one).
 */
bool cmdline_check(const char *cmdline, u32 ncpus, struct cmdline_error *err);

/* How trace frames leave the machine: `trace=` absent (streamed to COM1),
 * `record`, `mem` or `e9` (streamed to I/O port 0xE9, trace_glue.c). */
enum trace_mode { TRACE_MODE_STREAM, TRACE_MODE_RECORD, TRACE_MODE_MEM, TRACE_MODE_E9 };

/*
 * The options the hypervisor acts on, parsed once from a checked command line
 * (hv_main).  Each consumer takes this struct instead of re-reading its key, so
 * what the OPTIONS trace record echoes (hv_options_flags) is exactly what the
 * hypervisor runs with, and one parser knows the syntax.  Workloads (wl=, wlN=)
 * stay strings the vCPUs copy (cmdline_workload).
 */
struct hv_options {
	u64 seed;		/* 0 when not given: no perturbation */
	u64 nmi_every;		/* 0: no in-machine NMIs */
	u64 nmi_edu;		/* mean us of the seeded gap between device NMIs (core/nmi_edu.c); 0: none */
	bool seed_given;	/* `seed=0` and no seed act alike, but the harness sent one or the other */
	bool nmi_com2;
	bool testhc;
	/* Every guest RDTSC exits (arch_rdtsc_exit): what makes SMP Linux
	 * deterministic under QEMU's one-thread icount round robin
	 * (docs/linux-guest.md "Determinism"). */
	bool rdtsc_exit;
	enum trace_mode trace;
};

/* Only after cmdline_check() accepted the line: it assumes every value is valid. */
void hv_options_parse(const char *cmdline, struct hv_options *out);
/* The OPTIONS record's flags field (trace/events.toml flags.flags). */
u64 hv_options_flags(const struct hv_options *o);
#endif
