/*
 * The memory log (memlog.c): appenders racing on one log never interleave, a frame that
 * does not fit is dropped whole and counted, and a reader that splits the log at 0x00
 * gets back exactly the frames that went in.  The drain writing its frames through it
 * (hv/core/trace_glue.c, trace=mem) is tested under QEMU: tests/test_trace_transport.py.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "memlog.h"

int check_failures;

enum { THREADS = 4, PER_THREAD = 20000, CAP = 1 << 20 };

static struct trace_memlog *log_;

/* A fake frame: no 0x00 inside, then the delimiter; its bytes name the writer and index. */
static size_t make_piece(uint8_t *p, unsigned thread, unsigned i)
{
	size_t n = 3 + (i * 7 + thread) % 29;
	p[0] = (uint8_t)(thread + 1);
	p[1] = (uint8_t)(i % 255 + 1);
	for (size_t k = 2; k < n - 1; k++)
		p[k] = (uint8_t)((i + k) % 255 + 1);
	p[n - 1] = 0;
	return n;
}

static void *appender(void *arg)
{
	unsigned thread = (unsigned)(uintptr_t)arg;
	uint8_t piece[64];
	for (unsigned i = 0; i < PER_THREAD; i++) {
		size_t n = make_piece(piece, thread, i);
		trace_memlog_append(log_, piece, n);
	}
	return NULL;
}

/*
 * Four threads append at once into a log too small for all of them: each piece read back
 * is one that was written, whole; pieces + dropped bytes = everything attempted; and
 * nothing is lost while room remained (only pieces claimed past the capacity drop).
 */
static void racing_appenders_never_interleave(void)
{
	log_ = calloc(1, sizeof(*log_) + CAP);
	trace_memlog_init(log_, CAP);
	pthread_t t[THREADS];
	for (unsigned i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, appender, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);

	uint64_t attempted = 0;
	uint8_t piece[64];
	for (unsigned th = 0; th < THREADS; th++)
		for (unsigned i = 0; i < PER_THREAD; i++)
			attempted += make_piece(piece, th, i);
	CHECK(attempted > CAP);  /* the test must overflow to test dropping */
	CHECK_EQ(log_->head, attempted);

	uint64_t used = 0, pieces = 0;
	size_t start = 0;
	uint64_t end = log_->head < CAP ? log_->head : CAP;
	for (size_t k = 0; k < end; k++) {
		if (log_->data[k] != 0)
			continue;
		size_t n = k + 1 - start;
		if (n == 1) {  /* zeros: the tail left by pieces that were dropped */
			start = k + 1;
			continue;
		}
		unsigned th = log_->data[start] - 1u, i = log_->data[start + 1] - 1u;
		CHECK(th < THREADS);
		/* Find which of that thread's pieces it is: index i modulo 255 and the length. */
		int found = 0;
		for (unsigned j = i; j < PER_THREAD && !found; j += 255)
			found = make_piece(piece, th, j) == n && !memcmp(piece, log_->data + start, n);
		CHECK(found);
		used += n;
		pieces++;
		start = k + 1;
	}
	CHECK_EQ(start, end);  /* the log ends on a delimiter: no piece was cut */
	CHECK_EQ(used + log_->dropped, attempted);
	CHECK(CAP - used < 64);  /* only the tail that could not hold the next piece is unused */
	CHECK(pieces > 0);
	free(log_);
}

/* The exact edge: a piece that ends at the capacity goes in; one byte more does not. */
static void capacity_edge(void)
{
	struct trace_memlog *log = calloc(1, sizeof(*log) + 8);
	trace_memlog_init(log, 8);
	CHECK(!memcmp(log->magic, TRACE_MEMLOG_MAGIC, 8));
	const uint8_t a[5] = { 1, 2, 3, 4, 0 }, b[4] = { 5, 6, 7, 0 };
	CHECK(trace_memlog_append(log, a, 5));
	CHECK(!trace_memlog_append(log, b, 4));
	CHECK_EQ(log->dropped, 4);
	CHECK(trace_memlog_append(log, (const uint8_t *)"", 1) == 0);  /* head is past: still refused */
	CHECK_EQ(log->dropped, 5);
	CHECK(!memcmp(log->data, a, 5));
	CHECK_EQ(log->data[5], 0);
	free(log);

	log = calloc(1, sizeof(*log) + 9);
	trace_memlog_init(log, 9);
	CHECK(trace_memlog_append(log, a, 5));
	CHECK(trace_memlog_append(log, b, 4));
	CHECK_EQ(log->dropped, 0);
	free(log);
}

int main(void)
{
	RUN(racing_appenders_never_interleave);
	RUN(capacity_edge);
	CHECK_MAIN_END();
}
