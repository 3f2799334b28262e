/*
 * The byte log of memlog.h.
 *
 * RESERVE, THEN COPY.  An appender claims [off, off + n) with one fetch-add on `head`
 * and then copies into it; nobody else ever writes there.  Interleavings it survives
 * (trace/tests/test_memlog.c, threads appending frames at once):
 *   - two appenders (the drain owner and a panic flush that stole it): disjoint
 *     ranges by construction, each frame contiguous;
 *   - an appender that dies between the claim and the copy (its CPU hung): its range
 *     stays zero (the log starts zeroed), and 0x00 is the frame delimiter, so the
 *     reader sees empty frames there and resynchronises at the next;
 *   - a claim that passes the capacity: that appender copies nothing and counts its
 *     bytes in `dropped`; `head` keeps growing but the reader stops at `capacity`.
 * The host reads the log after the machine stopped, or reads `head` while it runs
 * (progress for the hang watch); it never needs a commit marker because a frame
 * half-copied at the moment of a read fails its CRC and is reported as damaged.
 */
#include "memlog.h"

void trace_memlog_init(struct trace_memlog *log, uint64_t capacity)
{
	const char magic[8] = TRACE_MEMLOG_MAGIC;
	for (unsigned i = 0; i < 8; i++)
		log->magic[i] = magic[i];
	log->capacity = capacity;
	__atomic_store_n(&log->dropped, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&log->head, 0, __ATOMIC_RELEASE);
}

bool trace_memlog_append(struct trace_memlog *log, const uint8_t *p, size_t n)
{
	uint64_t off = __atomic_fetch_add(&log->head, n, __ATOMIC_ACQ_REL);
	if (off > log->capacity || n > log->capacity - off) {
		__atomic_fetch_add(&log->dropped, n, __ATOMIC_RELAXED);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		log->data[off + i] = p[i];
	return true;
}
