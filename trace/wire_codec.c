/* Varints and COBS for the wire frame (docs/trace-format.md). */
#include "frame.h"

size_t trace_put_uvarint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/*
 * In-place safe when in >= out + TRACE_COBS_OVERHEAD(n): after reading in[i] we have
 * written at most i + 1 + i/254 bytes, each at an index <= the one just read, so no
 * unread input is overwritten.  trace_frame_build() relies on this to avoid a second
 * 1 KiB buffer on the (possibly panic/NMI) stack.
 */
size_t trace_cobs_encode(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t code_at = 0, w = 1;
	uint8_t code = 1;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = in[i];
		if (b == 0) {
			out[code_at] = code;
			code_at = w++;
			code = 1;
			continue;
		}
		out[w++] = b;
		if (++code == 0xFF) {
			out[code_at] = code;
			if (i + 1 == n)
				return w;
			code_at = w++;
			code = 1;
		}
	}
	out[code_at] = code;
	return w;
}
