/*
 * heisen: the Linux guest's one helper binary (static, runs from the initramfs).
 *
 *   heisen report STATUS   STATUS = pass | fail | a number (pass = 0, fail =
 *                          GUEST_FAIL_BAD_RESULT).  Issues HC_REPORT(STATUS,
 *                          1, 0), then reads this CPU's NMI count from
 *                          /proc/interrupts and issues HC_NMI_COUNTS(nmis, 0, 0).
 *                          Run it pinned (taskset -c N): the hypervisor files
 *                          the report under the CPU the vmmcall comes from.
 *                          The second hypercall may end the machine.
 *   heisen program-exit WHERE STATUS
 *                          a test program ended: WHERE = the CPU it was pinned
 *                          to, or "any"; STATUS = its exit status.  Issues
 *                          HC_GUEST_EVENT(PROGRAM_EXIT, WHERE, STATUS), so the
 *                          trace and the verdict carry it.
 *   heisen exit CODE       CODE = pass | fail | a number (pass = DEBUG_EXIT_PASS,
 *                          fail = DEBUG_EXIT_FAIL): writes it to QEMU's
 *                          isa-debug-exit port, which exits QEMU with status
 *                          (CODE << 1) | 1.  For plain QEMU runs only.
 *
 * Every constant comes from include/heisen/defs.h (generated from the defs/ tables).
 * Bad usage: a message on stderr and exit status 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <termios.h>
#include <unistd.h>

#define TRACE_OFF /* defs.h: no trace emitters here */
#include <heisen/defs.h>
#include "vmmcall.h"

#define USAGE "usage: heisen report pass|fail|STATUS\n       heisen program-exit CPU|any STATUS\n" \
              "       heisen exit pass|fail|CODE\n"

static int usage(const char *why)
{
	fprintf(stderr, "heisen: %s\n%s", why, USAGE);
	return 2;
}

/* "pass", "fail" or a number (decimal, 0x hex) that fits in max. */
static int parse_value(const char *s, uint64_t pass, uint64_t fail, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (strcmp(s, "pass") == 0) {
		*out = pass;
		return 0;
	}
	if (strcmp(s, "fail") == 0) {
		*out = fail;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Let the console drain before something that may end the machine. */
static void flush_out(void)
{
	fflush(stdout);
	if (isatty(STDOUT_FILENO))
		tcdrain(STDOUT_FILENO);
}

/*
 * This CPU's count in the "NMI:" row of /proc/interrupts.  The header names
 * the online CPUs ("CPU0 CPU1 ..."); the row's i-th number belongs to the
 * i-th name.  Returns -1 (and says why) when the file does not tell.
 */
static long long nmi_count(int cpu)
{
	char line[8192], want[32];
	FILE *f = fopen("/proc/interrupts", "r");
	int col = -1, i = 0;
	char *tok, *save;
	long long n = -1;

	if (!f) {
		perror("heisen: /proc/interrupts");
		return -1;
	}
	snprintf(want, sizeof(want), "CPU%d", cpu);
	if (fgets(line, sizeof(line), f)) {
		for (tok = strtok_r(line, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save), i++)
			if (strcmp(tok, want) == 0)
				col = i;
	}
	while (col >= 0 && fgets(line, sizeof(line), f)) {
		tok = strtok_r(line, " \t\n", &save);
		if (!tok || strcmp(tok, "NMI:") != 0)
			continue;
		for (i = 0; (tok = strtok_r(NULL, " \t\n", &save)) && i < col; i++)
			;
		if (tok && *tok >= '0' && *tok <= '9')
			n = strtoll(tok, NULL, 10);
		break;
	}
	fclose(f);
	if (n < 0)
		fprintf(stderr, "heisen: no NMI count for %s in /proc/interrupts\n", want);
	return n;
}

static int cmd_report(const char *arg)
{
	uint64_t status, ret;
	long long nmis;
	int cpu;

	if (parse_value(arg, 0, GUEST_FAIL_BAD_RESULT, UINT32_MAX, &status))
		return usage("report: STATUS must be pass, fail or a number");
	cpu = sched_getcpu();
	if (cpu < 0) {
		perror("heisen: sched_getcpu");
		return 1;
	}
	printf("heisen: cpu %d: HC_REPORT(status=%" PRIu64 ", count=1, detail=0)\n", cpu, status);
	flush_out();
	ret = vmmcall(HC_REPORT, status, 1, 0);
	printf("heisen: cpu %d: HC_REPORT -> %#" PRIx64 "\n", cpu, ret);
	flush_out();
	/* The count is read after HC_REPORT: from there to HC_NMI_COUNTS the
	 * hypervisor injects no NMI (hv/core/nmi_virt.c), so the count read here
	 * is the one it compares with what it injected. */
	nmis = nmi_count(cpu);
	if (nmis < 0)
		nmis = 0; /* still report: the verdict matters more than the tally */
	ret = vmmcall(HC_NMI_COUNTS, (uint64_t)nmis, 0, 0);
	/* Lost when that call ended the machine; the hypervisor's verdict line
	 * carries the count too. */
	printf("heisen: cpu %d: HC_NMI_COUNTS(received=%lld, nested=0, sent=0) -> %#" PRIx64 "\n", cpu, nmis, ret);
	flush_out();
	return 0;
}

static int cmd_program_exit(const char *where, const char *status)
{
	uint64_t cpu, st, ret;

	if (strcmp(where, "any") == 0)
		cpu = PROGRAM_ANY_CPU;
	else if (parse_value(where, 0, 0, PROGRAM_ANY_CPU - 1, &cpu) || !strcmp(where, "pass") ||
		 !strcmp(where, "fail"))
		return usage("program-exit: WHERE must be a CPU number or any");
	if (parse_value(status, 0, 1, 255, &st) || !strcmp(status, "pass") || !strcmp(status, "fail"))
		return usage("program-exit: STATUS must be an exit status 0..255");
	ret = vmmcall(HC_GUEST_EVENT, GUEST_EV_PROGRAM_EXIT, cpu, st);
	if (ret != 0) {
		fprintf(stderr, "heisen: HC_GUEST_EVENT(PROGRAM_EXIT) -> %#" PRIx64 "\n", ret);
		return 1;
	}
	return 0;
}

static int cmd_exit(const char *arg)
{
	uint64_t code;

	if (parse_value(arg, DEBUG_EXIT_PASS, DEBUG_EXIT_FAIL, 0xff, &code))
		return usage("exit: CODE must be pass, fail or a number 0..255");
	if (ioperm(DEBUG_EXIT_PORT, 1, 1)) {
		perror("heisen: ioperm");
		return 1;
	}
	printf("heisen: exit %#" PRIx64 " to port %#x\n", code, DEBUG_EXIT_PORT);
	flush_out();
	outb((unsigned char)code, DEBUG_EXIT_PORT);
	/* Still here: no isa-debug-exit device at that port. */
	fprintf(stderr, "heisen: still running after the write to port %#x\n", DEBUG_EXIT_PORT);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "program-exit") == 0)
		return cmd_program_exit(argv[2], argv[3]);
	if (argc != 3)
		return usage(argc < 2 ? "no command" : "wrong number of arguments");
	if (strcmp(argv[1], "report") == 0)
		return cmd_report(argv[2]);
	if (strcmp(argv[1], "exit") == 0)
		return cmd_exit(argv[2]);
	return usage("unknown command");
}
