/*
 * hvtest: XMHF64's `test` program, a Linux process making TEST hypercalls
 * (XMHF64's TV_HC_TEST) from ring 3.
 *
 *   hvtest N            N calls, arguments 1..N, each with TEST_FLAG_QUIESCE
 *                       (XMHF64's TV_HC_TEST stopped the world every time);
 *                       each result is checked against the TEST formula
 *                       (defs/hypercalls.toml) for the CPU that served it.
 *   hvtest 1000000      XMHF64's special value: one call that sleeps in the
 *                       hypervisor first (TEST_FLAG_SLEEP)
 *   hvtest 1000008      XMHF64's special value: one call during which the
 *                       hypervisor sends this CPU an NMI (TEST_FLAG_SELF_NMI)
 *   hvtest sleep-N      N such sleeping calls, one after another (XMHF64's
 *                       `while ! ./test 1000000; do true; done`)
 *   hvtest nmi-N        N such self-NMI calls, one after another
 *   hvtest --privileged every kernel-only hypercall (not `user` in the table)
 *                       must come back HC_ERR_PRIVILEGED, and a user one must
 *                       not: the hypervisor's ABI for processes
 *
 * Exit status 0 when every check held, 1 when one failed (the first is
 * printed), 2 for bad usage.  Unpinned, the process may move between CPUs
 * between calls, so a result is accepted for any CPU index below the CPU
 * count and the CPUs seen are reported.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRACE_OFF /* defs.h: no trace emitters here */
#include <heisen/defs.h>
#include "vmmcall.h"

#define USAGE "usage: hvtest N | 1000000 | 1000008 | sleep-N | nmi-N | --privileged\n"
#define XMHF64_SLEEP 1000000ull
#define XMHF64_SELF_NMI 1000008ull
#define MAX_CALLS 0x0fffffffull	/* arguments stay below the TEST flag bits */
#define MAX_CPUS 64

static int usage(const char *why)
{
	fprintf(stderr, "hvtest: %s\n%s", why, USAGE);
	return 2;
}

static void no_hypervisor(int sig)
{
	static const char msg[] = "hvtest: vmmcall raised SIGILL: no SVM hypervisor under this kernel\n";
	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

/* The CPU whose checksum `result` is, or -1. */
static int served_by(uint64_t arg, uint64_t result, unsigned ncpus)
{
	for (unsigned cpu = 0; cpu < ncpus; cpu++)
		if (result == hc_test_checksum(arg, cpu))
			return (int)cpu;
	return -1;
}

static int run_calls(uint64_t first, uint64_t n, uint64_t flags)
{
	uint64_t ncpus = vmmcall(HC_GET_INFO, INFO_CPU_COUNT, 0, 0);
	uint64_t per_cpu[MAX_CPUS] = { 0 };

	if (ncpus == 0 || ncpus > MAX_CPUS) {
		fprintf(stderr, "hvtest: GET_INFO(CPU_COUNT) returned %#" PRIx64 "\n", ncpus);
		return 1;
	}
	for (uint64_t i = first; i < first + n; i++) {
		uint64_t arg = i | flags, r = vmmcall(HC_TEST, arg, 0, 0);
		int cpu = served_by(arg, r, (unsigned)ncpus);
		if (cpu < 0) {
			fprintf(stderr, "hvtest: call %" PRIu64 " (arg %#" PRIx64 "): result %#" PRIx64
				" is no CPU's checksum\n", i, arg, r);
			return 1;
		}
		per_cpu[cpu]++;
	}
	printf("hvtest: %" PRIu64 " TEST calls (flags %#" PRIx64 ") checked; by CPU:", n, flags);
	for (uint64_t c = 0; c < ncpus; c++)
		printf(" %" PRIu64, per_cpu[c]);
	printf("\n");
	return 0;
}

static int privileged(void)
{
	static const struct { const char *name; uint64_t nr; } calls[] = {
#define HC_ENTRY(name, nr) { #name, nr },
		HEISEN_HYPERCALLS(HC_ENTRY)
#undef HC_ENTRY
	};
	unsigned refused = 0;
	/* Arguments that would do harm if a call were served: the hypervisor's
	 * own start address as a buffer or descriptor. */
	uint64_t hv = vmmcall(HC_GET_INFO, INFO_HV_START, 0, 0);

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		if ((HC_USER_MASK >> calls[i].nr) & 1)
			continue;
		uint64_t r = vmmcall(calls[i].nr, hv, 64, 0);
		if (r != HC_ERR_PRIVILEGED) {
			fprintf(stderr, "hvtest: kernel-only %s (nr %" PRIu64 ") from CPL 3 returned %#" PRIx64
				", not HC_ERR_PRIVILEGED\n", calls[i].name, calls[i].nr, r);
			return 1;
		}
		refused++;
	}
	uint64_t r = vmmcall(HC_GET_INFO, INFO_CPU_COUNT, 0, 0);
	if (r == HC_ERR_PRIVILEGED || r == 0) {
		fprintf(stderr, "hvtest: user call GET_INFO(CPU_COUNT) returned %#" PRIx64 "\n", r);
		return 1;
	}
	printf("hvtest: %u kernel-only hypercalls refused from CPL 3 with HC_ERR_PRIVILEGED; "
	       "GET_INFO(CPU_COUNT) served: %" PRIu64 "\n", refused, r);
	return refused ? 0 : 1;
}

int main(int argc, char **argv)
{
	char *end;
	unsigned long long n;

	if (argc != 2)
		return usage(argc < 2 ? "no argument" : "one argument only");
	signal(SIGILL, no_hypervisor);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "--privileged") == 0)
		return privileged();
	const char *num = argv[1];
	uint64_t repeat_flags = 0;
	if (strncmp(num, "sleep-", 6) == 0)
		num += 6, repeat_flags = TEST_FLAG_SLEEP;
	else if (strncmp(num, "nmi-", 4) == 0)
		num += 4, repeat_flags = TEST_FLAG_SELF_NMI;
	if (num[0] < '0' || num[0] > '9')
		return usage("N must be a decimal number");
	errno = 0;
	n = strtoull(num, &end, 10);
	if (errno || *end || n == 0 || n > MAX_CALLS)
		return usage("N must be a number from 1 to 268435455");
	if (repeat_flags)
		return run_calls(1, n, repeat_flags);
	if (n == XMHF64_SLEEP)
		return run_calls(n, 1, TEST_FLAG_SLEEP);
	if (n == XMHF64_SELF_NMI)
		return run_calls(n, 1, TEST_FLAG_SELF_NMI);
	return run_calls(1, n, TEST_FLAG_QUIESCE);
}
