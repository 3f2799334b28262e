/*
 * The wire decoder in C; see wire.h.  Every branch below mirrors a line of
 * decoder/wire.py (parse_payload, cobs_decode) or decoder/reader.py (FrameReader,
 * iter_pieces), including where the reference adds a record's dt before finding the
 * record cut short: the loss reports carry that TSC, and the differential test
 * compares them.
 */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#include "heisen/defs.h"
#include "frame.h"

#define HEADER_MIN (3u + 1u + 1u + 4u)  /* wire.HEADER_MIN */

static const uint16_t layouts[TRACE_EV_MAX + 1] = TRACE_EV_LAYOUTS;

/*
 * Which events add their dt as soon as it is read (wire.py's specialised shapes: all
 * fields `u`, (d, rip), (d,), and LOST): a record of those cut short reports the TSC
 * including its dt.  The generic shape checks that all its tokens are there first.
 */
static int adds_dt_early(unsigned t)
{
	uint16_t lay = layouts[t];
	unsigned nf = lay & 3u;
	if (t == TRACE_EV_LOST)
		return 1;
	if (nf == 0)
		return 0;
	unsigned all_u = 1;
	for (unsigned k = 0; k < nf; k++)
		all_u &= ((lay >> (2 + 2 * k)) & 3u) == TRACE_ENC_U;
	if (all_u)
		return 1;
	unsigned e0 = (lay >> 2) & 3u, e1 = (lay >> 4) & 3u;
	return (nf == 2 && e0 == TRACE_ENC_D && e1 == TRACE_ENC_RIP) || (nf == 1 && e0 == TRACE_ENC_D);
}

/*
 * Per event, what the record walk needs, worked out once from TRACE_EV_LAYOUTS instead
 * of per record: known (layout bit 8), fields, adds_dt_early, and each field's encoding
 * with LOST's forced to `u` (its count is a plain value, wire.py's LOST shape).
 */
struct hw_shape {
	uint8_t known, nf, early, enc[3];
};
static struct hw_shape shapes[TRACE_EV_MAX + 1];

/*
 * CRC-32 of zlib.crc32 sliced by 8 (Intel's slicing-by-8): the byte-at-a-time loop of
 * trace/crc32.c is one table load per byte in a dependency chain, and every frame's CRC
 * is checked.  The tables are derived from trace_crc32 itself, the one definition of
 * the polynomial: slice 0 entry i is the register after byte 0 from register i (that
 * is ~trace_crc32(~i, {0}, 1)), slice k is slice k-1 advanced by one more zero byte.
 * tests/support/test_cwire.c compares hw_crc32 with trace_crc32 on every length.
 */
static uint32_t crc_slice[8][256];

__attribute__((constructor)) static void wire_tables(void)
{
	static const uint8_t zero[1];
	for (unsigned i = 0; i < 256; i++)
		crc_slice[0][i] = ~trace_crc32(~(uint32_t)i, zero, 1);
	for (unsigned k = 1; k < 8; k++)
		for (unsigned i = 0; i < 256; i++)
			crc_slice[k][i] = crc_slice[k - 1][i] >> 8 ^ crc_slice[0][crc_slice[k - 1][i] & 0xFF];
	for (unsigned t = 0; t <= TRACE_EV_MAX; t++) {
		struct hw_shape *sh = &shapes[t];
		uint16_t lay = layouts[t];
		sh->known = (lay & 0x100) != 0;
		sh->nf = lay & 3u;
		sh->early = (uint8_t)adds_dt_early(t);
		for (unsigned k = 0; k < 3; k++)
			sh->enc[k] = t == TRACE_EV_LOST ? TRACE_ENC_U : (lay >> (2 + 2 * k)) & 3u;
	}
}

/* static, so that hw_parse_piece calls it directly (hw_crc32 is the exported name) */
static uint32_t crc_sliced(const uint8_t *p, size_t n)
{
	uint32_t crc = ~0u;
	for (; n >= 8; n -= 8, p += 8) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);      /* little-endian x86: the first byte in the low bits */
		memcpy(&hi, p + 4, 4);
		lo ^= crc;
		crc = crc_slice[7][lo & 0xFF] ^ crc_slice[6][lo >> 8 & 0xFF] ^ crc_slice[5][lo >> 16 & 0xFF] ^
		      crc_slice[4][lo >> 24] ^ crc_slice[3][hi & 0xFF] ^ crc_slice[2][hi >> 8 & 0xFF] ^
		      crc_slice[1][hi >> 16 & 0xFF] ^ crc_slice[0][hi >> 24];
	}
	while (n--)
		crc = crc_slice[0][(crc ^ *p++) & 0xFF] ^ crc >> 8;
	return ~crc;
}

uint32_t hw_crc32(const uint8_t *p, size_t n)
{
	return crc_sliced(p, n);
}

/* ---- one piece ------------------------------------------------------------------ */

/* One complete 64-bit LEB128 token at *pos; 0 when only continuation bytes (or
 * nothing) remain, or the token is no 64-bit varint (has_tokens): the walk stops
 * there, as wire.py's does at the end of its values.  A token of more than 10 bytes
 * fails whether or not its end is in the frame, so the walk gives up at the 10th. */
static inline int next_token(const uint8_t *p, size_t end, size_t *pos, uint64_t *v)
{
	size_t i = *pos;
	if (__builtin_expect(i < end && p[i] < 0x80, 1)) {
		*v = p[i];
		*pos = i + 1;
		return 1;
	}
	uint64_t x = 0;
	size_t stop = end - i > 10 ? i + 10 : end;
	for (unsigned shift = 0; i < stop; shift += 7) {
		uint8_t b = p[i++];
		x |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80)) {
			if (shift == 63 && b > 1)
				return 0;
			*pos = i;
			*v = x;
			return 1;
		}
	}
	return 0;
}

/*
 * Whether p[from, end) holds at least `want` valid varint tokens before the first that
 * is none (longer than 10 bytes or above 2^64-1), as wire.py's _values counts them.  A
 * bad token ends the frame only where the walk reaches it (next_token), not wherever it
 * sits: TEXT bytes are tokenised too, and ten high bytes in a valid TEXT are no error.
 */
static int has_tokens(const uint8_t *p, size_t from, size_t end, size_t want)
{
	size_t n = 0, start = from;
	for (size_t i = from; i < end && n < want; i++) {
		if (p[i] & 0x80)
			continue;
		size_t len = i + 1 - start;
		if (len > 10 || (len == 10 && p[i] > 1))
			return 0;
		n++;
		start = i + 1;
	}
	return n >= want;
}

static enum hw_error cobs_decode(const uint8_t *enc, size_t n, uint8_t *out, size_t *outlen, struct hw_frame *f)
{
	size_t i = 0, w = 0;
	while (i < n) {
		unsigned code = enc[i];
		if (code == 0) {
			/* Not reachable from the stream (pieces hold no 0x00): a caller's buffer. */
			f->x[0] = i;
			f->x[1] = 0;
			f->x[2] = n - i - 1;
			return f->err = HW_E_COBS;
		}
		size_t j = i + code;
		if (j > n) {
			f->x[0] = i;
			f->x[1] = code - 1;
			f->x[2] = n - i - 1;
			return f->err = HW_E_COBS;
		}
		if (code <= 17 && i + 17 <= n) {
			/* a short block (the usual: any zero byte, a zero field, ends one) as two
			 * fixed 8-byte moves instead of a memcpy call.  In bounds: w <= i (a block
			 * decodes to no more bytes than it takes), so out[w, w + 16) and
			 * enc[i + 1, i + 17) lie within the n bytes of each; the bytes written
			 * past the block are overwritten by the next one or lie past the payload. */
			uint64_t lo, hi;
			memcpy(&lo, enc + i + 1, 8);
			memcpy(&hi, enc + i + 9, 8);
			memcpy(out + w, &lo, 8);
			memcpy(out + w + 8, &hi, 8);
		} else {
			memcpy(out + w, enc + i + 1, code - 1);
		}
		w += code - 1;
		if (code != 0xFF && j < n)
			out[w++] = 0;
		i = j;
	}
	*outlen = w;
	return HW_E_NONE;
}

/* The running TSC of a frame: units modulo 2^64, and whether the true (unbounded)
 * value shifted to cycles passed 2^64-1 (wire.py: tsc > U64, the frame not monotonic). */
struct tsc_acc {
	uint64_t units;
	unsigned shift;
	int carried;
};

static inline void tsc_add(struct tsc_acc *t, uint64_t dt)
{
	uint64_t u = t->units + dt;
	t->carried |= u < dt;
	t->units = u;
}

static inline uint64_t tsc_cycles(const struct tsc_acc *t)
{
	return t->units << t->shift;
}

static inline int tsc_fits(const struct tsc_acc *t)
{
	return !t->carried && !(t->shift && (t->units >> (64 - t->shift)));
}

static enum hw_error stop(struct hw_frame *f, enum hw_error e, uint64_t x0, uint64_t x1, const struct tsc_acc *t)
{
	f->err = e;
	f->x[0] = x0;
	f->x[1] = x1;
	f->err_tsc = tsc_cycles(t);
	f->monotonic = tsc_fits(t);
	return e;
}

enum hw_error hw_parse_piece(const uint8_t *enc, size_t n, uint8_t *p, struct hw_rec *rec, size_t maxrec,
			     struct hw_frame *f)
{
	size_t len, pos, end;
	memset(f, 0, sizeof(*f));
	f->monotonic = 1;
	if (cobs_decode(enc, n, p, &len, f))
		return f->err;
	if (len < HEADER_MIN) {
		f->x[0] = len;
		return f->err = HW_E_SHORT;
	}
	end = len - 4;
	uint32_t crc = (uint32_t)p[end] | (uint32_t)p[end + 1] << 8 | (uint32_t)p[end + 2] << 16 |
		       (uint32_t)p[end + 3] << 24;
	if (crc_sliced(p, end) != crc) {
		f->x[0] = end;
		return f->err = HW_E_CRC;
	}
	if (p[0] != TRACE_FRAME_VERSION) {
		f->x[0] = p[0];
		return f->err = HW_E_VERSION;
	}
	f->cpu = p[1];
	f->tsc_shift = p[2];
	if (f->tsc_shift > 63) {
		f->x[0] = f->tsc_shift;
		return f->err = HW_E_SHIFT;
	}
	if (!has_tokens(p, 3, end, 2))
		return f->err = HW_E_HEADER;
	struct tsc_acc tsc = { 0, f->tsc_shift, 0 };
	pos = 3;
	next_token(p, end, &pos, &f->seq);
	next_token(p, end, &pos, &tsc.units);
	f->tsc_base = tsc_cycles(&tsc);
	uint64_t rip = 0, prev[TRACE_EV_MAX + 1][3];
	memset(prev, 0, sizeof(prev));
	uint64_t t, dt = 0;
	size_t nrec = 0, rec_start = pos;
	for (; next_token(p, end, &pos, &t); rec_start = pos) {
		if (t > TRACE_EV_MAX || !shapes[t].known)
			return f->nrec = nrec, stop(f, HW_E_UNKNOWN, t, nrec, &tsc);
		if (nrec == maxrec)
			return f->nrec = nrec, stop(f, HW_E_CUT, t, nrec, &tsc);
		struct hw_rec *r = &rec[nrec];
		const struct hw_shape *sh = &shapes[t];
		unsigned nf = sh->nf;
		r->type = (uint8_t)t;
		r->text = NULL;
		if (t == TRACE_EV_TEXT) {
			if (!next_token(p, end, &pos, &dt))
				return f->nrec = nrec, stop(f, HW_E_CUT, t, nrec, &tsc);
			tsc_add(&tsc, dt);
			unsigned ln = pos < end ? p[pos] : 0;
			if (pos >= end || pos + 1 + ln > end)
				return f->nrec = nrec, stop(f, HW_E_TEXT, ln, 0, &tsc);
			r->tsc = tsc_cycles(&tsc);
			r->nargs = 1;
			r->a[0] = ln;
			r->text = p + pos + 1;
			pos += 1 + ln;
			r->wire_size = (uint16_t)(pos - rec_start);
			nrec++;
			continue;
		}
		/* dt and the fields, read once: a record short of them stops with the TSC
		 * the reference reports (with its dt for the shapes that add it early) */
		uint64_t tok[4];
		size_t q = pos;
		unsigned got = 0;
		while (got <= nf && next_token(p, end, &q, &tok[got]))
			got++;
		if (got <= nf) {
			if (sh->early && got)
				tsc_add(&tsc, tok[0]);
			return f->nrec = nrec, stop(f, HW_E_CUT, t, nrec, &tsc);
		}
		tsc_add(&tsc, tok[0]);
		pos = q;
		for (unsigned k = 0; k < nf; k++) {
			uint64_t v = tok[k + 1];
			if (sh->enc[k] == TRACE_ENC_D)
				v = prev[t][k] += (uint64_t)trace_unzigzag(v);
			else if (sh->enc[k] == TRACE_ENC_RIP)
				v = rip += (uint64_t)trace_unzigzag(v);
			r->a[k] = v;
		}
		r->nargs = (uint8_t)nf;
		r->tsc = tsc_cycles(&tsc);
		r->wire_size = (uint16_t)(pos - rec_start);
		nrec++;
	}
	f->nrec = nrec;
	f->monotonic = tsc_fits(&tsc);
	return HW_E_NONE;
}

/* ---- per-CPU sequence window (FrameReader.seen) ------------------------------------ */

struct hw_seen {
	size_t cap, used;
	uint64_t *key;
	uint32_t *val;          /* records in the frame + 1; 0 = empty slot */
};

static size_t slot_of(const struct hw_seen *h, uint64_t k)
{
	size_t i = (size_t)((k * 0x9E3779B97F4A7C15ull) >> 20) & (h->cap - 1);
	while (h->val[i] && h->key[i] != k)
		i = (i + 1) & (h->cap - 1);
	return i;
}

static int seen_alloc(struct hw_seen *h, size_t cap)
{
	h->cap = cap;
	h->used = 0;
	h->key = calloc(cap, sizeof(*h->key));
	h->val = calloc(cap, sizeof(*h->val));
	return h->key && h->val ? 0 : -1;
}

static void seen_release(struct hw_seen *h)
{
	free(h->key);
	free(h->val);
}

/* records + 1 of frame k, 0 when not in the window */
static uint32_t seen_get(const struct hw_seen *h, uint64_t k)
{
	return h->val[slot_of(h, k)];
}

static int seen_put(struct hw_seen *h, uint64_t k, uint32_t records)
{
	size_t i = slot_of(h, k);
	if (!h->val[i])
		h->used++;
	h->key[i] = k;
	h->val[i] = records + 1;
	if (h->used * 2 <= h->cap)
		return 0;
	struct hw_seen big;
	if (seen_alloc(&big, h->cap * 2))
		return seen_release(&big), -1;
	for (size_t j = 0; j < h->cap; j++)
		if (h->val[j]) {
			size_t s = slot_of(&big, h->key[j]);
			big.key[s] = h->key[j];
			big.val[s] = h->val[j];
			big.used++;
		}
	seen_release(h);
	*h = big;
	return 0;
}

/* reader.py: past 2 * SEQ_WINDOW entries keep only seq >= expect - SEQ_WINDOW. */
static int seen_prune(struct hw_seen *h, __int128 expect)
{
	struct hw_seen kept;
	if (seen_alloc(&kept, h->cap))
		return seen_release(&kept), -1;
	for (size_t j = 0; j < h->cap; j++)
		if (h->val[j] && (__int128)h->key[j] >= expect - HW_SEQ_WINDOW) {
			size_t s = slot_of(&kept, h->key[j]);
			kept.key[s] = h->key[j];
			kept.val[s] = h->val[j];
			kept.used++;
		}
	seen_release(h);
	*h = kept;
	return 0;
}

/* ---- output ---------------------------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 1024;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * size);
	if (!q)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

static struct hw_item *new_item(struct hw_out *o)
{
	if (grow((void **)&o->items, &o->cap_items, o->nitems + 1, sizeof(*o->items)))
		return NULL;
	struct hw_item *it = &o->items[o->nitems++];
	memset(it, 0, sizeof(*it));
	return it;
}

static long put_bytes(struct hw_out *o, const void *p, size_t n)
{
	if (grow((void **)&o->bytes, &o->cap_bytes, o->nbytes + n, 1))
		return -1;
	/* an empty TEXT before any byte was stored: o->bytes is still NULL, and memcpy
	 * from or to NULL is undefined even for 0 bytes (C11 7.24.1p2; UBSan says so) */
	if (n)
		memcpy(o->bytes + o->nbytes, p, n);
	o->nbytes += n;
	return (long)(o->nbytes - n);
}

void hw_out_reset(struct hw_out *o)
{
	o->nitems = o->nruns = o->nbytes = o->nrecords = 0;
}

static struct hw_item *loss(struct hw_stream *s, enum hw_item_kind kind, uint64_t tsc, int cpu)
{
	struct hw_item *it = new_item(&s->out);
	if (it) {
		it->kind = (uint8_t)kind;
		it->tsc = tsc;
		it->cpu = (int16_t)cpu;
		it->offset = (int64_t)s->offset;
	}
	return it;
}

/* Records (and LOST reports) rec[from, to) of frame f as items. */
static int put_records(struct hw_stream *s, const struct hw_frame *f, size_t from, size_t to)
{
	struct hw_out *o = &s->out;
	if (grow((void **)&o->items, &o->cap_items, o->nitems + (to - from), sizeof(*o->items)))
		return -1;
	for (size_t k = from; k < to; k++) {
		const struct hw_rec *r = &s->rec[k];
		struct hw_item *it = &o->items[o->nitems++];
		it->tsc = r->tsc;
		it->cpu = f->cpu;
		it->offset = (int64_t)s->offset;
		if (r->type == TRACE_EV_LOST) {
			it->kind = HW_L_LOST;
			it->x[0] = r->a[0];
			it->x[1] = f->seq;
			it->type = it->nargs = 0;
			it->aux = 0;
			continue;
		}
		it->kind = HW_RECORD;
		it->type = r->type;
		it->nargs = r->nargs;
		it->x[0] = r->a[0];
		it->x[1] = r->a[1];
		it->x[2] = r->a[2];
		it->x[3] = f->seq;
		it->aux = 0;
		if (r->text) {
			long at = put_bytes(o, r->text, r->a[0]);
			if (at < 0)
				return -1;
			it->aux = (uint32_t)at;
		}
		o->nrecords++;
	}
	return 0;
}

static int end_run(struct hw_stream *s, size_t start, int cpu, int monotonic)
{
	struct hw_out *o = &s->out;
	if (o->nitems == start)
		return 0;
	if (grow((void **)&o->runs, &o->cap_runs, o->nruns + 1, sizeof(*o->runs)))
		return -1;
	o->runs[o->nruns++] = (struct hw_run){ start, o->nitems - start, (int16_t)cpu, (uint8_t)monotonic };
	return 0;
}

/* ---- the stream ------------------------------------------------------------------ */

/* A piece that is not a frame: one loss of its bytes, with a preview and the flags
 * the reader's message needs (first piece or unterminated: "truncated"). */
static int piece_lost(struct hw_stream *s, const uint8_t *piece, size_t n, int terminated,
		      const struct hw_frame *f)
{
	size_t start = s->out.nitems;
	struct hw_item *it = loss(s, HW_L_FRAME, 0, -1);
	if (!it)
		return -1;
	it->x[0] = f->err;
	it->x[1] = f->x[0];
	it->x[2] = f->x[1];
	it->x[3] = f->x[2];
	it->type = (uint8_t)(s->first | terminated << 1);
	uint8_t head[8 + 1 + HW_PREVIEW];
	uint64_t len = n;
	size_t show = n < HW_PREVIEW ? n : HW_PREVIEW;
	memcpy(head, &len, 8);
	head[8] = (uint8_t)show;
	memcpy(head + 9, piece, show);
	long at = put_bytes(&s->out, head, 9 + show);
	if (at < 0)
		return -1;
	it->aux = (uint32_t)at;
	return end_run(s, start, -1, 1);
}

/* FrameReader.decode for one piece of n bytes (n > HW_MAX_PIECE: only the head kept). */
static int decode_piece(struct hw_stream *s, const uint8_t *piece, size_t n, int terminated)
{
	struct hw_frame f;
	s->bytes += n + (terminated != 0);
	if (!n)
		return 0;
	if (n > HW_MAX_PIECE) {
		memset(&f, 0, sizeof(f));
		f.err = HW_E_OVERSIZE;
		f.x[0] = HW_MAX_PIECE;
		return piece_lost(s, piece, n, terminated, &f);
	}
	hw_parse_piece(piece, n, s->payload, s->rec, HW_MAX_RECORDS, &f);
	if (f.err && !hw_error_is_partial(f.err))
		return piece_lost(s, piece, n, terminated, &f);
	s->frames++;
	size_t start = s->out.nitems;
	unsigned cpu = f.cpu;
	unsigned __int128 expect = s->next_seq[cpu];
	__int128 floor = (__int128)expect - HW_SEQ_WINDOW;
	if (!s->seen[cpu]) {
		s->seen[cpu] = calloc(1, sizeof(struct hw_seen));
		if (!s->seen[cpu] || seen_alloc(s->seen[cpu], 4096))
			return -1;
	}
	struct hw_seen *seen = s->seen[cpu];
	uint32_t had = seen_get(seen, f.seq);
	if (had || (__int128)f.seq < floor) {
		/* _duplicate: a retransmission after a panic repeats the earlier copy's
		 * records first; only those past its count are new (docs/trace-format.md). */
		if (had && f.nrec > had - 1) {
			if (seen_put(seen, f.seq, (uint32_t)f.nrec))
				return -1;
			struct hw_item *it = loss(s, HW_L_RETX, s->rec[had - 1].tsc, (int)cpu);
			if (!it)
				return -1;
			it->x[0] = f.seq;
			it->x[1] = had - 1;
			it->x[2] = f.nrec;
			if (put_records(s, &f, had - 1, f.nrec))
				return -1;
		} else {
			struct hw_item *it = loss(s, HW_L_DUP, f.nrec ? s->rec[0].tsc : 0, (int)cpu);
			if (!it)
				return -1;
			it->x[0] = f.seq;
			it->x[1] = (uint64_t)expect;
			it->x[2] = (uint64_t)(expect >> 64);
		}
		return end_run(s, start, (int)cpu, f.monotonic);
	}
	if (seen_put(seen, f.seq, (uint32_t)f.nrec))
		return -1;
	if (seen->used > 2 * HW_SEQ_WINDOW && seen_prune(seen, (__int128)expect))
		return -1;
	if ((unsigned __int128)f.seq < expect) {
		/* An older frame arriving late: its gap was reported already; the reader keeps
		 * its records and says nothing about a cut-short tail. */
		if (put_records(s, &f, 0, f.nrec))
			return -1;
		return end_run(s, start, (int)cpu, f.monotonic);
	}
	s->next_seq[cpu] = (unsigned __int128)f.seq + 1;
	if ((unsigned __int128)f.seq > expect) {
		uint64_t tsc = f.nrec ? s->rec[0].tsc : f.err ? f.err_tsc : 0;
		struct hw_item *it = loss(s, HW_L_GAP, tsc, (int)cpu);
		if (!it)
			return -1;
		it->x[0] = (uint64_t)expect;
		it->x[1] = f.seq;
	}
	if (put_records(s, &f, 0, f.nrec))
		return -1;
	if (f.err) {
		struct hw_item *it = loss(s, HW_L_PARTIAL, f.nrec ? s->rec[f.nrec - 1].tsc : f.err_tsc, (int)cpu);
		if (!it)
			return -1;
		it->x[0] = f.err;
		it->x[1] = f.x[0];
		it->x[2] = f.x[1];
		it->x[3] = f.seq;
	}
	return end_run(s, start, (int)cpu, f.monotonic);
}

int hw_stream_init(struct hw_stream *s)
{
	memset(s, 0, sizeof(*s));
	s->first = 1;
	s->piece = malloc(HW_MAX_PIECE);
	s->payload = malloc(HW_MAX_PIECE);
	s->rec = malloc(HW_MAX_RECORDS * sizeof(*s->rec));
	return s->piece && s->payload && s->rec ? 0 : -1;
}

void hw_stream_free(struct hw_stream *s)
{
	free(s->piece);
	free(s->payload);
	free(s->rec);
	for (unsigned c = 0; c < 256; c++)
		if (s->seen[c]) {
			seen_release(s->seen[c]);
			free(s->seen[c]);
		}
	free(s->out.items);
	free(s->out.runs);
	free(s->out.bytes);
	memset(s, 0, sizeof(*s));
}

void hw_stream_reset(struct hw_stream *s)
{
	for (unsigned c = 0; c < 256; c++)
		if (s->seen[c]) {
			seen_release(s->seen[c]);
			free(s->seen[c]);
			s->seen[c] = NULL;
		}
	memset(s->next_seq, 0, sizeof(s->next_seq));
	s->offset = s->plen = 0;
	s->frames = s->bytes = 0;
	s->first = 1;
	hw_out_reset(&s->out);
}

/* Ends the current piece (carry + p[0, n)): decodes it, moves the offset past it. */
static int piece_done(struct hw_stream *s, const uint8_t *p, size_t n, int terminated)
{
	int rc;
	if (s->plen == 0) {
		rc = decode_piece(s, p, n, terminated);
		s->offset += n + (terminated != 0);
	} else {
		size_t room = s->plen < HW_MAX_PIECE ? HW_MAX_PIECE - s->plen : 0;
		memcpy(s->piece + s->plen, p, n < room ? n : room);
		size_t total = s->plen + n;
		rc = decode_piece(s, s->piece, total, terminated);
		s->offset += total + (terminated != 0);
		s->plen = 0;
	}
	s->first = 0;
	return rc;
}

int hw_stream_feed(struct hw_stream *s, const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n;
	while (p < end) {
		const uint8_t *z = memchr(p, 0, (size_t)(end - p));
		if (!z) {
			/* Carry the unfinished piece; past HW_MAX_PIECE only its length counts. */
			size_t k = (size_t)(end - p);
			size_t room = s->plen < HW_MAX_PIECE ? HW_MAX_PIECE - s->plen : 0;
			memcpy(s->piece + s->plen, p, k < room ? k : room);
			s->plen += k;
			return 0;
		}
		if (piece_done(s, p, (size_t)(z - p), 1))
			return -1;
		p = z + 1;
	}
	return 0;
}

int hw_stream_finish(struct hw_stream *s)
{
	if (!s->plen)
		return 0;
	size_t n = s->plen;
	s->plen = 0;
	int rc = decode_piece(s, s->piece, n, 0);
	s->offset += n;
	s->first = 0;
	return rc;
}
