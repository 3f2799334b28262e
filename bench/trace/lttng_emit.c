/*
 * lttng-emit N: fire exactly N hv_bench:intercept tracepoints (bench/trace/lttng_tp.h),
 * the CTF trace `make bench-decoder` records and reads back with babeltrace2
 * (bench/lttng_session.py drives the session around this program).
 *
 * Every event carries new argument values (a xorshift stream), as each record of the
 * decoder bench's fresh traces does: a trace of repeated payloads would compress into
 * the reader's caches and flatter it.  The CPU field cycles over 4 CPUs and the exit
 * reasons over the TEST-hypercall workload's mix, as in bench/bench_decoder.py.
 *
 * Exit status: 0 after N events; 2 for a bad argument; 3 when no session enabled the
 * tracepoint within 10 s (events fired before the session daemon's enablers reach this
 * process would be lost silently, and the count check downstream would only say "short").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lttng_tp.h"

int main(int argc, char **argv)
{
	char *end;
	errno = 0;
	unsigned long long n = argc == 2 ? strtoull(argv[1], &end, 10) : 0;
	if (argc != 2 || errno || *end || argv[1][0] < '0' || argv[1][0] > '9') {
		fprintf(stderr, "usage: lttng-emit N   (N events of hv_bench:intercept)\n");
		return 2;
	}
	/* liblttng-ust registers with the session daemon from a constructor and waits for it
	 * only up to LTTNG_UST_REGISTER_TIMEOUT: the enabler can arrive after main starts. */
	int live = 0;
	for (int i = 0; i < 1000 && !live; i++) {
		live = lttng_ust_tracepoint_enabled(hv_bench, intercept);
		if (!live)
			nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	if (!live) {
		fprintf(stderr, "lttng-emit: hv_bench:intercept is not enabled by any session after 10 s\n");
		return 3;
	}
	static const uint32_t reasons[] = { 0x81, 0x81, 0x81, 0x61, 0x7b, 0x72, 0x400, 0x81 };
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (unsigned long long i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		lttng_ust_tracepoint(hv_bench, intercept, (uint32_t)(i & 3), reasons[(x >> 61) & 7],
				     0xffffffff81000000ull + (x & 0xffff), i, x >> 20, x);
	}
	return 0;
}
