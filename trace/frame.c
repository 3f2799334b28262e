/*
 * One frame = COBS(payload) 0x00, payload = version, cpu, tsc_shift, uvarint seq,
 * uvarint tsc_base, records, CRC-32 (docs/trace-format.md).  The payload is built directly
 * behind the room COBS needs in `out` and encoded in place (see trace_cobs_encode), so
 * the drain needs one TRACE_FRAME_MAX_WIRE buffer and nothing on the stack.
 */
#include "frame.h"

static const uint16_t ev_layouts[TRACE_EV_MAX + 1] = TRACE_EV_LAYOUTS;

#define PAYLOAD_AT TRACE_COBS_OVERHEAD(TRACE_FRAME_MAX_PAYLOAD)
_Static_assert(5u + 2u * TRACE_VARINT_MAX + TRACE_RECORD_MAX_WIRE + 4u <= TRACE_FRAME_MAX_PAYLOAD,
	       "a frame must hold at least one record");
_Static_assert(1u + 1u + TRACE_TEXT_CHUNK <= 3u * TRACE_VARINT_MAX, "TEXT fits the record bound");

static bool record_is_valid(const struct trace_record *rec)
{
	if (rec->type > TRACE_EV_MAX || !(ev_layouts[rec->type] & 0x100))
		return false;
	return rec->type != TRACE_EV_TEXT || rec->len <= TRACE_TEXT_CHUNK;
}

/*
 * The running values a frame's encoding carries from record to record; every frame
 * starts from zero, so a reader that resyncs at any frame decodes it alone.  On the
 * drain's stack (744 bytes): the panic flush may run on an 8 KiB NMI stack while
 * another CPU's drain is still building its own frame, so nothing here is static.
 */
struct frame_state {
	unsigned shift;
	uint64_t prev_tsc;  /* in units of 2^shift cycles */
	uint64_t prev_rip;
	uint64_t prev_field[TRACE_EV_MAX + 1][3];  /* `d` fields, by event and field */
};

static size_t put_field(uint8_t *p, const struct trace_record *rec, unsigned i, unsigned enc, struct frame_state *st)
{
	uint64_t v = rec->a[i];
	switch (enc) {
	case TRACE_ENC_U:
		return trace_put_uvarint(p, v);
	case TRACE_ENC_D: {
		uint64_t *prev = &st->prev_field[rec->type][i];
		size_t n = trace_put_uvarint(p, trace_zigzag((int64_t)(v - *prev)));
		*prev = v;
		return n;
	}
	case TRACE_ENC_RIP: {
		size_t n = trace_put_uvarint(p, trace_zigzag((int64_t)(v - st->prev_rip)));
		st->prev_rip = v;
		return n;
	}
	default: { /* TRACE_ENC_TEXT: the bytes live in a[] in memory order */
		const uint8_t *bytes = (const uint8_t *)rec->a;
		p[0] = rec->len;
		for (unsigned b = 0; b < rec->len; b++)
			p[1 + b] = bytes[b];
		return 1u + rec->len;
	}
	}
}

/* Encodes one record at p, carrying the frame's running values in *st. */
static size_t put_record(uint8_t *p, const struct trace_record *rec, struct frame_state *st)
{
	size_t n = 0;
	/*
	 * Truncated, not rounded, so a record's decoded TSC never passes its true value and
	 * order within the CPU is kept.  Modulo 2^64: a TSC that went backwards still decodes
	 * exactly (to the unit), at 10 bytes.
	 */
	uint64_t units = rec->tsc >> st->shift;
	uint64_t dt = units - st->prev_tsc;
	st->prev_tsc = units;
	if (!record_is_valid(rec)) {
		p[n++] = TRACE_EV_LOST;
		n += trace_put_uvarint(p + n, dt);
		n += trace_put_uvarint(p + n, 1);
		return n;
	}
	p[n++] = rec->type;
	n += trace_put_uvarint(p + n, dt);
	uint16_t layout = ev_layouts[rec->type];
	for (unsigned i = 0; i < (layout & 3u); i++)
		n += put_field(p + n, rec, i, (layout >> (2 + 2 * i)) & 3u, st);
	return n;
}

size_t trace_frame_build(const struct trace_frame_src *src, uint8_t cpu, uint64_t seq, uint8_t *out,
			 uint64_t *used)
{
	uint8_t *pl = out + PAYLOAD_AT;
	size_t n = 0;
	uint64_t k = 0;
	struct frame_state st;

	*used = 0;
	if (src->count == 0)
		return 0;
	for (unsigned t = 0; t <= TRACE_EV_MAX; t++)
		st.prev_field[t][0] = st.prev_field[t][1] = st.prev_field[t][2] = 0;
	st.shift = src->tsc_shift & 63u;
	st.prev_tsc = src->slot[src->start & src->mask].tsc >> st.shift;
	st.prev_rip = 0;
	pl[n++] = TRACE_FRAME_VERSION;
	pl[n++] = cpu;
	pl[n++] = (uint8_t)st.shift;
	n += trace_put_uvarint(pl + n, seq);
	n += trace_put_uvarint(pl + n, st.prev_tsc);
	while (k < src->count && k < TRACE_FRAME_MAX_RECORDS && n + TRACE_RECORD_MAX_WIRE + 4 <= TRACE_FRAME_MAX_PAYLOAD) {
		n += put_record(pl + n, &src->slot[(src->start + k) & src->mask], &st);
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
