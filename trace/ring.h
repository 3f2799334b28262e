/*
 * Per-CPU trace rings: the record and ring layouts of docs/trace-format.md and the
 * lock-free, NMI-safe producer.  The protocol is explained in ring.c.
 *
 * Freestanding: compiled into the hypervisor and, with sanitizers, into host tests.
 */
#ifndef HEISEN_TRACE_RING_H
#define HEISEN_TRACE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heisen/defs.h"

#define TRACE_RING_MAGIC "HVRING01"
#define TRACE_TEXT_CHUNK 24u   /* bytes of text one TEXT record carries (= sizeof a[]) */

struct trace_record {
	uint8_t type;        /* TRACE_EV_*; 0 = reserved but not yet complete */
	uint8_t len;         /* TEXT: bytes used in a[]; others 0 */
	uint16_t reserved;
	uint32_t reserved2;
	uint64_t tsc;
	uint64_t a[3];       /* fields in table order; TEXT: raw bytes */
};

struct trace_ring {
	char magic[8];
	uint32_t cpu;
	uint32_t nslots;     /* power of two */
	uint64_t reserve;    /* producers on this CPU only */
	uint64_t commit;     /* producers store (release), consumers load (acquire) */
	uint64_t tail;       /* the drainer stores (release), producers load (acquire) */
	uint64_t dropped;
	uint64_t frame_seq;  /* the drainer's */
	uint64_t nest;       /* producers on this CPU only */
	struct trace_record slot[];
};

/* The wire format and memory dumps depend on these exact offsets. */
_Static_assert(sizeof(struct trace_record) == 40, "trace-format.md: record is 40 bytes");
_Static_assert(offsetof(struct trace_record, len) == 1, "record.len at 1");
_Static_assert(offsetof(struct trace_record, reserved2) == 4, "record.reserved2 at 4");
_Static_assert(offsetof(struct trace_record, tsc) == 8, "record.tsc at 8");
_Static_assert(offsetof(struct trace_record, a) == 16, "record.a at 16");
_Static_assert(sizeof(((struct trace_record *)0)->a) == TRACE_TEXT_CHUNK, "TEXT chunk = a[]");
_Static_assert(offsetof(struct trace_ring, cpu) == 8, "ring.cpu at 8");
_Static_assert(offsetof(struct trace_ring, nslots) == 12, "ring.nslots at 12");
_Static_assert(offsetof(struct trace_ring, reserve) == 16, "ring.reserve at 16");
_Static_assert(offsetof(struct trace_ring, commit) == 24, "ring.commit at 24");
_Static_assert(offsetof(struct trace_ring, tail) == 32, "ring.tail at 32");
_Static_assert(offsetof(struct trace_ring, dropped) == 40, "ring.dropped at 40");
_Static_assert(offsetof(struct trace_ring, frame_seq) == 48, "ring.frame_seq at 48");
_Static_assert(offsetof(struct trace_ring, nest) == 56, "ring.nest at 56");
_Static_assert(offsetof(struct trace_ring, slot) == 64, "ring.slot at 64");
_Static_assert(sizeof(struct trace_ring) == 64, "ring header is 64 bytes");

/*
 * Bytes one ring with nslots slots occupies.  `trace_rings` (the symbol a memory dump
 * looks for) is HV_MAX_CPUS such rings back to back, each TRACE_RING_BYTES(nslots).
 */
#define TRACE_RING_BYTES(nslots) (sizeof(struct trace_ring) + (size_t)(nslots) * sizeof(struct trace_record))

/*
 * Formats `ring` (TRACE_RING_BYTES(nslots) bytes, zeroed or not) as an empty ring.
 * nslots must be a power of two >= 2; returns false (ring untouched) otherwise.
 * Call before any CPU can reach trace_this_cpu_ring() == ring.
 */
bool trace_ring_init(struct trace_ring *ring, uint32_t cpu, uint32_t nslots);

/*
 * Producers: callable from any context on the ring's CPU, including NMI and nested
 * NMI/#MC, never blocking.  When the ring is full the record is dropped and counted;
 * the next writer that finds room writes a LOST record with the count first.
 * The declaration matches the generated one in heisen/defs.h (which hides it with
 * TRACE_OFF); it is repeated here so the ring itself builds either way.
 */
void trace_emit(unsigned int ev, unsigned long long a0, unsigned long long a1, unsigned long long a2);

/*
 * Emits n bytes of text as ceil(n / 24) TEXT records reserved in one piece, so no
 * interrupting writer's record lands between the chunks of one call.  If they do not
 * all fit, all are dropped (and counted).
 */
void trace_emit_text(const char *s, size_t n);

/* Slot holding the record with sequence index `idx`. */
static inline struct trace_record *trace_ring_slot(struct trace_ring *ring, uint64_t idx)
{
	return &ring->slot[idx & (ring->nslots - 1)];
}

#ifdef TRACE_TEST_HOOKS
/*
 * Host tests only: named points inside the producer where a test runs another
 * writer synchronously, i.e. an "NMI" arriving exactly there (trace/tests/).
 */
enum trace_hook_point {
	TRACE_HOOK_ENTERED,          /* nest incremented, nothing reserved yet */
	TRACE_HOOK_BEFORE_CAS,       /* reserve and tsc read, slot not yet claimed */
	TRACE_HOOK_AFTER_RESERVE,    /* slot claimed, record not written */
	TRACE_HOOK_MID_WRITE,        /* fields written, type not yet */
	TRACE_HOOK_BEFORE_COMMIT,    /* record complete, commit not moved */
	TRACE_HOOK_AFTER_COMMIT,     /* commit stored by the outermost writer, nest not yet dropped */
	TRACE_HOOK_AFTER_NEST_DEC,   /* nest dropped, reserve not yet re-checked */
	TRACE_HOOK_DROP,             /* ring found full, drop not yet counted */
	TRACE_HOOK_LOST_TAKEN,       /* dropped count exchanged to 0, LOST not yet reserved */
	TRACE_HOOK_LOST_PUT_BACK,    /* LOST did not fit, its count is back in dropped */
	TRACE_HOOK_COUNT
};
void trace_test_hook(struct trace_ring *ring, enum trace_hook_point point);
#endif

#endif
