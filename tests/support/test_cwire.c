/*
 * The C wire decoder under ASan/UBSan (`make test-cwire`, and `make fuzz-decoder` with
 * its >= 1 M inputs): every input of the corpus files decodes without a memory error,
 * gives the same items fed whole as fed in random chunks (the stream's carry and its
 * per-piece state must not depend on where reads end), and gives only items whose
 * fields fit the event table; and the sliced CRC (hw_crc32) equals trace/crc32.c's
 * byte-at-a-time one on every prefix of every input at every alignment.  Equality with
 * the Python reader is cwire_diff's job.
 *
 *   test_cwire CORPUS...    each file: (u32 little-endian length, bytes) repeated,
 *                           as python3 -m tests.support.cwire_diff --corpus writes them
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heisen/defs.h"
#include "wire.h"
#include "frame.h"

static const uint16_t layouts[TRACE_EV_MAX + 1] = TRACE_EV_LAYOUTS;
static unsigned long failures;

static void fail(const char *file, unsigned long k, const char *what)
{
	if (failures++ < 20)
		fprintf(stderr, "test_cwire: %s input %lu: %s\n", file, k, what);
}

/* Fields that are not padding: the items of two runs must agree on all of them. */
static int same_item(const struct hw_out *a, const struct hw_item *x, const struct hw_out *b, const struct hw_item *y)
{
	if (x->tsc != y->tsc || memcmp(x->x, y->x, sizeof(x->x)) || x->offset != y->offset || x->cpu != y->cpu ||
	    x->kind != y->kind || x->type != y->type || x->nargs != y->nargs)
		return 0;
	if (x->kind == HW_RECORD && x->type == TRACE_EV_TEXT)
		return !memcmp(a->bytes + x->aux, b->bytes + y->aux, x->x[0]);
	if (x->kind == HW_L_FRAME)
		return !memcmp(a->bytes + x->aux, b->bytes + y->aux, 9 + a->bytes[x->aux + 8]);
	return 1;
}

static struct hw_stream whole, chunked;

static int decode(const uint8_t *p, size_t n, unsigned long seed, struct hw_stream *s)
{
	hw_stream_reset(s);
	size_t at = 0;
	while (at < n) {
		size_t k = n - at;
		if (seed) {
			seed = seed * 6364136223846793005ul + 1442695040888963407ul;
			k = (seed >> 33) % (k + 1);
		}
		if (hw_stream_feed(s, p + at, k))
			return -1;
		at += k;
	}
	return hw_stream_finish(s);
}

static void check_input(const char *file, unsigned long k, const uint8_t *p, size_t n,
			unsigned long long *items, unsigned long long *records)
{
	/* every length 0..15 crosses the 8-byte loop's tail; each start 0..7 an alignment */
	for (size_t at = 0; at < 8 && at <= n; at++)
		for (size_t len = 0; at + len <= n && len < 64; len++)
			if (hw_crc32(p + at, len) != trace_crc32(0, p + at, len)) {
				fail(file, k, "hw_crc32 differs from trace_crc32");
				at = 8;
				break;
			}
	if (hw_crc32(p, n) != trace_crc32(0, p, n))
		fail(file, k, "hw_crc32 of the whole input differs from trace_crc32");
	if (decode(p, n, 0, &whole) || decode(p, n, k * 2654435761ul + 1, &chunked)) {
		fail(file, k, "out of memory");
		return;
	}
	if (whole.out.nitems != chunked.out.nitems || whole.out.nrecords != chunked.out.nrecords)
		fail(file, k, "fed in chunks it gives another number of items");
	for (size_t i = 0; i < whole.out.nitems && i < chunked.out.nitems; i++)
		if (!same_item(&whole.out, &whole.out.items[i], &chunked.out, &chunked.out.items[i])) {
			fail(file, k, "fed in chunks it gives other items");
			break;
		}
	size_t recs = 0, covered = 0;
	for (size_t i = 0; i < whole.out.nitems; i++) {
		const struct hw_item *it = &whole.out.items[i];
		if ((uint64_t)it->offset > n)
			fail(file, k, "an item's offset is past the input");
		if (it->kind != HW_RECORD)
			continue;
		recs++;
		if (!it->type || it->type > TRACE_EV_MAX || !(layouts[it->type] & 0x100) || it->type == TRACE_EV_LOST)
			fail(file, k, "a record of an event the table does not define");
		else if (it->type == TRACE_EV_TEXT ? it->nargs != 1 : it->nargs != (layouts[it->type] & 3u))
			fail(file, k, "a record with another field count than its event's");
	}
	for (size_t r = 0; r < whole.out.nruns; r++)
		covered += whole.out.runs[r].n;
	if (recs != whole.out.nrecords || covered != whole.out.nitems)
		fail(file, k, "the counts do not add up (nrecords, runs)");
	*items += whole.out.nitems;
	*records += recs;
}

int main(int argc, char **argv)
{
	unsigned long long inputs = 0, items = 0, records = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: test_cwire CORPUS...  (python3 -m tests.support.cwire_diff --corpus PREFIX writes them)\n");
		return 2;
	}
	if (hw_stream_init(&whole) || hw_stream_init(&chunked)) {
		fprintf(stderr, "test_cwire: out of memory\n");
		return 1;
	}
	for (int a = 1; a < argc; a++) {
		FILE *f = fopen(argv[a], "rb");
		if (!f) {
			perror(argv[a]);
			return 2;
		}
		uint8_t len4[4];
		for (unsigned long k = 0; fread(len4, 1, 4, f) == 4; k++) {
			size_t n = (size_t)len4[0] | (size_t)len4[1] << 8 | (size_t)len4[2] << 16 | (size_t)len4[3] << 24;
			uint8_t *p = malloc(n ? n : 1);
			if (!p || fread(p, 1, n, f) != n) {
				fprintf(stderr, "test_cwire: %s: input %lu cut short (%zu bytes wanted)\n", argv[a], k, n);
				free(p);
				fclose(f);
				return 2;
			}
			check_input(argv[a], k, p, n, &items, &records);
			free(p);
			inputs++;
		}
		fclose(f);
	}
	if (!inputs || !records) {
		/* a corpus that decodes to nothing tested nothing */
		fprintf(stderr, "test_cwire: %llu inputs, %llu records: nothing was tested\n", inputs, records);
		return 1;
	}
	printf("test_cwire: %llu inputs, %llu items (%llu records), each fed whole and in random chunks: "
	       "%lu failures\n", inputs, items, records, failures);
	return failures ? 1 : 0;
}
