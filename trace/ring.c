/*
 * Lock-free per-CPU trace ring: the producer side (reserve, write, commit, LOST).
 *
 * WRITERS.  Only code running on the ring's own CPU writes to it, but that code nests:
 * the exit handler can be interrupted by an NMI, and the NMI handler by a nested NMI
 * (after an IRET in the handler path unblocks NMIs) or a #MC.  Nesting is strictly
 * LIFO: an interrupting writer runs to completion before the interrupted one resumes.
 * That is the model of Linux kernel/trace/ring_buffer.c (rb_start_commit /
 * rb_end_commit), and the protocol below is its per-record version:
 *
 *   enter:    nest++
 *   reserve:  loop { r = reserve; room = r - tail < nslots; tsc = now();
 *                    CAS(reserve, r -> r+k) }
 *   write:    fields, then `type` last
 *   commit:   loop { r = reserve; if (nest == 1) commit = r (release); nest--;
 *                    if (reserve == r || nest != 0) done; nest++ }
 *
 * Only the outermost writer (nest == 1) moves `commit`, and then every slot below
 * `reserve` is complete: each was claimed by a writer that either finished or is
 * below us on the stack, and nobody is below the outermost one.  A writer that
 * interrupts the outermost one between its re-read of `reserve` and its nest-- has
 * nest >= 2 and leaves `commit` alone; the outermost one then sees `reserve` moved
 * and goes round again.  So `commit` only grows and never covers a torn record.
 *
 * `nest` is updated with a plain load/store pair, not an atomic RMW: an interrupting
 * writer increments and decrements it before returning, so it is unchanged whenever
 * the interrupted load/store pair resumes.  `reserve` is claimed with CAS because an
 * interrupting writer does change it.  The compiler must not move these across each
 * other (an interrupt is a "signal" on the same thread), hence the signal fences; the
 * CPU needs no fence for that, as an interrupt sees the CPU's own program order.
 *
 * TIMESTAMPS.  tsc is read between loading `reserve` and the CAS.  A writer that
 * interrupts there claims a slot and changes `reserve`, so our CAS fails and we read
 * a fresh tsc: records of one CPU have non-decreasing tsc in ring order, nested
 * writers included, and the frame encoder's deltas stay small.
 *
 * CONSUMER.  The drain (drain.c), possibly on another CPU, reads `commit` with acquire,
 * reads slots [tail, commit), clears their `type`, and stores `tail` with release.
 * The producer loads `tail` with acquire before claiming a slot, so it never
 * overwrites a slot the consumer is still reading.  Because the consumer clears
 * `type`, every slot in [commit, reserve) of a memory dump has type 0 until its
 * writer finished: an unfinished record is never mistaken for an old one.
 *
 * FULL RING.  A writer that finds no room counts the record in `dropped` (atomic
 * add: an interrupting writer may drop too) and returns.  A writer that finds
 * `dropped` non-zero exchanges it with 0 and writes LOST(count) before its own
 * record; if LOST does not fit either, it adds the count back.  So records
 * emitted + sum of LOST counts + `dropped` == records attempted, always.  Drops
 * after a CPU's last record have no next writer: the machine's last drain takes
 * `dropped` with the same exchange and sends it as LOST (drain.c send_dropped).
 *
 * INTERLEAVINGS SURVIVED, and the host test that forces each (trace/tests/):
 *  - NMI between reserve and write: the NMI's record lands after ours; commit stays
 *    below our unwritten slot.  test_ring_interleave.c: nmi_between_reserve_and_write
 *  - NMI between reading `reserve` and the CAS: our CAS fails, we retry with a fresh
 *    slot and tsc.  nmi_in_reserve_race
 *  - NMI between write and commit (and in the middle of the write): the NMI does not
 *    commit; the consumer sees neither record until we do.  nmi_between_write_and_commit
 *  - NMI during the commit loop, before or after our nest--: the outermost writer
 *    at that moment commits both.  nmi_during_commit_before_nest_drop,
 *    nmi_during_commit_after_nest_drop
 *  - nested NMI (NMI inside the NMI's write): three levels, one commit.  nested_nmi
 *  - consumer on another CPU reading concurrently: only [tail, commit) is read.
 *    consumer_during_write; threads: test_ring_nmi.c (drainer threads vs. a producer
 *    interrupted by SIGUSR1 handlers, nested up to four deep, that also write)
 *  - full ring with NMI: drops from both levels are counted, LOST taken then
 *    interrupted, LOST that no longer fits is put back.  full_ring_nmi_drop,
 *    nmi_after_lost_taken, lost_put_back_when_ring_refills
 */
#include "ring.h"

#include "replay_stop.h"
#include "trace_platform.h"

#ifdef TRACE_TEST_HOOKS
#define TRACE_HOOK(ring, point) trace_test_hook((ring), (point))
#else
#define TRACE_HOOK(ring, point) do { } while (0)
#endif

/* Orders our accesses against an interrupting writer on this CPU (compiler only). */
#define interrupt_fence() __atomic_signal_fence(__ATOMIC_SEQ_CST)

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

bool trace_ring_init(struct trace_ring *ring, uint32_t cpu, uint32_t nslots)
{
	if (nslots < 2 || (nslots & (nslots - 1)) != 0)
		return false;
	for (unsigned i = 0; i < 8; i++)
		ring->magic[i] = TRACE_RING_MAGIC[i];
	ring->cpu = cpu;
	ring->nslots = nslots;
	ring->reserve = 0;
	ring->commit = 0;
	ring->tail = 0;
	ring->dropped = 0;
	ring->frame_seq = 0;
	ring->nest = 0;
	for (uint32_t i = 0; i < nslots; i++)
		ring->slot[i].type = 0;
	return true;
}

static inline void writer_enter(struct trace_ring *ring)
{
	uint64_t n = __atomic_load_n(&ring->nest, __ATOMIC_RELAXED);
	__atomic_store_n(&ring->nest, n + 1, __ATOMIC_RELAXED);
	interrupt_fence();
	TRACE_HOOK(ring, TRACE_HOOK_ENTERED);
}

/* Claims k consecutive slots; false if they do not fit.  See TIMESTAMPS above. */
static inline bool reserve_slots(struct trace_ring *ring, uint64_t k, uint64_t *idx, uint64_t *tsc)
{
	uint64_t r = __atomic_load_n(&ring->reserve, __ATOMIC_RELAXED);
	for (;;) {
		uint64_t t = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
		if (unlikely(r - t + k > ring->nslots))
			return false;
		*tsc = trace_now();
		TRACE_HOOK(ring, TRACE_HOOK_BEFORE_CAS);
		/* A failed CAS reloads r: an interrupting writer claimed slots meanwhile. */
		if (likely(__atomic_compare_exchange_n(&ring->reserve, &r, r + k, false,
						       __ATOMIC_RELAXED, __ATOMIC_RELAXED))) {
			*idx = r;
			interrupt_fence();
			TRACE_HOOK(ring, TRACE_HOOK_AFTER_RESERVE);
			return true;
		}
	}
}

/* Publishes a written record: `type` goes last so a dump never shows half a record. */
static inline void publish(struct trace_ring *ring, struct trace_record *rec, unsigned int type)
{
	(void)ring;  /* only the test hook looks at it */
	TRACE_HOOK(ring, TRACE_HOOK_MID_WRITE);
	interrupt_fence();
	__atomic_store_n(&rec->type, (uint8_t)type, __ATOMIC_RELAXED);
}

static inline void write_record(struct trace_ring *ring, uint64_t idx, uint64_t tsc, unsigned int type,
				uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct trace_record *rec = trace_ring_slot(ring, idx);
	rec->len = 0;
	rec->reserved = 0;
	rec->reserved2 = 0;
	rec->tsc = tsc;
	rec->a[0] = a0;
	rec->a[1] = a1;
	rec->a[2] = a2;
	publish(ring, rec, type);
}

static void count_drop(struct trace_ring *ring, uint64_t k)
{
	TRACE_HOOK(ring, TRACE_HOOK_DROP);
	__atomic_fetch_add(&ring->dropped, k, __ATOMIC_RELAXED);
}

/*
 * Slow path: report earlier drops before our own record.  See FULL RING above.
 * Returns false when LOST did not fit: the caller must then drop its own
 * record too.  Otherwise a drainer on another CPU freeing slots between the
 * two reservations would let our record land *before* the LOST that reports
 * the gap in front of it, and a reader would see the gap unannounced (found
 * by the decoder's intercept-pairing rule under an NMI flood; proven by
 * test_ring_interleave.c drain_between_lost_and_record).
 */
static bool __attribute__((noinline)) write_lost(struct trace_ring *ring)
{
	uint64_t lost = __atomic_exchange_n(&ring->dropped, 0, __ATOMIC_RELAXED);
	uint64_t idx, tsc;
	if (lost == 0)
		return true;  /* an interrupting writer reported them already */
	TRACE_HOOK(ring, TRACE_HOOK_LOST_TAKEN);
	if (reserve_slots(ring, 1, &idx, &tsc)) {
		write_record(ring, idx, tsc, TRACE_EV_LOST, lost, 0, 0);
		return true;
	}
	__atomic_fetch_add(&ring->dropped, lost, __ATOMIC_RELAXED);
	TRACE_HOOK(ring, TRACE_HOOK_LOST_PUT_BACK);
	return false;
}

static inline void writer_exit(struct trace_ring *ring)
{
	TRACE_HOOK(ring, TRACE_HOOK_BEFORE_COMMIT);
	for (;;) {
		uint64_t r = __atomic_load_n(&ring->reserve, __ATOMIC_RELAXED);
		uint64_t n = __atomic_load_n(&ring->nest, __ATOMIC_RELAXED);
		interrupt_fence();
		if (n == 1) {
			__atomic_store_n(&ring->commit, r, __ATOMIC_RELEASE);
			TRACE_HOOK(ring, TRACE_HOOK_AFTER_COMMIT);
		}
		n = __atomic_load_n(&ring->nest, __ATOMIC_RELAXED);
		__atomic_store_n(&ring->nest, n - 1, __ATOMIC_RELAXED);
		interrupt_fence();
		TRACE_HOOK(ring, TRACE_HOOK_AFTER_NEST_DEC);
		if (likely(__atomic_load_n(&ring->reserve, __ATOMIC_RELAXED) == r))
			return;
		/* Someone claimed slots after our read of reserve: if we are outermost again, commit them. */
		n = __atomic_load_n(&ring->nest, __ATOMIC_RELAXED);
		if (n != 0)
			return;
		__atomic_store_n(&ring->nest, 1, __ATOMIC_RELAXED);
		interrupt_fence();
	}
}

void trace_emit(unsigned int ev, unsigned long long a0, unsigned long long a1, unsigned long long a2)
{
	struct trace_ring *ring = trace_this_cpu_ring();
	uint64_t idx, tsc;

	if (unlikely(ring == 0))
		return;
	writer_enter(ring);
	bool reported = true;
	if (unlikely(__atomic_load_n(&ring->dropped, __ATOMIC_RELAXED) != 0))
		reported = write_lost(ring);
	/* An id outside the table would be undecodable: count it as lost instead. */
	if (likely(reported) && likely(ev - 1u < TRACE_EV_MAX && ev != TRACE_EV_TEXT) &&
	    likely(reserve_slots(ring, 1, &idx, &tsc))) {
		trace_replay_stop_check(ring, idx, ev, a0, a1, a2);
		write_record(ring, idx, tsc, ev, a0, a1, a2);
	} else
		count_drop(ring, 1);
	writer_exit(ring);
}

/* Up to 8 bytes of s little-endian into one word (no memcpy in a freestanding build). */
static inline uint64_t pack_word(const char *s, size_t n)
{
	uint64_t w = 0;
	for (size_t i = 0; i < n && i < 8; i++)
		w |= (uint64_t)(uint8_t)s[i] << (8 * i);
	return w;
}

void trace_emit_text(const char *s, size_t n)
{
	struct trace_ring *ring = trace_this_cpu_ring();
	uint64_t k = (n + TRACE_TEXT_CHUNK - 1) / TRACE_TEXT_CHUNK;
	uint64_t idx, tsc;

	if (unlikely(ring == 0) || n == 0)
		return;
	writer_enter(ring);
	bool reported = true;
	if (unlikely(__atomic_load_n(&ring->dropped, __ATOMIC_RELAXED) != 0))
		reported = write_lost(ring);
	if (reported && k <= ring->nslots && reserve_slots(ring, k, &idx, &tsc)) {
		trace_replay_stop_check(ring, idx, (uintptr_t)s, n, 0, 0);
		for (uint64_t c = 0; c < k; c++) {
			struct trace_record *rec = trace_ring_slot(ring, idx + c);
			size_t off = (size_t)c * TRACE_TEXT_CHUNK;
			size_t len = n - off < TRACE_TEXT_CHUNK ? n - off : TRACE_TEXT_CHUNK;
			rec->len = (uint8_t)len;
			rec->reserved = 0;
			rec->reserved2 = 0;
			rec->tsc = tsc;
			for (size_t w = 0; w < 3; w++)
				rec->a[w] = len > 8 * w ? pack_word(s + off + 8 * w, len - 8 * w) : 0;
			publish(ring, rec, TRACE_EV_TEXT);
		}
	} else {
		count_drop(ring, k);
	}
	writer_exit(ring);
}
