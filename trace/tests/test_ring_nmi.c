/*
 * The NMI model with real concurrency.  Each producer thread is one "CPU" with its
 * own ring; it emits in a loop and is interrupted at random by SIGUSR1, whose handler
 * also emits (and printfs).  SIGUSR1 comes from a per-thread POSIX timer every 20 us
 * (it lands on whatever instruction the producer is at, like an NMI on that CPU) and
 * from another thread's pthread_kill (an NMI sent by another CPU).  The handler itself
 * can be interrupted, down to MAXD levels: the nested NMI (see on_nmi for how the depth
 * is bounded).  Meanwhile two drainer threads contend
 * for the drain and write frames to the fake UART.  Afterwards every frame is decoded
 * and checked:
 *   - no CRC failure, per-CPU frame seq 0, 1, 2, ... without gaps;
 *   - every record exactly once, in order per writer context (main / depth 1 / 2 / ...),
 *     none torn (each record carries a hash of its own contents);
 *   - per CPU tsc never decreases, nested writers included;
 *   - per CPU records attempted == received + sum of LOST counts + ring->dropped;
 *   - text lines arrive whole.
 * Usage: test_ring_nmi [iterations per producer]
 */
#define _GNU_SOURCE  /* gettid, SIGEV_THREAD_ID */
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "drain.h"
#include "host_platform.h"
#include "printf.h"
#include "wire_decode.h"

int check_failures;

#define NPROD 2
#define MAXD 4   /* deepest handler nesting; every level emits */

struct ctx_count {
	uint64_t next_seq;   /* GUEST_EVENT records attempted by this context */
	uint64_t text_recs;  /* TEXT records attempted */
	uint64_t text_lines;
	uint64_t entries;    /* handler invocations at this depth */
};

struct prod {
	pthread_t th;
	struct trace_ring *ring;
	unsigned cpu;
	uint64_t iters;
	volatile int depth;               /* handler nesting right now */
	struct ctx_count ctx[MAXD + 1];   /* [0] main, [d] handler depth d; each written only at its level */
	int done;
};

static struct prod prods[NPROD];
static __thread struct prod *me;
static int stop_signals, stop_drain;
static pthread_barrier_t exit_barrier;

static uint64_t mix(uint64_t cpu, uint64_t ctx, uint64_t seq)
{
	uint64_t z = (cpu << 56) ^ (ctx << 48) ^ seq ^ 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Busy work between records: the exit handler's own work, the window signals land in. */
static void work(int n)
{
	for (volatile int k = 0; k < n; k++) {
	}
}

static void emit_ctx(int ctx)
{
	uint64_t s = me->ctx[ctx].next_seq++;
	trace_emit(TRACE_EV_GUEST_EVENT, ((uint64_t)me->cpu << 8) | (uint64_t)ctx, s, mix(me->cpu, (uint64_t)ctx, s));
}

static void emit_line(int ctx)
{
	char buf[TRACE_PRINTF_MAX];
	struct ctx_count *c = &me->ctx[ctx];
	size_t n = trace_format(buf, sizeof(buf), "%s %llu cpu %u: the quick brown fox\n", ctx ? "nmi" : "main",
			       (unsigned long long)c->text_lines++, me->cpu);
	c->text_recs += (n + TRACE_TEXT_CHUNK - 1) / TRACE_TEXT_CHUNK;
	trace_emit_text(buf, n);
}

/*
 * The kernel enters the handler with SIGUSR1 blocked (sa_mask), so nothing can nest
 * before the handler has counted its depth; levels above the deepest then unblock it,
 * and a pending signal nests at once.  With SA_NODEFER instead, nesting had no bound:
 * under ASan on a loaded 2-core machine a signal landed in every handler's prologue
 * and the chain of frames overflowed the thread's stack (SIGSEGV in on_nmi's first
 * line, 5 of 12 runs).  sigreturn restores the interrupted context's mask, so the
 * main loop runs unblocked again.  `make test-repeat` runs this test N times.
 */
static void on_nmi(int sig)
{
	(void)sig;
	if (!me)
		return;
	int d = ++me->depth;
	if (d < MAXD) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	}
	me->ctx[d].entries++;
	/* Depth 1 writes longer, widening the window for a nested signal to land in it. */
	for (int i = 0; i < (d == 1 ? 8 : 2); i++) {
		emit_ctx(d);
		work(d == 1 ? 400 : 20);
	}
	if (d == 1 && me->ctx[1].entries % 4 == 0)
		emit_line(1);
	/*
	 * Now and then wait (bounded) inside the handler until a nested signal arrives,
	 * so nesting happens on every run rather than when the scheduler allows.
	 */
	if (d == 1 && me->ctx[1].entries % 16 == 0) {
		uint64_t nested_before = me->ctx[2].entries;
		for (int spin = 0; spin < 2000 && me->ctx[2].entries == nested_before; spin++)
			work(50);
	}
	me->depth--;
}

/* SIGUSR1 to this thread every period_ns, from the kernel's timer interrupt on its CPU. */
static timer_t start_timer(long period_ns)
{
	timer_t t;
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGUSR1;
	sev._sigev_un._tid = gettid();
	struct itimerspec its = { { 0, period_ns }, { 0, period_ns } };
	if (timer_create(CLOCK_MONOTONIC, &sev, &t) || timer_settime(t, 0, &its, NULL)) {
		perror("test_ring_nmi: timer");
		exit(2);
	}
	return t;
}

static void *producer(void *arg)
{
	me = arg;
	host_set_current_ring(me->ring);
	timer_t timer = start_timer(20000);
	for (uint64_t i = 0; i < me->iters; i++) {
		emit_ctx(0);
		work(20);
		if (i % 64 == 0)
			emit_line(0);
	}
	/* Stay alive (signals blocked) until the signaller has stopped: pthread_kill needs a live thread. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	timer_delete(timer);
	__atomic_store_n(&me->done, 1, __ATOMIC_RELEASE);
	pthread_barrier_wait(&exit_barrier);
	return NULL;
}

static uint64_t signals_sent;

static void *signaller(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop_signals, __ATOMIC_ACQUIRE)) {
		for (int p = 0; p < NPROD; p++) {
			if (!__atomic_load_n(&prods[p].done, __ATOMIC_ACQUIRE)) {
				pthread_kill(prods[p].th, SIGUSR1);
				signals_sent++;
			}
		}
		/* Two cores: a busy signaller would starve the producers and drainers. */
		struct timespec ts = { 0, 20000 };
		nanosleep(&ts, NULL);
	}
	pthread_barrier_wait(&exit_barrier);
	return NULL;
}

struct drainer_stats {
	uint64_t drained, busy;
};

static void *drainer(void *arg)
{
	struct drainer_stats *s = arg;
	while (!__atomic_load_n(&stop_drain, __ATOMIC_ACQUIRE)) {
		if (trace_drain())
			s->drained++;
		else
			s->busy++;
		sched_yield();
	}
	return NULL;
}

/* What the decoded stream says, per CPU. */
struct cpu_seen {
	uint64_t next_frame;
	uint64_t last_tsc;
	int64_t last_seq[MAXD + 1];
	uint64_t received[MAXD + 1];
	uint64_t text_recs;
	uint64_t lost;
	char *text;
	size_t text_len, text_cap;
	uint64_t bad_order, bad_hash, bad_tsc, bad_frame_seq, bad_type;
};

static struct cpu_seen seen[NPROD];

static void check_frame(const struct wire_frame *f, void *ctx)
{
	(void)ctx;
	if (f->cpu >= NPROD) {
		check_failures++;
		return;
	}
	struct cpu_seen *s = &seen[f->cpu];
	s->bad_frame_seq += f->seq != s->next_frame;
	s->next_frame = f->seq + 1;
	for (size_t i = 0; i < f->nrec; i++) {
		const struct wire_record *r = &f->rec[i];
		s->bad_tsc += r->tsc < s->last_tsc;
		s->last_tsc = r->tsc;
		if (r->type == TRACE_EV_LOST) {
			s->lost += r->f[0];
		} else if (r->type == TRACE_EV_TEXT) {
			s->text_recs++;
			if (s->text_len + r->text_len > s->text_cap) {
				s->text_cap = 2 * s->text_cap + 4096;
				s->text = realloc(s->text, s->text_cap);
			}
			memcpy(s->text + s->text_len, r->text, r->text_len);
			s->text_len += r->text_len;
		} else if (r->type == TRACE_EV_GUEST_EVENT && (r->f[0] >> 8) == f->cpu && (r->f[0] & 0xFF) <= MAXD) {
			unsigned c = r->f[0] & 0xFF;
			s->bad_hash += r->f[2] != mix(f->cpu, c, r->f[1]);
			s->bad_order += (int64_t)r->f[1] <= s->last_seq[c];
			s->last_seq[c] = (int64_t)r->f[1];
			s->received[c]++;
		} else {
			s->bad_type++;
		}
	}
}

/* Lines must be whole ("main N ..." / "nmi N ...") with N increasing per source. */
static void check_text(unsigned cpu)
{
	struct cpu_seen *s = &seen[cpu];
	long long last[2] = { -1, -1 };
	uint64_t lines[2] = { 0, 0 }, bad = 0;
	char *p = s->text, *end = s->text + s->text_len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			bad++;
			break;
		}
		*nl = 0;
		char src[8];
		unsigned long long n;
		unsigned c;
		if (sscanf(p, "%7s %llu cpu %u: the quick brown fox", src, &n, &c) != 3 || c != cpu ||
		    (strcmp(src, "main") && strcmp(src, "nmi"))) {
			bad++;
		} else {
			int k = src[0] == 'n';
			bad += (long long)n <= last[k];
			last[k] = (long long)n;
			lines[k]++;
		}
		p = nl + 1;
	}
	CHECK_EQ(bad, 0);
	CHECK(lines[0] > 0);
}

int main(int argc, char **argv)
{
	uint64_t iters = argc > 1 ? strtoull(argv[1], NULL, 0) : 200000;
	static const uint32_t nslots[NPROD] = { 64, 16384 };  /* CPU 0's ring overflows all the time, CPU 1's rarely */
	struct trace_ring *rings[NPROD];
	pthread_t sig_th, drain_th[2];
	struct drainer_stats dstats[2] = { 0 };

	for (unsigned c = 0; c < NPROD; c++)
		for (int d = 0; d <= MAXD; d++)
			seen[c].last_seq[d] = -1;
	host_clock(HOST_CLOCK_COUNTER, 0);
	host_serial_reset((size_t)iters * NPROD * 40 + (64u << 20));
	for (unsigned i = 0; i < NPROD; i++)
		rings[i] = prods[i].ring = host_ring_new(i, nslots[i]);
	host_set_rings(rings, NPROD);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_nmi;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR1);  /* on_nmi unblocks it below the deepest level */
	sigaction(SIGUSR1, &sa, NULL);
	pthread_barrier_init(&exit_barrier, NULL, NPROD + 1);

	for (int i = 0; i < 2; i++)
		pthread_create(&drain_th[i], NULL, drainer, &dstats[i]);
	for (unsigned i = 0; i < NPROD; i++) {
		prods[i].cpu = i;
		prods[i].iters = iters;
		pthread_create(&prods[i].th, NULL, producer, &prods[i]);
	}
	pthread_create(&sig_th, NULL, signaller, NULL);
	for (;;) {
		int all = 1;
		for (int i = 0; i < NPROD; i++)
			all &= __atomic_load_n(&prods[i].done, __ATOMIC_ACQUIRE);
		if (all)
			break;
		sched_yield();
	}
	__atomic_store_n(&stop_signals, 1, __ATOMIC_RELEASE);
	pthread_join(sig_th, NULL);
	for (int i = 0; i < NPROD; i++)
		pthread_join(prods[i].th, NULL);
	__atomic_store_n(&stop_drain, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(drain_th[i], NULL);
	while (rings[0]->tail != rings[0]->commit || rings[1]->tail != rings[1]->commit)
		CHECK(trace_drain());

	size_t len, overflow;
	const uint8_t *data = host_serial_data(&len, &overflow);
	CHECK_EQ(overflow, 0);
	struct wire_stats st;
	wire_decode_stream(data, len, check_frame, NULL, &st);
	CHECK_EQ(st.frames_bad, 0);

	uint64_t nested = 0, deepest = 0, handler_recs = 0;
	for (unsigned c = 0; c < NPROD; c++) {
		struct cpu_seen *s = &seen[c];
		uint64_t attempted = 0, received = s->text_recs;
		CHECK_EQ(s->bad_frame_seq, 0);
		CHECK_EQ(s->bad_order, 0);
		CHECK_EQ(s->bad_hash, 0);
		CHECK_EQ(s->bad_tsc, 0);
		CHECK_EQ(s->bad_type, 0);
		CHECK_EQ(s->next_frame, rings[c]->frame_seq);
		/* No writer left anything half done: everything reserved is committed and drained. */
		CHECK_EQ(rings[c]->nest, 0);
		CHECK_EQ(rings[c]->commit, rings[c]->reserve);
		CHECK_EQ(rings[c]->tail, rings[c]->commit);
		for (int d = 0; d <= MAXD; d++) {
			attempted += prods[c].ctx[d].next_seq + prods[c].ctx[d].text_recs;
			received += s->received[d];
			CHECK(s->received[d] <= prods[c].ctx[d].next_seq);
			if (d >= 1)
				handler_recs += s->received[d];
			if (d >= 2)
				nested += prods[c].ctx[d].entries;
			if (prods[c].ctx[d].entries)
				deepest = deepest > (uint64_t)d ? deepest : (uint64_t)d;
		}
		/* The exact accounting: nothing vanishes, nothing is counted twice. */
		CHECK_EQ(attempted, received + s->lost + rings[c]->dropped);
		check_text(c);
		fprintf(stderr, "     cpu %u (%u slots): attempted %llu, received %llu, LOST %llu, still dropped %llu, frames %llu\n",
			c, nslots[c], (unsigned long long)attempted, (unsigned long long)received,
			(unsigned long long)s->lost, (unsigned long long)rings[c]->dropped,
			(unsigned long long)s->next_frame);
		free(s->text);
	}
	CHECK(seen[0].lost > 0);           /* the small ring did overflow and report it */
	CHECK(handler_recs > 0);           /* signal handlers did write */
	CHECK(dstats[0].drained > 0 && dstats[1].drained > 0);
	fprintf(stderr, "     handler entries depth 1: %llu+%llu\n", (unsigned long long)prods[0].ctx[1].entries,
		(unsigned long long)prods[1].ctx[1].entries);
	fprintf(stderr, "     signals sent %llu, handler records %llu, nested handler entries %llu (deepest %llu of %d), "
		"drains %llu+%llu, drain busy %llu+%llu\n",
		(unsigned long long)signals_sent, (unsigned long long)handler_recs, (unsigned long long)nested,
		(unsigned long long)deepest, MAXD,
		(unsigned long long)dstats[0].drained, (unsigned long long)dstats[1].drained,
		(unsigned long long)dstats[0].busy, (unsigned long long)dstats[1].busy);
#ifndef __SANITIZE_THREAD__
	/* TSan defers asynchronous signals to its own safe points, so nesting is asserted without it. */
	CHECK(nested > 0);
#endif
	CHECK_MAIN_END();
}
