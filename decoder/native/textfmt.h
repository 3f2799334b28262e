/* _cwire.TextFormat (textfmt.c): the text view's lines in C, for the Python lists of
 * decoder/views/fast_text.py and for check.c's merged records. */
#ifndef HEISEN_TEXTFMT_H
#define HEISEN_TEXTFMT_H

#include <Python.h>
#include <stdint.h>

extern PyTypeObject TextFormatType;

#define TF_MAX_FIELDS 8
/* Differences of TSCs up to 2^53 convert to double exactly, so the C quotient is
 * Python's (tsc - origin) / (khz * 1000.0) bit for bit; larger ones go to Python. */
#define TF_EXACT (1ull << 53)

enum tf_show { TF_NUMBER, TF_HEX, TF_EXIT, TF_NAMED, TF_FLAGS };

struct tf_name {
	uint64_t value;
	char *name;
};

struct tf_table {
	struct tf_name *e;
	size_t n;
	uint64_t mask;          /* flags: sum of the values, as records.value_name takes it */
};

struct tf_field {
	char *label;            /* " field=" */
	enum tf_show show;
	struct tf_table tab;
};

struct tf_event {
	char *name;             /* NULL: not formatted here (TEXT, an id no table names) */
	unsigned nfields;
	struct tf_field f[TF_MAX_FIELDS];
};

typedef struct {
	PyObject_HEAD
	PyTypeObject *record_type;
	long boot_id;
	struct tf_table exits;
	struct tf_event ev[256];
	char *buf;              /* kept between calls: lines() writes ~100 KB each time */
	size_t bufcap;
} TextFormatObject;

struct tf_buf {
	char *p;
	size_t n, cap;
};

/* views/timebase.py Timebase: origin and tsc_khz, each set or None */
struct tf_state {
	int oset, kset;
	uint64_t origin, khz;
};

int tf_line(TextFormatObject *t, struct tf_buf *b, long long k, uint64_t tsc, long long c, unsigned type,
	    const uint64_t *a, unsigned nargs, const char *body, size_t blen, struct tf_state *st);

#endif
