/*
 * The serial wire format of docs/trace-format.md: LEB128/zigzag varints, CRC-32,
 * COBS, and the frame builder that turns a run of one CPU's ring records into one
 * 0x00-terminated frame.  Freestanding; no libc.
 */
#ifndef HEISEN_TRACE_FRAME_H
#define HEISEN_TRACE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "ring.h"

#define TRACE_FRAME_VERSION 0x02
/*
 * The drain's timestamp resolution on the wire: 2^6 TSC cycles (~25 ns at the
 * 2.6 GHz TSC of these machines).  A handler's records are microseconds apart under
 * TCG, so nothing the decoder orders or measures needs finer; it saves ~1 byte per
 * record (measured: dt averages 2.36 bytes at shift 0, 1.37 at shift 6).
 */
#define TRACE_WIRE_TSC_SHIFT 6u
#define TRACE_FRAME_MAX_RECORDS 64u
#define TRACE_FRAME_MAX_PAYLOAD 1024u  /* before COBS, CRC included */
#define TRACE_VARINT_MAX 10u           /* bytes of a u64 LEB128 */
/* One record on the wire at most: type, dt, three 10-byte varints (TEXT: 1+24 < 30). */
#define TRACE_RECORD_MAX_WIRE (1u + TRACE_VARINT_MAX + 3u * TRACE_VARINT_MAX)
/* COBS adds one code byte per started block of 254 bytes. */
#define TRACE_COBS_OVERHEAD(n) (((n) + 253u) / 254u + 1u)
/* Buffer size trace_frame_build() needs: encoded payload + the 0x00 delimiter. */
#define TRACE_FRAME_MAX_WIRE (TRACE_FRAME_MAX_PAYLOAD + TRACE_COBS_OVERHEAD(TRACE_FRAME_MAX_PAYLOAD) + 1u)

/* Unsigned LEB128: writes at most 10 bytes at p, returns the count. */
size_t trace_put_uvarint(uint8_t *p, uint64_t v);
static inline uint64_t trace_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t trace_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* CRC-32/ISO-HDLC (zlib.crc32): start with crc = 0, feed pieces in order. */
uint32_t trace_crc32(uint32_t crc, const uint8_t *p, size_t n);

/*
 * COBS-encodes n bytes from in to out (no delimiter) and returns the encoded length,
 * <= n + TRACE_COBS_OVERHEAD(n).  out may overlap in if in >= out +
 * TRACE_COBS_OVERHEAD(n): each byte is read before anything is written at or past it.
 * A block of 254 non-zero bytes that ends the input gets no trailing code byte
 * (the canonical form of Cheshire & Baker).
 */
size_t trace_cobs_encode(const uint8_t *in, size_t n, uint8_t *out);

/*
 * Records seq start .. start+count-1, at slot[seq & mask] (mask = ~0 for a plain array);
 * timestamps go out in units of 2^tsc_shift cycles (0: exact).
 */
struct trace_frame_src {
	const struct trace_record *slot;
	uint64_t mask;
	uint64_t start;
	uint64_t count;
	unsigned tsc_shift;
};

/*
 * Encodes records from src (at least one, at most TRACE_FRAME_MAX_RECORDS and as many
 * as fit in TRACE_FRAME_MAX_PAYLOAD) as one frame of CPU cpu with sequence number seq,
 * writes it with its 0x00 delimiter to out (TRACE_FRAME_MAX_WIRE bytes), stores the
 * number of records used in *used and returns the bytes written.  Returns 0 (nothing
 * used) if src is empty.  A record with an unknown type or a TEXT length over 24 (memory
 * corruption) is encoded as LOST(1) at its position, so it is accounted, not hidden.
 */
size_t trace_frame_build(const struct trace_frame_src *src, uint8_t cpu, uint64_t seq, uint8_t *out,
			 uint64_t *used);

#endif
