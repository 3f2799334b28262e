/*
 * The drain: exact multi-ring output, frame splitting of a backlog, the trylock never
 * waiting, and the panic flush with a drainer that is stuck (mid-frame, or after a whole
 * frame but before releasing its records) and never comes back.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "drain.h"
#include "host_platform.h"
#include "wire_decode.h"

int check_failures;

struct got {
	struct wire_record rec[8192];
	uint8_t cpu[8192];
	uint64_t seq[8192];
	size_t n;
	uint64_t frames[HOST_MAX_CPUS];
	uint64_t frame_seqs[1024];
	uint8_t frame_cpus[1024];
	size_t nframes;
};

static void got_cb(const struct wire_frame *f, void *ctx)
{
	struct got *g = ctx;
	g->frames[f->cpu]++;
	if (g->nframes < 1024) {
		g->frame_seqs[g->nframes] = f->seq;
		g->frame_cpus[g->nframes++] = f->cpu;
	}
	for (size_t i = 0; i < f->nrec && g->n < 8192; i++, g->n++) {
		g->rec[g->n] = f->rec[i];
		g->cpu[g->n] = f->cpu;
		g->seq[g->n] = f->seq;
	}
}

static struct got *decode_serial(struct wire_stats *st)
{
	static struct got g;
	size_t len;
	const uint8_t *data = host_serial_data(&len, NULL);
	memset(&g, 0, sizeof(g));
	wire_decode_stream(data, len, got_cb, &g, st);
	return &g;
}

static struct trace_ring *rings[3];

static void three_rings(uint32_t nslots)
{
	for (unsigned i = 0; i < 3; i++) {
		free(rings[i]);
		rings[i] = host_ring_new(i, nslots);
	}
	host_set_rings(rings, 3);
	host_clock(HOST_CLOCK_COUNTER, 0);
	host_serial_reset(4 << 20);
	host_putc_hook = NULL;
}

static void emit_on(unsigned cpu, uint64_t tag)
{
	host_set_current_ring(rings[cpu]);
	trace_emit(TRACE_EV_HYPERCALL, cpu, tag, ~tag);
}

static void drains_every_ring_exactly(void)
{
	three_rings(64);
	for (uint64_t i = 0; i < 30; i++)
		emit_on((unsigned)(i % 3), i);
	CHECK(trace_drain());
	struct wire_stats st;
	struct got *g = decode_serial(&st);
	CHECK_EQ(st.frames_bad, 0);
	CHECK_EQ(g->n, 30);
	/* Ring order per CPU; CPU 0's frame first (rings are visited in order). */
	for (size_t i = 0; i < g->n; i++) {
		CHECK_EQ(g->cpu[i], i / 10);
		CHECK_EQ(g->rec[i].f[0], g->cpu[i]);
		CHECK_EQ(g->rec[i].f[1], (i % 10) * 3 + g->cpu[i]);
		CHECK_EQ(g->rec[i].f[2], ~g->rec[i].f[1]);
	}
	for (unsigned c = 0; c < 3; c++) {
		CHECK_EQ(rings[c]->tail, 10);
		CHECK_EQ(rings[c]->frame_seq, 1);
		for (uint32_t s = 0; s < 10; s++)
			CHECK_EQ(rings[c]->slot[s].type, 0);  /* consumed slots read as unwritten in a dump */
	}
	/* Nothing new: nothing written. */
	size_t before, after;
	host_serial_data(&before, NULL);
	CHECK(trace_drain());
	host_serial_data(&after, NULL);
	CHECK_EQ(before, after);
}

static void backlog_splits_into_frames(void)
{
	three_rings(4096);
	for (uint64_t i = 0; i < 4096; i++)
		emit_on(1, i);
	CHECK_EQ(rings[1]->commit, 4096);
	CHECK(trace_drain());
	struct wire_stats st;
	struct got *g = decode_serial(&st);
	CHECK_EQ(st.frames_bad, 0);
	CHECK_EQ(g->n, 4096);
	CHECK_EQ(g->frames[1], 4096 / TRACE_FRAME_MAX_RECORDS);
	for (size_t i = 0; i < g->n; i++) {
		CHECK_EQ(g->rec[i].f[1], i);
		CHECK_EQ(g->seq[i], i / TRACE_FRAME_MAX_RECORDS);
	}
	CHECK_EQ(rings[1]->tail, 4096);
	/* The ring is usable again for a full lap. */
	for (uint64_t i = 0; i < 4096; i++)
		emit_on(1, i);
	CHECK_EQ(rings[1]->dropped, 0);
}

static size_t serial_len_now(void)
{
	size_t n;
	host_serial_data(&n, NULL);
	return n;
}

static size_t records_out(void)
{
	struct wire_stats st;
	struct got *g = decode_serial(&st);
	CHECK_EQ(st.frames_bad, 0);
	return g->n;
}

/* Batching: few young records wait; enough records, old enough, half full, or drain_all send. */
static void batching_waits_for_company(void)
{
	three_rings(64);
	trace_drain_set_batch(16, 500);
	host_clock(HOST_CLOCK_SET, 1000);
	for (uint64_t i = 0; i < 5; i++)
		emit_on(0, i);
	CHECK(trace_drain());
	CHECK_EQ(serial_len_now(), 0);
	host_clock(HOST_CLOCK_SET, 1499);
	CHECK(trace_drain());
	CHECK_EQ(serial_len_now(), 0);
	host_clock(HOST_CLOCK_SET, 1500);     /* the oldest is 500 ticks old now */
	CHECK(trace_drain());
	CHECK_EQ(records_out(), 5);
	for (uint64_t i = 0; i < 16; i++)     /* 16 records: sent at once, however young */
		emit_on(1, i);
	CHECK(trace_drain());
	CHECK_EQ(records_out(), 21);
	trace_drain_set_batch(1000, UINT64_MAX);
	for (uint64_t i = 0; i < 31; i++)
		emit_on(2, i);
	CHECK(trace_drain());
	CHECK_EQ(records_out(), 21);
	emit_on(2, 31);                       /* half of the 64 slots: sent */
	CHECK(trace_drain());
	CHECK_EQ(records_out(), 53);
	for (uint64_t i = 0; i < 3; i++)
		emit_on(0, 100 + i);
	CHECK(trace_drain());
	CHECK_EQ(records_out(), 53);
	CHECK(trace_drain_all());             /* "empty my ring now" ignores batching */
	CHECK_EQ(records_out(), 56);
	trace_drain_set_batch(1, 0);
}

/* --- a drainer stuck inside trace_out_write ------------------------------------- */

static size_t stall_after;        /* bytes the stuck drainer writes before it stops */
static size_t stall_count;
static int stalled, release_stall;

static void stalling_putc(uint8_t byte)
{
	(void)byte;
	if (stall_count++ != stall_after)
		return;
	__atomic_store_n(&stalled, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&release_stall, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void *stuck_drainer(void *arg)
{
	host_set_current_ring(arg);  /* it is CPU 2 */
	CHECK(trace_drain());
	return NULL;
}

static pthread_t start_stuck_drainer(size_t after_bytes)
{
	pthread_t th;
	stall_after = after_bytes;
	stall_count = 0;
	stalled = release_stall = 0;
	host_putc_hook = stalling_putc;
	pthread_create(&th, NULL, stuck_drainer, rings[2]);
	while (!__atomic_load_n(&stalled, __ATOMIC_ACQUIRE))
		sched_yield();
	return th;
}

static void finish_stuck_drainer(pthread_t th)
{
	__atomic_store_n(&release_stall, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	host_putc_hook = NULL;
}

static double seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void trylock_never_waits(void)
{
	three_rings(64);
	for (uint64_t i = 0; i < 20; i++)
		emit_on(0, i);
	pthread_t th = start_stuck_drainer(5);
	size_t before, after;
	host_serial_data(&before, NULL);
	host_set_current_ring(rings[1]);
	double t0 = seconds();
	int got = 0;
	for (int i = 0; i < 1000; i++)
		got += trace_drain();
	double dt = seconds() - t0;
	host_serial_data(&after, NULL);
	CHECK_EQ(got, 0);
	CHECK_EQ(after, before);   /* not a byte from us into the middle of its frame */
	CHECK(dt < 0.5);           /* 1000 failed attempts, no waiting */
	finish_stuck_drainer(th);
	struct wire_stats st;
	struct got *g = decode_serial(&st);
	CHECK_EQ(st.frames_bad, 0);
	CHECK_EQ(g->n, 20);
}

/*
 * The drainer dies mid-frame: the panic flush must not wait for it forever, must end
 * the cut frame with a 0x00, and must send every record (the cut frame's again, under
 * the same seq since the dead drainer had not advanced frame_seq).
 */
static void panic_steals_from_drainer_stuck_mid_frame(void)
{
	three_rings(64);
	for (uint64_t i = 0; i < 12; i++)
		emit_on((unsigned)(i % 2), i);
	pthread_t th = start_stuck_drainer(7);   /* 7 bytes into CPU 0's frame */
	for (uint64_t i = 12; i < 16; i++)
		emit_on((unsigned)(i % 2), i);       /* more records after the drainer got stuck */
	host_set_current_ring(rings[0]);
	double t0 = seconds();
	trace_drain_panic();
	double dt = seconds() - t0;
	CHECK(dt < 5.0);
	struct wire_stats st;
	struct got *g = decode_serial(&st);
	CHECK_EQ(st.frames_bad, 1);            /* the 7-byte piece, cut by our 0x00 */
	CHECK_EQ(g->n, 16);                    /* every record, once */
	uint64_t tags = 0;
	for (size_t i = 0; i < g->n; i++)
		tags |= 1ull << g->rec[i].f[1];
	CHECK_EQ(tags, 0xFFFF);
	CHECK_EQ(g->frame_seqs[0], 0);         /* CPU 0's frame 0, sent again whole */
	CHECK_EQ(rings[0]->tail, rings[0]->commit);
	CHECK_EQ(rings[1]->tail, rings[1]->commit);
	/*
	 * A stolen drain stays with the panicking CPU: a normal drain must not start encoding
	 * into the buffer the robbed drainer may still be sending from.
	 */
	host_set_current_ring(rings[1]);
	CHECK(!trace_drain());
	finish_stuck_drainer(th);
	/*
	 * The dead drainer woke up (it never does on real hardware) and finished its frame:
	 * those bytes form a bad piece, never a frame that decodes to wrong records.
	 */
	g = decode_serial(&st);
	CHECK_EQ(st.frames_bad, 2);
	CHECK_EQ(g->n, 16);
}

/*
 * The drainer wrote a whole frame and stalled before its 0x00 and before releasing the
 * records (the drain releases a CPU's records before it starts the next CPU, so the
 * delimiter is the last point where both are still pending).  The panic flush's 0x00
 * completes that frame and it sends the records again under the same seq: the decoder
 * sees seq repeated with the same first records (docs/trace-format.md, "Retransmission").
 */
static void panic_resends_frame_not_yet_released(void)
{
	three_rings(64);
	for (uint64_t i = 0; i < 5; i++)
		emit_on(0, i);
	CHECK(trace_drain());   /* only to learn the frame's length */
	size_t frame_len;
	host_serial_data(&frame_len, NULL);

	three_rings(64);
	for (uint64_t i = 0; i < 5; i++)
		emit_on(0, i);
	emit_on(1, 99);
	pthread_t th = start_stuck_drainer(frame_len - 1);  /* stuck on CPU 0's delimiter */
	host_set_current_ring(rings[0]);
	trace_drain_panic();
	struct wire_stats st;
	struct got *g = decode_serial(&st);
	CHECK_EQ(st.frames_bad, 0);
	CHECK_EQ(g->nframes, 3);
	CHECK_EQ(g->frame_cpus[0], 0);
	CHECK_EQ(g->frame_seqs[0], 0);
	CHECK_EQ(g->frame_cpus[1], 0);
	CHECK_EQ(g->frame_seqs[1], 0);         /* the same seq again: a retransmission */
	CHECK_EQ(g->frame_cpus[2], 1);
	CHECK_EQ(g->n, 11);
	for (size_t i = 0; i < 5; i++) {
		CHECK_EQ(g->rec[i].f[1], i);
		CHECK_EQ(g->rec[i + 5].f[1], i);
		CHECK_EQ(g->rec[i + 5].tsc, g->rec[i].tsc);
	}
	finish_stuck_drainer(th);
}

int main(void)
{
	RUN(drains_every_ring_exactly);
	RUN(backlog_splits_into_frames);
	RUN(batching_waits_for_company);
	RUN(trylock_never_waits);
	RUN_FORKED(panic_steals_from_drainer_stuck_mid_frame);
	RUN_FORKED(panic_resends_frame_not_yet_released);
	CHECK_MAIN_END();
}
