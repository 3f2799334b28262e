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
 * Handshake (bench/lttng_session.py): "ready" on stdout once main runs (liblttng-ust
 * registered with the session daemon in a constructor before it, given enough
 * LTTNG_UST_REGISTER_TIMEOUT), then a line on stdin once `lttng start` returned; only then
 * the events.  The tracepoint can be enabled before the session is active in this app,
 * and the probe drops events of an inactive session without counting them as
 * discarded: the count check downstream would refuse the short trace.
 *
 * Exit status: 0 after N events; 2 for a bad argument; 3 when stdin closed without the
 * line or no session enabled the tracepoint by then.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

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
	printf("ready\n");
	fflush(stdout);
	char go[16];
	if (!fgets(go, sizeof(go), stdin)) {
		fprintf(stderr, "lttng-emit: stdin closed before the go line\n");
		return 3;
	}
	if (!lttng_ust_tracepoint_enabled(hv_bench, intercept)) {
		fprintf(stderr, "lttng-emit: hv_bench:intercept is not enabled by any session\n");
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
