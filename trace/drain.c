/*
 * The drain: one CPU at a time turns committed ring records into frames on the UART
 * (or the memory log, memlog.h).
 *
 * LOCKING.  `drain_owner` is a trylock (0 = free, else CPU + 1).  Nobody ever spins
 * for it in trace_drain(): the CPU that holds it may be the one we interrupted (an
 * NMI, or GIF=0 code running while the drainer is stuck behind us in a quiesce), and
 * spinning there is XMHF64's printf/quiesce deadlock.  Records simply wait for the
 * next drain; the rings absorb bursts and count what does not fit.
 *
 * ORDER.  For each frame: read `commit` (acquire: the records below it are complete),
 * encode and write every byte, clear the slots' `type` (so a later memory dump shows
 * them as not yet written, ring.c CONSUMER), bump `frame_seq`, and only then store
 * `tail` (release) to give the slots back.  A CPU that dies mid-frame therefore loses
 * no record: the slots are still owned by the ring, and the panic flush sends them
 * again (trace_drain_panic).  Interleavings proven by trace/tests/: test_ring_nmi.c
 * (drainer threads contend while producers are interrupted by signal handlers),
 * test_drain.c (trylock never waits; panic flush with a drainer stuck mid-frame).
 */
#include "drain.h"

#include "frame.h"
#include "trace_platform.h"

#ifndef TRACE_PANIC_WAIT_SPINS
/* How long a panic flush waits for a live drainer before stealing (pause loops). */
#define TRACE_PANIC_WAIT_SPINS (1u << 20)
#endif

static uint32_t drain_owner;
static uint32_t panic_owner;
static uint8_t drain_buf[TRACE_FRAME_MAX_WIRE];
static uint32_t batch_min_records = 1;
static uint64_t batch_max_age;

void trace_drain_set_batch(uint32_t min_records, uint64_t max_age_tsc)
{
	__atomic_store_n(&batch_min_records, min_records ? min_records : 1, __ATOMIC_RELAXED);
	__atomic_store_n(&batch_max_age, max_age_tsc, __ATOMIC_RELAXED);
}

/* Worth a frame now?  Few, young records wait for company (see trace_drain_set_batch). */
static bool batch_ready(struct trace_ring *ring, uint64_t t, uint64_t pending)
{
	if (pending >= __atomic_load_n(&batch_min_records, __ATOMIC_RELAXED) || pending >= ring->nslots / 2)
		return true;
	/* A TSC behind the record's (another CPU's clock) wraps to "old": sent, never stuck. */
	return trace_now() - trace_ring_slot(ring, t)->tsc >= __atomic_load_n(&batch_max_age, __ATOMIC_RELAXED);
}

static uint32_t my_owner_id(void)
{
	struct trace_ring *ring = trace_this_cpu_ring();
	return ring ? ring->cpu + 1 : 0xFFFFFFFFu;
}

static bool try_take(uint32_t *lock, uint32_t me)
{
	uint32_t expected = 0;
	return __atomic_compare_exchange_n(lock, &expected, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* Frees the lock only if it is still ours: a panic flush may have stolen it. */
static void give_back(uint32_t *lock, uint32_t me)
{
	uint32_t expected = me;
	__atomic_compare_exchange_n(lock, &expected, 0, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

/* Takes the lock, waiting a bounded time; steals it after that.  Returns true if stolen. */
static bool take_or_steal(uint32_t *lock, uint32_t me)
{
	if (__atomic_load_n(lock, __ATOMIC_RELAXED) != me) {
		for (uint32_t i = 0; i < TRACE_PANIC_WAIT_SPINS; i++) {
			if (try_take(lock, me))
				return false;
			__builtin_ia32_pause();
		}
	}
	__atomic_exchange_n(lock, me, __ATOMIC_ACQUIRE);
	return true;
}

/* Returns whether it sent records; *last_tsc then holds the last one's TSC. */
static bool drain_ring(struct trace_ring *ring, uint8_t *buf, bool batched, uint64_t *last_tsc)
{
	uint64_t t = __atomic_load_n(&ring->tail, __ATOMIC_RELAXED);
	uint64_t c = __atomic_load_n(&ring->commit, __ATOMIC_ACQUIRE);
	uint64_t mask = ring->nslots - 1;

	/* More than a ring's worth pending means a corrupt header: leave it for a dump. */
	if (c - t > ring->nslots || t == c)
		return false;
	if (batched && !batch_ready(ring, t, c - t))
		return false;
	*last_tsc = trace_ring_slot(ring, c - 1)->tsc;
	while (t != c) {
		struct trace_frame_src src = { ring->slot, mask, t, c - t, TRACE_WIRE_TSC_SHIFT };
		uint64_t seq = __atomic_load_n(&ring->frame_seq, __ATOMIC_RELAXED);
		uint64_t used;
		size_t len = trace_frame_build(&src, (uint8_t)ring->cpu, seq, buf, &used);
		trace_out_write(buf, len);
		for (uint64_t i = 0; i < used; i++)
			__atomic_store_n(&trace_ring_slot(ring, t + i)->type, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&ring->frame_seq, seq + 1, __ATOMIC_RELAXED);
		t += used;
		__atomic_store_n(&ring->tail, t, __ATOMIC_RELEASE);
	}
	return true;
}

/*
 * Sends what `ring->dropped` holds as a LOST frame of the ring's CPU.  The drain cannot
 * write into the ring (its CPU is its only producer), so the LOST goes straight to the
 * wire, as a one-record frame with the CPU's next frame_seq.  Its TSC is the later of
 * the last record this pass sent and the drainer's clock: the count was dropped after
 * that CPU's last record (a writer that finds room reports `dropped` first), so not
 * before it.  When this pass sent none, the drainer's clock alone stands in, which
 * relies on the CPUs' TSCs being in step (they are under QEMU and Bochs).
 *
 * The count is taken with an atomic exchange, the same one write_lost() uses, so a
 * count is taken by exactly one of them: never doubled.  Interleavings (host tests
 * test_ring_interleave.c final_flush_*):
 *  - a producer (another CPU, or the NMI'd code of this one) exchanged the count just
 *    before us: it writes LOST into the ring, or puts the count back when LOST does not
 *    fit; the next pass of trace_drain_panic() drains that record or takes the count.
 *  - a producer drops after our exchange: the next pass takes it.
 *  - this flush runs in an NMI that interrupted a producer of its own CPU between its
 *    exchange and its LOST: that count is in the interrupted writer's hands, like a
 *    record it reserved but has not committed, and neither reaches the wire -- the
 *    machine ends under them.
 * Returns whether it sent a frame.
 */
static bool send_dropped(struct trace_ring *ring, uint8_t *buf, uint64_t last_tsc)
{
	uint64_t lost = __atomic_exchange_n(&ring->dropped, 0, __ATOMIC_RELAXED);
	if (lost == 0)
		return false;
	uint64_t now = trace_now();
	struct trace_record rec = { .type = TRACE_EV_LOST, .tsc = now > last_tsc ? now : last_tsc,
				    .a = { lost, 0, 0 } };
	struct trace_frame_src src = { &rec, ~(uint64_t)0, 0, 1, TRACE_WIRE_TSC_SHIFT };
	uint64_t seq = __atomic_load_n(&ring->frame_seq, __ATOMIC_RELAXED);
	uint64_t used;
	size_t len = trace_frame_build(&src, (uint8_t)ring->cpu, seq, buf, &used);
	trace_out_write(buf, len);
	__atomic_store_n(&ring->frame_seq, seq + 1, __ATOMIC_RELAXED);
	return true;
}

#ifndef TRACE_FINAL_PASSES
/* Drain + take-dropped passes of the final flush; see send_dropped. */
#define TRACE_FINAL_PASSES 4u
#endif

/*
 * The machine's last drain: every ring's committed records, then every ring's
 * `dropped` as LOST, so emitted + sum of LOST == attempted holds on the wire and not
 * only in memory (ring.c FULL RING).  Repeated while a pass found something, because
 * producers on other CPUs run on until the machine stops under them.
 */
static void drain_final(uint8_t *buf)
{
	unsigned n = trace_ncpus();
	for (unsigned pass = 0; pass < TRACE_FINAL_PASSES; pass++) {
		bool found = false;
		for (unsigned cpu = 0; cpu < n; cpu++) {
			struct trace_ring *ring = trace_ring_of(cpu);
			if (!ring)
				continue;
			uint64_t last_tsc = 0;
			found |= drain_ring(ring, buf, false, &last_tsc);
			found |= send_dropped(ring, buf, last_tsc);
		}
		if (!found)
			return;
	}
}

static void drain_all(uint8_t *buf, bool batched)
{
	unsigned n = trace_ncpus();
	for (unsigned cpu = 0; cpu < n; cpu++) {
		struct trace_ring *ring = trace_ring_of(cpu);
		uint64_t last_tsc;
		if (ring)
			drain_ring(ring, buf, batched, &last_tsc);
	}
}

static bool drain_locked(bool batched)
{
	uint32_t me = my_owner_id();
	if (!try_take(&drain_owner, me))
		return false;
	drain_all(drain_buf, batched);
	give_back(&drain_owner, me);
	return true;
}

bool trace_drain(void)
{
	return drain_locked(true);
}

bool trace_drain_all(void)
{
	return drain_locked(false);
}

void trace_drain_panic(void)
{
	/* On the stack, not drain_buf: the CPU we steal from may still be encoding into that. */
	uint8_t buf[TRACE_FRAME_MAX_WIRE];
	uint32_t me = my_owner_id();

	/* Two CPUs panicking at once would interleave their frames; serialise, but bounded. */
	take_or_steal(&panic_owner, me);
	bool stolen = take_or_steal(&drain_owner, me);
	if (stolen)
		trace_out_write((const uint8_t *)"", 1);  /* ends the previous owner's half-written frame */
	drain_final(buf);
	/*
	 * A stolen drain is kept: the robbed CPU may still be sending from drain_buf, and a
	 * normal drain started now would encode into it under its feet.  Later panic
	 * flushes steal again; normal drains stop, which is what a dying machine wants.
	 */
	if (!stolen)
		give_back(&drain_owner, me);
	give_back(&panic_owner, me);
}
