/*
 * _cwire.Check: the checker (decoder/check.py) over a serial capture without a Python
 * object per record: the C wire decoder (wire.c), the merge of decoder/merge.py and
 * the rules of decoder/rule_kinds.py, with their expressions compiled by
 * decoder/fast_check.py into the little stack programs run here.
 *
 *   Check(rules, lookahead, ncpus, text=None, input_bytes=-1)
 *                                    rules: the tuples fast_check.compile_rules builds;
 *                                    input_bytes: the capture's size (-1 unknown)
 *   .feed(bytes) -> bool             False: the C engine gave up (see below)
 *   .finish() -> tuple | None        a pass's counts (or evidence=False), or None: gave up
 *   .merged(bytes) -> list           test hook: (tsc, cpu, type, args) in merged order
 *
 * It judges loss as check.py does: Loss items (LOST records, seq gaps, CRC/garbage/
 * truncated damage, malformed frames, duplicates, late records) travel through the merge
 * in merged order, are counted (counts["loss"], damaged_bytes) and reach the rules'
 * on_loss / on_damage, whose `unjudged` entries are written in rule_kinds.py's words.
 * It gives up -- and decoder/fast_check.py then runs the Python checker, the reference,
 * over the whole trace -- wherever its answer could differ from the reference's or would
 * need the reference's words: any broken rule (the message, its window, and check.py's
 * hold of a cross-CPU violation that a later loss or a TSC tie may clear are the Python
 * checker's), a value past 128 bits in an expression, no records.  What it returns is a
 * pass -- the same verdict, counts, evaluations, measurements and unjudged entries as
 * the Python checker's -- or the numbers for the evidence rule's error ("more damage
 * than data").  The text view and the merged() test hook still give up at the first
 * Loss item.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heisen/defs.h"
#include "wire.h"
#include "check.h"
#include "textfmt.h"

#define NCPU 256
/* The merge's slot for items no CPU can be named for (merge.py's cpu -1): it sorts
 * before every CPU, as -1 does in sorted(pending), so its items win TSC ties. */
#define UNATTR NCPU
/* Input bytes decoded per route() in feed (check_feed) */
#define FEED_SLICE (16u << 10)

/* Loss kinds (decoder/records.py LOSS_KINDS) a capture's items can carry; LK_NONE: a
 * record.  Their names are what counts["loss"] is keyed by. */
enum ck_loss { LK_NONE, LK_LOST, LK_SEQ_GAP, LK_CRC, LK_GARBAGE, LK_TRUNCATED, LK_MALFORMED,
	       LK_UNKNOWN_EVENT, LK_DUPLICATE, LK_LATE, LK_COUNT };
static const char *const loss_names[LK_COUNT] = {
	"", "lost", "seq_gap", "crc", "garbage", "truncated", "malformed", "unknown_event", "duplicate", "late",
};
/* Rules keep this many unjudged entries: the check's counts show check.py's [:20]. */
#define UNJUDGED_KEPT 20

/* ---- records and the merge (decoder/merge.py Merger, StreamDecoder.route) ----------- */

struct ck_rec {
	uint64_t tsc;
	uint64_t a[3];          /* a loss: a[0] its count, a[1] its offset (int64), a[2] unit is bytes */
	uint64_t frame;         /* the frame's sequence number (Record.frame) */
	uint8_t *text;          /* text mode, TEXT records: its bytes (a[0] long), owned */
	int16_t cpu;            /* a loss: -1 when no CPU can be named for it */
	uint8_t type, nargs;
	uint8_t loss;           /* enum ck_loss: LK_NONE for a record */
};

struct ck_run {
	struct ck_rec *v;
	size_t head, n, cap;    /* items v[head, n) */
};

struct ck_vec {
	struct ck_rec *v;
	size_t n, cap;
};

/* ---- expressions (decoder/expr.py), compiled by fast_check.compile_expr ------------- */

enum ck_op {
	OP_CONST, OP_FIELD, OP_CPU, OP_TSC, OP_COUNTER, OP_BIN, OP_NEG, OP_INV, OP_NOT, OP_CMP,
	OP_JUMP_IF_FALSE_OR_POP, OP_JUMP_IF_TRUE_OR_POP, OP_JUMP, OP_POP_JUMP_IF_FALSE,
	OP_IN, OP_NOT_IN, OP_CHECKSUM, OP_MIN, OP_MAX, OP_ABS,
};
enum ck_bin { B_ADD, B_SUB, B_MUL, B_MOD, B_FLOORDIV, B_AND, B_OR, B_XOR, B_LSHIFT, B_RSHIFT };
enum ck_cmp { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE };

struct ck_insn {
	int op;
	int arg;
	__int128 k;
};

struct ck_prog {
	struct ck_insn *code;
	int n;
	int depth;              /* stack slots it needs at most */
	/* The shape of most `where`s ("kind == 0", "kind & FLAG"): FIELD f, CONST k, then
	 * CMP op (fast 1) or BIN AND (fast 2), judged without the interpreter; 0: run it. */
	int fast, ffield, fop;
	__int128 fk;
};

/* What an expression sees: the record's fields, cpu, tsc, a tally's counters. */
struct ck_env {
	const struct ck_rec *r;
	int64_t cpu;
	const uint64_t *counters;
};

#define I128_MAX ((__int128)(((unsigned __int128)1 << 127) - 1))
#define I128_MIN (-I128_MAX - 1)

/* Python floor division and modulo; 0 on success, -1 where Python raises or the
 * value leaves 128 bits. */
static int floordiv(__int128 a, __int128 b, __int128 *q, __int128 *r)
{
	if (b == 0 || (a == I128_MIN && b == -1))
		return -1;
	__int128 qq = a / b, rr = a % b;
	if (rr != 0 && ((rr < 0) != (b < 0))) {
		qq -= 1;
		rr += b;
	}
	*q = qq;
	*r = rr;
	return 0;
}

static int binop(int op, __int128 a, __int128 b, __int128 *out)
{
	__int128 q, r;
	switch (op) {
	case B_ADD: return __builtin_add_overflow(a, b, out) ? -1 : 0;
	case B_SUB: return __builtin_sub_overflow(a, b, out) ? -1 : 0;
	case B_MUL: return __builtin_mul_overflow(a, b, out) ? -1 : 0;
	case B_MOD:
		if (floordiv(a, b, &q, &r))
			return -1;
		*out = r;
		return 0;
	case B_FLOORDIV:
		if (floordiv(a, b, &q, &r))
			return -1;
		*out = q;
		return 0;
	case B_AND: *out = a & b; return 0;
	case B_OR: *out = a | b; return 0;
	case B_XOR: *out = a ^ b; return 0;
	case B_LSHIFT:
		if (b < 0 || b > 126)
			return -1;
		if (a != 0 && ((a < 0 ? -(a + 1) : a) >> (126 - (int)b)) != 0)
			return -1;
		*out = (__int128)((unsigned __int128)a << (int)b);
		return 0;
	case B_RSHIFT:
		if (b < 0)
			return -1;
		*out = b > 127 ? (a < 0 ? -1 : 0) : a >> (int)b;   /* arithmetic: Python floors */
		return 0;
	}
	return -1;
}

static int compare(int op, __int128 a, __int128 b)
{
	switch (op) {
	case C_EQ: return a == b;
	case C_NE: return a != b;
	case C_LT: return a < b;
	case C_LE: return a <= b;
	case C_GT: return a > b;
	default: return a >= b;
	}
}

/* Runs prog; 0 and *out on success, -1 where Python would raise or a value leaves
 * 128 bits (the caller gives up). */
static int run_prog(const struct ck_prog *p, const struct ck_env *env, __int128 *out)
{
	__int128 st[64];
	int sp = 0;
	if (p->depth > 64)
		return -1;
	for (int pc = 0; pc < p->n; pc++) {
		const struct ck_insn *in = &p->code[pc];
		__int128 a, b, v;
		switch (in->op) {
		case OP_CONST: st[sp++] = in->k; break;
		case OP_FIELD:
			if (in->arg >= env->r->nargs)
				return -1;
			st[sp++] = env->r->a[in->arg];
			break;
		case OP_CPU: st[sp++] = env->cpu; break;
		case OP_TSC: st[sp++] = env->r->tsc; break;
		case OP_COUNTER: st[sp++] = env->counters[in->arg]; break;
		case OP_BIN:
			b = st[--sp];
			a = st[--sp];
			if (binop(in->arg, a, b, &v))
				return -1;
			st[sp++] = v;
			break;
		case OP_NEG:
			if (st[sp - 1] == I128_MIN)
				return -1;
			st[sp - 1] = -st[sp - 1];
			break;
		case OP_INV: st[sp - 1] = ~st[sp - 1]; break;
		case OP_NOT: st[sp - 1] = st[sp - 1] == 0; break;
		case OP_CMP:
			b = st[--sp];
			a = st[--sp];
			st[sp++] = compare(in->arg, a, b);
			break;
		case OP_JUMP_IF_FALSE_OR_POP:
			if (st[sp - 1] == 0)
				pc = in->arg - 1;
			else
				sp--;
			break;
		case OP_JUMP_IF_TRUE_OR_POP:
			if (st[sp - 1] != 0)
				pc = in->arg - 1;
			else
				sp--;
			break;
		case OP_JUMP: pc = in->arg - 1; break;
		case OP_POP_JUMP_IF_FALSE:
			if (st[--sp] == 0)
				pc = in->arg - 1;
			break;
		case OP_IN:
		case OP_NOT_IN: {
			int n = in->arg, found = 0;
			a = st[sp - n - 1];
			for (int i = 0; i < n; i++)
				found |= st[sp - n + i] == a;
			sp -= n + 1;
			st[sp++] = in->op == OP_IN ? found : !found;
			break;
		}
		case OP_CHECKSUM:
			b = st[--sp];
			a = st[--sp];
			/* hc_test_checksum keeps the low 32 bits, which 64-bit arithmetic gets right
			 * for any operands in [0, 2^64) */
			if (a < 0 || b < 0 || a > (__int128)UINT64_MAX || b > (__int128)UINT64_MAX)
				return -1;
			st[sp++] = hc_test_checksum((unsigned long long)a, (unsigned long long)b);
			break;
		case OP_MIN:
		case OP_MAX: {
			int n = in->arg;
			if (n < 2)
				return -1;      /* min(x) iterates x: not an int here */
			v = st[sp - n];
			for (int i = 1; i < n; i++) {
				__int128 x = st[sp - n + i];
				if (in->op == OP_MIN ? x < v : x > v)
					v = x;
			}
			sp -= n;
			st[sp++] = v;
			break;
		}
		case OP_ABS:
			if (st[sp - 1] == I128_MIN)
				return -1;
			if (st[sp - 1] < 0)
				st[sp - 1] = -st[sp - 1];
			break;
		default:
			return -1;
		}
	}
	if (sp != 1)
		return -1;
	*out = st[0];
	return 0;
}

/* ---- rules (decoder/rule_kinds.py) ----------------------------------------------------- */

enum ck_kind { K_FORBID, K_ASSERT, K_PAIR, K_EPOCH, K_TALLY, K_REQUIRE };

struct ck_sel {
	int type;
	struct ck_prog where;   /* n == 0: no where */
	int has_where;
};

enum { P_NONE = 0, P_OPEN, P_UNKNOWN };

struct ck_rule {
	int kind;
	uint64_t evaluations;
	/* forbid: a; assert: a + expect; pair: a = open, b = close, forgive */
	struct ck_sel a, b;
	struct ck_sel *forgive;
	int nforgive;
	struct ck_prog expect;
	/* pair */
	int (*same)[2];
	int nsame;
	int at_end_violation;
	uint8_t pstate[NCPU];
	uint64_t popen_args[NCPU][3];
	/* epoch */
	int nsteps;
	int *step_type, *step_owner, *step_key;   /* per step: event, by owner, key field index */
	int step_of[256];                           /* event -> step, -1 */
	int nquiet;
	int *quiet_type, *quiet_from, *quiet_until;
	int64_t skew;
	int has_within;
	int64_t within_ms;
	int time_bounds;
	int has_longest;
	__int128 longest_ticks;
	uint64_t longest_key, longest_k;
	int rate_missing;
	uint64_t rate_missing_key;
	int ep_open;
	uint64_t ep_key, ep_k_open;
	int ep_owner;
	uint8_t ep_part[NCPU + 1];
	uint8_t *done;          /* [nsteps][NCPU] */
	uint64_t *done_tsc;     /* [nsteps][NCPU] */
	struct { int qi; uint64_t key; } *quiet_on[NCPU];
	int nquiet_on[NCPU], capquiet_on[NCPU];
	/* tally */
	int ncounters;
	struct ck_sel *counters;
	int has_at;
	struct ck_sel at;
	uint8_t tcreated[NCPU];
	uint64_t *tvals;        /* [NCPU][ncounters] */
	/* require */
	uint8_t owed[NCPU];
	/* after loss (rule_kinds.py on_loss / on_damage) */
	uint8_t lossy[NCPU];    /* tally, require: CPUs whose counts are incomplete */
	int had_loss, damaged, ep_lossy;        /* epoch */
	char *unjudged[UNJUDGED_KEPT];
	uint64_t nunjudged;
};

typedef struct {
	PyObject_HEAD
	struct hw_stream s;
	int stream_ok;
	int gave_up;
	/* merge */
	struct ck_run pend[NCPU + 1];    /* [UNATTR]: merge.py's cpu -1 */
	uint8_t has_pend[NCPU + 1];
	uint64_t high[NCPU + 1];
	uint8_t has_high[NCPU + 1];
	int act[NCPU + 1], nact;        /* slots with has_pend, in merge order (activate) */
	int highs[NCPU + 1], nhigh;     /* slots with has_high */
	int nexpected;          /* CPUs 0..nexpected-1 (257: one that never speaks) */
	int booted;
	size_t held, lookahead;
	uint64_t released;
	int has_released;
	struct ck_vec out;      /* released, in merged order */
	struct ck_vec all;      /* scratch: everything pending, merged */
	/* checker */
	struct ck_rule *rules;
	int nrules;
	int *dispatch[256];
	int ndispatch[256];
	uint64_t k;             /* items fed so far */
	uint64_t records;
	uint8_t seen[NCPU], up[NCPU];
	uint64_t ncpus, tsc_khz;
	/* loss: counts["loss"] in the order kinds first appeared, damaged_bytes */
	__int128 loss_count[LK_COUNT];
	int loss_order[LK_COUNT], nloss_order;
	__int128 damaged_bytes;
	int64_t input_bytes;    /* -1: not known */
	/* test hook: keep the merged records instead of checking them */
	PyObject *keep;
	/* text mode (decoder/views/fast_text.py): write the text view's lines instead */
	TextFormatObject *fmt;
	PyObject *record_type, *describe, *fallback;
	struct tf_buf text;
	struct tf_state tb;
} CheckObject;

static int vec_reserve(struct ck_vec *v, size_t more)
{
	if (v->n + more <= v->cap)
		return 0;
	size_t cap = v->cap ? v->cap : 4096;
	while (cap < v->n + more)
		cap *= 2;
	struct ck_rec *p = realloc(v->v, cap * sizeof *p);
	if (!p)
		return -1;
	v->v = p;
	v->cap = cap;
	return 0;
}

static int vec_push(struct ck_vec *v, const struct ck_rec *r)
{
	if (vec_reserve(v, 1))
		return -1;
	v->v[v->n++] = *r;
	return 0;
}

/* Room for n more items at the end of a CPU's pending run. */
static int run_reserve(struct ck_run *r, size_t n)
{
	while (r->n + n > r->cap) {
		if (r->head > r->cap / 2) {     /* slide the released prefix out */
			memmove(r->v, r->v + r->head, (r->n - r->head) * sizeof *r->v);
			r->n -= r->head;
			r->head = 0;
		} else {
			size_t cap = r->cap ? 2 * r->cap : 1024;
			struct ck_rec *p = realloc(r->v, cap * sizeof *p);
			if (!p)
				return -1;
			r->v = p;
			r->cap = cap;
		}
	}
	return 0;
}

/* A slot gets pending items: it joins c->act, which keeps merge.py's sorted(pending)
 * order (-1, UNATTR, first), so the merge and release loops visit only the slots that
 * ever held items -- a few -- and not all NCPU + 1 on every frame. */
static void activate(CheckObject *c, int slot)
{
	if (c->has_pend[slot])
		return;
	c->has_pend[slot] = 1;
	int key = slot == UNATTR ? -1 : slot, i = c->nact++;
	while (i > 0 && (c->act[i - 1] == UNATTR ? -1 : c->act[i - 1]) > key) {
		c->act[i] = c->act[i - 1];
		i--;
	}
	c->act[i] = slot;
}

/* merge.py's high[cpu] = max(high, top); c->highs lists the slots that have one. */
static void raise_high(CheckObject *c, int slot, uint64_t top)
{
	if (!c->has_high[slot]) {
		c->has_high[slot] = 1;
		c->high[slot] = top;
		c->highs[c->nhigh++] = slot;
	} else if (top > c->high[slot]) {
		c->high[slot] = top;
	}
}

/* The stable sort of runs concatenated in CPU order, by TSC: a merge whose ties go to
 * the lower CPU (merge.py sorts parts built in sorted(pending) order; sort is stable).
 * lim[i]: items of slot c->act[i]'s run taken (from its head); at most stop_after. */
static int merge_runs(CheckObject *c, const size_t *lim, struct ck_vec *dst, size_t stop_after)
{
	const struct ck_rec *p[NCPU + 1], *e[NCPU + 1];
	uint64_t ht[NCPU + 1];          /* p[i]->tsc, kept beside the pointers */
	int na = 0;
	size_t total = 0;
	for (int i = 0; i < c->nact; i++) {
		if (!lim[i])
			continue;
		const struct ck_run *r = &c->pend[c->act[i]];
		p[na] = r->v + r->head;
		e[na] = p[na] + lim[i];
		ht[na] = p[na]->tsc;
		total += lim[i];
		na++;
	}
	if (total > stop_after)
		total = stop_after;
	if (vec_reserve(dst, total))
		return -1;
	struct ck_rec *o = dst->v + dst->n, *oend = o + total;
	dst->n += total;
	while (o < oend) {
		if (na == 1) {
			memcpy(o, p[0], (size_t)(oend - o) * sizeof *o);
			break;
		}
		/* the head with the least TSC, the first of equals: strict < keeps the tie
		 * order (p[] is in c->act order) */
		int b = 0;
		uint64_t bt = ht[0];
		for (int i = 1; i < na; i++)
			if (ht[i] < bt) {
				b = i;
				bt = ht[i];
			}
		*o++ = *p[b]++;
		if (p[b] != e[b]) {
			ht[b] = p[b]->tsc;
		} else {
			na--;
			for (int i = b; i < na; i++) {
				p[i] = p[i + 1];
				e[i] = e[i + 1];
				ht[i] = ht[i + 1];
			}
		}
	}
	return 0;
}

/* merge.py _emit: the released group out[from, n) joins the output; when it starts
 * before what was released already, a "late" loss counting its items older than that
 * goes before it (the group is sorted: they are its head). */
static int emit(CheckObject *c, size_t from)
{
	struct ck_vec *o = &c->out;
	if (from == o->n)
		return 0;
	c->held -= o->n - from;
	uint64_t last = o->v[o->n - 1].tsc;
	if (c->has_released && o->v[from].tsc < c->released) {
		size_t nlate = 0;
		while (from + nlate < o->n && o->v[from + nlate].tsc < c->released)
			nlate++;
		/* merge.py names the CPU when the late items share one; no rule reads a late
		 * loss's CPU (late is not missing data), so -1 stands for either */
		struct ck_rec late = { .tsc = o->v[from].tsc, .a = { nlate, (uint64_t)-1, 0 }, .cpu = -1,
				       .loss = LK_LATE };
		if (vec_push(o, &late) < 0)
			return -1;
		memmove(o->v + from + 1, o->v + from, (o->n - 1 - from) * sizeof *o->v);
		o->v[from] = late;
	}
	if (!c->has_released || last > c->released)
		c->released = last;
	c->has_released = 1;
	return 0;
}

static int release_upto(CheckObject *c, uint64_t wm)
{
	size_t lim[NCPU + 1];
	int runs = 0, only = -1;
	for (int i = 0; i < c->nact; i++) {
		struct ck_run *r = &c->pend[c->act[i]];
		lim[i] = 0;
		if (r->head == r->n || r->v[r->head].tsc > wm)
			continue;
		size_t lo = r->head, hi = r->n;       /* bisect_right on tsc */
		if (r->v[hi - 1].tsc <= wm) {
			lo = hi;                        /* the usual: all of it */
		} else {
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				if (r->v[mid].tsc <= wm)
					lo = mid + 1;
				else
					hi = mid;
			}
		}
		lim[i] = lo - r->head;
		runs++;
		only = i;
	}
	if (!runs)
		return 0;
	size_t from = c->out.n;
	if (runs == 1) {
		struct ck_run *r = &c->pend[c->act[only]];
		if (vec_reserve(&c->out, lim[only]))
			return -1;
		memcpy(c->out.v + c->out.n, r->v + r->head, lim[only] * sizeof *r->v);
		c->out.n += lim[only];
	} else if (merge_runs(c, lim, &c->out, SIZE_MAX) < 0) {
		return -1;
	}
	for (int i = 0; i < c->nact; i++)
		c->pend[c->act[i]].head += lim[i];
	return emit(c, from);
}

static int release_all(CheckObject *c)
{
	size_t lim[NCPU + 1];
	for (int i = 0; i < c->nact; i++)
		lim[i] = c->pend[c->act[i]].n - c->pend[c->act[i]].head;
	size_t from = c->out.n;
	if (merge_runs(c, lim, &c->out, SIZE_MAX) < 0)
		return -1;
	for (int i = 0; i < c->nact; i++)
		c->pend[c->act[i]].head = c->pend[c->act[i]].n = 0;
	return emit(c, from);
}

/* merge.py _release_oldest: release up to the TSC of the n-th oldest item held */
static int release_oldest(CheckObject *c, size_t n)
{
	size_t lim[NCPU + 1];
	for (int i = 0; i < c->nact; i++)
		lim[i] = c->pend[c->act[i]].n - c->pend[c->act[i]].head;
	c->all.n = 0;
	if (merge_runs(c, lim, &c->all, n) < 0)
		return -1;
	if (c->all.n < n || n == 0)
		return 1;       /* merge.py would index past the end: not a case to judge here */
	return release_upto(c, c->all.v[n - 1].tsc);
}

/* merge.py _watermark; 0 when there is none yet */
static int watermark(CheckObject *c, uint64_t *wm)
{
	for (int cpu = 0; cpu < c->nexpected; cpu++)
		if (cpu >= NCPU || !c->has_high[cpu])
			return 0;
	int any = 0;
	for (int i = 0; i < c->nhigh; i++) {
		int cpu = c->highs[i];
		if (cpu < NCPU && (!any || c->high[cpu] < *wm)) {
			*wm = c->high[cpu];
			any = 1;
		}
	}
	return any;
}

/*
 * merge.py push(cpu, items) in two steps, so that route() writes a run's items straight
 * into the CPU's pending run instead of copying them there: push_room (before the
 * items exist; first: the TSC of the first) gives the place for n items, push_done
 * takes the n items written there.
 */
static struct ck_rec *push_room(CheckObject *c, int cpu, uint64_t first, size_t n, int *rc)
{
	if (c->has_high[cpu] && first < c->high[cpu] && (*rc = release_all(c)))
		return NULL;
	activate(c, cpu);
	if (run_reserve(&c->pend[cpu], n) < 0) {
		*rc = -1;
		return NULL;
	}
	return c->pend[cpu].v + c->pend[cpu].n;
}

static int push_done(CheckObject *c, int cpu, size_t n)
{
	int rc;
	struct ck_run *r = &c->pend[cpu];
	r->n += n;
	c->held += n;
	raise_high(c, cpu, r->v[r->n - 1].tsc);
	uint64_t wm = 0;
	if (watermark(c, &wm) && (rc = release_upto(c, wm)))
		return rc;
	if (c->held > c->lookahead)
		return release_oldest(c, c->held - c->lookahead / 2);
	return 0;
}

static int push(CheckObject *c, int cpu, const struct ck_rec *v, size_t n)
{
	int rc = 0;
	struct ck_rec *room = push_room(c, cpu, v[0].tsc, n, &rc);
	if (!room)
		return rc;
	memcpy(room, v, n * sizeof *v);
	return push_done(c, cpu, n);
}

static int push_in_order(CheckObject *c, int cpu, const struct ck_rec *v, size_t n)
{
	int rc = release_all(c);
	if (rc)
		return rc;
	uint64_t top = v[0].tsc;
	if (vec_reserve(&c->out, n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		c->out.v[c->out.n++] = v[i];
		if (v[i].tsc > top)
			top = v[i].tsc;
	}
	raise_high(c, cpu, top);
	if (!c->has_released || top > c->released)
		c->released = top;
	c->has_released = 1;
	return 0;
}

/* ---- the checker's feed (check.py Checker.feed) for one record ---------------------- */

static int sel_matches(const struct ck_sel *s, const struct ck_rec *r, const struct ck_env *env, int *m)
{
	if (r->type != s->type) {
		*m = 0;
		return 0;
	}
	if (!s->has_where) {
		*m = 1;
		return 0;
	}
	const struct ck_prog *w = &s->where;
	if (w->fast && w->ffield < r->nargs) {
		/* run_prog's result for these three instructions (a missing field: its error) */
		__int128 a = (__int128)r->a[w->ffield];
		*m = w->fast == 1 ? compare(w->fop, a, w->fk) : (a & w->fk) != 0;
		return 0;
	}
	__int128 v;
	if (run_prog(&s->where, env, &v))
		return -1;
	*m = v != 0;
	return 0;
}

/* ctx.others(owner) as a bitmap of NCPU + 1: out[NCPU] is CPU 256, which stands for
 * every CPU past 255 a BOOT record names (a frame's CPU is one byte: it never speaks) */
static void others(CheckObject *c, int owner, uint8_t *out)
{
	int any_up = 0;
	for (int i = 0; i < NCPU; i++)
		any_up |= c->up[i];
	out[NCPU] = 0;
	if (any_up) {
		memcpy(out, c->up, NCPU);
	} else if (c->ncpus) {
		for (int i = 0; i <= NCPU; i++)
			out[i] = (uint64_t)i < c->ncpus;
	} else {
		memcpy(out, c->seen, NCPU);
	}
	out[owner] = 0;
}

/* Rule.unjudged.append, in rule_kinds.py's words; the first UNJUDGED_KEPT are kept
 * (the check reports those), the rest only counted.  -1: no memory. */
__attribute__((format(printf, 2, 3)))
static int unjudged(struct ck_rule *R, const char *fmt, ...)
{
	if (R->nunjudged++ >= UNJUDGED_KEPT)
		return 0;
	char buf[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return (R->unjudged[R->nunjudged - 1] = strdup(buf)) ? 0 : -1;
}

/* Rule.on_loss(cpu); cpu -1: every CPU seen so far (rule_kinds.py's None) */
static void rule_loss(CheckObject *c, struct ck_rule *R, int cpu)
{
	switch (R->kind) {
	case K_PAIR:
		/* an open pair may have been closed in the lost records: no verdict on it */
		for (int q = 0; q < NCPU; q++)
			if (cpu < 0 ? c->seen[q] : q == cpu)
				R->pstate[q] = P_UNKNOWN;
		break;
	case K_EPOCH:
		R->had_loss = 1;
		if (R->ep_open && (cpu < 0 || cpu == R->ep_owner || R->ep_part[cpu]))
			R->ep_lossy = 1;
		for (int q = 0; q < NCPU; q++)
			if (cpu < 0 || q == cpu)
				R->nquiet_on[q] = 0;
		break;
	case K_TALLY:
	case K_REQUIRE:
		for (int q = 0; q < NCPU; q++)
			if (cpu < 0 ? c->seen[q] : q == cpu)
				R->lossy[q] = 1;
		break;
	}
}

/* Rule.on_damage: only an epoch cares (any CPU's step may be in the damage) */
static void rule_damage(CheckObject *c, struct ck_rule *R)
{
	if (R->kind == K_EPOCH) {
		rule_loss(c, R, -1);
		R->damaged = 1;
	}
}

/* Checker.feed for a Loss item: its count, damaged bytes, and the rules told.
 * check.py _resets_state: a loss a CPU is named for (or a cut-off last frame) resets
 * the rules' state; other damage is on_damage; late and duplicate are not missing data. */
static int check_loss(CheckObject *c, const struct ck_rec *r)
{
	c->k++;
	int kind = r->loss;
	if (c->loss_count[kind] == 0) {
		int known = 0;
		for (int i = 0; i < c->nloss_order; i++)
			known |= c->loss_order[i] == kind;
		if (!known)
			c->loss_order[c->nloss_order++] = kind;
	}
	c->loss_count[kind] += r->a[0];
	int64_t offset = (int64_t)r->a[1];
	if (r->a[2] && (kind == LK_CRC || kind == LK_GARBAGE || kind == LK_TRUNCATED) &&
	    (c->input_bytes < 0 || offset < c->input_bytes))
		c->damaged_bytes += r->a[0];
	if (kind == LK_LATE || kind == LK_DUPLICATE)
		return 0;
	int resets = r->cpu >= 0 || (kind == LK_TRUNCATED && offset > 0);
	for (int i = 0; i < c->nrules; i++) {
		if (resets)
			rule_loss(c, &c->rules[i], r->cpu);
		else
			rule_damage(c, &c->rules[i]);
	}
	return 0;
}

/* 0: no violation; 1: a violation or a case left to Python; -1: no memory */
static int epoch_record(CheckObject *c, struct ck_rule *R, uint64_t k, const struct ck_rec *r)
{
	int cpu = r->cpu;
	for (int i = 0; i < R->nquiet_on[cpu]; i++)
		if (R->quiet_type[R->quiet_on[cpu][i].qi] == r->type)
			return 1;
	int step = R->step_of[r->type];
	if (step < 0)
		return 0;
	R->evaluations++;
	if (R->step_key[step] >= r->nargs)
		return 1;
	uint64_t key = r->a[R->step_key[step]];
	for (int qi = 0; qi < R->nquiet; qi++) {
		if (R->quiet_from[qi] == step) {
			if (R->nquiet_on[cpu] == R->capquiet_on[cpu]) {
				int cap = R->capquiet_on[cpu] ? 2 * R->capquiet_on[cpu] : 4;
				void *p = realloc(R->quiet_on[cpu], (size_t)cap * sizeof *R->quiet_on[cpu]);
				if (!p)
					return -1;
				R->quiet_on[cpu] = p;
				R->capquiet_on[cpu] = cap;
			}
			R->quiet_on[cpu][R->nquiet_on[cpu]].qi = qi;
			R->quiet_on[cpu][R->nquiet_on[cpu]++].key = key;
		}
		if (R->quiet_until[qi] == step) {
			int w = 0;
			for (int i = 0; i < R->nquiet_on[cpu]; i++)
				if (!(R->quiet_on[cpu][i].qi == qi && R->quiet_on[cpu][i].key == key))
					R->quiet_on[cpu][w++] = R->quiet_on[cpu][i];
			R->nquiet_on[cpu] = w;
		}
	}
	uint8_t *done = R->done;
	uint64_t *dtsc = R->done_tsc;
	if (step == 0) {
		if (R->ep_open) {
			if (R->ep_key == key)
				return 1;       /* requested twice */
			if (R->damaged) {
				if (unjudged(R, "epoch %llu (unfinished at the next request, after damage)",
					     (unsigned long long)R->ep_key))
					return -1;
			} else if (!R->ep_lossy) {
				return 1;       /* requested while another epoch is unfinished */
			}
		}
		R->ep_open = 0;
		others(c, cpu, R->ep_part);
		memset(done, 0, (size_t)R->nsteps * NCPU);
		R->ep_open = 1;
		R->ep_lossy = 0;
		R->ep_key = key;
		R->ep_owner = cpu;
		R->ep_k_open = k;
		done[cpu] = 1;
		dtsc[cpu] = r->tsc;
		return 0;
	}
	if (!R->ep_open || R->ep_key != key) {
		if (!R->had_loss)
			return 1;       /* never requested */
		/* the request may be in what was lost */
		return unjudged(R, "epoch %llu (request not in the trace after loss)", (unsigned long long)key);
	}
	int owner_step = R->step_owner[step];
	if (owner_step ? cpu != R->ep_owner : cpu == R->ep_owner)
		return 1;
	if (done[step * NCPU + cpu])
		return 1;
	if (owner_step)
		for (int j = 0; j < step; j++)
			if (R->step_owner[j] && !done[j * NCPU + R->ep_owner])
				return 1;
	done[step * NCPU + cpu] = 1;
	dtsc[step * NCPU + cpu] = r->tsc;
	if (R->has_within) {
		__int128 ticks = (__int128)r->tsc - (__int128)dtsc[R->ep_owner];
		if (!R->has_longest || ticks > R->longest_ticks) {
			R->has_longest = 1;
			R->longest_ticks = ticks;
			R->longest_key = R->ep_key;
			R->longest_k = R->ep_k_open;
		}
		if (R->time_bounds) {
			if (!c->tsc_khz) {
				if (!R->rate_missing) {
					R->rate_missing = 1;
					R->rate_missing_key = R->ep_key;
					if (unjudged(R, "within_ms from epoch %llu on (no BOOT record with the TSC rate)",
						     (unsigned long long)R->ep_key))
						return -1;
				}
			} else if (ticks > (__int128)R->within_ms * c->tsc_khz) {
				return 1;
			}
		}
	}
	for (int i = 0; i < R->nsteps; i++) {
		if (!R->step_owner[i] && R->ep_part[NCPU])
			return 0;       /* CPU 256 takes part and never speaks */
		for (int q = 0; q < NCPU; q++)
			if ((R->step_owner[i] ? q == R->ep_owner : R->ep_part[q]) && !done[i * NCPU + q])
				return 0;       /* not complete */
	}
	R->ep_open = 0;
	for (int i = 1; i < R->nsteps; i++) {
		int have_p = 0, have_c = 0;
		uint64_t ptsc = 0, ctsc = 0;
		for (int q = 0; q < NCPU; q++) {
			if (done[(i - 1) * NCPU + q] && (!have_p || dtsc[(i - 1) * NCPU + q] > ptsc)) {
				ptsc = dtsc[(i - 1) * NCPU + q];
				have_p = 1;
			}
			if (done[i * NCPU + q] && (!have_c || dtsc[i * NCPU + q] < ctsc)) {
				ctsc = dtsc[i * NCPU + q];
				have_c = 1;
			}
		}
		if (have_p && have_c && (__int128)ctsc + R->skew < (__int128)ptsc)
			return 1;
	}
	return 0;
}

static int rule_record(CheckObject *c, struct ck_rule *R, uint64_t k, const struct ck_rec *r,
		       const struct ck_env *env)
{
	int m, cpu = r->cpu;
	__int128 v;
	switch (R->kind) {
	case K_FORBID:
		R->evaluations++;
		if (sel_matches(&R->a, r, env, &m))
			return 1;
		return m;
	case K_ASSERT:
		if (sel_matches(&R->a, r, env, &m))
			return 1;
		if (!m)
			return 0;
		R->evaluations++;
		if (run_prog(&R->expect, env, &v))
			return 1;
		return v == 0;
	case K_PAIR: {
		int st = R->pstate[cpu];
		if (sel_matches(&R->a, r, env, &m))
			return 1;
		if (m) {
			R->evaluations++;
			if (st == P_OPEN)
				return 1;
			R->pstate[cpu] = P_OPEN;
			memcpy(R->popen_args[cpu], r->a, sizeof r->a);
			return 0;
		}
		if (sel_matches(&R->b, r, env, &m))
			return 1;
		if (m) {
			R->evaluations++;
			R->pstate[cpu] = P_NONE;
			if (st == P_NONE)
				return 1;
			if (st == P_OPEN)
				for (int i = 0; i < R->nsame; i++)
					if (R->popen_args[cpu][R->same[i][0]] != r->a[R->same[i][1]])
						return 1;
			return 0;
		}
		for (int i = 0; i < R->nforgive; i++) {
			if (sel_matches(&R->forgive[i], r, env, &m))
				return 1;
			if (m) {
				if (st == P_OPEN)
					R->pstate[cpu] = P_UNKNOWN;
				break;
			}
		}
		return 0;
	}
	case K_EPOCH:
		return epoch_record(c, R, k, r);
	case K_TALLY: {
		uint64_t *vals = R->tvals + (size_t)cpu * (size_t)R->ncounters;
		R->tcreated[cpu] = 1;
		for (int i = 0; i < R->ncounters; i++) {
			if (sel_matches(&R->counters[i], r, env, &m))
				return 1;
			vals[i] += (uint64_t)m;
		}
		if (!R->has_at)
			return 0;
		if (sel_matches(&R->at, r, env, &m))
			return 1;
		if (!m)
			return 0;
		if (R->lossy[cpu])
			return unjudged(R, "cpu %d at #%llu (loss before it)", cpu, (unsigned long long)k);
		R->evaluations++;
		struct ck_env e2 = *env;
		e2.counters = vals;
		if (run_prog(&R->expect, &e2, &v))
			return 1;
		return v == 0;
	}
	case K_REQUIRE:
		if (sel_matches(&R->a, r, env, &m))
			return 1;
		if (m)
			R->owed[cpu] = 1;
		if (sel_matches(&R->b, r, env, &m))
			return 1;
		if (m) {
			R->evaluations++;
			R->owed[cpu] = 0;
		}
		return 0;
	}
	return 1;
}

/* Checker.feed for one record of the merged stream */
static int check_record(CheckObject *c, const struct ck_rec *r)
{
	if (r->loss)
		return check_loss(c, r);
	uint64_t k = c->k++;
	c->records++;
	c->seen[r->cpu] = 1;
	if (r->type == TRACE_EV_CPU_UP) {
		c->up[r->cpu] = 1;
	} else if (r->type == TRACE_EV_BOOT) {
		c->ncpus = r->a[0];
		c->tsc_khz = r->a[1];
	}
	struct ck_env env = { r, r->cpu, NULL };
	for (int i = 0; i < c->ndispatch[r->type]; i++) {
		int rc = rule_record(c, &c->rules[c->dispatch[r->type][i]], k, r, &env);
		if (rc)
			return rc;
	}
	return 0;
}

/* A released record as a decoder.records.Record (text mode's Python calls) */
static PyObject *make_rec(CheckObject *c, const struct ck_rec *r)
{
	PyObject *args = r->text ? Py_BuildValue("(N)", PyBytes_FromStringAndSize((const char *)r->text,
										   (Py_ssize_t)r->a[0])) :
		PyTuple_New(r->nargs);
	if (!args)
		return NULL;
	if (!r->text)
		for (unsigned i = 0; i < r->nargs; i++) {
			PyObject *x = PyLong_FromUnsignedLongLong(r->a[i]);
			if (!x) {
				Py_DECREF(args);
				return NULL;
			}
			PyTuple_SET_ITEM(args, i, x);
		}
	return PyObject_CallFunction(c->record_type, "KiiNK", (unsigned long long)r->tsc, r->cpu, r->type, args,
				     (unsigned long long)r->frame);
}

static int tb_from(PyObject *o, int *set, uint64_t *v)
{
	*set = o != Py_None;
	if (!*set)
		return 0;
	unsigned long long x = PyLong_AsUnsignedLongLong(o);
	if (x == (unsigned long long)-1 && PyErr_Occurred())
		return -1;
	*v = x;
	return 0;
}

static PyObject *tb_obj(int set, uint64_t v)
{
	return set ? PyLong_FromUnsignedLongLong(v) : Py_NewRef(Py_None);
}

/* Text mode: the record's line.  TEXT bodies are records.describe()'s; a line C cannot
 * write exactly is fallback(k, record, origin, khz) -> (line, origin, khz): the Python
 * view's line function (decoder/views/fast_text.py). */
static int text_record(CheckObject *c, const struct ck_rec *r)
{
	long long k = (long long)c->k;
	int rc = 1;
	if (r->text) {
		PyObject *rec = make_rec(c, r);
		PyObject *body = rec ? PyObject_CallOneArg(c->describe, rec) : NULL;
		Py_XDECREF(rec);
		Py_ssize_t n;
		const char *u = body && PyUnicode_Check(body) ? PyUnicode_AsUTF8AndSize(body, &n) : NULL;
		rc = u ? tf_line(c->fmt, &c->text, k, r->tsc, r->cpu, r->type, r->a, r->nargs, u, (size_t)n, &c->tb) : -1;
		Py_XDECREF(body);
		if (rc < 0)
			return -1;
	} else {
		rc = tf_line(c->fmt, &c->text, k, r->tsc, r->cpu, r->type, r->a, r->nargs, NULL, 0, &c->tb);
		if (rc < 0)
			return -1;
	}
	if (rc > 0) {
		PyObject *rec = make_rec(c, r);
		PyObject *got = rec ? PyObject_CallFunction(c->fallback, "LONN", k, rec, tb_obj(c->tb.oset, c->tb.origin),
							    tb_obj(c->tb.kset, c->tb.khz)) : NULL;
		Py_XDECREF(rec);
		PyObject *line, *po, *pk;
		Py_ssize_t n;
		const char *u;
		if (!got || !PyArg_ParseTuple(got, "UOO", &line, &po, &pk) || !(u = PyUnicode_AsUTF8AndSize(line, &n)) ||
		    tb_from(po, &c->tb.oset, &c->tb.origin) < 0 || tb_from(pk, &c->tb.kset, &c->tb.khz) < 0) {
			Py_XDECREF(got);
			return -1;
		}
		int bad = 0;
		size_t need = c->text.n + (size_t)n;
		if (need > c->text.cap) {
			size_t cap = c->text.cap ? c->text.cap : 1 << 16;
			while (cap < need)
				cap *= 2;
			char *p = realloc(c->text.p, cap);
			if (p) {
				c->text.p = p;
				c->text.cap = cap;
			} else {
				bad = 1;
			}
		}
		if (!bad) {
			memcpy(c->text.p + c->text.n, u, (size_t)n);
			c->text.n += (size_t)n;
		}
		Py_DECREF(got);
		if (bad) {
			PyErr_NoMemory();
			return -1;
		}
	}
	c->k++;
	return 0;
}

/* Judges (or, for the test hook, keeps) what the merge released */
static int drain(CheckObject *c)
{
	int rc = 0;
	size_t i;
	for (i = 0; i < c->out.n && !rc; i++) {
		const struct ck_rec *r = &c->out.v[i];
		if (r->loss && (c->keep || c->fmt)) {
			rc = 1;         /* the test hook and the text view leave loss to Python */
			break;
		}
		if (c->keep) {
			PyObject *t = Py_BuildValue("(KiiN)", (unsigned long long)r->tsc, r->cpu, r->type,
						    r->nargs == 0 ? PyTuple_New(0) :
						    r->nargs == 1 ? Py_BuildValue("(K)", (unsigned long long)r->a[0]) :
						    r->nargs == 2 ? Py_BuildValue("(KK)", (unsigned long long)r->a[0],
										 (unsigned long long)r->a[1]) :
						    Py_BuildValue("(KKK)", (unsigned long long)r->a[0],
								  (unsigned long long)r->a[1], (unsigned long long)r->a[2]));
			if (!t || PyList_Append(c->keep, t) < 0)
				rc = -1;
			Py_XDECREF(t);
		} else if (c->fmt) {
			rc = text_record(c, r);
			free(r->text);
		} else {
			rc = check_record(c, r);
		}
	}
	for (; i < c->out.n; i++)       /* not written (the loop frees what it wrote) */
		free(c->out.v[i].text);
	c->out.n = 0;
	return rc;
}

/* A loss item of the wire decoder as the merge carries it: the kind and count
 * decoder/cwire.py make_loss (decoder/frame_loss.py) gives it. */
static void loss_of(const struct hw_out *o, const struct hw_item *x, struct ck_rec *r)
{
	memset(r, 0, sizeof *r);
	r->tsc = x->tsc;
	r->cpu = x->cpu;
	r->a[0] = 1;
	r->a[1] = (uint64_t)x->offset;
	switch (x->kind) {
	case HW_L_FRAME: {
		uint64_t size;
		memcpy(&size, o->bytes + x->aux, sizeof size);
		int first = x->type & 1, terminated = x->type >> 1 & 1;
		r->a[0] = size;
		r->a[2] = 1;            /* unit: bytes */
		if (!terminated || first)
			r->loss = LK_TRUNCATED;     /* piece_loss: cut off at either end */
		else if (x->x[0] == HW_E_COBS || x->x[0] == HW_E_OVERSIZE)
			r->loss = LK_GARBAGE;
		else if (x->x[0] == HW_E_SHORT)
			r->loss = LK_TRUNCATED;
		else if (x->x[0] == HW_E_CRC)
			r->loss = LK_CRC;
		else
			r->loss = LK_MALFORMED;
		break;
	}
	case HW_L_LOST:
		r->loss = LK_LOST;
		r->a[0] = x->x[0];
		break;
	case HW_L_GAP:
		r->loss = LK_SEQ_GAP;
		r->a[0] = x->x[1] - x->x[0];    /* seq - expect: the gap is reported only for seq > expect */
		break;
	case HW_L_PARTIAL:
		r->loss = x->x[0] == HW_E_UNKNOWN ? LK_UNKNOWN_EVENT : LK_MALFORMED;
		break;
	default:                /* HW_L_RETX, HW_L_DUP */
		r->loss = LK_DUPLICATE;
		break;
	}
}

/* StreamDecoder.route for every run the wire decoder produced; 1: gave up */
static int route(CheckObject *c)
{
	struct hw_out *o = &c->s.out;
	struct ck_rec buf[64];
	int rc = 0;
	for (size_t ri = 0; ri < o->nruns && !rc; ri++) {
		const struct hw_run *run = &o->runs[ri];
		if (run->n == 0)
			continue;
		const struct hw_item *it = &o->items[run->start];
		if (run->cpu < 0) {
			/* merge.push_unattributed: the damage goes where the stream is now */
			struct ck_rec r;
			loss_of(o, it, &r);
			r.tsc = 0;
			for (int i = 0; i < c->nhigh; i++)
				if (c->high[c->highs[i]] > r.tsc)
					r.tsc = c->high[c->highs[i]];
			rc = push(c, UNATTR, &r, 1);
			if (!rc)
				rc = drain(c);
			continue;
		}
		/* in TSC order: straight into the CPU's pending run (push_room, push_done) */
		struct ck_rec *v = run->monotonic ? push_room(c, run->cpu, it[0].tsc, run->n, &rc) :
			run->n <= 64 ? buf : malloc(run->n * sizeof *v);
		if (!v) {
			rc = rc ? rc : -1;
			break;
		}
		size_t filled = 0;
		for (; filled < run->n; filled++) {
			const struct hw_item *x = &it[filled];
			struct ck_rec *r = &v[filled];
			if (x->kind != HW_RECORD) {
				loss_of(o, x, r);
				continue;
			}
			r->loss = LK_NONE;
			r->tsc = x->tsc;
			memcpy(r->a, x->x, sizeof r->a);
			r->frame = x->x[3];
			r->text = NULL;
			r->cpu = x->cpu;
			r->type = x->type;
			r->nargs = x->nargs;
			if (c->fmt && r->type == TRACE_EV_TEXT) {
				/* the bytes live in o->bytes until this route returns; the record
				 * may wait in the merge longer */
				r->text = malloc(r->a[0] + 1);
				if (!r->text) {
					rc = -1;
					break;
				}
				if (r->a[0])    /* an empty TEXT may have no byte buffer at all */
					memcpy(r->text, o->bytes + x->aux, r->a[0]);
			}
			if (!c->booted && r->type == TRACE_EV_BOOT) {
				c->nexpected = r->a[0] > 257 ? 257 : (int)r->a[0];
				c->booted = 1;
			}
		}
		if (!rc)
			rc = run->monotonic ? push_done(c, run->cpu, run->n) : push_in_order(c, run->cpu, v, run->n);
		else
			for (size_t j = 0; j < filled; j++)
				free(v[j].text);
		if (!run->monotonic && v != buf)
			free(v);
		if (!rc)
			rc = drain(c);
	}
	hw_out_reset(o);
	return rc;
}

/* ---- Python glue ----------------------------------------------------------------------- */

static void free_prog(struct ck_prog *p)
{
	free(p->code);
	p->code = NULL;
	p->n = 0;
	p->fast = 0;
}

static void free_rules(CheckObject *c)
{
	for (int i = 0; i < c->nrules; i++) {
		struct ck_rule *R = &c->rules[i];
		free_prog(&R->a.where);
		free_prog(&R->b.where);
		free_prog(&R->at.where);
		free_prog(&R->expect);
		for (int j = 0; j < R->nforgive; j++)
			free_prog(&R->forgive[j].where);
		free(R->forgive);
		for (int j = 0; j < R->ncounters; j++)
			free_prog(&R->counters[j].where);
		free(R->counters);
		free(R->same);
		free(R->step_type);
		free(R->step_owner);
		free(R->step_key);
		free(R->quiet_type);
		free(R->quiet_from);
		free(R->quiet_until);
		free(R->done);
		free(R->done_tsc);
		free(R->tvals);
		for (int q = 0; q < NCPU; q++)
			free(R->quiet_on[q]);
		for (int j = 0; j < UNJUDGED_KEPT; j++)
			free(R->unjudged[j]);
	}
	free(c->rules);
	c->rules = NULL;
	c->nrules = 0;
	for (int t = 0; t < 256; t++) {
		free(c->dispatch[t]);
		c->dispatch[t] = NULL;
		c->ndispatch[t] = 0;
	}
}

static int get_i128(PyObject *o, __int128 *v)
{
	int overflow;
	long long x = PyLong_AsLongLongAndOverflow(o, &overflow);
	if (x == -1 && PyErr_Occurred())
		return -1;
	if (overflow) {
		/* up to 2^64 - 1 for constants of u64 fields */
		unsigned long long u = PyLong_AsUnsignedLongLong(o);
		if (u == (unsigned long long)-1 && PyErr_Occurred())
			return -1;
		*v = u;
		return 0;
	}
	*v = x;
	return 0;
}

/* prog: ((op, arg, const), ...) or None */
static int read_prog(PyObject *o, struct ck_prog *p)
{
	if (o == Py_None)
		return 0;
	if (!PyTuple_Check(o)) {
		PyErr_SetString(PyExc_TypeError, "Check: a program is a tuple");
		return -1;
	}
	Py_ssize_t n = PyTuple_GET_SIZE(o);
	p->code = calloc((size_t)n + 1, sizeof *p->code);
	if (!p->code) {
		PyErr_NoMemory();
		return -1;
	}
	int depth = 0, maxd = 0;
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *kobj;
		int op, arg;
		if (!PyArg_ParseTuple(PyTuple_GET_ITEM(o, i), "iiO;Check: an instruction is (op, arg, const)", &op, &arg,
				      &kobj))
			return -1;
		p->code[i].op = op;
		p->code[i].arg = arg;
		if (get_i128(kobj, &p->code[i].k) < 0)
			return -1;
		if ((op == OP_JUMP || op == OP_JUMP_IF_FALSE_OR_POP || op == OP_JUMP_IF_TRUE_OR_POP ||
		     op == OP_POP_JUMP_IF_FALSE) && (arg < 0 || arg > n)) {
			PyErr_SetString(PyExc_ValueError, "Check: a jump out of its program");
			return -1;
		}
		/* a bound on the stack, not exact: every instruction pushes at most one */
		depth++;
		if (depth > maxd)
			maxd = depth;
	}
	p->n = (int)n;
	p->depth = maxd;
	const struct ck_insn *c = p->code;
	if (n == 3 && c[0].op == OP_FIELD && c[0].arg >= 0 && c[1].op == OP_CONST &&
	    (c[2].op == OP_CMP || (c[2].op == OP_BIN && c[2].arg == B_AND))) {
		p->fast = c[2].op == OP_CMP ? 1 : 2;
		p->ffield = c[0].arg;
		p->fop = c[2].arg;
		p->fk = c[1].k;
	}
	return 0;
}

static int read_sel(PyObject *o, struct ck_sel *s)
{
	PyObject *where;
	if (!PyArg_ParseTuple(o, "iO;Check: a selector is (type, where)", &s->type, &where))
		return -1;
	if (s->type < 0 || s->type > 255) {
		PyErr_SetString(PyExc_ValueError, "Check: an event id is one byte");
		return -1;
	}
	s->has_where = where != Py_None;
	return read_prog(where, &s->where);
}

static int read_sels(PyObject *o, struct ck_sel **out, int *n)
{
	if (!PyTuple_Check(o)) {
		PyErr_SetString(PyExc_TypeError, "Check: expected a tuple of selectors");
		return -1;
	}
	*n = (int)PyTuple_GET_SIZE(o);
	*out = calloc((size_t)*n + 1, sizeof **out);
	if (!*out) {
		PyErr_NoMemory();
		return -1;
	}
	for (int i = 0; i < *n; i++)
		if (read_sel(PyTuple_GET_ITEM(o, i), &(*out)[i]) < 0)
			return -1;
	return 0;
}

static int add_type(CheckObject *c, int type, int rule)
{
	for (int i = 0; i < c->ndispatch[type]; i++)
		if (c->dispatch[type][i] == rule)
			return 0;
	int *p = realloc(c->dispatch[type], (size_t)(c->ndispatch[type] + 1) * sizeof *p);
	if (!p) {
		PyErr_NoMemory();
		return -1;
	}
	p[c->ndispatch[type]++] = rule;
	c->dispatch[type] = p;
	return 0;
}

static int int_list(PyObject *o, int **out, int n)
{
	*out = calloc((size_t)n + 1, sizeof **out);
	if (!*out) {
		PyErr_NoMemory();
		return -1;
	}
	for (int i = 0; i < n; i++) {
		long v = PyLong_AsLong(PyTuple_GET_ITEM(o, i));
		if (v == -1 && PyErr_Occurred())
			return -1;
		(*out)[i] = (int)v;
	}
	return 0;
}

/* One rule from fast_check.compile_rules; its event types go into the dispatch table. */
static int read_rule(CheckObject *c, int idx, PyObject *spec)
{
	struct ck_rule *R = &c->rules[idx];
	const char *kind;
	PyObject *rest;
	if (!PyArg_ParseTuple(spec, "sO!;Check: a rule is (kind, fields)", &kind, &PyTuple_Type, &rest))
		return -1;
	if (!strcmp(kind, "forbid")) {
		R->kind = K_FORBID;
		PyObject *a;
		if (!PyArg_ParseTuple(rest, "O", &a) || read_sel(a, &R->a) < 0)
			return -1;
		return add_type(c, R->a.type, idx);
	}
	if (!strcmp(kind, "assert")) {
		R->kind = K_ASSERT;
		PyObject *a, *e;
		if (!PyArg_ParseTuple(rest, "OO", &a, &e) || read_sel(a, &R->a) < 0 || read_prog(e, &R->expect) < 0)
			return -1;
		return add_type(c, R->a.type, idx);
	}
	if (!strcmp(kind, "pair")) {
		R->kind = K_PAIR;
		PyObject *a, *b, *f, *same;
		if (!PyArg_ParseTuple(rest, "OOO!O!p", &a, &b, &PyTuple_Type, &f, &PyTuple_Type, &same,
				      &R->at_end_violation) ||
		    read_sel(a, &R->a) < 0 || read_sel(b, &R->b) < 0 || read_sels(f, &R->forgive, &R->nforgive) < 0)
			return -1;
		R->nsame = (int)PyTuple_GET_SIZE(same);
		R->same = calloc((size_t)R->nsame + 1, sizeof *R->same);
		if (!R->same) {
			PyErr_NoMemory();
			return -1;
		}
		for (int i = 0; i < R->nsame; i++) {
			if (!PyArg_ParseTuple(PyTuple_GET_ITEM(same, i), "ii", &R->same[i][0], &R->same[i][1]))
				return -1;
			if (R->same[i][0] < 0 || R->same[i][0] > 2 || R->same[i][1] < 0 || R->same[i][1] > 2) {
				PyErr_SetString(PyExc_ValueError, "Check: a field index past 3");
				return -1;
			}
		}
		if (add_type(c, R->a.type, idx) < 0 || add_type(c, R->b.type, idx) < 0)
			return -1;
		for (int i = 0; i < R->nforgive; i++)
			if (add_type(c, R->forgive[i].type, idx) < 0)
				return -1;
		return 0;
	}
	if (!strcmp(kind, "epoch")) {
		R->kind = K_EPOCH;
		PyObject *types, *owners, *keys, *qt, *qf, *qu, *within;
		long long skew;
		if (!PyArg_ParseTuple(rest, "O!O!O!O!O!O!LOp", &PyTuple_Type, &types, &PyTuple_Type, &owners,
				      &PyTuple_Type, &keys, &PyTuple_Type, &qt, &PyTuple_Type, &qf, &PyTuple_Type, &qu,
				      &skew, &within, &R->time_bounds))
			return -1;
		R->nsteps = (int)PyTuple_GET_SIZE(types);
		R->nquiet = (int)PyTuple_GET_SIZE(qt);
		if (int_list(types, &R->step_type, R->nsteps) < 0 || int_list(owners, &R->step_owner, R->nsteps) < 0 ||
		    int_list(keys, &R->step_key, R->nsteps) < 0 || int_list(qt, &R->quiet_type, R->nquiet) < 0 ||
		    int_list(qf, &R->quiet_from, R->nquiet) < 0 || int_list(qu, &R->quiet_until, R->nquiet) < 0)
			return -1;
		R->skew = skew;
		R->has_within = within != Py_None;
		if (R->has_within && (R->within_ms = PyLong_AsLongLong(within)) == -1 && PyErr_Occurred())
			return -1;
		for (int t = 0; t < 256; t++)
			R->step_of[t] = -1;
		for (int i = 0; i < R->nsteps; i++) {
			if (R->step_type[i] < 0 || R->step_type[i] > 255) {
				PyErr_SetString(PyExc_ValueError, "Check: an event id is one byte");
				return -1;
			}
			R->step_of[R->step_type[i]] = i;
			if (add_type(c, R->step_type[i], idx) < 0)
				return -1;
		}
		for (int i = 0; i < R->nquiet; i++) {
			if (R->quiet_type[i] < 0 || R->quiet_type[i] > 255) {
				PyErr_SetString(PyExc_ValueError, "Check: an event id is one byte");
				return -1;
			}
			if (add_type(c, R->quiet_type[i], idx) < 0)
				return -1;
		}
		R->done = calloc((size_t)R->nsteps * NCPU + 1, 1);
		R->done_tsc = calloc((size_t)R->nsteps * NCPU + 1, sizeof *R->done_tsc);
		if (!R->done || !R->done_tsc) {
			PyErr_NoMemory();
			return -1;
		}
		return 0;
	}
	if (!strcmp(kind, "tally")) {
		R->kind = K_TALLY;
		PyObject *counters, *at, *e;
		if (!PyArg_ParseTuple(rest, "O!OO", &PyTuple_Type, &counters, &at, &e) ||
		    read_sels(counters, &R->counters, &R->ncounters) < 0 || read_prog(e, &R->expect) < 0)
			return -1;
		R->has_at = at != Py_None;
		if (R->has_at && read_sel(at, &R->at) < 0)
			return -1;
		R->tvals = calloc((size_t)NCPU * (size_t)R->ncounters + 1, sizeof *R->tvals);
		if (!R->tvals) {
			PyErr_NoMemory();
			return -1;
		}
		for (int i = 0; i < R->ncounters; i++)
			if (add_type(c, R->counters[i].type, idx) < 0)
				return -1;
		return R->has_at ? add_type(c, R->at.type, idx) : 0;
	}
	if (!strcmp(kind, "require")) {
		R->kind = K_REQUIRE;
		PyObject *a, *b;
		if (!PyArg_ParseTuple(rest, "OO", &a, &b) || read_sel(a, &R->a) < 0 || read_sel(b, &R->b) < 0)
			return -1;
		return add_type(c, R->a.type, idx) < 0 ? -1 : add_type(c, R->b.type, idx);
	}
	PyErr_Format(PyExc_ValueError, "Check: unknown rule kind %s", kind);
	return -1;
}

static void check_clear(CheckObject *c)
{
	if (c->stream_ok)
		hw_stream_free(&c->s);
	c->stream_ok = 0;
	for (int q = 0; q <= NCPU; q++) {
		for (size_t i = c->pend[q].head; i < c->pend[q].n; i++)
			free(c->pend[q].v[i].text);
		free(c->pend[q].v);
		memset(&c->pend[q], 0, sizeof c->pend[q]);
	}
	for (size_t i = 0; i < c->out.n; i++)
		free(c->out.v[i].text);
	free(c->out.v);
	free(c->text.p);
	Py_CLEAR(c->fmt);
	Py_CLEAR(c->record_type);
	Py_CLEAR(c->describe);
	Py_CLEAR(c->fallback);
	free(c->all.v);
	memset(&c->out, 0, sizeof c->out);
	memset(&c->all, 0, sizeof c->all);
	free_rules(c);
	Py_CLEAR(c->keep);
}

static int check_init(CheckObject *c, PyObject *args, PyObject *kwds)
{
	PyObject *rules, *text = Py_None;
	Py_ssize_t lookahead, ncpus;
	long long input_bytes = -1;
	static char *kw[] = { "rules", "lookahead", "ncpus", "text", "input_bytes", NULL };
	if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!nn|OL:Check", kw, &PyTuple_Type, &rules, &lookahead, &ncpus,
					 &text, &input_bytes))
		return -1;
	if (lookahead < 2 || ncpus < 0) {
		PyErr_SetString(PyExc_ValueError, "Check: lookahead >= 2 and ncpus >= 0");
		return -1;
	}
	check_clear(c);
	/* a fresh object's fields past PyObject_HEAD are zero (tp_alloc); a second
	 * __init__ starts from the same state */
	memset((char *)c + sizeof(PyObject), 0, sizeof *c - sizeof(PyObject));
	if (hw_stream_init(&c->s) < 0) {
		hw_stream_free(&c->s);
		PyErr_NoMemory();
		return -1;
	}
	c->stream_ok = 1;
	c->lookahead = (size_t)lookahead;
	c->input_bytes = input_bytes < 0 ? -1 : input_bytes;
	if (text != Py_None) {
		PyObject *fmt, *rt, *describe, *fallback;
		if (!PyArg_ParseTuple(text, "O!OOO;Check: text is (TextFormat, Record, describe, fallback)",
				      &TextFormatType, &fmt, &rt, &describe, &fallback))
			return -1;
		c->fmt = (TextFormatObject *)Py_NewRef(fmt);
		c->record_type = Py_NewRef(rt);
		c->describe = Py_NewRef(describe);
		c->fallback = Py_NewRef(fallback);
	}
	if (ncpus) {
		c->nexpected = ncpus > 257 ? 257 : (int)ncpus;
		c->booted = 1;
	}
	c->nrules = (int)PyTuple_GET_SIZE(rules);
	c->rules = calloc((size_t)c->nrules + 1, sizeof *c->rules);
	if (!c->rules) {
		PyErr_NoMemory();
		return -1;
	}
	for (int i = 0; i < c->nrules; i++)
		if (read_rule(c, i, PyTuple_GET_ITEM(rules, i)) < 0)
			return -1;
	return 0;
}

static void check_dealloc(CheckObject *c)
{
	check_clear(c);
	Py_TYPE(c)->tp_free((PyObject *)c);
}

static int check_ready(CheckObject *c)
{
	if (!c->stream_ok) {
		PyErr_SetString(PyExc_RuntimeError, "Check not initialised");
		return 0;
	}
	return 1;
}

static PyObject *verdict_of(CheckObject *c, int rc)
{
	if (rc < 0)
		return PyErr_Occurred() ? NULL : PyErr_NoMemory();
	if (rc > 0)
		c->gave_up = 1;
	return PyBool_FromLong(!c->gave_up);
}

static PyObject *check_feed(CheckObject *c, PyObject *arg)
{
	Py_buffer view;
	if (!check_ready(c) || PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE))
		return NULL;
	int rc = 0;
	/* In slices of FEED_SLICE bytes, each routed before the next is decoded: the wire
	 * decoder's items for a slice (~10 k, ~0.5 MiB) stay in the cache between being
	 * written and merged, where a whole 1 MiB chunk's (~8 MiB) would not, and are
	 * not first-touched pages on every capture.  The stream does not depend on where
	 * its input is cut (tests/support/test_cwire.c), nor route on what a call holds. */
	const uint8_t *p = view.buf;
	size_t left = (size_t)view.len;
	while (!c->gave_up && !rc && left) {
		size_t k = left < FEED_SLICE ? left : FEED_SLICE;
		rc = hw_stream_feed(&c->s, p, k) ? -1 : route(c);
		if (rc > 0)
			c->gave_up = 1;
		p += k;
		left -= k;
	}
	PyBuffer_Release(&view);
	return verdict_of(c, rc);
}

static PyObject *pyint128(__int128 v)
{
	if (v >= INT64_MIN && v <= INT64_MAX)
		return PyLong_FromLongLong((long long)v);
	char t[48];
	char *p = t + sizeof t - 1;
	*p = 0;
	unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
	do {
		*--p = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return PyLong_FromString(p, NULL, 10);
}

/* End of input and the end-of-trace rules; a pass's numbers, or None (gave up). */
static PyObject *check_finish(CheckObject *c, PyObject *Py_UNUSED(ignored))
{
	if (!check_ready(c))
		return NULL;
	int rc = 0;
	if (!c->gave_up) {
		rc = hw_stream_finish(&c->s) ? -1 : route(c);
		if (!rc && (rc = release_all(c)) == 0)
			rc = drain(c);
	}
	if (rc < 0)
		return PyErr_Occurred() ? NULL : PyErr_NoMemory();
	if (rc > 0 || c->gave_up || c->keep)
		Py_RETURN_NONE;
	if (c->records == 0)
		Py_RETURN_NONE;         /* no verdict: the Python checker says why */
	/* check.py no_evidence: more damaged input than intact is no evidence; the end-of-
	 * trace rules are not judged then (Python words the error from the counts) */
	int evidence = c->input_bytes < 0 || c->damaged_bytes <= (__int128)c->input_bytes - c->damaged_bytes;
	/* at_end of each rule, in order (a violation: Python's words) */
	for (int i = 0; i < c->nrules && evidence; i++) {
		struct ck_rule *R = &c->rules[i];
		if (R->kind == K_PAIR && R->at_end_violation)
			for (int q = 0; q < NCPU; q++)
				if (R->pstate[q] == P_OPEN)
					Py_RETURN_NONE;
		if (R->kind == K_EPOCH && R->ep_open) {
			if (!R->ep_lossy && !R->damaged)
				Py_RETURN_NONE;
			if (unjudged(R, "epoch %llu (loss during it)", (unsigned long long)R->ep_key))
				return PyErr_NoMemory();
		}
		if (R->kind == K_REQUIRE)
			for (int q = 0; q < NCPU; q++) {
				if (!R->owed[q])
					continue;
				if (!R->lossy[q])
					Py_RETURN_NONE;
				if (unjudged(R, "cpu %d (loss)", q))
					return PyErr_NoMemory();
			}
		if (R->kind == K_TALLY && !R->has_at)
			for (int q = 0; q < NCPU; q++) {
				if (!R->tcreated[q])
					continue;
				if (R->lossy[q]) {
					if (unjudged(R, "cpu %d (loss)", q))
						return PyErr_NoMemory();
					continue;
				}
				R->evaluations++;
				struct ck_rec none = { 0 };
				struct ck_env env = { &none, q, R->tvals + (size_t)q * (size_t)R->ncounters };
				__int128 v;
				if (run_prog(&R->expect, &env, &v) || v == 0)
					Py_RETURN_NONE;
			}
	}
	PyObject *rules = PyList_New(c->nrules);
	if (!rules)
		return NULL;
	for (int i = 0; i < c->nrules; i++) {
		struct ck_rule *R = &c->rules[i];
		PyObject *longest = R->has_longest ?
			Py_BuildValue("(NKK)", pyint128(R->longest_ticks), (unsigned long long)R->longest_key,
				      (unsigned long long)R->longest_k) : Py_NewRef(Py_None);
		PyObject *missing = R->rate_missing ? PyLong_FromUnsignedLongLong(R->rate_missing_key) :
			Py_NewRef(Py_None);
		int nkept = R->nunjudged < UNJUDGED_KEPT ? (int)R->nunjudged : UNJUDGED_KEPT;
		PyObject *unj = PyList_New(nkept);
		for (int j = 0; unj && j < nkept; j++) {
			PyObject *u = PyUnicode_FromString(R->unjudged[j]);
			if (!u)
				Py_CLEAR(unj);
			else
				PyList_SET_ITEM(unj, j, u);
		}
		PyObject *t = longest && missing && unj ?
			Py_BuildValue("(KNNN)", (unsigned long long)R->evaluations, longest, missing, unj) : NULL;
		if (!t) {
			if (!(longest && missing && unj)) {
				Py_XDECREF(longest);
				Py_XDECREF(missing);
				Py_XDECREF(unj);
			}
			Py_DECREF(rules);
			return NULL;
		}
		PyList_SET_ITEM(rules, i, t);
	}
	PyObject *loss = PyList_New(c->nloss_order);
	for (int j = 0; loss && j < c->nloss_order; j++) {
		int kind = c->loss_order[j];
		PyObject *t = Py_BuildValue("(sN)", loss_names[kind], pyint128(c->loss_count[kind]));
		if (!t)
			Py_CLEAR(loss);
		else
			PyList_SET_ITEM(loss, j, t);
	}
	if (!loss) {
		Py_DECREF(rules);
		return NULL;
	}
	return Py_BuildValue("(KKKNNNO)", (unsigned long long)c->k, (unsigned long long)c->records,
			     (unsigned long long)c->tsc_khz, rules, loss, pyint128(c->damaged_bytes),
			     evidence ? Py_True : Py_False);
}

/* Test hook: the merged records of data, as (tsc, cpu, type, args); None when the
 * merge met a Loss item (the Python merge's case). */
static PyObject *check_merged(CheckObject *c, PyObject *arg)
{
	if (!check_ready(c))
		return NULL;
	Py_buffer view;
	if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE))
		return NULL;
	c->keep = PyList_New(0);
	int rc = c->keep ? 0 : -1;
	if (!rc)
		rc = hw_stream_feed(&c->s, view.buf, (size_t)view.len) ? -1 : route(c);
	PyBuffer_Release(&view);
	if (!rc)
		rc = hw_stream_finish(&c->s) ? -1 : route(c);
	if (!rc && (rc = release_all(c)) == 0)
		rc = drain(c);
	if (rc < 0) {
		Py_CLEAR(c->keep);
		return PyErr_Occurred() ? NULL : PyErr_NoMemory();
	}
	PyObject *out = rc ? Py_NewRef(Py_None) : Py_NewRef(c->keep);
	Py_CLEAR(c->keep);
	c->gave_up = 1;         /* one use */
	return out;
}

/* Text mode: the lines written since the last call */
static PyObject *check_take_text(CheckObject *c, PyObject *Py_UNUSED(ignored))
{
	PyObject *s = PyUnicode_DecodeUTF8(c->text.p ? c->text.p : "", (Py_ssize_t)c->text.n, NULL);
	c->text.n = 0;
	return s;
}

/* Text mode: (items written, origin, tsc_khz): where the Python view takes over */
static PyObject *check_written(CheckObject *c, PyObject *Py_UNUSED(ignored))
{
	return Py_BuildValue("(KNN)", (unsigned long long)c->k, tb_obj(c->tb.oset, c->tb.origin),
			     tb_obj(c->tb.kset, c->tb.khz));
}

/* Text mode's end of input: the last piece and everything the merge still holds */
static PyObject *check_end(CheckObject *c, PyObject *Py_UNUSED(ignored))
{
	if (!check_ready(c))
		return NULL;
	int rc = 0;
	if (!c->gave_up) {
		rc = hw_stream_finish(&c->s) ? -1 : route(c);
		if (!rc && (rc = release_all(c)) == 0)
			rc = drain(c);
	}
	return verdict_of(c, rc);
}

static PyMethodDef check_methods[] = {
	{ "take_text", (PyCFunction)check_take_text, METH_NOARGS, "text mode: the lines written since the last call" },
	{ "written", (PyCFunction)check_written, METH_NOARGS, "text mode: (items written, origin, tsc_khz)" },
	{ "end", (PyCFunction)check_end, METH_NOARGS, "text mode: end of input -> False if it gave up" },
	{ "feed", (PyCFunction)check_feed, METH_O, "feed(bytes) -> False once the C engine gave up" },
	{ "finish", (PyCFunction)check_finish, METH_NOARGS, "finish() -> (items, records, tsc_khz, rules) or None" },
	{ "merged", (PyCFunction)check_merged, METH_O, "merged(bytes) -> [(tsc, cpu, type, args)] or None" },
	{ NULL, NULL, 0, NULL },
};

PyTypeObject CheckType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "_cwire.Check",
	.tp_basicsize = sizeof(CheckObject),
	.tp_dealloc = (destructor)check_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "The checker in C over a serial capture (decoder/fast_check.py).",
	.tp_methods = check_methods,
	.tp_init = (initproc)check_init,
	.tp_new = PyType_GenericNew,
};
