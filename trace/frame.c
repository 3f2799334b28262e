/*
 * One frame = COBS(payload) 0x00, payload = version, cpu, uvarint seq, uvarint
 * tsc_base, records, CRC-32 (docs/trace-format.md).  The payload is built directly
 * behind the room COBS needs in `out` and encoded in place (see trace_cobs_encode), so
 * the drain needs one TRACE_FRAME_MAX_WIRE buffer and nothing on the stack.
 */
#include "frame.h"

static const uint16_t ev_layouts[TRACE_EV_MAX + 1] = TRACE_EV_LAYOUTS;

#define PAYLOAD_AT TRACE_COBS_OVERHEAD(TRACE_FRAME_MAX_PAYLOAD)
_Static_assert(4u + 2u * TRACE_VARINT_MAX + TRACE_RECORD_MAX_WIRE + 4u <= TRACE_FRAME_MAX_PAYLOAD,
	       "a frame must hold at least one record");
_Static_assert(1u + 1u + TRACE_TEXT_CHUNK <= 3u * TRACE_VARINT_MAX, "TEXT fits the record bound");

static bool record_is_valid(const struct trace_record *rec)
{
	if (rec->type > TRACE_EV_MAX || !(ev_layouts[rec->type] & 0x100))
		return false;
	return rec->type != TRACE_EV_TEXT || rec->len <= TRACE_TEXT_CHUNK;
}

/* Encodes one record at p; *prev_tsc and *prev_rip carry the frame's running values. */
static size_t put_record(uint8_t *p, const struct trace_record *rec, uint64_t *prev_tsc, uint64_t *prev_rip)
{
	size_t n = 0;
	/* Modulo 2^64: a TSC that went backwards still decodes exactly, at 10 bytes. */
	uint64_t dt = rec->tsc - *prev_tsc;
	*prev_tsc = rec->tsc;
	if (!record_is_valid(rec)) {
		p[n++] = TRACE_EV_LOST;
		n += trace_put_uvarint(p + n, dt);
		n += trace_put_uvarint(p + n, 1);
		return n;
	}
	p[n++] = rec->type;
	n += trace_put_uvarint(p + n, dt);
	uint16_t layout = ev_layouts[rec->type];
	for (unsigned i = 0; i < (layout & 3u); i++) {
		uint64_t v = rec->a[i];
		switch ((layout >> (2 + 2 * i)) & 3u) {
		case TRACE_ENC_U:
			n += trace_put_uvarint(p + n, v);
			break;
		case TRACE_ENC_S:
			n += trace_put_uvarint(p + n, trace_zigzag((int64_t)v));
			break;
		case TRACE_ENC_RIP:
			n += trace_put_uvarint(p + n, trace_zigzag((int64_t)(v - *prev_rip)));
			*prev_rip = v;
			break;
		default: { /* TRACE_ENC_TEXT: the bytes live in a[] in memory order */
			const uint8_t *bytes = (const uint8_t *)rec->a;
			p[n++] = rec->len;
			for (unsigned b = 0; b < rec->len; b++)
				p[n++] = bytes[b];
			break;
		}
		}
	}
	return n;
}

size_t trace_frame_build(const struct trace_frame_src *src, uint8_t cpu, uint64_t seq, uint8_t *out,
			 uint64_t *used)
{
	uint8_t *pl = out + PAYLOAD_AT;
	size_t n = 0;
	uint64_t k = 0, prev_rip = 0;

	*used = 0;
	if (src->count == 0)
		return 0;
	uint64_t prev_tsc = src->slot[src->start & src->mask].tsc;
	pl[n++] = TRACE_FRAME_VERSION;
	pl[n++] = cpu;
	n += trace_put_uvarint(pl + n, seq);
	n += trace_put_uvarint(pl + n, prev_tsc);
	while (k < src->count && k < TRACE_FRAME_MAX_RECORDS && n + TRACE_RECORD_MAX_WIRE + 4 <= TRACE_FRAME_MAX_PAYLOAD) {
		n += put_record(pl + n, &src->slot[(src->start + k) & src->mask], &prev_tsc, &prev_rip);
		k++;
	}
	uint32_t crc = trace_crc32(0, pl, n);
	for (unsigned i = 0; i < 4; i++)
		pl[n++] = (uint8_t)(crc >> (8 * i));
	size_t w = trace_cobs_encode(pl, n, out);
	out[w++] = 0;
	*used = k;
	return w;
}
