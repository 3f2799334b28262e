/*
 * _cwire: the C wire decoder (wire.c) for Python.  decoder/cwire.py loads it from
 * build/decoder/ and decoder/reader.py uses it when it is there.
 *
 *   Decoder(record_type, make_loss)   record_type: decoder.records.Record (a tuple
 *                                     subclass); make_loss(kind, tsc, cpu, offset,
 *                                     x0, x1, x2, x3, extra) -> Loss
 *   Decoder.feed(bytes) -> Batch      items of every piece the bytes complete
 *   Decoder.finish() -> Batch         the unterminated last piece, if any
 *   len(Batch), Batch.nrecords        counts, no Python object per item
 *   Batch.items() -> list             Records and Losses in arrival order
 *   Batch.runs() -> list              (cpu or None, monotonic, items) per piece:
 *                                     StreamDecoder's unit for the merge
 *
 * Items are built only when asked for: the batch keeps them as C structs, so a
 * caller that needs counts (the wire benchmark) or only some batches pays for
 * no Python objects.  Losses are rare and their messages are the Python reader's,
 * so make_loss (decoder/cwire.py) writes them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "heisen/defs.h"
#include "wire.h"
#include "textfmt.h"
#include "check.h"

typedef struct {
	PyObject_HEAD
	struct hw_stream s;
	PyTypeObject *record_type;
	PyObject *make_loss;
	/* A dead batch's buffers, for the next one: a batch's items (~0.5 MiB for a 64 KiB
	 * feed) in fresh memory every feed would cost page faults and reallocs that weigh
	 * as much as decoding them (the wire benchmark frees each batch once counted). */
	struct hw_out spare;
	int has_spare;
} DecoderObject;

typedef struct {
	PyObject_HEAD
	struct hw_out out;
	PyTypeObject *record_type;
	PyObject *make_loss;
	PyObject *owner;        /* the Decoder its buffers go back to */
} BatchObject;

static PyTypeObject BatchType;

/* ---- Batch ----------------------------------------------------------------------- */

static void free_out(struct hw_out *o)
{
	free(o->items);
	free(o->runs);
	free(o->bytes);
}

static void batch_dealloc(BatchObject *b)
{
	DecoderObject *d = (DecoderObject *)b->owner;
	if (d && !d->has_spare) {
		d->spare = b->out;
		d->has_spare = 1;
	} else {
		free_out(&b->out);
	}
	Py_XDECREF(b->owner);
	Py_XDECREF(b->record_type);
	Py_XDECREF(b->make_loss);
	Py_TYPE(b)->tp_free((PyObject *)b);
}

static Py_ssize_t batch_len(BatchObject *b)
{
	return (Py_ssize_t)b->out.nitems;
}

static PyObject *u128(uint64_t lo, uint64_t hi)
{
	PyObject *l = PyLong_FromUnsignedLongLong(lo);
	if (!l || !hi)
		return l;
	PyObject *h = PyLong_FromUnsignedLongLong(hi), *sh = PyLong_FromLong(64), *r = NULL;
	PyObject *hs = h && sh ? PyNumber_Lshift(h, sh) : NULL;
	if (hs)
		r = PyNumber_Add(hs, l);
	Py_XDECREF(h);
	Py_XDECREF(sh);
	Py_XDECREF(hs);
	Py_DECREF(l);
	return r;
}

static PyObject *make_loss(BatchObject *b, const struct hw_item *it)
{
	PyObject *extra;
	if (it->kind == HW_L_FRAME) {
		const uint8_t *h = b->out.bytes + it->aux;
		uint64_t len;
		memcpy(&len, h, 8);
		extra = Py_BuildValue("(y#KOO)", (const char *)h + 9, (Py_ssize_t)(h[8] > HW_PREVIEW ? HW_PREVIEW : h[8]),
				      (unsigned long long)len, (it->type & 1) ? Py_True : Py_False,
				      (it->type & 2) ? Py_True : Py_False);
	} else {
		extra = Py_NewRef(Py_None);
	}
	if (!extra)
		return NULL;
	PyObject *cpu = it->cpu < 0 ? Py_NewRef(Py_None) : PyLong_FromLong(it->cpu);
	PyObject *x2 = it->kind == HW_L_DUP ? u128(it->x[1], it->x[2]) : PyLong_FromUnsignedLongLong(it->x[2]);
	PyObject *r = NULL;
	if (cpu && x2)
		r = PyObject_CallFunction(b->make_loss, "iKOLKKOKO", (int)it->kind, (unsigned long long)it->tsc, cpu,
					  (long long)it->offset, (unsigned long long)it->x[0],
					  (unsigned long long)it->x[1], x2, (unsigned long long)it->x[3], extra);
	Py_XDECREF(cpu);
	Py_XDECREF(x2);
	Py_DECREF(extra);
	return r;
}

/* A Record is a tuple subclass: allocated as tuple.__new__ does for subclasses. */
static PyObject *make_record(BatchObject *b, const struct hw_item *it, PyObject *seq)
{
	PyObject *args = PyTuple_New(it->nargs);
	if (!args)
		return NULL;
	if (it->type == TRACE_EV_TEXT) {
		PyObject *t = PyBytes_FromStringAndSize((const char *)b->out.bytes + it->aux, (Py_ssize_t)it->x[0]);
		if (!t)
			goto fail;
		PyTuple_SET_ITEM(args, 0, t);
	} else {
		for (unsigned k = 0; k < it->nargs; k++) {
			PyObject *v = PyLong_FromUnsignedLongLong(it->x[k]);
			if (!v)
				goto fail;
			PyTuple_SET_ITEM(args, k, v);
		}
	}
	PyObject *r = b->record_type->tp_alloc(b->record_type, 5);
	PyObject *tsc = PyLong_FromUnsignedLongLong(it->tsc);
	PyObject *cpu = PyLong_FromLong(it->cpu);
	PyObject *type = PyLong_FromLong(it->type);
	if (!r || !tsc || !cpu || !type) {
		Py_XDECREF(r);
		Py_XDECREF(tsc);
		Py_XDECREF(cpu);
		Py_XDECREF(type);
		goto fail;
	}
	PyTuple_SET_ITEM(r, 0, tsc);
	PyTuple_SET_ITEM(r, 1, cpu);
	PyTuple_SET_ITEM(r, 2, type);
	PyTuple_SET_ITEM(r, 3, args);
	PyTuple_SET_ITEM(r, 4, Py_NewRef(seq));
	/* Ints and bytes only: no cycle can pass through them, so the cyclic GC need not
	 * walk millions of records (CPython untracks such tuples itself, one GC pass late). */
	PyObject_GC_UnTrack(args);
	PyObject_GC_UnTrack(r);
	return r;
fail:
	Py_DECREF(args);
	return NULL;
}

/* Items [start, start + n) as a list; one frame-seq int shared by a frame's records. */
static PyObject *items_list(BatchObject *b, size_t start, size_t n)
{
	PyObject *list = PyList_New((Py_ssize_t)n);
	PyObject *seq = NULL;
	uint64_t seq_v = 0;
	if (!list)
		return NULL;
	for (size_t k = 0; k < n; k++) {
		const struct hw_item *it = &b->out.items[start + k];
		PyObject *o;
		if (it->kind == HW_RECORD) {
			if (!seq || seq_v != it->x[3]) {
				Py_XDECREF(seq);
				seq_v = it->x[3];
				seq = PyLong_FromUnsignedLongLong(seq_v);
				if (!seq)
					goto fail;
			}
			o = make_record(b, it, seq);
		} else {
			o = make_loss(b, it);
		}
		if (!o)
			goto fail;
		PyList_SET_ITEM(list, (Py_ssize_t)k, o);
	}
	Py_XDECREF(seq);
	return list;
fail:
	Py_XDECREF(seq);
	Py_DECREF(list);
	return NULL;
}

static PyObject *batch_items(BatchObject *b, PyObject *Py_UNUSED(ignored))
{
	return items_list(b, 0, b->out.nitems);
}

static PyObject *batch_runs(BatchObject *b, PyObject *Py_UNUSED(ignored))
{
	PyObject *list = PyList_New((Py_ssize_t)b->out.nruns);
	if (!list)
		return NULL;
	for (size_t k = 0; k < b->out.nruns; k++) {
		const struct hw_run *run = &b->out.runs[k];
		PyObject *items = items_list(b, run->start, run->n);
		PyObject *cpu = run->cpu < 0 ? Py_NewRef(Py_None) : PyLong_FromLong(run->cpu);
		PyObject *t = items && cpu ? PyTuple_Pack(3, cpu, run->monotonic ? Py_True : Py_False, items) : NULL;
		Py_XDECREF(items);
		Py_XDECREF(cpu);
		if (!t) {
			Py_DECREF(list);
			return NULL;
		}
		PyList_SET_ITEM(list, (Py_ssize_t)k, t);
	}
	return list;
}

static PyObject *batch_nrecords(BatchObject *b, void *Py_UNUSED(closure))
{
	return PyLong_FromSize_t(b->out.nrecords);
}

static PyMethodDef batch_methods[] = {
	{ "items", (PyCFunction)batch_items, METH_NOARGS, "Records and Losses in arrival order." },
	{ "runs", (PyCFunction)batch_runs, METH_NOARGS, "(cpu or None, monotonic, items) per piece." },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef batch_getset[] = {
	{ "nrecords", (getter)batch_nrecords, NULL, "records (not losses) in the batch", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PySequenceMethods batch_as_sequence = {
	.sq_length = (lenfunc)batch_len,
};

static PyTypeObject BatchType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "_cwire.Batch",
	.tp_basicsize = sizeof(BatchObject),
	.tp_dealloc = (destructor)batch_dealloc,
	.tp_as_sequence = &batch_as_sequence,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "Decoded items of one feed, kept in C until asked for.",
	.tp_methods = batch_methods,
	.tp_getset = batch_getset,
};

/* ---- Decoder --------------------------------------------------------------------- */

static int decoder_init(DecoderObject *d, PyObject *args, PyObject *kwds)
{
	static char *kw[] = { "record_type", "make_loss", NULL };
	PyObject *rt, *ml;
	if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO", kw, &rt, &ml))
		return -1;
	/* no __dict__: make_record untracks records from the GC, safe only without one */
	if (!PyType_Check(rt) || !PyType_IsSubtype((PyTypeObject *)rt, &PyTuple_Type) ||
	    ((PyTypeObject *)rt)->tp_dictoffset) {
		PyErr_SetString(PyExc_TypeError,
				"record_type must be a tuple subclass without __dict__ (decoder.records.Record)");
		return -1;
	}
	if (!PyCallable_Check(ml)) {
		PyErr_SetString(PyExc_TypeError, "make_loss must be callable");
		return -1;
	}
	if (d->record_type) {
		PyErr_SetString(PyExc_RuntimeError, "Decoder already initialised");
		return -1;
	}
	if (hw_stream_init(&d->s)) {
		hw_stream_free(&d->s);
		PyErr_NoMemory();
		return -1;
	}
	d->record_type = (PyTypeObject *)Py_NewRef(rt);
	d->make_loss = Py_NewRef(ml);
	return 0;
}

static void decoder_dealloc(DecoderObject *d)
{
	hw_stream_free(&d->s);
	if (d->has_spare)
		free_out(&d->spare);
	Py_XDECREF(d->record_type);
	Py_XDECREF(d->make_loss);
	Py_TYPE(d)->tp_free((PyObject *)d);
}

/* The stream's output so far, handed to a new Batch (the stream starts a fresh one). */
static PyObject *take_batch(DecoderObject *d)
{
	BatchObject *b = PyObject_New(BatchObject, &BatchType);
	if (!b)
		return NULL;
	b->out = d->s.out;
	memset(&d->s.out, 0, sizeof(d->s.out));
	if (d->has_spare) {
		d->s.out = d->spare;
		hw_out_reset(&d->s.out);
		d->has_spare = 0;
	}
	b->owner = Py_NewRef((PyObject *)d);
	b->record_type = (PyTypeObject *)Py_NewRef(d->record_type);
	b->make_loss = Py_NewRef(d->make_loss);
	return (PyObject *)b;
}

static int ready(DecoderObject *d)
{
	if (!d->record_type) {
		PyErr_SetString(PyExc_RuntimeError, "Decoder not initialised");
		return 0;
	}
	return 1;
}

static PyObject *decoder_feed(DecoderObject *d, PyObject *arg)
{
	Py_buffer view;
	if (!ready(d) || PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE))
		return NULL;
	/* The GIL stays held: two threads feeding one Decoder would share its stream,
	 * and a feed is 8 KiB of work, nothing worth another thread's wait. */
	int rc = hw_stream_feed(&d->s, view.buf, (size_t)view.len);
	PyBuffer_Release(&view);
	if (rc)
		return PyErr_NoMemory();
	return take_batch(d);
}

static PyObject *decoder_finish(DecoderObject *d, PyObject *Py_UNUSED(ignored))
{
	if (!ready(d))
		return NULL;
	if (hw_stream_finish(&d->s))
		return PyErr_NoMemory();
	return take_batch(d);
}

static PyObject *decoder_frames(DecoderObject *d, void *Py_UNUSED(closure))
{
	return PyLong_FromUnsignedLongLong(d->s.frames);
}

static PyObject *decoder_bytes(DecoderObject *d, void *Py_UNUSED(closure))
{
	return PyLong_FromUnsignedLongLong(d->s.bytes);
}

static PyMethodDef decoder_methods[] = {
	{ "feed", (PyCFunction)decoder_feed, METH_O, "Decode the next bytes; returns a Batch." },
	{ "finish", (PyCFunction)decoder_finish, METH_NOARGS, "End of input; returns a Batch." },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef decoder_getset[] = {
	{ "frames", (getter)decoder_frames, NULL, "frames decoded (whole or partial)", NULL },
	{ "bytes", (getter)decoder_bytes, NULL, "input bytes in decided pieces", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyTypeObject DecoderType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "_cwire.Decoder",
	.tp_basicsize = sizeof(DecoderObject),
	.tp_dealloc = (destructor)decoder_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "Streaming wire decoder: serial bytes in, Batches of items out.",
	.tp_methods = decoder_methods,
	.tp_getset = decoder_getset,
	.tp_init = (initproc)decoder_init,
	.tp_new = PyType_GenericNew,
};

static struct PyModuleDef cwire_module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "_cwire",
	.m_doc = "The trace wire decoder in C (decoder/native/wire.c).",
	.m_size = -1,
};

PyMODINIT_FUNC PyInit__cwire(void)
{
	if (PyType_Ready(&BatchType) < 0 || PyType_Ready(&DecoderType) < 0 || PyType_Ready(&TextFormatType) < 0 ||
	    PyType_Ready(&CheckType) < 0)
		return NULL;
	PyObject *m = PyModule_Create(&cwire_module);
	if (!m)
		return NULL;
	if (PyModule_AddObjectRef(m, "Decoder", (PyObject *)&DecoderType) < 0 ||
	    PyModule_AddObjectRef(m, "Batch", (PyObject *)&BatchType) < 0 ||
	    PyModule_AddObjectRef(m, "TextFormat", (PyObject *)&TextFormatType) < 0 ||
	    PyModule_AddObjectRef(m, "Check", (PyObject *)&CheckType) < 0 ||
	    PyModule_AddIntConstant(m, "MAX_PIECE", HW_MAX_PIECE) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	/* decoder/cwire.py checks these against the Python reader's constants */
	if (PyModule_AddIntConstant(m, "SEQ_WINDOW", HW_SEQ_WINDOW) < 0 ||
	    PyModule_AddIntConstant(m, "PREVIEW", HW_PREVIEW) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
