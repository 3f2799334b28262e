/*
 * Wire format: varints, zigzag, CRC-32, COBS, frame round trip, frame limits, and
 * resynchronisation after random byte loss/corruption (docs/trace-format.md).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "frame.h"
#include "wire_decode.h"

int check_failures;

static const uint16_t layouts[TRACE_EV_MAX + 1] = TRACE_EV_LAYOUTS;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, so a failure reproduces */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static void varint_edges(void)
{
	static const struct { uint64_t v; size_t len; } cases[] = {
		{ 0, 1 }, { 1, 1 }, { 127, 1 }, { 128, 2 }, { 16383, 2 }, { 16384, 3 },
		{ (1ull << 35) - 1, 5 }, { 1ull << 63, 10 }, { UINT64_MAX, 10 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[16];
		size_t n = trace_put_uvarint(buf, cases[i].v);
		CHECK_EQ(n, cases[i].len);
		uint64_t back = 0;
		for (size_t j = 0; j < n; j++) {
			CHECK((j + 1 < n) == !!(buf[j] & 0x80));
			back |= (uint64_t)(buf[j] & 0x7F) << (7 * j);
		}
		CHECK_EQ(back, cases[i].v);
	}
	uint8_t b[2];
	CHECK_EQ(trace_put_uvarint(b, 300), 2);
	CHECK_EQ(b[0], 0xAC);  /* the protobuf documentation's example */
	CHECK_EQ(b[1], 0x02);
}

static void zigzag_edges(void)
{
	CHECK_EQ(trace_zigzag(0), 0);
	CHECK_EQ(trace_zigzag(-1), 1);
	CHECK_EQ(trace_zigzag(1), 2);
	CHECK_EQ(trace_zigzag(-2), 3);
	CHECK_EQ(trace_zigzag(INT64_MAX), UINT64_MAX - 1);
	CHECK_EQ(trace_zigzag(INT64_MIN), UINT64_MAX);
	for (int i = 0; i < 100000; i++) {
		int64_t v = (int64_t)rnd() >> (rnd() % 64);
		CHECK_EQ(trace_unzigzag(trace_zigzag(v)), v);
	}
}

static uint32_t crc32_bitwise(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
	}
	return ~c;
}

static void crc32_vectors(void)
{
	CHECK_EQ(trace_crc32(0, (const uint8_t *)"123456789", 9), 0xCBF43926u);  /* the CRC catalogue check value */
	CHECK_EQ(trace_crc32(0, NULL, 0), 0);
	CHECK_EQ(trace_crc32(0, (const uint8_t *)"The quick brown fox jumps over the lazy dog", 43), 0x414FA339u);
	/* Every table entry against the bitwise definition, and piecewise feeding. */
	uint8_t buf[4096];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i < 256 ? i : rnd());
	CHECK_EQ(trace_crc32(0, buf, sizeof(buf)), crc32_bitwise(buf, sizeof(buf)));
	CHECK_EQ(trace_crc32(trace_crc32(0, buf, 1000), buf + 1000, sizeof(buf) - 1000), crc32_bitwise(buf, sizeof(buf)));
}

static void cobs_case(const uint8_t *in, size_t n, const uint8_t *want, size_t wn)
{
	uint8_t out[600];
	size_t got = trace_cobs_encode(in, n, out);
	CHECK_EQ(got, wn);
	CHECK(got == wn && memcmp(out, want, wn) == 0);
}

static void cobs_vectors(void)
{
	/* The examples of Cheshire & Baker as listed on Wikipedia ("Consistent Overhead Byte Stuffing"). */
	cobs_case((const uint8_t[]){ 0x00 }, 1, (const uint8_t[]){ 0x01, 0x01 }, 2);
	cobs_case((const uint8_t[]){ 0x00, 0x00 }, 2, (const uint8_t[]){ 0x01, 0x01, 0x01 }, 3);
	cobs_case((const uint8_t[]){ 0x00, 0x11, 0x00 }, 3, (const uint8_t[]){ 0x01, 0x02, 0x11, 0x01 }, 4);
	cobs_case((const uint8_t[]){ 0x11, 0x22, 0x00, 0x33 }, 4, (const uint8_t[]){ 0x03, 0x11, 0x22, 0x02, 0x33 }, 5);
	cobs_case((const uint8_t[]){ 0x11, 0x22, 0x33, 0x44 }, 4, (const uint8_t[]){ 0x05, 0x11, 0x22, 0x33, 0x44 }, 5);
	cobs_case((const uint8_t[]){ 0x11, 0x00, 0x00, 0x00 }, 4, (const uint8_t[]){ 0x02, 0x11, 0x01, 0x01, 0x01 }, 5);
	cobs_case(NULL, 0, (const uint8_t[]){ 0x01 }, 1);
	uint8_t in[300], want[300];
	/* 01 02 ... FE (254 bytes) -> FF 01 ... FE : no trailing code byte */
	for (int i = 0; i < 254; i++)
		in[i] = (uint8_t)(i + 1);
	want[0] = 0xFF;
	memcpy(want + 1, in, 254);
	cobs_case(in, 254, want, 255);
	/* 00 01 ... FE (255 bytes) -> 01 FF 01 ... FE */
	in[0] = 0;
	for (int i = 1; i < 255; i++)
		in[i] = (uint8_t)i;
	want[0] = 0x01;
	want[1] = 0xFF;
	memcpy(want + 2, in + 1, 254);
	cobs_case(in, 255, want, 256);
	/* 01 02 ... FE FF (255 bytes) -> FF 01 ... FE 02 FF */
	for (int i = 0; i < 255; i++)
		in[i] = (uint8_t)(i + 1);
	want[0] = 0xFF;
	memcpy(want + 1, in, 254);
	want[255] = 0x02;
	want[256] = 0xFF;
	cobs_case(in, 255, want, 257);
}

/* In-place encoding (what trace_frame_build does) equals out-of-place, for random data. */
static void cobs_in_place(void)
{
	for (int iter = 0; iter < 2000; iter++) {
		size_t n = rnd() % 1100;
		size_t k = TRACE_COBS_OVERHEAD(n);
		uint8_t in[1100], a[1200], b[1200];
		int zero_pct = (int)(rnd() % 3) * 10;  /* 0 %, 10 %, 20 % zeros: long and short blocks */
		for (size_t i = 0; i < n; i++)
			in[i] = (int)(rnd() % 100) < zero_pct ? 0 : (uint8_t)(1 + rnd() % 255);
		size_t na = trace_cobs_encode(in, n, a);
		memcpy(b + k, in, n);
		size_t nb = trace_cobs_encode(b + k, n, b);
		CHECK_EQ(na, nb);
		CHECK(na <= n + k);
		CHECK(memcmp(a, b, na) == 0);
		CHECK(memchr(a, 0, na) == NULL);
	}
}

/* A random record of a random defined type, values biased to edges. */
static void random_record(struct trace_record *r, uint64_t *tsc)
{
	static const uint64_t edges[] = { 0, 1, 127, 128, 0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull, UINT64_MAX };
	unsigned type;
	do
		type = 1 + (unsigned)(rnd() % TRACE_EV_MAX);
	while (!(layouts[type] & 0x100));
	memset(r, 0, sizeof(*r));
	r->type = (uint8_t)type;
	/* Mostly small steps; sometimes a large one, sometimes backwards (another core's TSC). */
	uint64_t step = rnd() % 8 == 0 ? rnd() : rnd() % 5000;
	*tsc += rnd() % 50 == 0 ? -(rnd() % 100000) : step;
	r->tsc = *tsc;
	if (type == TRACE_EV_TEXT) {
		r->len = (uint8_t)(rnd() % (TRACE_TEXT_CHUNK + 1));
		uint8_t *bytes = (uint8_t *)r->a;
		for (unsigned i = 0; i < r->len; i++)
			bytes[i] = (uint8_t)(rnd() % 4 == 0 ? 0 : rnd());
		return;
	}
	for (unsigned i = 0; i < (layouts[type] & 3u); i++)
		r->a[i] = rnd() % 4 == 0 ? edges[rnd() % 7] : rnd() >> (rnd() % 64);
}

struct collect {
	struct wire_frame *frames;
	size_t n, cap;
};

static void collect_cb(const struct wire_frame *f, void *ctx)
{
	struct collect *c = ctx;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->frames = realloc(c->frames, c->cap * sizeof(*c->frames));
	}
	c->frames[c->n++] = *f;
}

/*
 * Encodes records from a 256-slot ring image starting at a wrapping index, checks the
 * limits of each frame and that decoding gives back every record exactly.
 */
static void frame_round_trip(void)
{
	enum { NSLOTS = 256, NREC = 20000 };
	static struct trace_record slots[NSLOTS];
	static struct trace_record all[NREC];
	static uint8_t stream[NREC * 50];
	size_t slen = 0;
	uint64_t tsc = rnd(), start = (uint64_t)-100;  /* the sequence index wraps past 2^64 too */
	size_t done = 0;
	uint64_t seq = 0;
	for (size_t i = 0; i < NREC; i++)
		random_record(&all[i], &tsc);
	while (done < NREC) {
		/* Producer fills some slots; the frame builder reads them through the mask. */
		size_t avail = 1 + rnd() % NSLOTS;
		if (avail > NREC - done)
			avail = NREC - done;
		for (size_t i = 0; i < avail; i++)
			slots[(start + i) & (NSLOTS - 1)] = all[done + i];
		size_t taken = 0;
		while (taken < avail) {
			/* Any timestamp unit: the decoder reads the frame's, and compares to the unit. */
			unsigned shift = (unsigned)(rnd() % 13);
			struct trace_frame_src src = { slots, NSLOTS - 1, start + taken, avail - taken, shift };
			uint8_t out[TRACE_FRAME_MAX_WIRE];
			uint64_t used;
			size_t len = trace_frame_build(&src, 7, seq++, out, &used);
			CHECK(used >= 1 && used <= TRACE_FRAME_MAX_RECORDS);
			CHECK(len <= TRACE_FRAME_MAX_WIRE);
			CHECK(out[len - 1] == 0 && memchr(out, 0, len - 1) == NULL);
			if (used == 0)
				return;
			memcpy(stream + slen, out, len);
			slen += len;
			taken += used;
		}
		start += avail;
		done += avail;
	}
	struct collect c = { 0 };
	struct wire_stats st;
	wire_decode_stream(stream, slen, collect_cb, &c, &st);
	CHECK_EQ(st.frames_bad, 0);
	CHECK_EQ(st.frames_ok, seq);
	size_t k = 0, mismatches = 0;
	for (size_t i = 0; i < c.n; i++) {
		CHECK_EQ(c.frames[i].seq, i);
		CHECK_EQ(c.frames[i].cpu, 7);
		for (size_t j = 0; j < c.frames[i].nrec && k < NREC; j++, k++)
			mismatches += !wire_record_equal_ring(&c.frames[i].rec[j], &all[k]);
	}
	CHECK_EQ(k, NREC);
	CHECK_EQ(mismatches, 0);
	free(c.frames);
	/* Empty source: nothing written, nothing used. */
	struct trace_frame_src empty = { slots, NSLOTS - 1, 0, 0, 0 };
	uint8_t out[TRACE_FRAME_MAX_WIRE];
	uint64_t used = 99;
	CHECK_EQ(trace_frame_build(&empty, 0, 0, out, &used), 0);
	CHECK_EQ(used, 0);
}

/* Worst-case records (all 10-byte varints) hit the 1 KiB payload bound before 64 records. */
static void frame_payload_bound(void)
{
	static struct trace_record recs[100];
	for (int i = 0; i < 100; i++) {
		memset(&recs[i], 0, sizeof(recs[i]));
		recs[i].type = TRACE_EV_HYPERCALL;
		recs[i].tsc = (uint64_t)i << 62;  /* dt = 2^62 or wraps: 9-10 bytes */
		recs[i].a[0] = recs[i].a[1] = recs[i].a[2] = UINT64_MAX;
	}
	struct trace_frame_src src = { recs, ~0ull, 0, 100, 0 };
	uint8_t out[TRACE_FRAME_MAX_WIRE];
	uint64_t used;
	size_t len = trace_frame_build(&src, 1, 5, out, &used);
	CHECK(used < TRACE_FRAME_MAX_RECORDS);
	CHECK(used > 10);
	CHECK(len <= TRACE_FRAME_MAX_WIRE);
	struct wire_frame f;
	CHECK_EQ(wire_decode_frame(out, len - 1, &f), WIRE_OK);
	CHECK_EQ(f.nrec, used);
	CHECK_EQ(f.rec[used - 1].f[2], UINT64_MAX);
}

/* Encodes src as one frame and decodes it back into *f (which must succeed). */
static void one_frame(const struct trace_frame_src *src, struct wire_frame *f)
{
	uint8_t out[TRACE_FRAME_MAX_WIRE];
	uint64_t used;
	size_t len = trace_frame_build(src, 0, 0, out, &used);
	CHECK_EQ(used, src->count);
	CHECK_EQ(wire_decode_frame(out, len - 1, f), WIRE_OK);
}

/*
 * The compact encodings do what they are for: an exit reason that repeats (`d`), a RIP
 * that repeats (`rip`) and a handler 100 cycles long at 2^6-cycle units cost one byte
 * each, so a repeated INTERCEPT_ENTER is 4 bytes and its LEAVE 3; the first ENTER of the
 * frame pays for the full values.  The decoded TSC is the true one cut to the unit.
 */
static void frame_repeats_cost_one_byte(void)
{
	struct trace_record recs[8] = { 0 };
	for (int i = 0; i < 8; i++) {
		recs[i].type = i % 2 ? TRACE_EV_INTERCEPT_LEAVE : TRACE_EV_INTERCEPT_ENTER;
		recs[i].tsc = 0x123456789ull + 100u * (uint64_t)i + (uint64_t)i % 3;
		recs[i].a[0] = 0x81;
		recs[i].a[1] = i % 2 ? 0 : 0xffffffff81000000ull;
	}
	struct trace_frame_src src = { recs, ~0ull, 0, 8, TRACE_WIRE_TSC_SHIFT };
	struct wire_frame f;
	one_frame(&src, &f);
	CHECK_EQ(f.nrec, 8);
	CHECK(f.rec[0].wire_size > 4);
	for (int i = 2; i < 8; i++) {
		CHECK_EQ(f.rec[i].wire_size, i % 2 ? 3 : 4);
		CHECK_EQ(f.rec[i].f[0], 0x81);
		CHECK_EQ(f.rec[i].tsc, recs[i].tsc & ~((1ull << TRACE_WIRE_TSC_SHIFT) - 1));
		CHECK(wire_record_equal_ring(&f.rec[i], &recs[i]));
	}
	CHECK_EQ(f.rec[2].f[1], 0xffffffff81000000ull);
}

/* A corrupt slot (unknown type, or TEXT longer than 24) goes out as LOST(1) in its place. */
static void frame_corrupt_record_is_lost(void)
{
	struct trace_record recs[4] = { 0 };
	recs[0].type = TRACE_EV_QUIESCE_ACK, recs[0].tsc = 100, recs[0].a[0] = 5;
	recs[1].type = 0, recs[1].tsc = 110;                      /* never written */
	recs[2].type = TRACE_EV_TEXT, recs[2].len = 200, recs[2].tsc = 120;
	recs[3].type = 0xEE, recs[3].tsc = 130;
	struct trace_frame_src src = { recs, ~0ull, 0, 4, 0 };
	struct wire_frame f;
	one_frame(&src, &f);
	CHECK_EQ(f.nrec, 4);
	CHECK_EQ(f.rec[0].type, TRACE_EV_QUIESCE_ACK);
	for (int i = 1; i < 4; i++) {
		CHECK_EQ(f.rec[i].type, TRACE_EV_LOST);
		CHECK_EQ(f.rec[i].f[0], 1);
		CHECK_EQ(f.rec[i].tsc, recs[i].tsc);
	}
}

/*
 * Resync: a stream of frames, some damaged (byte flipped, deleted, inserted, zeroed,
 * frame cut short), read from a random starting offset.  Every undamaged frame must
 * decode exactly; every damaged one must be reported, never decoded into records.
 */
static void resync_after_damage(void)
{
	enum { NFRAMES = 3000 };
	static uint8_t clean[NFRAMES * TRACE_FRAME_MAX_WIRE];
	static uint8_t dirty[NFRAMES * (TRACE_FRAME_MAX_WIRE + 8)];
	static size_t at[NFRAMES + 1];
	static struct trace_record recs[NFRAMES][TRACE_FRAME_MAX_RECORDS];
	static size_t nrecs[NFRAMES];
	static int damaged[NFRAMES];
	size_t clen = 0, dlen = 0;
	uint64_t tsc = 1000;

	for (int i = 0; i < NFRAMES; i++) {
		size_t n = 1 + rnd() % 20;
		for (size_t j = 0; j < n; j++)
			random_record(&recs[i][j], &tsc);
		struct trace_frame_src src = { recs[i], ~0ull, 0, n, TRACE_WIRE_TSC_SHIFT };
		uint64_t used;
		at[i] = clen;
		clen += trace_frame_build(&src, (uint8_t)(i % 3), (uint64_t)i, clean + clen, &used);
		nrecs[i] = used;
	}
	at[NFRAMES] = clen;
	size_t ndamaged = 0;
	for (int i = 0; i < NFRAMES; i++) {
		size_t flen = at[i + 1] - at[i] - 1;  /* without delimiter */
		const uint8_t *fr = clean + at[i];
		int kind = rnd() % 10 < 2 ? 1 + (int)(rnd() % 5) : 0;
		size_t p = rnd() % flen;
		damaged[i] = kind != 0;
		ndamaged += damaged[i];
		switch (kind) {
		case 0:
			memcpy(dirty + dlen, fr, flen);
			dlen += flen;
			break;
		case 1: /* one bit flipped (never to 0x00: that is case 4) */
			memcpy(dirty + dlen, fr, flen);
			dirty[dlen + p] ^= (uint8_t)(1u << (rnd() % 8));
			if (dirty[dlen + p] == 0)
				dirty[dlen + p] = 0x5A ^ fr[p] ? 0x5A : 0xA5;
			dlen += flen;
			break;
		case 2: /* a byte lost */
			memcpy(dirty + dlen, fr, p);
			memcpy(dirty + dlen + p, fr + p + 1, flen - p - 1);
			dlen += flen - 1;
			break;
		case 3: /* a stray byte */
			memcpy(dirty + dlen, fr, p);
			dirty[dlen + p] = (uint8_t)(1 + rnd() % 255);
			memcpy(dirty + dlen + p + 1, fr + p, flen - p);
			dlen += flen + 1;
			break;
		case 4: /* a byte turned into 0x00: splits the frame in two bad pieces */
			memcpy(dirty + dlen, fr, flen);
			dirty[dlen + p] = 0;
			dlen += flen;
			break;
		default: /* cut short (at least one byte left): the rest never arrived */
			p = 1 + p % (flen - 1);
			memcpy(dirty + dlen, fr, p);
			dlen += p;
			break;
		}
		dirty[dlen++] = 0;
	}
	/* The reader starts in the middle of frame 0: that piece is bad, the rest resyncs. */
	size_t skip = (at[1] - at[0]) / 2;
	if (!damaged[0])
		ndamaged++;
	damaged[0] = 1;
	struct collect c = { 0 };
	struct wire_stats st;
	wire_decode_stream(dirty + skip, dlen - skip, collect_cb, &c, &st);
	size_t good_expected = 0, wrong = 0;
	for (int i = 0; i < NFRAMES; i++)
		good_expected += !damaged[i];
	CHECK_EQ(c.n, good_expected);
	CHECK(st.frames_bad >= ndamaged);  /* a zeroed byte may make two bad pieces; an empty piece is not a frame */
	/* Decoded frames are exactly the undamaged ones, in order, with their records. */
	size_t k = 0;
	for (int i = 0; i < NFRAMES && k < c.n; i++) {
		if (damaged[i])
			continue;
		const struct wire_frame *f = &c.frames[k++];
		if (f->seq != (uint64_t)i || f->nrec != nrecs[i]) {
			wrong++;
			continue;
		}
		for (size_t j = 0; j < f->nrec; j++)
			wrong += !wire_record_equal_ring(&f->rec[j], &recs[i][j]);
	}
	CHECK_EQ(wrong, 0);
	fprintf(stderr, "     resync: %d frames, %zu damaged, %zu reported bad, %zu read back\n", NFRAMES, ndamaged,
		st.frames_bad, c.n);
	free(c.frames);
}

int main(void)
{
	RUN(varint_edges);
	RUN(zigzag_edges);
	RUN(crc32_vectors);
	RUN(cobs_vectors);
	RUN(cobs_in_place);
	RUN(frame_round_trip);
	RUN(frame_payload_bound);
	RUN(frame_repeats_cost_one_byte);
	RUN(frame_corrupt_record_is_lost);
	RUN(resync_after_damage);
	CHECK_MAIN_END();
}
