/*
 * pal_demo: a PAL (Piece of Application Logic) in this process's own memory,
 * registered with the hypervisor from ring 3 (PAL_REGISTER with virtual
 * addresses, defs/hypercalls.toml), called, unregistered.
 *
 *   pal_demo N    the registration errors a process can provoke come back as
 *                 their PAL_ERR_* codes; then the PAL is registered, the
 *                 process's own read of it faults (SIGSEGV: the hypervisor
 *                 refused it), it is called N times with each result checked,
 *                 unregistered, and its page is readable again with the
 *                 PAL's call count in it.
 *   pal_demo --probe
 *                 isolation while registered: another process that maps the
 *                 same page cannot call the PAL (SIGSEGV); the kernel reading
 *                 the page -- for another process through /proc/PID/mem, for
 *                 this one in write(2) -- gets zeros and revokes the PAL
 *                 (hv/hypapps/pal.c), no oops; a process that exits without
 *                 unregistering does not keep its PAL slot once the kernel
 *                 reuses its pages (all PAL_MAX_PALS slots register again);
 *                 a PAL executing SYSCALL is aborted at CPL 3.
 *
 * The region: page 0 the PAL's code (copied from pal_code_start below,
 * position-independent), page 1 its data (a secret, its call count), pages 2
 * and 3 its stack.  Locked (mlock) for the hypervisor's sake: a page the
 * kernel moved while registered would leave the PAL on the old one.
 *
 * Exit status 0 when every check held, 1 when one failed (the first is
 * printed), 2 for bad usage.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define TRACE_OFF /* defs.h: no trace emitters here */
#include <heisen/defs.h>
#include "vmmcall.h"

#define USAGE "usage: pal_demo N | pal_demo --probe\n"
#define PAGE 4096ul
#define PAL_PAGES 4ul
#define SECRET 0x5eed0000cafeull
#define MAX_CALLS 1000000ul

/* struct pal_desc of defs/hypercalls.toml (PAL_REGISTER). */
struct pal_desc {
	uint64_t region, npages, entry, cr3, stack_top;
};

/* The PAL: RAX = ((RBX * 3 + RCX) ^ calls) + secret, calls counted in its
 * data page; it uses its own stack; it leaves by jumping to 0 (outside its
 * region), which returns to the caller with RAX. */
extern const uint8_t pal_code_start[], pal_code_end[];
__asm__(".pushsection .text.pal, \"ax\"\n"
	"pal_code_start:\n"
	"	push %rbx\n"
	"	lea pal_code_start+4096(%rip), %rsi\n"
	"	incq 8(%rsi)\n"
	"	lea (%rbx,%rbx,2), %rax\n"
	"	add %rcx, %rax\n"
	"	xor 8(%rsi), %rax\n"
	"	add (%rsi), %rax\n"
	"	pop %rbx\n"
	"	xor %ecx, %ecx\n"
	"	jmp *%rcx\n"
	"pal_code_end:\n"
	".popsection\n");

static uint64_t expected(uint64_t x, uint64_t y, uint64_t calls) { return ((x * 3 + y) ^ calls) + SECRET; }

/* The call the hypervisor turns into a PAL switch: below the red zone, since
 * `call` pushes its return address where the compiler may keep locals. */
static uint64_t pal_call(uint64_t entry, uint64_t x, uint64_t y)
{
	uint64_t r;
	__asm__ volatile("sub $128, %%rsp\n\tcall *%[e]\n\tadd $128, %%rsp"
			 : "=a"(r), "+b"(x), "+c"(y)
			 : [e] "r"(entry)
			 : "rsi", "rdx", "memory", "cc");
	return r;
}

static int fail(const char *what, uint64_t got, uint64_t want)
{
	fprintf(stderr, "pal_demo: %s: got %#" PRIx64 ", want %#" PRIx64 "\n", what, got, want);
	return 1;
}

static sigjmp_buf probe_env;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(probe_env, 1);
}

/* Does reading *p fault?  The hypervisor refuses a registered PAL's page to
 * everyone but the PAL: Linux turns the injected #GP into SIGSEGV. */
static int read_faults(const volatile uint64_t *p, uint64_t *val)
{
	struct sigaction sa = { .sa_handler = on_segv }, old;
	int faulted = 1;

	sigaction(SIGSEGV, &sa, &old);
	if (sigsetjmp(probe_env, 1) == 0) {
		*val = *p;
		faulted = 0;
	}
	sigaction(SIGSEGV, &old, NULL);
	return faulted;
}

/* PAL_PAGES pages inside one 2 MiB block (the hypervisor's rule), written
 * (no zero page) and locked. */
static uint8_t *make_region_flags(int share)
{
	uint8_t *m = mmap(NULL, 2 * PAL_PAGES * PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, share | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uint8_t *r = m;
	if (((uintptr_t)r >> 21) != (((uintptr_t)r + PAL_PAGES * PAGE - 1) >> 21))
		r += PAL_PAGES * PAGE;
	memset(r, 0, PAL_PAGES * PAGE);
	memcpy(r, pal_code_start, (size_t)(pal_code_end - pal_code_start));
	*(uint64_t *)(r + PAGE) = SECRET;
	if (mlock(r, PAL_PAGES * PAGE) != 0)
		return NULL;
	/* A private region stays out of forked children: fork would make its
	 * pages copy-on-write, and the copy is the kernel reading them. */
	if (share == MAP_PRIVATE && madvise(m, 2 * PAL_PAGES * PAGE, MADV_DONTFORK) != 0)
		return NULL;
	return r;
}

static uint8_t *make_region(void) { return make_region_flags(MAP_PRIVATE); }

static struct pal_desc describe(const uint8_t *r)
{
	return (struct pal_desc){ (uintptr_t)r, PAL_PAGES, (uintptr_t)r, 0, (uintptr_t)r + PAL_PAGES * PAGE };
}

static uint64_t reg(const struct pal_desc *d) { return vmmcall(HC_PAL_REGISTER, (uintptr_t)d, 0, 0); }

static uint64_t unreg(const void *r) { return vmmcall(HC_PAL_UNREGISTER, (uintptr_t)r, 0, 0); }

/* Registrations that must be refused, each with its own code. */
static int refusals(uint8_t *r)
{
	struct pal_desc good = describe(r), d;
	uint64_t e;

	if ((e = vmmcall(HC_PAL_REGISTER, 0x1000, 0, 0)) != PAL_ERR_BAD_DESCRIPTOR)
		return fail("descriptor at an unmapped address", e, PAL_ERR_BAD_DESCRIPTOR);
	d = good, d.cr3 = good.region;
	if ((e = reg(&d)) != PAL_ERR_BAD_DESCRIPTOR)
		return fail("descriptor with a cr3", e, PAL_ERR_BAD_DESCRIPTOR);
	uint8_t *ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro == MAP_FAILED)
		return fail("mmap", 0, 1);
	d = (struct pal_desc){ (uintptr_t)ro, 1, (uintptr_t)ro, 0, (uintptr_t)ro + PAGE };
	if ((e = reg(&d)) != PAL_ERR_NOT_MAPPED)
		return fail("region never touched", e, PAL_ERR_NOT_MAPPED);
	(void)*(volatile uint8_t *)ro;	/* now the shared zero page, read-only */
	if ((e = reg(&d)) != PAL_ERR_READ_ONLY)
		return fail("region on the zero page", e, PAL_ERR_READ_ONLY);
	munmap(ro, PAGE);
	d = good, d.region = 0xffffffff81000000ull, d.entry = d.region, d.stack_top = d.region + PAGE;
	if ((e = reg(&d)) != PAL_ERR_BAD_RANGE)
		return fail("region in the kernel half", e, PAL_ERR_BAD_RANGE);
	if ((e = unreg(r)) != PAL_ERR_NOT_REGISTERED)
		return fail("unregister before register", e, PAL_ERR_NOT_REGISTERED);
	return 0;
}

static int run(uint64_t n)
{
	uint8_t *r = make_region();
	if (!r)
		return fail("mmap/mlock of the region", 0, 1);
	if (refusals(r))
		return 1;
	struct pal_desc d = describe(r);
	uint64_t e, v;
	if ((e = reg(&d)) != 0)
		return fail("PAL_REGISTER", e, 0);
	if ((e = reg(&d)) != PAL_ERR_ALREADY_REGISTERED)
		return fail("second PAL_REGISTER", e, PAL_ERR_ALREADY_REGISTERED);
	if (!read_faults((const volatile uint64_t *)(r + PAGE), &v))
		return fail("read of the registered PAL's data page did not fault; read", v, SECRET);
	for (uint64_t i = 1; i <= n; i++) {
		uint64_t x = i * 7919, y = i ^ 0x55;
		if ((e = pal_call(d.entry, x, y)) != expected(x, y, i))
			return fail("PAL call result", e, expected(x, y, i));
	}
	if ((e = unreg(r)) != 0)
		return fail("PAL_UNREGISTER", e, 0);
	if (read_faults((const volatile uint64_t *)(r + PAGE + 8), &v))
		return fail("read of the unregistered PAL's page faulted", 1, 0);
	if (v != n)
		return fail("PAL call count in its data page", v, n);
	printf("pal_demo: %" PRIu64 " PAL calls checked\n", n);
	return 0;
}

/* The status of a child running fn(arg). */
static int in_child(int (*fn)(uint8_t *), uint8_t *arg)
{
	int st;
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void exit_3(int sig)
{
	(void)sig;
	_exit(3);
}

/* Child: call the parent's PAL through the shared mapping.  Refused (#GP,
 * SIGSEGV): only the registering address space may enter it. */
static int call_from_other(uint8_t *r)
{
	signal(SIGSEGV, exit_3);
	pal_call((uintptr_t)r, 1, 2);
	return 0;
}

/* Child: read the parent's PAL data page as a debugger would. */
static int read_parent_mem(uint8_t *r)
{
	char path[64];
	uint64_t v = 1;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)getppid());
	int fd = open(path, O_RDONLY);
	if (fd < 0 || pread(fd, &v, sizeof(v), (off_t)(uintptr_t)(r + PAGE)) != (ssize_t)sizeof(v))
		return 4;
	return v == SECRET ? 5 : v != 0 ? 6 : 0;
}

/* Child: register a PAL and exit without unregistering it. */
static int register_and_exit(uint8_t *unused)
{
	(void)unused;
	uint8_t *r = make_region();
	struct pal_desc d;
	if (!r)
		return 7;
	d = describe(r);
	return reg(&d) == 0 ? 0 : 8;
}

static uint8_t *syscall_region;

/* The #UD of the PAL's SYSCALL, delivered to the process after the abort. */
static void syscall_refused(int sig)
{
	(void)sig;
	_exit(unreg(syscall_region) == 0 ? 3 : 6);
}

/* Child: a PAL that tries SYSCALL, the one way to CPL 0 that faults on no
 * table first.  It must be aborted at CPL 3 (the hypervisor disables
 * SYSCALL while a PAL runs), not resume this process in the kernel's CS. */
static int syscall_pal(uint8_t *unused)
{
	static const uint8_t code[] = { 0x0f, 0x05 };	/* syscall */
	struct pal_desc d;
	(void)unused;
	if (!(syscall_region = make_region()))
		return 7;
	memcpy(syscall_region, code, sizeof(code));
	d = describe(syscall_region);
	if (reg(&d) != 0)
		return 8;
	signal(SIGILL, syscall_refused);
	uint64_t e = pal_call(d.entry, 0, 0);
	return unreg(syscall_region) == 0 && e == PAL_ERR_ABORTED ? 4 : 5;
}

/* The kernel reads a registered page: the PAL is revoked, its page zeroed. */
static int expect_revoked(const char *how, uint8_t *r)
{
	uint64_t e, v;
	if ((e = unreg(r)) != PAL_ERR_NOT_REGISTERED)
		return fail(how, e, PAL_ERR_NOT_REGISTERED);
	if (read_faults((const volatile uint64_t *)(r + PAGE), &v) || v != 0)
		return fail(how, v, 0);
	return 0;
}

static int probe_other_process(void)
{
	uint8_t *r = make_region_flags(MAP_SHARED);
	struct pal_desc d;
	uint64_t e;
	int st;
	if (!r)
		return fail("mmap/mlock of a shared region", 0, 1);
	d = describe(r);
	if ((e = reg(&d)) != 0)
		return fail("PAL_REGISTER of a shared region", e, 0);
	if ((st = in_child(call_from_other, r)) != 3)
		return fail("another process calling the PAL: its exit status", (uint64_t)st, 3);
	if ((e = pal_call(d.entry, 1, 2)) != expected(1, 2, 1))
		return fail("the owner's call after the refused one", e, expected(1, 2, 1));
	if ((st = in_child(read_parent_mem, r)) != 0)
		return fail("/proc/PID/mem read of the PAL: child status (5: it saw the secret)", (uint64_t)st, 0);
	return expect_revoked("after the /proc/PID/mem read", r);
}

static int probe_kernel_read(void)
{
	uint8_t *r = make_region();
	struct pal_desc d;
	uint64_t e, v = 1;
	int p[2];
	if (!r || pipe(p) != 0)
		return fail("mmap/mlock/pipe", 0, 1);
	d = describe(r);
	if ((e = reg(&d)) != 0)
		return fail("PAL_REGISTER", e, 0);
	if (write(p[1], r + PAGE, sizeof(v)) != (ssize_t)sizeof(v) || read(p[0], &v, sizeof(v)) != (ssize_t)sizeof(v))
		return fail("write(2) from the PAL's page", 0, 1);
	if (v != 0)
		return fail("what write(2) read from the registered page", v, 0);
	return expect_revoked("after write(2) from the page", r);
}

/* The kernel reuses a dead process's pages (clearing them for this one). */
static void reuse_freed_pages(void)
{
	size_t len = 64ul << 20;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (m != MAP_FAILED)
		munmap(m, len);
}

static int probe_exit_without_unregister(void)
{
	uint8_t *r[PAL_MAX_PALS];
	uint64_t e;
	int st;
	if ((st = in_child(register_and_exit, NULL)) != 0)
		return fail("child registering and exiting: status", (uint64_t)st, 0);
	reuse_freed_pages();
	for (unsigned i = 0; i < PAL_MAX_PALS; i++) {
		struct pal_desc d;
		if (!(r[i] = make_region()))
			return fail("mmap/mlock", 0, 1);
		d = describe(r[i]);
		if ((e = reg(&d)) != 0)
			return fail("PAL_REGISTER of every slot after a process died with one", e, 0);
	}
	for (unsigned i = 0; i < PAL_MAX_PALS; i++)
		if ((e = unreg(r[i])) != 0)
			return fail("PAL_UNREGISTER", e, 0);
	return 0;
}

static int probe(void)
{
	int st;
	if (probe_other_process() || probe_kernel_read())
		return 1;
	/* 3: aborted, its #UD delivered to the process; 4: aborted, no signal. */
	if ((st = in_child(syscall_pal, NULL)) != 3 && st != 4)
		return fail("a PAL executing SYSCALL: child status", (uint64_t)st, 3);
	if (probe_exit_without_unregister())
		return 1;
	printf("pal_demo: probes held: no other process called the PAL, the kernel read zeros, "
	       "a dead process's PAL slot came back\n");
	return 0;
}

int main(int argc, char **argv)
{
	char *end;
	if (argc != 2)
		return fprintf(stderr, USAGE), 2;
	setvbuf(stdout, NULL, _IONBF, 0);
	if (strcmp(argv[1], "--probe") == 0)
		return probe();
	unsigned long n = strtoul(argv[1], &end, 10);
	if (*end || !*argv[1] || n == 0 || n > MAX_CALLS)
		return fprintf(stderr, "pal_demo: bad N\n" USAGE), 2;
	setvbuf(stdout, NULL, _IONBF, 0);
	return run(n);
}
