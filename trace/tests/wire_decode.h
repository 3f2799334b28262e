/*
 * The host tests' reader of the wire format: fixed-size structs over the decoder's
 * own C code (decoder/native/wire.c, which Python uses through _cwire), so the tests
 * of the encoder and the decoder Python runs read frames the same way.  That code
 * follows docs/trace-format.md and decoder/wire.py, not frame.c's code paths.
 */
#ifndef HEISEN_TRACE_WIRE_DECODE_H
#define HEISEN_TRACE_WIRE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

struct wire_record {
	uint8_t type;
	uint8_t text_len;
	uint8_t tsc_shift;      /* the frame's: tsc is exact to 2^tsc_shift cycles */
	uint16_t wire_size;     /* bytes of this record in the payload (before COBS) */
	uint64_t tsc;
	uint64_t f[3];          /* numeric fields in table order (rip fields absolute) */
	uint8_t text[TRACE_TEXT_CHUNK];
};

struct wire_frame {
	uint8_t cpu;
	uint64_t seq;
	uint8_t tsc_shift;
	uint64_t tsc_base;      /* in cycles (the wire carries it in units) */
	size_t nrec;
	size_t wire_bytes;      /* encoded bytes including the 0x00 delimiter */
	struct wire_record rec[TRACE_FRAME_MAX_RECORDS];
};

enum wire_error {
	WIRE_OK = 0,
	WIRE_COBS,              /* a COBS code points past the end, or a 0x00 inside */
	WIRE_SHORT,             /* payload shorter than version+cpu+shift+seq+tsc+crc */
	WIRE_CRC,
	WIRE_VERSION,
	WIRE_TRUNCATED,         /* a record runs past the CRC */
	WIRE_TYPE,              /* unknown event type */
	WIRE_TOO_MANY,          /* more than TRACE_FRAME_MAX_RECORDS records */
};

/* Decodes one encoded frame (without its 0x00) into *f. */
enum wire_error wire_decode_frame(const uint8_t *enc, size_t n, struct wire_frame *f);

struct wire_stats {
	size_t frames_ok;
	size_t frames_bad;      /* non-empty segments that did not decode */
	size_t bad_by_error[WIRE_TOO_MANY + 1];
};

/* Splits a byte stream at 0x00, decodes each segment, calls cb for every good frame. */
typedef void (*wire_frame_cb)(const struct wire_frame *f, void *ctx);
void wire_decode_stream(const uint8_t *buf, size_t n, wire_frame_cb cb, void *ctx, struct wire_stats *st);

/* Records (numeric fields) equal, the ring's TSC cut to the frame's unit? TEXT compares length and bytes. */
int wire_record_equal_ring(const struct wire_record *w, const struct trace_record *r);

#endif
