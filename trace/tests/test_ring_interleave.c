/*
 * Each interleaving named in ring.c's protocol comment, forced deterministically: the
 * ring is built with TRACE_TEST_HOOKS and a hook runs another writer (an "NMI") at one
 * exact point inside the interrupted writer, then checks what a consumer would see.
 * test_ring_nmi.c covers the same ground statistically with real signals and threads.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "drain.h"
#include "host_platform.h"
#include "printf.h"
#include "ring.h"
#include "wire_decode.h"

int check_failures;

struct plan {
	enum trace_hook_point point;
	uint64_t nest;      /* ring->nest at the hook: 1 = outermost writer (0 after its nest--) */
	int times;
	void (*action)(void);
};

static struct trace_ring *R;
static struct plan plans[4];
static int nplans;
static int hits[TRACE_HOOK_COUNT][4];

void trace_test_hook(struct trace_ring *ring, enum trace_hook_point point)
{
	uint64_t n = ring->nest;
	if (n < 4)
		hits[point][n]++;
	for (int i = 0; i < nplans; i++) {
		if (plans[i].point == point && plans[i].nest == n && plans[i].times > 0) {
			plans[i].times--;
			plans[i].action();
		}
	}
}

static void plan(enum trace_hook_point point, uint64_t nest, void (*action)(void))
{
	plans[nplans++] = (struct plan){ point, nest, 1, action };
}

static void mark(uint64_t tag)
{
	trace_emit(TRACE_EV_GUEST_EVENT, tag, tag * 3, 0);
}

/*
 * A fresh ring whose indexes have already wrapped `laps` times (records emitted and
 * drained), so stale slot contents are present: the counter clock makes each tsc unique.
 */
static void setup(uint32_t nslots, unsigned laps)
{
	static struct trace_ring *old;
	free(old);
	R = old = host_ring_new(0, nslots);
	host_set_rings(&R, 1);
	host_set_current_ring(R);
	host_clock(HOST_CLOCK_COUNTER, 0);
	host_serial_reset(1 << 20);
	nplans = 0;
	for (unsigned i = 0; i < laps * nslots; i++) {
		mark(0x1000 + i);
		if (R->commit - R->tail == nslots)
			CHECK(trace_drain());
	}
	CHECK(trace_drain());
	CHECK_EQ(R->tail, R->commit);
	host_serial_reset(1 << 20);
	memset(hits, 0, sizeof(hits));
}

struct want {
	unsigned type;
	uint64_t a0;
};

/* Slots [tail, commit) hold exactly `want`, commit == reserve, tsc non-decreasing, nest 0. */
static void expect_ring(const struct want *want, size_t n)
{
	CHECK_EQ(R->commit, R->reserve);
	CHECK_EQ(R->nest, 0);
	CHECK_EQ(R->commit - R->tail, n);
	uint64_t prev = 0;
	for (size_t i = 0; i < n && i < R->commit - R->tail; i++) {
		const struct trace_record *rec = trace_ring_slot(R, R->tail + i);
		CHECK_EQ(rec->type, want[i].type);
		CHECK_EQ(rec->a[0], want[i].a0);
		CHECK(rec->tsc >= prev);
		prev = rec->tsc;
	}
}

#define WANT(...) ((const struct want[]){ __VA_ARGS__ }), sizeof((const struct want[]){ __VA_ARGS__ }) / sizeof(struct want)
#define EV(tag) { TRACE_EV_GUEST_EVENT, (tag) }

static uint64_t commit_at_outer_reserve;

static void nmi_b_while_outer_unwritten(void)
{
	uint64_t r = R->reserve;  /* the outer writer owns slot r-1 and has not written it */
	CHECK_EQ(trace_ring_slot(R, r - 1)->type, 0);  /* a dump sees it as unfinished, not the stale record */
	mark(0xB);
	CHECK_EQ(R->reserve, r + 1);
	CHECK_EQ(trace_ring_slot(R, r)->type, TRACE_EV_GUEST_EVENT);
	CHECK_EQ(R->commit, commit_at_outer_reserve);  /* B is complete but must wait for A */
}

static void nmi_between_reserve_and_write(void)
{
	setup(8, 2);
	commit_at_outer_reserve = R->commit;
	plan(TRACE_HOOK_AFTER_RESERVE, 1, nmi_b_while_outer_unwritten);
	mark(0xA);
	expect_ring(WANT(EV(0xA), EV(0xB)));
	CHECK(trace_ring_slot(R, R->tail)->tsc < trace_ring_slot(R, R->tail + 1)->tsc);
}

static void nmi_b(void)
{
	mark(0xB);
}

static void nmi_in_reserve_race(void)
{
	setup(8, 1);
	plan(TRACE_HOOK_BEFORE_CAS, 1, nmi_b);
	mark(0xA);
	/* B took the slot A had read; A's CAS failed, it retried with a later slot and tsc. */
	expect_ring(WANT(EV(0xB), EV(0xA)));
	CHECK_EQ(hits[TRACE_HOOK_BEFORE_CAS][1], 2);
	CHECK(trace_ring_slot(R, R->tail)->tsc < trace_ring_slot(R, R->tail + 1)->tsc);
}

static void nmi_mid_write(void)
{
	/* Fields of A are in the slot, its type is not: still unfinished for a dump. */
	CHECK_EQ(trace_ring_slot(R, R->reserve - 1)->type, 0);
	CHECK_EQ(trace_ring_slot(R, R->reserve - 1)->a[0], 0xA);
	mark(0xB);
	CHECK_EQ(R->commit, commit_at_outer_reserve);
}

static void nmi_before_commit_with_consumer(void)
{
	mark(0xC);
	CHECK_EQ(R->commit, commit_at_outer_reserve);
	/* Another CPU drains right now: it must see none of A, B, C. */
	size_t before, after;
	host_serial_data(&before, NULL);
	CHECK(trace_drain());
	host_serial_data(&after, NULL);
	CHECK_EQ(after, before);
	CHECK_EQ(R->tail, commit_at_outer_reserve);
}

static void nmi_between_write_and_commit(void)
{
	setup(16, 1);
	commit_at_outer_reserve = R->commit;
	plan(TRACE_HOOK_MID_WRITE, 1, nmi_mid_write);
	plan(TRACE_HOOK_BEFORE_COMMIT, 1, nmi_before_commit_with_consumer);
	mark(0xA);
	expect_ring(WANT(EV(0xA), EV(0xB), EV(0xC)));
}

static void nmi_after_commit_store(void)
{
	uint64_t c = R->commit;
	CHECK_EQ(c, R->reserve);  /* A is committed */
	mark(0xB);
	CHECK_EQ(R->commit, c);   /* B is nested (nest 2): it leaves commit to A */
}

static void nmi_during_commit_before_nest_drop(void)
{
	setup(8, 1);
	plan(TRACE_HOOK_AFTER_COMMIT, 1, nmi_after_commit_store);
	mark(0xA);
	expect_ring(WANT(EV(0xA), EV(0xB)));
	/* A's commit loop went round a second time to publish B. */
	CHECK_EQ(hits[TRACE_HOOK_AFTER_COMMIT][1], 2);
}

static void nmi_after_nest_drop(void)
{
	mark(0xB);
	/* A had already left (nest 0): B was outermost and committed itself. */
	CHECK_EQ(R->commit, R->reserve);
	CHECK_EQ(R->nest, 0);
}

static void nmi_during_commit_after_nest_drop(void)
{
	setup(8, 1);
	plan(TRACE_HOOK_AFTER_NEST_DEC, 0, nmi_after_nest_drop);
	mark(0xA);
	expect_ring(WANT(EV(0xA), EV(0xB)));
}

static void nested_nmi_c(void)
{
	mark(0xC);
	CHECK_EQ(R->commit, commit_at_outer_reserve);
	CHECK_EQ(R->nest, 2);
}

static void nested_nmi(void)
{
	setup(8, 3);
	commit_at_outer_reserve = R->commit;
	plan(TRACE_HOOK_AFTER_RESERVE, 1, nmi_b);          /* NMI in the outer writer */
	plan(TRACE_HOOK_AFTER_RESERVE, 2, nested_nmi_c);   /* nested NMI in the NMI's writer */
	mark(0xA);
	expect_ring(WANT(EV(0xA), EV(0xB), EV(0xC)));
	CHECK_EQ(hits[TRACE_HOOK_AFTER_RESERVE][3], 1);
}

static void drain_now(void)
{
	CHECK(trace_drain());
}

struct seen {
	struct wire_record rec[64];
	size_t n;
	uint64_t seqs[16];
	size_t nframes;
};

static void seen_cb(const struct wire_frame *f, void *ctx)
{
	struct seen *s = ctx;
	s->seqs[s->nframes++] = f->seq;
	for (size_t i = 0; i < f->nrec && s->n < 64; i++)
		s->rec[s->n++] = f->rec[i];
}

/* A consumer on another CPU drains while A is reserved but unwritten: it gets P only. */
static void consumer_during_write(void)
{
	setup(8, 0);
	mark(0xE);  /* P: committed before A starts */
	plan(TRACE_HOOK_AFTER_RESERVE, 1, drain_now);
	mark(0xA);
	CHECK(trace_drain());
	size_t len;
	const uint8_t *data = host_serial_data(&len, NULL);
	struct seen s = { 0 };
	struct wire_stats st;
	wire_decode_stream(data, len, seen_cb, &s, &st);
	CHECK_EQ(st.frames_bad, 0);
	CHECK_EQ(s.nframes, 2);
	CHECK_EQ(s.seqs[0], 0);
	CHECK_EQ(s.seqs[1], 1);
	CHECK_EQ(s.n, 2);
	CHECK_EQ(s.rec[0].f[0], 0xE);
	CHECK_EQ(s.rec[1].f[0], 0xA);
	CHECK_EQ(R->tail, R->commit);
}

static void nmi_b_then_drop_c(void)
{
	mark(0xB);  /* the ring is full now: dropped */
	CHECK_EQ(R->dropped, 2);  /* B, and C from the nested NMI at B's drop point */
}

static void nested_nmi_c_at_drop(void)
{
	mark(0xC);
}

static void full_ring_nmi_drop(void)
{
	setup(4, 1);
	mark(0x10), mark(0x11), mark(0x12);
	plan(TRACE_HOOK_AFTER_RESERVE, 1, nmi_b_then_drop_c);  /* A holds the last slot */
	plan(TRACE_HOOK_DROP, 2, nested_nmi_c_at_drop);
	mark(0xA);
	expect_ring(WANT(EV(0x10), EV(0x11), EV(0x12), EV(0xA)));
	CHECK_EQ(R->dropped, 2);
	CHECK(trace_drain());
	mark(0xD);
	expect_ring(WANT({ TRACE_EV_LOST, 2 }, EV(0xD)));
	CHECK_EQ(R->dropped, 0);
	/* Attempted 7 = 5 in the ring + LOST(2). */
}

static void nmi_after_lost_taken(void)
{
	setup(4, 1);
	for (int i = 0; i < 7; i++)
		mark(0x20 + i);   /* 4 fit, 3 dropped */
	CHECK_EQ(R->dropped, 3);
	CHECK(trace_drain());
	plan(TRACE_HOOK_LOST_TAKEN, 1, nmi_b);
	mark(0xA);
	/* B ran after A took the count: B sees dropped == 0 and goes first; the count is not lost. */
	expect_ring(WANT(EV(0xB), { TRACE_EV_LOST, 3 }, EV(0xA)));
	CHECK_EQ(R->dropped, 0);
}

static void nmi_fills_ring(void)
{
	for (int i = 0; i < 4; i++)
		mark(0xB0 + (uint64_t)i);
}

static void lost_put_back_when_ring_refills(void)
{
	setup(4, 1);
	for (int i = 0; i < 7; i++)
		mark(0x20 + i);
	CHECK(trace_drain());
	plan(TRACE_HOOK_LOST_TAKEN, 1, nmi_fills_ring);
	mark(0xA);
	/* LOST(3) no longer fits: the 3 go back, plus A itself. */
	expect_ring(WANT(EV(0xB0), EV(0xB1), EV(0xB2), EV(0xB3)));
	CHECK_EQ(R->dropped, 4);
}

static void drain_frees_the_ring(void)
{
	CHECK(trace_drain());
}

static void drain_between_lost_and_record(void)
{
	setup(4, 1);
	for (int i = 0; i < 7; i++)
		mark(0x20 + i);   /* 4 fit, 3 dropped */
	/* A: LOST(3) does not fit; then another CPU's drain empties the ring
	 * before A reserves.  A must not land ahead of the LOST for its gap. */
	plan(TRACE_HOOK_LOST_PUT_BACK, 1, drain_frees_the_ring);
	mark(0xA);
	CHECK_EQ(R->commit, R->tail);   /* nothing written after the gap */
	CHECK_EQ(R->dropped, 4);
	mark(0xD);
	expect_ring(WANT({ TRACE_EV_LOST, 4 }, EV(0xD)));
}

static void text_chunks_stay_together(void)
{
	static const char msg[] = "0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLM\n";  /* 51 bytes: 3 records */
	setup(8, 1);
	plan(TRACE_HOOK_AFTER_RESERVE, 1, nmi_b);
	trace_emit_text(msg, sizeof(msg) - 1);
	CHECK_EQ(R->commit - R->tail, 4);
	char got[64] = { 0 };
	size_t n = 0;
	for (int i = 0; i < 3; i++) {
		const struct trace_record *rec = trace_ring_slot(R, R->tail + (uint64_t)i);
		CHECK_EQ(rec->type, TRACE_EV_TEXT);
		memcpy(got + n, rec->a, rec->len);
		n += rec->len;
	}
	CHECK_EQ(n, sizeof(msg) - 1);
	CHECK(memcmp(got, msg, n) == 0);
	CHECK_EQ(trace_ring_slot(R, R->tail + 3)->type, TRACE_EV_GUEST_EVENT);
	/* Text that can never fit (more chunks than slots) is dropped whole and counted. */
	char big[8 * 24 + 1];
	memset(big, 'x', sizeof(big));
	CHECK(trace_drain());
	trace_emit_text(big, sizeof(big));
	CHECK_EQ(R->dropped, 9);
	CHECK_EQ(R->commit, R->tail);
}

static void invalid_events_are_counted(void)
{
	setup(8, 0);
	trace_emit(0, 1, 2, 3);
	CHECK_EQ(R->reserve, 0);
	CHECK_EQ(R->dropped, 1);
	/* Each later attempt still reports the earlier drop first, then drops its own. */
	trace_emit(TRACE_EV_MAX + 1, 1, 2, 3);
	trace_emit(TRACE_EV_TEXT, 1, 2, 3);  /* TEXT only through trace_emit_text */
	CHECK_EQ(R->dropped, 1);
	mark(1);
	expect_ring(WANT({ TRACE_EV_LOST, 1 }, { TRACE_EV_LOST, 1 }, { TRACE_EV_LOST, 1 }, EV(1)));
	/* Before the rings exist, emission is a no-op. */
	host_set_current_ring(NULL);
	trace_emit(TRACE_EV_BOOT, 1, 2, 3);
	trace_printf("nobody hears this %d", 1);
	host_set_current_ring(R);
	CHECK_EQ(R->reserve, 4);
}

static void ring_init_rejects_bad_sizes(void)
{
	static uint64_t mem[(64 + 40 * 8) / 8];
	struct trace_ring *r = (struct trace_ring *)mem;
	CHECK(!trace_ring_init(r, 0, 0));
	CHECK(!trace_ring_init(r, 0, 1));
	CHECK(!trace_ring_init(r, 0, 6));
	CHECK(trace_ring_init(r, 3, 8));
	CHECK(memcmp(r->magic, "HVRING01", 8) == 0);
	CHECK_EQ(r->cpu, 3);
	CHECK_EQ(r->nslots, 8);
	CHECK_EQ(TRACE_RING_BYTES(8), sizeof(mem));
}

/* Everything on the wire so far: records, sum of LOST counts, frames; bad frames fail. */
static struct seen *wire_now(uint64_t *events, uint64_t *lost)
{
	static struct seen s;
	size_t len;
	const uint8_t *data = host_serial_data(&len, NULL);
	struct wire_stats st;
	memset(&s, 0, sizeof(s));
	wire_decode_stream(data, len, seen_cb, &s, &st);
	CHECK_EQ(st.frames_bad, 0);
	*events = *lost = 0;
	for (size_t i = 0; i < s.n; i++) {
		if (s.rec[i].type == TRACE_EV_LOST)
			*lost += s.rec[i].f[0];
		else
			(*events)++;
	}
	for (size_t i = 0; i < s.nframes; i++)
		CHECK_EQ(s.seqs[i], s.seqs[0] + i);  /* the LOST frame continues the CPU's seq */
	return &s;
}

/* The machine ends with 3 drops in `dropped` after the CPU's last record. */
static void final_flush_sends_dropped(void)
{
	setup(4, 1);
	for (int i = 0; i < 7; i++)
		mark(0x20 + i);   /* 4 fit, 3 dropped, and nobody writes again */
	host_clock(HOST_CLOCK_SET, 1);   /* the flushing CPU's clock is behind this CPU's records */
	trace_drain_panic();
	uint64_t events, lost;
	struct seen *s = wire_now(&events, &lost);
	CHECK_EQ(events, 4);
	CHECK_EQ(lost, 3);
	CHECK_EQ(R->dropped, 0);
	CHECK_EQ(s->n, 5);
	CHECK_EQ(s->rec[4].type, TRACE_EV_LOST);
	CHECK(s->rec[4].tsc >= s->rec[3].tsc);   /* not before the CPU's last record */
	/* A second final flush finds nothing: the count went out once. */
	trace_drain_panic();
	wire_now(&events, &lost);
	CHECK_EQ(events, 4);
	CHECK_EQ(lost, 3);
}

static void final_flush_now(void)
{
	trace_drain_panic();
}

/*
 * The final flush runs while the producer holds the count it took (LOST_TAKEN): the
 * flush's exchange finds 0 and sends nothing, the producer writes LOST(3), and the
 * next pass sends that.  3 on the wire, not 0 and not 6.
 */
static void final_flush_while_producer_holds_count(void)
{
	setup(4, 1);
	for (int i = 0; i < 7; i++)
		mark(0x20 + i);
	CHECK(trace_drain());
	plan(TRACE_HOOK_LOST_TAKEN, 1, final_flush_now);
	mark(0xA);
	uint64_t events, lost;
	wire_now(&events, &lost);
	CHECK_EQ(events, 4);
	CHECK_EQ(lost, 0);
	expect_ring(WANT({ TRACE_EV_LOST, 3 }, EV(0xA)));
	trace_drain_panic();
	wire_now(&events, &lost);
	CHECK_EQ(events, 5);
	CHECK_EQ(lost, 3);
	CHECK_EQ(R->dropped, 0);
}

/* A producer still running while the flush sends its LOST frame: fills the ring and drops 1. */
static int refill_armed;
static void refill_during_lost_frame(uint8_t byte)
{
	(void)byte;
	if (!refill_armed)
		return;
	refill_armed = 0;
	for (int i = 0; i < 5; i++)
		mark(0x40 + (uint64_t)i);
}

/*
 * Drops counted after the flush's exchange: the next pass drains the records and takes
 * the new count, so every attempted record is on the wire as a record or in a LOST.
 */
static void final_flush_takes_drops_after_its_exchange(void)
{
	setup(4, 1);
	for (int i = 0; i < 7; i++)
		mark(0x20 + i);   /* 4 + 3 dropped */
	CHECK(trace_drain());
	host_serial_reset(1 << 20);
	refill_armed = 1;
	host_putc_hook = refill_during_lost_frame;   /* the first byte out is the LOST(3) frame's */
	trace_drain_panic();
	host_putc_hook = NULL;
	uint64_t events, lost;
	wire_now(&events, &lost);
	CHECK_EQ(events, 4);       /* 0x40..0x43; 0x44 dropped */
	CHECK_EQ(lost, 3 + 1);
	CHECK_EQ(R->dropped, 0);
	CHECK_EQ(R->tail, R->commit);
}

int main(void)
{
	RUN(nmi_between_reserve_and_write);
	RUN(nmi_in_reserve_race);
	RUN(nmi_between_write_and_commit);
	RUN(nmi_during_commit_before_nest_drop);
	RUN(nmi_during_commit_after_nest_drop);
	RUN(nested_nmi);
	RUN(consumer_during_write);
	RUN(full_ring_nmi_drop);
	RUN(nmi_after_lost_taken);
	RUN(lost_put_back_when_ring_refills);
	RUN(drain_between_lost_and_record);
	RUN(text_chunks_stay_together);
	RUN(invalid_events_are_counted);
	RUN(ring_init_rejects_bad_sizes);
	RUN(final_flush_sends_dropped);
	RUN(final_flush_while_producer_holds_count);
	RUN(final_flush_takes_drops_after_its_exchange);
	CHECK_MAIN_END();
}
