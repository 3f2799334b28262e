/*
 * bench-trace: cost of one trace record, side by side in one process, methods
 * interleaved round by round (so frequency changes and noisy neighbours hit all alike),
 * median of the rounds:
 *   - a bare rdtsc loop: the floor of any timestamped record;
 *   - trace_emit(INTERCEPT_ENTER, reason, rip): our producer, through the same platform
 *     seam as the hypervisor (a call for the ring, a call for the clock);
 *   - pthread mutex + snprintf of the equivalent text line into a buffer (XMHF64's
 *     printf under a lock, minus the UART);
 *   - LTTng-UST tracepoint of an equivalent event (bench/trace/lttng_tp.h), with no
 *     session (a disabled tracepoint), and with an active session recording it
 *     (snapshot = overwrite mode, so every event is written and none is discarded).
 * Usage: bench-trace [--iters N] [--rounds R] [--no-lttng-session]
 *        bench-trace --callgrind emit|mutex|lttng N   (for valgrind --toggle-collect)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "host_platform.h"
#include "lttng_tp.h"
#include "ring.h"

#define NSLOTS (1u << 16)
#define RIP 0x2001234ull

static struct trace_ring *ring;
static volatile uint64_t sink;

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* ---- the methods, one record each ---------------------------------------------- */

__attribute__((noinline)) void bench_emit_one(uint64_t i)
{
	trace_emit(TRACE_EV_INTERCEPT_ENTER, 0x81, RIP + (i & 7), 0);
}

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_buf[1 << 20];
static size_t log_pos;

__attribute__((noinline)) void bench_mutex_one(uint64_t i)
{
	pthread_mutex_lock(&log_lock);
	if (log_pos > sizeof(log_buf) - 128)
		log_pos = 0;
	log_pos += (size_t)snprintf(log_buf + log_pos, 128, "%llu intercept_enter reason=%#x rip=%#llx\n",
				    (unsigned long long)__rdtsc(), 0x81u, (unsigned long long)(RIP + (i & 7)));
	pthread_mutex_unlock(&log_lock);
}

__attribute__((noinline)) void bench_lttng_one(uint64_t i)
{
	lttng_ust_tracepoint(hv_bench, intercept_enter, 0x81, RIP + (i & 7));
}

/* ---- timed loops ----------------------------------------------------------------- */

static double time_rdtsc(uint64_t n)
{
	uint64_t acc = 0;
	double t0 = now_ns();
	for (uint64_t i = 0; i < n; i++)
		acc += __rdtsc();
	double t1 = now_ns();
	sink = acc;
	return (t1 - t0) / (double)n;
}

static double time_emit(uint64_t n)
{
	double t0 = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		bench_emit_one(i);
		/* The consumer: gives the slots back now and then, so no record is dropped. */
		if ((i & 1023) == 1023)
			ring->tail = ring->commit;
	}
	double t1 = now_ns();
	ring->tail = ring->commit;
	return (t1 - t0) / (double)n;
}

static double time_mutex(uint64_t n)
{
	double t0 = now_ns();
	for (uint64_t i = 0; i < n; i++)
		bench_mutex_one(i);
	return (now_ns() - t0) / (double)n;
}

static double time_lttng(uint64_t n)
{
	double t0 = now_ns();
	for (uint64_t i = 0; i < n; i++)
		bench_lttng_one(i);
	return (now_ns() - t0) / (double)n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum { M_RDTSC, M_EMIT, M_MUTEX, M_LTTNG, M_COUNT };
static const char *const method_name[M_COUNT] = {
	"rdtsc loop (the floor)", "trace_emit (ours)", "pthread mutex + snprintf", "LTTng-UST tracepoint",
};
static double (*const method_fn[M_COUNT])(uint64_t) = { time_rdtsc, time_emit, time_mutex, time_lttng };

/* Interleaved rounds of the methods in `which`; medians into med[]. */
static void measure(const int *which, int nwhich, uint64_t iters, int rounds, double *med)
{
	double samples[M_COUNT][64];
	for (int w = 0; w < nwhich; w++)
		method_fn[which[w]](iters / 10);  /* warm caches, page in buffers */
	for (int r = 0; r < rounds; r++)
		for (int w = 0; w < nwhich; w++)
			samples[which[w]][r] = method_fn[which[w]](iters);
	for (int w = 0; w < nwhich; w++)
		med[which[w]] = median(samples[which[w]], rounds);
}

/* ---- LTTng session control (lttng CLI; the session daemon is started by bench.mk) -- */

static int sh(const char *cmd)
{
	char full[512];
	snprintf(full, sizeof(full), "%s >/dev/null 2>&1", cmd);
	return system(full);
}

static int lttng_session_start(void)
{
	sh("lttng destroy heisen-bench");
	if (sh("lttng create heisen-bench --snapshot --output=/tmp/heisen-bench-lttng") ||
	    sh("lttng enable-event --userspace --session=heisen-bench hv_bench:intercept_enter") ||
	    sh("lttng start heisen-bench"))
		return -1;
	/* The app learns of the session from its listener thread: wait until the probe is live. */
	for (int i = 0; i < 500; i++) {
		if (lttng_ust_tracepoint_enabled(hv_bench, intercept_enter))
			return 0;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

static void lttng_session_stop(void)
{
	sh("lttng stop heisen-bench");
	sh("lttng destroy heisen-bench");
}

static void print_row(int m, double ns, const char *vs)
{
	printf("    %-28s %8.2f ns   %s\n", method_name[m], ns, vs);
}

int main(int argc, char **argv)
{
	uint64_t iters = 2000000;
	int rounds = 7, want_session = 1;

	ring = host_ring_new(0, NSLOTS);
	host_set_rings(&ring, 1);
	host_set_current_ring(ring);
	host_clock(HOST_CLOCK_RDTSC, 0);

	if (argc == 4 && strcmp(argv[1], "--callgrind") == 0) {
		uint64_t n = strtoull(argv[3], NULL, 0);
		void (*one)(uint64_t) = strcmp(argv[2], "emit") == 0 ? bench_emit_one
				      : strcmp(argv[2], "mutex") == 0 ? bench_mutex_one
				      : strcmp(argv[2], "lttng") == 0 ? bench_lttng_one : NULL;
		if (!one) {
			fprintf(stderr, "bench-trace: --callgrind emit|mutex|lttng N\n");
			return 2;
		}
		for (uint64_t i = 0; i < n; i++) {
			one(i);
			if ((i & 1023) == 1023)
				ring->tail = ring->commit;
		}
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
			iters = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--no-lttng-session") == 0)
			want_session = 0;
		else {
			fprintf(stderr, "usage: bench-trace [--iters N] [--rounds R] [--no-lttng-session]\n");
			return 2;
		}
	}
	if (rounds < 1 || rounds > 64)
		rounds = 7;

	double a[M_COUNT] = { 0 }, b[M_COUNT] = { 0 };
	char vs[128];
	printf("bench-trace: %llu records x %d rounds per method, interleaved; median ns per record\n",
	       (unsigned long long)iters, rounds);

	measure((const int[]){ M_RDTSC, M_EMIT, M_MUTEX, M_LTTNG }, 4, iters, rounds, a);
	printf("  phase 1: no LTTng session\n");
	print_row(M_RDTSC, a[M_RDTSC], "");
	snprintf(vs, sizeof(vs), "%.2fx the rdtsc floor", a[M_EMIT] / a[M_RDTSC]);
	print_row(M_EMIT, a[M_EMIT], vs);
	snprintf(vs, sizeof(vs), "%.1fx trace_emit", a[M_MUTEX] / a[M_EMIT]);
	print_row(M_MUTEX, a[M_MUTEX], vs);
	snprintf(vs, sizeof(vs), "%.2fx trace_emit (disabled: a load and a branch, records nothing)",
		 a[M_LTTNG] / a[M_EMIT]);
	print_row(M_LTTNG, a[M_LTTNG], vs);
	if (ring->dropped != 0)
		printf("  WARNING: %llu records dropped: the emit loop measured the drop path\n",
		       (unsigned long long)ring->dropped);

	int session = want_session && lttng_session_start() == 0;
	if (session) {
		measure((const int[]){ M_RDTSC, M_EMIT, M_LTTNG }, 3, iters, rounds, b);
		lttng_session_stop();
		printf("  phase 2: LTTng session recording hv_bench:intercept_enter (snapshot/overwrite mode)\n");
		print_row(M_RDTSC, b[M_RDTSC], "");
		snprintf(vs, sizeof(vs), "%.2fx the rdtsc floor", b[M_EMIT] / b[M_RDTSC]);
		print_row(M_EMIT, b[M_EMIT], vs);
		snprintf(vs, sizeof(vs), "%.1fx trace_emit", b[M_LTTNG] / b[M_EMIT]);
		print_row(M_LTTNG, b[M_LTTNG], vs);
	} else {
		printf("  phase 2: skipped: %s\n", want_session ? "no LTTng session could be started (is lttng-sessiond "
			"running? bench.mk starts one)" : "--no-lttng-session");
	}

	double emit = session ? (a[M_EMIT] + b[M_EMIT]) / 2 : a[M_EMIT];
	double floor_ns = session ? (a[M_RDTSC] + b[M_RDTSC]) / 2 : a[M_RDTSC];
	printf("  goals:\n");
	printf("    trace_emit <= 1.5x rdtsc:                 %.2fx  %s\n", emit / floor_ns,
	       emit <= 1.5 * floor_ns ? "met" : "MISSED");
	printf("    >= 5x faster than mutex + snprintf:       %.1fx  %s\n", a[M_MUTEX] / a[M_EMIT],
	       a[M_MUTEX] >= 5 * a[M_EMIT] ? "met" : "MISSED");
	if (session)
		printf("    >= 5x faster than LTTng-UST (recording):  %.1fx  %s\n", b[M_LTTNG] / b[M_EMIT],
		       b[M_LTTNG] >= 5 * b[M_EMIT] ? "met" : "MISSED");
	printf("    (vs a disabled LTTng tracepoint, which records nothing: %.2fx)\n", a[M_LTTNG] / a[M_EMIT]);
	return 0;
}
