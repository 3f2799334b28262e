/*
 * The host tests' view of the wire: decoder/native/wire.c (the decoder Python uses,
 * through _cwire) decodes, this file only fills the tests' fixed-size structs.  Frames
 * the format forbids but the reader tolerates (more than TRACE_FRAME_MAX_RECORDS
 * records, TEXT longer than a ring slot) are errors here: a test of the encoder
 * must not accept them.
 */
#include "wire_decode.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

static const uint16_t layouts[TRACE_EV_MAX + 1] = TRACE_EV_LAYOUTS;

static enum wire_error wire_error_of(enum hw_error e)
{
	switch (e) {
	case HW_E_NONE:
		return WIRE_OK;
	case HW_E_COBS:
	case HW_E_OVERSIZE:
		return WIRE_COBS;
	case HW_E_SHORT:
		return WIRE_SHORT;
	case HW_E_CRC:
		return WIRE_CRC;
	case HW_E_VERSION:
	case HW_E_SHIFT:
		return WIRE_VERSION;
	case HW_E_UNKNOWN:
		return WIRE_TYPE;
	default:
		return WIRE_TRUNCATED;
	}
}

enum wire_error wire_decode_frame(const uint8_t *enc, size_t n, struct wire_frame *f)
{
	struct hw_rec rec[TRACE_FRAME_MAX_RECORDS + 1];
	struct hw_frame hf;
	uint8_t *payload = malloc(n ? n : 1);
	if (!payload)
		return WIRE_COBS;
	enum hw_error e = hw_parse_piece(enc, n, payload, rec, TRACE_FRAME_MAX_RECORDS + 1, &hf);
	enum wire_error we = wire_error_of(e);
	memset(f, 0, sizeof(*f));
	if (hf.nrec > TRACE_FRAME_MAX_RECORDS)
		we = WIRE_TOO_MANY;
	f->cpu = hf.cpu;
	f->seq = hf.seq;
	f->tsc_shift = hf.tsc_shift;
	f->tsc_base = hf.tsc_base;
	f->nrec = hf.nrec < TRACE_FRAME_MAX_RECORDS ? hf.nrec : TRACE_FRAME_MAX_RECORDS;
	f->wire_bytes = n + 1;
	for (size_t i = 0; i < f->nrec && we == WIRE_OK; i++) {
		struct wire_record *r = &f->rec[i];
		r->type = rec[i].type;
		r->tsc = rec[i].tsc;
		r->tsc_shift = hf.tsc_shift;
		r->wire_size = rec[i].wire_size;
		if (rec[i].text) {
			if (rec[i].a[0] > TRACE_TEXT_CHUNK) {
				we = WIRE_TRUNCATED;
				break;
			}
			r->text_len = (uint8_t)rec[i].a[0];
			memcpy(r->text, rec[i].text, r->text_len);
		} else {
			memcpy(r->f, rec[i].a, sizeof(r->f));
		}
	}
	free(payload);
	return we;
}

void wire_decode_stream(const uint8_t *buf, size_t n, wire_frame_cb cb, void *ctx, struct wire_stats *st)
{
	struct wire_frame *f = malloc(sizeof(*f));
	size_t start = 0;
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i <= n; i++) {
		if (i < n && buf[i] != 0)
			continue;
		/* A segment with no terminating 0x00 at the end of the buffer is incomplete: skip. */
		if (i == n)
			break;
		if (i > start) {
			enum wire_error e = wire_decode_frame(buf + start, i - start, f);
			if (e == WIRE_OK) {
				st->frames_ok++;
				if (cb)
					cb(f, ctx);
			} else {
				st->frames_bad++;
				st->bad_by_error[e]++;
			}
		}
		start = i + 1;
	}
	free(f);
}

int wire_record_equal_ring(const struct wire_record *w, const struct trace_record *r)
{
	if (w->type != r->type || w->tsc != (r->tsc >> w->tsc_shift) << w->tsc_shift)
		return 0;
	if (r->type == TRACE_EV_TEXT)
		return w->text_len == r->len && memcmp(w->text, r->a, r->len) == 0;
	unsigned nf = layouts[r->type] & 3u;
	for (unsigned i = 0; i < nf; i++)
		if (w->f[i] != r->a[i])
			return 0;
	return 1;
}
