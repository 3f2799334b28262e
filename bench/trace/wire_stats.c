/*
 * trace-wire-stats FILE...: bytes per event on the wire for recorded serial streams
 * (a run's serial.bin), as recorded and re-framed at 64 records a frame (what the drain
 * sends with batching on, or whenever it falls behind).  Per event type it shows the
 * record's own bytes (type, dt, fields) without framing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "wire_decode.h"

#ifdef TRACE_EV_NAMES
static const char *const ev_names[TRACE_EV_MAX + 1] = TRACE_EV_NAMES;
#define EV_NAME(t) (ev_names[t] ? ev_names[t] : "?")
#else
#define EV_NAME(t) ""
#endif

struct per_type {
	uint64_t n, bytes;
};

struct stats {
	uint64_t frames, records, text_records;
	struct per_type type[TRACE_EV_MAX + 1];
	/* records per CPU in stream order, for re-framing */
	struct trace_record *recs[256];
	size_t nrecs[256], caps[256];
};

static void on_frame(const struct wire_frame *f, void *ctx)
{
	struct stats *s = ctx;
	s->frames++;
	for (size_t i = 0; i < f->nrec; i++) {
		const struct wire_record *w = &f->rec[i];
		s->records++;
		s->text_records += w->type == TRACE_EV_TEXT;
		s->type[w->type].n++;
		s->type[w->type].bytes += w->wire_size;
		if (s->nrecs[f->cpu] == s->caps[f->cpu]) {
			s->caps[f->cpu] = 2 * s->caps[f->cpu] + 1024;
			s->recs[f->cpu] = realloc(s->recs[f->cpu], s->caps[f->cpu] * sizeof(struct trace_record));
		}
		struct trace_record *r = &s->recs[f->cpu][s->nrecs[f->cpu]++];
		memset(r, 0, sizeof(*r));
		r->type = w->type;
		r->tsc = w->tsc;
		if (w->type == TRACE_EV_TEXT) {
			r->len = w->text_len;
			memcpy(r->a, w->text, w->text_len);
		} else {
			memcpy(r->a, w->f, sizeof(r->a));
		}
	}
}

/* Bytes on the wire for the same records in frames of up to 64 records. */
static uint64_t reframed_bytes(const struct stats *s, uint64_t *frames)
{
	uint64_t bytes = 0;
	uint8_t out[TRACE_FRAME_MAX_WIRE];
	*frames = 0;
	for (unsigned c = 0; c < 256; c++) {
		uint64_t done = 0, seq = 0;
		while (done < s->nrecs[c]) {
			struct trace_frame_src src = { s->recs[c], ~0ull, done, s->nrecs[c] - done, TRACE_WIRE_TSC_SHIFT };
			uint64_t used;
			bytes += trace_frame_build(&src, (uint8_t)c, seq++, out, &used);
			done += used;
			(*frames)++;
		}
	}
	return bytes;
}

static int report(const char *path)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		fprintf(stderr, "trace-wire-stats: %s: cannot open\n", path);
		return 1;
	}
	size_t cap = 1 << 20, len = 0;
	uint8_t *buf = malloc(cap);
	for (size_t n; (n = fread(buf + len, 1, cap - len, fp)) > 0;) {
		len += n;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(fp);
	struct stats *s = calloc(1, sizeof(*s));
	struct wire_stats st;
	wire_decode_stream(buf, len, on_frame, s, &st);
	if (s->records == 0) {
		fprintf(stderr, "trace-wire-stats: %s: no decodable frames in %zu bytes\n", path, len);
		return 1;
	}
	uint64_t rf_frames, rf = reframed_bytes(s, &rf_frames);
	uint64_t text_bytes = s->type[TRACE_EV_TEXT].bytes;
	printf("%s\n", path);
	printf("  %zu bytes, %llu frames (%zu bad), %llu records, %.1f records/frame\n", len,
	       (unsigned long long)s->frames, st.frames_bad, (unsigned long long)s->records,
	       (double)s->records / (double)s->frames);
	printf("  bytes/record as recorded:            %5.2f\n", (double)len / (double)s->records);
	printf("  bytes/record in 64-record frames:    %5.2f  (%llu frames)\n", (double)rf / (double)s->records,
	       (unsigned long long)rf_frames);
	if (s->records > s->text_records)
		printf("  bytes/event (not TEXT), 64/frame:    %5.2f\n",
		       ((double)rf - (double)text_bytes) / (double)(s->records - s->text_records));
	printf("  record bytes by type (no framing):\n");
	for (unsigned t = 0; t <= TRACE_EV_MAX; t++)
		if (s->type[t].n)
			printf("    %2u %-20s %7llu records  %5.2f bytes\n", t, EV_NAME(t), (unsigned long long)s->type[t].n,
			       (double)s->type[t].bytes / (double)s->type[t].n);
	for (unsigned c = 0; c < 256; c++)
		free(s->recs[c]);
	free(s);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: trace-wire-stats SERIAL.BIN...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++)
		rc |= report(argv[i]);
	return rc;
}
