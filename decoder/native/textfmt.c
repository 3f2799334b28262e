/*
 * _cwire.TextFormat: the text view's lines (decoder/views/text.py) written in C for a
 * list of merged items at a time, so printing a big trace costs no Python work per
 * line.  decoder/views/fast_text.py builds it from decoder/records.py's field_shows()
 * and decoder/defs.py (the generated tables), never from a copy, and is the only caller.
 *
 *   TextFormat(record_type, boot_id, events, exits)
 *       events: {id: (name, ((field, show, flags, ((name, value), ...)), ...))}
 *       exits:  ((name, code), ...)   EXIT_REASONS["svm"], in dict order
 *   .lines(items, start, k, origin, khz) -> (text, stop, origin, khz)
 *
 * lines() writes items[start:stop] and stops at the first item it does not format
 * exactly as the Python view would: a Loss, a TEXT record, a record whose values are
 * not plain 64-bit ints, a time it cannot compute exactly.  The caller prints that one
 * with the Python view (the reference) and calls again past it.  origin/khz are the
 * view's Timebase (None or int) before and after the items written.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "textfmt.h"

static int buf_reserve(struct tf_buf *b, size_t more)
{
	if (b->n + more <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 1 << 16;
	while (cap < b->n + more)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int buf_put(struct tf_buf *b, const char *s, size_t len)
{
	if (buf_reserve(b, len) < 0)
		return -1;
	memcpy(b->p + b->n, s, len);
	b->n += len;
	return 0;
}

static int buf_str(struct tf_buf *b, const char *s)
{
	return buf_put(b, s, strlen(s));
}

/* Digits of v, right-aligned in at least width columns (Python's f"{v:>{width}d}"). */
static int put_dec(struct tf_buf *b, uint64_t v, int neg, unsigned width)
{
	char t[24];
	char *p = t + sizeof t;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (neg)
		*--p = '-';
	size_t len = (size_t)(t + sizeof t - p);
	if (buf_reserve(b, len + width) < 0)
		return -1;
	for (; len < width; width--)
		b->p[b->n++] = ' ';
	memcpy(b->p + b->n, p, len);
	b->n += len;
	return 0;
}

/* Python's f"{v:#x}" and hex(v): "0x0" for zero, where C's %#x would print "0" */
static int put_hex(struct tf_buf *b, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char t[20];
	char *p = t + sizeof t;
	do {
		*--p = digits[v & 15];
		v >>= 4;
	} while (v);
	*--p = 'x';
	*--p = '0';
	return buf_put(b, p, (size_t)(t + sizeof t - p));
}

/* records._u: numbers below 0x10000 in decimal, others as hex() writes them */
static int put_number(struct tf_buf *b, uint64_t v)
{
	return v < 0x10000 ? put_dec(b, v, 0, 0) : put_hex(b, v);
}

/* f"{x:14.9f}" for a finite double: x * 10^9 rounded to an integer, half to even on an
 * exact tie, as Python's correctly rounded formatting does.  x = m * 2^e exactly with
 * m < 2^53; for |x| < 2^33 the product m * 10^9 < 2^83 fits in 128 bits, larger |x|
 * return 1 (the caller then leaves the line to Python). */
static int put_seconds(struct tf_buf *b, double x)
{
	int neg = signbit(x) != 0;
	double ax = fabs(x);
	if (!(ax < 8589934592.0))
		return 1;
	int e;
	double frac = frexp(ax, &e);
	uint64_t m = (uint64_t)ldexp(frac, 53);
	e -= 53;
	unsigned __int128 p = (unsigned __int128)m * 1000000000u, q;
	if (e >= 0) {
		q = p << e;
	} else if (-e >= 120) {
		q = 0;          /* p < 2^83: below half of 2^-e, rounds to 0 */
	} else {
		unsigned sh = (unsigned)-e;
		unsigned __int128 r = p & (((unsigned __int128)1 << sh) - 1), half = (unsigned __int128)1 << (sh - 1);
		q = p >> sh;
		if (r > half || (r == half && (q & 1)))
			q++;
	}
	/* q < 2^64 for |x| < 1.8e10 s: the 64-bit division, not the slower 128-bit one */
	uint64_t whole, part;
	if (q >> 64) {
		whole = (uint64_t)(q / 1000000000u);
		part = (uint64_t)(q % 1000000000u);
	} else {
		whole = (uint64_t)q / 1000000000u;
		part = (uint64_t)q % 1000000000u;
	}
	char t[48];
	char *w = t + sizeof t;
	for (int i = 0; i < 9; i++) {
		*--w = (char)('0' + part % 10);
		part /= 10;
	}
	*--w = '.';
	do {
		*--w = (char)('0' + whole % 10);
		whole /= 10;
	} while (whole);
	if (neg)
		*--w = '-';
	size_t len = (size_t)(t + sizeof t - w);
	if (buf_reserve(b, len + 14) < 0)
		return -1;
	for (size_t pad = len; pad < 14; pad++)
		b->p[b->n++] = ' ';
	memcpy(b->p + b->n, w, len);
	b->n += len;
	return 0;
}

/* records.value_name, then `or _u(v)`: the first name with this value; flags: the
 * names of the bits set joined by '+', "none" for 0, the number when a bit has no
 * name (v & ~sum) or the name is empty (falsy in Python). */
static int put_named(struct tf_buf *b, const struct tf_field *f, uint64_t v)
{
	const struct tf_table *t = &f->tab;
	if (f->show == TF_NAMED) {
		for (size_t i = 0; i < t->n; i++)
			if (t->e[i].value == v)
				return t->e[i].name[0] ? buf_str(b, t->e[i].name) : put_number(b, v);
		return put_number(b, v);
	}
	if (v == 0)
		return buf_str(b, "none");
	if (v & ~t->mask)
		return put_number(b, v);
	size_t at = b->n;
	int any = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (!(v & t->e[i].value))
			continue;
		if ((any && buf_put(b, "+", 1) < 0) || buf_str(b, t->e[i].name) < 0)
			return -1;
		any = 1;
	}
	if (b->n == at)
		return put_number(b, v);
	return 0;
}

/* records.exit_name: the SVM exit's name, else the reason in hex */
static int put_exit(struct tf_buf *b, const struct tf_table *exits, uint64_t v)
{
	if (put_hex(b, v) < 0 || buf_put(b, "(", 1) < 0)
		return -1;
	size_t i;
	for (i = 0; i < exits->n && exits->e[i].value != v; i++)
		;
	if ((i < exits->n ? buf_str(b, exits->e[i].name) : put_hex(b, v)) < 0)
		return -1;
	return buf_put(b, ")", 1);
}

/* A Python int in [0, 2^64) (bool excluded: f"{True}" is "True"), or -1. */
static int as_u64(PyObject *o, uint64_t *v)
{
	if (!PyLong_CheckExact(o))
		return -1;
	unsigned long long x = PyLong_AsUnsignedLongLong(o);
	if (x == (unsigned long long)-1 && PyErr_Occurred()) {
		PyErr_Clear();
		return -1;
	}
	*v = x;
	return 0;
}

/* ---- construction ------------------------------------------------------------------ */

static char *dup_utf8(PyObject *s, const char *prefix, const char *suffix)
{
	Py_ssize_t n;
	const char *u = PyUnicode_Check(s) ? PyUnicode_AsUTF8AndSize(s, &n) : NULL;
	if (!u) {
		if (!PyErr_Occurred())
			PyErr_SetString(PyExc_TypeError, "TextFormat: expected a str");
		return NULL;
	}
	size_t lp = strlen(prefix), ls = strlen(suffix);
	char *d = malloc(lp + (size_t)n + ls + 1);
	if (!d) {
		PyErr_NoMemory();
		return NULL;
	}
	memcpy(d, prefix, lp);
	memcpy(d + lp, u, (size_t)n);
	memcpy(d + lp + (size_t)n, suffix, ls + 1);
	return d;
}

static void free_table(struct tf_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].name);
	free(t->e);
	t->e = NULL;
	t->n = 0;
}

/* ((name, value), ...) -> table.  Returns 1 when a value is no u64 (the event is then
 * left to Python), -1 on error. */
static int read_table(PyObject *seq, struct tf_table *t, int flags)
{
	PyObject *fast = PySequence_Fast(seq, "TextFormat: a table is a sequence of (name, value)");
	if (!fast)
		return -1;
	Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
	t->e = calloc((size_t)n + 1, sizeof *t->e);
	if (!t->e) {
		Py_DECREF(fast);
		PyErr_NoMemory();
		return -1;
	}
	int rc = 0;
	PyObject *sum = PyLong_FromLong(0);
	for (Py_ssize_t i = 0; i < n && rc == 0 && sum; i++) {
		PyObject *pair = PySequence_Fast_GET_ITEM(fast, i);
		if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
			PyErr_SetString(PyExc_TypeError, "TextFormat: a table entry is (name, value)");
			rc = -1;
			break;
		}
		uint64_t v;
		if (as_u64(PyTuple_GET_ITEM(pair, 1), &v) < 0) {
			rc = 1;
			break;
		}
		char *name = dup_utf8(PyTuple_GET_ITEM(pair, 0), "", "");
		if (!name) {
			rc = -1;
			break;
		}
		t->e[t->n].value = v;
		t->e[t->n++].name = name;
		PyObject *s2 = PyNumber_Add(sum, PyTuple_GET_ITEM(pair, 1));
		Py_DECREF(sum);
		sum = s2;
	}
	if (!sum && rc == 0)
		rc = -1;
	if (rc == 0 && flags && as_u64(sum, &t->mask) < 0)
		rc = 1;         /* a sum past 2^64: value & ~sum differs in 64 bits */
	Py_XDECREF(sum);
	Py_DECREF(fast);
	return rc;
}

static void free_event(struct tf_event *e)
{
	free(e->name);
	e->name = NULL;
	for (unsigned i = 0; i < e->nfields; i++) {
		free(e->f[i].label);
		free_table(&e->f[i].tab);
	}
	e->nfields = 0;
}

static const char *const show_names[] = { "number", "hex", "exit", "named" };

static int read_event(struct tf_event *e, PyObject *spec)
{
	PyObject *name, *fields;
	if (!PyArg_ParseTuple(spec, "UO!;TextFormat: an event is (name, fields)", &name, &PyTuple_Type, &fields))
		return -1;
	if (PyTuple_GET_SIZE(fields) > TF_MAX_FIELDS)
		return 0;       /* left to Python */
	e->name = dup_utf8(name, "", "");
	if (!e->name)
		return -1;
	for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(fields); i++) {
		PyObject *fname, *table;
		const char *show;
		int flags;
		if (!PyArg_ParseTuple(PyTuple_GET_ITEM(fields, i), "UspO;TextFormat: a field is (name, show, flags, table)",
				      &fname, &show, &flags, &table))
			return -1;
		struct tf_field *f = &e->f[e->nfields++];
		f->label = dup_utf8(fname, " ", "=");
		if (!f->label)
			return -1;
		int s;
		for (s = 0; s < 4 && strcmp(show, show_names[s]); s++)
			;
		if (s == 4) {
			PyErr_Format(PyExc_ValueError, "TextFormat: unknown show %s", show);
			return -1;
		}
		f->show = s == TF_NAMED && flags ? TF_FLAGS : (enum tf_show)s;
		if (f->show == TF_NAMED || f->show == TF_FLAGS) {
			int rc = read_table(table, &f->tab, flags);
			if (rc)
				return rc < 0 ? -1 : 1;
		}
	}
	return 0;
}

static void tf_clear(TextFormatObject *t)
{
	for (int i = 0; i < 256; i++)
		free_event(&t->ev[i]);
	free_table(&t->exits);
	Py_CLEAR(t->record_type);
	free(t->buf);
	t->buf = NULL;
	t->bufcap = 0;
}

static int tf_init(TextFormatObject *t, PyObject *args, PyObject *kwds)
{
	PyObject *rt, *events, *exits;
	long boot;
	static char *kw[] = { "record_type", "boot_id", "events", "exits", NULL };
	if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!lO!O:TextFormat", kw, &PyType_Type, &rt, &boot,
					 &PyDict_Type, &events, &exits))
		return -1;
	tf_clear(t);
	t->record_type = (PyTypeObject *)Py_NewRef(rt);
	t->boot_id = boot;
	int rc = read_table(exits, &t->exits, 0);
	if (rc)
		return rc < 0 ? -1 : (PyErr_SetString(PyExc_ValueError, "TextFormat: an exit code is no u64"), -1);
	PyObject *key, *spec;
	Py_ssize_t pos = 0;
	while (PyDict_Next(events, &pos, &key, &spec)) {
		long id = PyLong_AsLong(key);
		if (id == -1 && PyErr_Occurred())
			return -1;
		if (id < 0 || id > 255) {
			PyErr_Format(PyExc_ValueError, "TextFormat: event id %ld is not one byte", id);
			return -1;
		}
		rc = read_event(&t->ev[id], spec);
		if (rc < 0)
			return -1;
		if (rc > 0)
			free_event(&t->ev[id]);   /* a table value past 64 bits: Python shows it */
	}
	return 0;
}

static void tf_dealloc(TextFormatObject *t)
{
	tf_clear(t);
	Py_TYPE(t)->tp_free((PyObject *)t);
}

/* ---- lines ------------------------------------------------------------------------- */

/* None or a u64: 0 ok, -1 not representable here (the caller then uses Python). */
static int opt_u64(PyObject *o, int *set, uint64_t *v)
{
	*set = o != Py_None;
	return *set ? as_u64(o, v) : 0;
}

static PyObject *opt_obj(int set, uint64_t v)
{
	return set ? PyLong_FromUnsignedLongLong(v) : Py_NewRef(Py_None);
}

/* One record's line from its values: 0 written, 1 left to Python (nothing written, state
 * unchanged), -1 no memory.  body: the event's text instead of its fields (the TEXT
 * record's describe(), which Python writes); NULL for the fields.  The state is
 * Timebase's, committed only for a line written. */
int tf_line(TextFormatObject *t, struct tf_buf *b, long long k, uint64_t tsc, long long c, unsigned type,
	    const uint64_t *a, unsigned nargs, const char *body, size_t blen, struct tf_state *st)
{
	const struct tf_event *e = &t->ev[type & 255];
	if (type > 255 || (!body && (!e->name || nargs != e->nfields)) || k < 0)
		return 1;
	/* Timebase.observe: the first item is the origin until a BOOT record with a
	 * tsc_khz; then that BOOT record is. */
	int ks = st->kset;
	uint64_t o = st->oset ? st->origin : tsc, kh = st->khz;
	if (!body && (long)type == t->boot_id && e->nfields >= 2 && a[1] && !ks) {
		if (a[1] >= TF_EXACT)
			return 1;
		ks = 1;
		kh = a[1];
		o = tsc;
	}
	/* f"{k:>8d} {stamp} [{cpu:>2}] ", the stamp f"{s:14.9f}" or f"{tsc:>14d}" */
	size_t at = b->n;
	if (put_dec(b, (uint64_t)k, 0, 8) < 0 || buf_put(b, " ", 1) < 0)
		return -1;
	if (ks) {
		__int128 d = (__int128)tsc - (__int128)o;
		int rc = d > (__int128)TF_EXACT || d < -(__int128)TF_EXACT ? 1 :
			 put_seconds(b, (double)(int64_t)d / ((double)kh * 1000.0));
		if (rc) {
			b->n = at;
			return rc;
		}
	} else if (put_dec(b, tsc, 0, 14) < 0) {
		return -1;
	}
	if (buf_put(b, " [", 2) < 0 || put_dec(b, c < 0 ? 0 - (uint64_t)c : (uint64_t)c, c < 0, 2) < 0 ||
	    buf_put(b, "] ", 2) < 0)
		return -1;
	if (body) {
		if (buf_put(b, body, blen) < 0)
			return -1;
	} else {
		if (buf_str(b, e->name) < 0)
			return -1;
		for (unsigned i = 0; i < e->nfields; i++) {
			const struct tf_field *f = &e->f[i];
			int rc = buf_str(b, f->label);
			if (rc == 0) {
				switch (f->show) {
				case TF_NUMBER: rc = put_number(b, a[i]); break;
				case TF_HEX: rc = put_hex(b, a[i]); break;
				case TF_EXIT: rc = put_exit(b, &t->exits, a[i]); break;
				default: rc = put_named(b, f, a[i]); break;
				}
			}
			if (rc < 0)
				return -1;
		}
	}
	if (buf_put(b, "\n", 1) < 0)
		return -1;
	st->oset = 1;
	st->origin = o;
	st->kset = ks;
	st->khz = kh;
	return 0;
}

/* One item of a list: a Record of plain ints, else 1 (left to Python). */
static int one_line(TextFormatObject *t, struct tf_buf *b, PyObject *it, long long k, struct tf_state *st)
{
	if (Py_TYPE(it) != t->record_type || PyTuple_GET_SIZE(it) != 5)
		return 1;
	uint64_t tsc, type, a[TF_MAX_FIELDS];
	PyObject *cpu = PyTuple_GET_ITEM(it, 1), *args = PyTuple_GET_ITEM(it, 3);
	if (as_u64(PyTuple_GET_ITEM(it, 0), &tsc) < 0 || as_u64(PyTuple_GET_ITEM(it, 2), &type) < 0 || type > 255 ||
	    !PyLong_CheckExact(cpu) || !PyTuple_CheckExact(args))
		return 1;
	const struct tf_event *e = &t->ev[type];
	if (!e->name || (size_t)PyTuple_GET_SIZE(args) != e->nfields)
		return 1;
	for (unsigned i = 0; i < e->nfields; i++)
		if (as_u64(PyTuple_GET_ITEM(args, i), &a[i]) < 0)
			return 1;
	int overflow;
	long long c = PyLong_AsLongLongAndOverflow(cpu, &overflow);
	if (overflow || (c == -1 && PyErr_Occurred())) {
		PyErr_Clear();
		return 1;
	}
	return tf_line(t, b, k, tsc, c, (unsigned)type, a, e->nfields, NULL, 0, st);
}

static PyObject *tf_lines(TextFormatObject *t, PyObject *args)
{
	PyObject *items, *po, *pk;
	Py_ssize_t start;
	long long k;
	/* k >= 0: put_dec writes it unsigned */
	if (!PyArg_ParseTuple(args, "O!nLOO:lines", &PyList_Type, &items, &start, &k, &po, &pk))
		return NULL;
	if (!t->record_type || k < 0) {
		PyErr_SetString(PyExc_ValueError, "TextFormat: not initialised, or a negative index");
		return NULL;
	}
	struct tf_state st = { 0 };
	int usable = opt_u64(po, &st.oset, &st.origin) == 0 && opt_u64(pk, &st.kset, &st.khz) == 0 &&
		     (!st.kset || (st.khz && st.khz < TF_EXACT));
	struct tf_buf b = { t->buf, 0, t->bufcap };
	Py_ssize_t i = start < 0 ? 0 : start, n = PyList_GET_SIZE(items);
	int rc = 0;
	for (; usable && i < n; i++, k++) {
		rc = one_line(t, &b, PyList_GET_ITEM(items, i), k, &st);
		if (rc)
			break;
	}
	t->buf = b.p;
	t->bufcap = b.cap;
	if (rc < 0)
		return PyErr_NoMemory();
	PyObject *text = PyUnicode_DecodeUTF8(b.p ? b.p : "", (Py_ssize_t)b.n, NULL);
	if (!text)
		return NULL;
	if (!usable)
		return Py_BuildValue("(NnOO)", text, i, po, pk);
	return Py_BuildValue("(NnNN)", text, i, opt_obj(st.oset, st.origin), opt_obj(st.kset, st.khz));
}

static PyMethodDef tf_methods[] = {
	{ "lines", (PyCFunction)tf_lines, METH_VARARGS,
	  "lines(items, start, k, origin, khz) -> (text, stop, origin, khz)" },
	{ NULL, NULL, 0, NULL },
};

PyTypeObject TextFormatType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "_cwire.TextFormat",
	.tp_basicsize = sizeof(TextFormatObject),
	.tp_dealloc = (destructor)tf_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "The text view's lines in C (decoder/views/fast_text.py).",
	.tp_methods = tf_methods,
	.tp_init = (initproc)tf_init,
	.tp_new = PyType_GenericNew,
};
