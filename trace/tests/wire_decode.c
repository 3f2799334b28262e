/* Test-only wire reader; see wire_decode.h. */
#include "wire_decode.h"

#include <stdlib.h>
#include <string.h>

static const uint16_t layouts[TRACE_EV_MAX + 1] = TRACE_EV_LAYOUTS;

static int cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t i = 0, w = 0;
	while (i < n) {
		uint8_t code = in[i++];
		if (code == 0)
			return -1;
		for (unsigned j = 1; j < code; j++) {
			if (i >= n || in[i] == 0 || w >= cap)
				return -1;
			out[w++] = in[i++];
		}
		if (code != 0xFF && i < n) {
			if (w >= cap)
				return -1;
			out[w++] = 0;
		}
	}
	*outlen = w;
	return 0;
}

static int get_uvarint(const uint8_t *p, size_t end, size_t *pos, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (*pos >= end)
			return -1;
		uint8_t b = p[(*pos)++];
		x |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

enum wire_error wire_decode_frame(const uint8_t *enc, size_t n, struct wire_frame *f)
{
	uint8_t pl[TRACE_FRAME_MAX_WIRE];
	size_t len, pos = 0;
	if (cobs_decode(enc, n, pl, sizeof(pl), &len))
		return WIRE_COBS;
	if (len < 3 + 1 + 1 + 4)
		return WIRE_SHORT;
	size_t end = len - 4;
	uint32_t crc = (uint32_t)pl[end] | (uint32_t)pl[end + 1] << 8 | (uint32_t)pl[end + 2] << 16 |
		       (uint32_t)pl[end + 3] << 24;
	if (trace_crc32(0, pl, end) != crc)
		return WIRE_CRC;
	if (pl[pos++] != TRACE_FRAME_VERSION)
		return WIRE_VERSION;
	memset(f, 0, sizeof(*f));
	f->cpu = pl[pos++];
	f->tsc_shift = pl[pos++];
	if (f->tsc_shift > 63)
		return WIRE_VERSION;
	uint64_t tsc, rip = 0, prev_field[TRACE_EV_MAX + 1][3];
	memset(prev_field, 0, sizeof(prev_field));
	if (get_uvarint(pl, end, &pos, &f->seq) || get_uvarint(pl, end, &pos, &tsc))
		return WIRE_TRUNCATED;
	f->tsc_base = tsc << f->tsc_shift;
	while (pos < end) {
		if (f->nrec == TRACE_FRAME_MAX_RECORDS)
			return WIRE_TOO_MANY;
		struct wire_record *r = &f->rec[f->nrec++];
		uint64_t dt;
		size_t rec_start = pos;
		r->type = pl[pos++];
		if (r->type > TRACE_EV_MAX || !(layouts[r->type] & 0x100))
			return WIRE_TYPE;
		if (get_uvarint(pl, end, &pos, &dt))
			return WIRE_TRUNCATED;
		tsc += dt;
		r->tsc = tsc << f->tsc_shift;
		r->tsc_shift = f->tsc_shift;
		uint16_t lay = layouts[r->type];
		for (unsigned i = 0; i < (lay & 3u); i++) {
			unsigned enc_kind = (lay >> (2 + 2 * i)) & 3u;
			uint64_t v;
			if (enc_kind == TRACE_ENC_TEXT) {
				if (pos >= end || pl[pos] > TRACE_TEXT_CHUNK || pos + 1 + pl[pos] > end)
					return WIRE_TRUNCATED;
				r->text_len = pl[pos++];
				memcpy(r->text, pl + pos, r->text_len);
				pos += r->text_len;
				continue;
			}
			if (get_uvarint(pl, end, &pos, &v))
				return WIRE_TRUNCATED;
			if (enc_kind == TRACE_ENC_D)
				v = prev_field[r->type][i] += (uint64_t)trace_unzigzag(v);
			else if (enc_kind == TRACE_ENC_RIP)
				v = rip += (uint64_t)trace_unzigzag(v);
			r->f[i] = v;
		}
		r->wire_size = (uint16_t)(pos - rec_start);
	}
	f->wire_bytes = n + 1;
	return WIRE_OK;
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
