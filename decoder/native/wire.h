/*
 * The serial wire decoder in C (docs/trace-format.md, docs/decoder.md "Native
 * decoder"): pieces between 0x00 delimiters -> COBS -> CRC -> records, with the
 * reader's per-CPU sequence tracking, duplicate/retransmission handling and loss
 * reports.  decoder/wire.py + decoder/reader.py (FrameReader) are the reference;
 * this code must give exactly their items (tests/decoder/test_cwire_diff.py).
 *
 * Two layers:
 *   hw_parse_piece()  one piece (COBS-encoded frame, no delimiter) -> records; also
 *                     what trace/tests/wire_decode.c builds its host-test API on.
 *   struct hw_stream  a byte stream fed in any chunking -> items in arrival order,
 *                     in memory bounded by HW_MAX_PIECE and the per-CPU seq windows.
 * Event field encodings come from the generated TRACE_EV_LAYOUTS (tools/gendefs.py).
 */
#ifndef HEISEN_DECODER_WIRE_H
#define HEISEN_DECODER_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Longest piece decoded (a frame is at most ~1031 bytes encoded); a longer one is
 * reported as garbage without being held (decoder/reader.py MAX_PIECE). */
#define HW_MAX_PIECE 65536u
/* Records one piece can hold at most: every record takes >= 2 payload bytes. */
#define HW_MAX_RECORDS (HW_MAX_PIECE / 2u)
#define HW_PREVIEW 48u          /* bytes of a bad piece quoted in its loss (reader._PREVIEW) */
#define HW_SEQ_WINDOW 1024      /* reader.SEQ_WINDOW */

/* Why a piece or the rest of a frame could not be used; x[] holds the numbers the
 * Python reader's message names (decoder/cwire.py turns code + x into its text). */
enum hw_error {
	HW_E_NONE = 0,
	/* the whole piece is lost (wire.FrameError) */
	HW_E_COBS,              /* garbage: block at x0 wants x1 bytes, x2 left */
	HW_E_SHORT,             /* truncated: frame of x0 bytes < minimum */
	HW_E_CRC,               /* crc: over x0 bytes */
	HW_E_VERSION,           /* malformed: version x0 */
	HW_E_SHIFT,             /* malformed: unit 2^x0 */
	HW_E_HEADER,            /* malformed: no seq/tsc_base */
	HW_E_VARINT_LONG,       /* malformed: varint of x0 bytes */
	HW_E_VARINT_BIG,        /* malformed: varint > 2^64-1 */
	HW_E_OVERSIZE,          /* garbage: piece longer than HW_MAX_PIECE */
	/* records before this point are good (wire.PartialFrame) */
	HW_E_TEXT,              /* malformed: TEXT of x0 bytes runs past the frame */
	HW_E_UNKNOWN,           /* unknown_event: event id x0 at record x1 */
	HW_E_CUT,               /* malformed: record x1 (event x0) cut short */
	HW_E_COUNT
};

static inline int hw_error_is_partial(enum hw_error e)
{
	return e >= HW_E_TEXT;
}

/* One decoded record, or (type LOST) a ring-full report: a[0] = count. */
struct hw_rec {
	uint64_t tsc;           /* cycles, modulo 2^64 */
	uint64_t a[3];          /* numeric fields in table order (TEXT: a[0] = text length) */
	const uint8_t *text;    /* TEXT: into the payload buffer given to hw_parse_piece */
	uint8_t type;
	uint8_t nargs;
	uint16_t wire_size;     /* payload bytes of the record (before COBS) */
};

struct hw_frame {
	enum hw_error err;      /* HW_E_NONE, a whole-piece error, or a partial one */
	uint64_t x[3];
	uint8_t cpu, tsc_shift;
	uint64_t seq, tsc_base; /* tsc_base in cycles modulo 2^64 */
	int monotonic;          /* 0: a dt wrapped (TSC went backwards) inside the frame */
	uint64_t err_tsc;       /* partial: the running TSC where decoding stopped */
	size_t nrec;
};

/*
 * Decodes one piece (n bytes, no 0x00 inside) into rec[0..maxrec): COBS into
 * payload (at least n bytes, apart from enc), then the frame.  Returns f->err; f->nrec records are
 * valid when the error is HW_E_NONE or partial.  maxrec >= HW_MAX_RECORDS never
 * runs out; with fewer, a frame holding more stops with HW_E_CUT (host tests only).
 */
enum hw_error hw_parse_piece(const uint8_t *enc, size_t n, uint8_t *payload,
			     struct hw_rec *rec, size_t maxrec, struct hw_frame *f);

/* zlib.crc32 of p[0, n) (trace_crc32(0, p, n)), sliced by 8: the check of every frame. */
uint32_t hw_crc32(const uint8_t *p, size_t n);

/* ---- the stream: FrameReader + iter_pieces ---------------------------------- */

/* What an item is (hw_item.kind). */
enum hw_item_kind {
	HW_RECORD = 0,
	HW_L_FRAME,             /* piece lost: x0 = hw_error, x1..x3 its numbers */
	HW_L_LOST,              /* LOST record: x0 = count, x1 = frame seq */
	HW_L_GAP,               /* seq gap: x0 = expect, x1 = seq */
	HW_L_PARTIAL,           /* rest of frame skipped: x0 = hw_error, x1, x2, x3 = seq */
	HW_L_RETX,              /* retransmission: x0 = seq, x1 = had, x2 = len(items) */
	HW_L_DUP,               /* duplicate: x0 = seq, x1 = expect (low 64), x2 = expect >> 64 */
};

struct hw_item {
	uint64_t tsc;
	uint64_t x[4];          /* record: fields a0..a2, x[3] = frame seq; loss: see kinds */
	int64_t offset;         /* losses: byte offset of the piece */
	uint32_t aux;           /* TEXT: offset into text; piece losses: index into previews */
	int16_t cpu;            /* -1: unattributable */
	uint8_t kind;           /* hw_item_kind */
	uint8_t type;           /* records: event id; piece losses: first | terminated << 1 */
	uint8_t nargs;          /* records: fields (TEXT: 1, a[0] = length) */
};

/* A run of items from one piece (StreamDecoder.feed's unit: merge pushes per run). */
struct hw_run {
	size_t start, n;
	int16_t cpu;            /* -1: one unattributable loss */
	uint8_t monotonic;
};

/* Output of the stream, appended to until the caller takes it (hw_out_reset). */
struct hw_out {
	struct hw_item *items;
	size_t nitems, cap_items;
	struct hw_run *runs;
	size_t nruns, cap_runs;
	uint8_t *bytes;         /* TEXT payloads and bad-piece previews */
	size_t nbytes, cap_bytes;
	size_t nrecords;        /* HW_RECORD items */
};

struct hw_seen;                 /* per-CPU seq -> records window (wire.c) */

struct hw_stream {
	uint64_t offset;        /* input offset of the current piece */
	int first;              /* no piece decided yet */
	uint8_t *piece;         /* carry: the current piece's bytes (HW_MAX_PIECE) */
	size_t plen;            /* its length so far (may exceed HW_MAX_PIECE: then only counted) */
	uint8_t *payload;
	struct hw_rec *rec;
	struct hw_seen *seen[256];
	unsigned __int128 next_seq[256];
	uint64_t frames, bytes;
	struct hw_out out;
};

/* 0 on success, -1 when out of memory (then hw_stream_free is still safe). */
int hw_stream_init(struct hw_stream *s);
void hw_stream_free(struct hw_stream *s);
/* Back to the state of a fresh stream, buffers kept (for many small inputs). */
void hw_stream_reset(struct hw_stream *s);
/* Feeds the next n bytes; -1 when out of memory. */
int hw_stream_feed(struct hw_stream *s, const uint8_t *p, size_t n);
/* End of input: an unterminated last piece is decoded (as truncated). */
int hw_stream_finish(struct hw_stream *s);
void hw_out_reset(struct hw_out *o);

#endif
