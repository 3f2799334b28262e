"""`decoder check` on a fast path: the rules judged in C (_cwire.Check, decoder/native/check.c)
over the C wire decoder and a C copy of the merge, with no Python object per record.

The rules are loaded, validated and explained by the Python checker (decoder/check.py,
rule_kinds.py, expr.py): compile_rules() turns its Rule objects into the tuples the C
engine reads, each expression into a small stack program (the AST expr.py validated,
evaluated with Python's integer semantics in 128 bits).  A rule C cannot run exactly
(an expression over text, a float bound, a name it cannot resolve) makes the whole
check the Python checker's.

The C engine answers a pass -- with the counts, evaluations, measurements, loss counts,
damaged bytes and `unjudged` entries the Python checker would report, loss or no loss --
and the evidence rule's error ("more damage than data").  Wherever it could differ from
the reference or needs its words -- a broken rule, a value past 128 bits, no records --
it gives up and check_file() runs the Python checker over the whole capture: failures
are judged by the reference, at its speed (tests/decoder/test_fast_check.py).
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from decoder import cwire
from decoder.check import CONTEXT, CheckResult, Checker, run_check
from decoder.defs import EVENTS
from decoder.expr import CONSTANTS, Expr
from decoder.merge import DEFAULT_LOOKAHEAD
from decoder.reader import read_items, reused_reads
from decoder.records import TEXT_ID
from decoder.rule_kinds import Assert, Epoch, Forbid, Pair, Require, Rule, Selector, Tally

# check.c enum ck_op, ck_bin, ck_cmp
(OP_CONST, OP_FIELD, OP_CPU, OP_TSC, OP_COUNTER, OP_BIN, OP_NEG, OP_INV, OP_NOT, OP_CMP, OP_JIFOP, OP_JITOP,
 OP_JUMP, OP_POP_JIF, OP_IN, OP_NOT_IN, OP_CHECKSUM, OP_MIN, OP_MAX, OP_ABS) = range(20)
_BIN = {ast.Add: 0, ast.Sub: 1, ast.Mult: 2, ast.Mod: 3, ast.FloorDiv: 4, ast.BitAnd: 5, ast.BitOr: 6,
        ast.BitXor: 7, ast.LShift: 8, ast.RShift: 9}
_CMP = {ast.Eq: 0, ast.NotEq: 1, ast.Lt: 2, ast.LtE: 3, ast.Gt: 4, ast.GtE: 5}
_CHECKSUMS = ("test_checksum", "hc_test_checksum")
_I64_MIN, _U64_END = -(1 << 63), 1 << 64


class Unsupported(Exception):
    """A rule the C engine cannot judge exactly as the Python checker does."""


class _Names:
    """How a name resolves where the expression is evaluated: Python looks in the scope
    dict first (its later keys override earlier ones), then in expr.py's globals."""

    def __init__(self, fields: list[str], counters: list[str], record: bool, counters_last: bool) -> None:
        self.scope: dict[str, tuple[int, int]] = {}
        if record:
            for i, f in enumerate(fields):
                self.scope[f] = (OP_FIELD, i)
            self.scope["cpu"], self.scope["tsc"] = (OP_CPU, 0), (OP_TSC, 0)
        if counters_last:      # {**env, **vals}
            for i, n in enumerate(counters):
                self.scope[n] = (OP_COUNTER, i)
        else:                  # {**vals, "cpu": cpu}
            for i, n in enumerate(counters):
                self.scope[n] = (OP_COUNTER, i)
            self.scope["cpu"] = (OP_CPU, 0)


def compile_expr(expr: Expr, names: _Names) -> tuple:
    code: list[list] = []

    def emit(op: int, arg: int = 0, k: int = 0) -> int:
        code.append([op, arg, k])
        return len(code) - 1

    def const(v: object) -> None:
        if isinstance(v, bool):
            v = int(v)
        if not isinstance(v, int) or not _I64_MIN <= v < _U64_END:
            raise Unsupported(f"constant {v!r}")
        emit(OP_CONST, 0, v)

    def go(n: ast.AST) -> None:
        if isinstance(n, ast.Constant):
            const(n.value)
        elif isinstance(n, ast.Name):
            if n.id in names.scope:
                op, arg = names.scope[n.id]
                emit(op, arg)
            elif n.id in CONSTANTS:
                const(CONSTANTS[n.id])
            else:
                raise Unsupported(f"name {n.id!r}")
        elif isinstance(n, ast.BinOp) and type(n.op) in _BIN:
            go(n.left)
            go(n.right)
            emit(OP_BIN, _BIN[type(n.op)])
        elif isinstance(n, ast.UnaryOp):
            go(n.operand)
            ops = {ast.USub: OP_NEG, ast.Invert: OP_INV, ast.Not: OP_NOT}
            if type(n.op) not in ops:
                raise Unsupported(type(n.op).__name__)
            emit(ops[type(n.op)])
        elif isinstance(n, ast.BoolOp):
            jumps = []
            for i, v in enumerate(n.values):
                go(v)
                if i < len(n.values) - 1:
                    jumps.append(emit(OP_JIFOP if isinstance(n.op, ast.And) else OP_JITOP))
            for j in jumps:
                code[j][1] = len(code)
        elif isinstance(n, ast.Compare):
            if len(n.ops) > 1:   # a < b < c: (a < b) and (b < c); the operands have no side effects
                parts = [ast.Compare(left=l, ops=[op], comparators=[r])
                         for l, op, r in zip([n.left] + n.comparators[:-1], n.ops, n.comparators)]
                go(ast.BoolOp(op=ast.And(), values=parts))
                return
            op, right = n.ops[0], n.comparators[0]
            go(n.left)
            if isinstance(op, (ast.In, ast.NotIn)):
                if not isinstance(right, ast.Tuple):
                    raise Unsupported("'in' over something other than a tuple")
                for e in right.elts:
                    go(e)
                emit(OP_IN if isinstance(op, ast.In) else OP_NOT_IN, len(right.elts))
                return
            if type(op) not in _CMP:
                raise Unsupported(type(op).__name__)
            go(right)
            emit(OP_CMP, _CMP[type(op)])
        elif isinstance(n, ast.IfExp):
            go(n.test)
            j = emit(OP_POP_JIF)
            go(n.body)
            end = emit(OP_JUMP)
            code[j][1] = len(code)
            go(n.orelse)
            code[end][1] = len(code)
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and not n.keywords \
                and n.func.id not in names.scope:
            for a in n.args:
                if isinstance(a, ast.Starred):
                    raise Unsupported("*args")
                go(a)
            f, nargs = n.func.id, len(n.args)
            if f in _CHECKSUMS and nargs == 2:
                emit(OP_CHECKSUM)
            elif f in ("min", "max") and nargs >= 2:
                emit(OP_MIN if f == "min" else OP_MAX, nargs)
            elif f == "abs" and nargs == 1:
                emit(OP_ABS)
            else:
                raise Unsupported(f"call of {f} with {nargs} arguments")
        else:
            raise Unsupported(type(n).__name__)

    go(ast.parse(expr.source, mode="eval").body)
    return tuple((op, arg, k) for op, arg, k in code)


def _numeric(sel: Selector) -> None:
    ev = EVENTS[sel.type]
    if sel.type == TEXT_ID or len(ev.fields) > 3 or any(enc == "text" for _, enc in ev.fields):
        raise Unsupported(f"event {ev.name}")


def _sel(sel: Selector) -> tuple:
    _numeric(sel)
    where = compile_expr(sel.where, _Names(sel.fields, [], True, True)) if sel.where is not None else None
    return (sel.type, where)


def _bounded(v: object, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not _I64_MIN <= v < 1 << 63:
        raise Unsupported(f"{what} {v!r}")
    return v


def compile_rule(r: Rule) -> tuple:
    if type(r) is Forbid:
        return ("forbid", (_sel(r.sel),))
    if type(r) is Assert:
        return ("assert", (_sel(r.sel), compile_expr(r.expect, _Names(r.sel.fields, [], True, True))))
    if type(r) is Pair:
        return ("pair", (_sel(r.open), _sel(r.close), tuple(_sel(s) for s in r.forgive), tuple(r.same_at),
                         r.at_end_mode == "violation"))
    if type(r) is Epoch:
        keys = []
        for sel, _ in r.steps:
            _numeric(sel)
            if r.key in ("cpu", "tsc"):
                raise Unsupported(f"epoch key {r.key}")
            keys.append(max(i for i, f in enumerate(sel.fields) if f == r.key))
        for q, _, _ in r.quiet:
            _numeric(q)
        return ("epoch", (tuple(s.type for s, _ in r.steps), tuple(int(by == "owner") for _, by in r.steps),
                          tuple(keys), tuple(q.type for q, _, _ in r.quiet), tuple(f for _, f, _ in r.quiet),
                          tuple(u for _, _, u in r.quiet), _bounded(r.skew, "skew"),
                          None if r.within_ms is None else _bounded(r.within_ms, "within_ms"),
                          r.ctx.time_bounds))
    if type(r) is Tally:
        counters = list(r.counters)
        sels = tuple(_sel(s) for s in r.counters.values())
        if r.at is None:
            return ("tally", (sels, None, compile_expr(r.expect, _Names([], counters, False, False))))
        return ("tally", (sels, _sel(r.at), compile_expr(r.expect, _Names(r.at.fields, counters, True, True))))
    if type(r) is Require:
        return ("require", (_sel(r.if_seen), _sel(r.then)))
    raise Unsupported(f"rule kind {type(r).__name__}")


def compile_rules(rules: list[Rule]) -> tuple | None:
    """The rules as check.c reads them, or None when any is beyond it."""
    try:
        return tuple(compile_rule(r) for r in rules)
    except Unsupported:
        return None


def c_check(source: str | Path | bytes, checker: Checker, lookahead: int = DEFAULT_LOOKAHEAD,
            ncpus: int | None = None) -> CheckResult | None:
    """The C engine's pass over the capture (a path, or its bytes), or None: it gave up
    (or is not built)."""
    cw = cwire.load()
    spec = compile_rules(checker.rules) if cw is not None else None
    if spec is None:
        return None
    ib = checker.input_bytes
    engine: Any = cw.Check(spec, lookahead, ncpus or 0, None, -1 if ib is None else ib)
    if isinstance(source, bytes):
        if not engine.feed(source):
            return None
    else:
        with open(source, "rb", buffering=0) as f:
            for view in reused_reads(f):
                if not engine.feed(view):
                    return None
    got = engine.finish()
    if got is None:
        return None
    items, records, tsc_khz, per_rule, loss, damaged_bytes, evidence = got
    counts = checker.counts
    counts["items"], counts["records"] = items, records
    counts["loss"] = dict(loss)
    counts["damaged_bytes"] = damaged_bytes
    checker.ctx.tsc_khz = tsc_khz
    for r, (evaluations, longest, rate_missing, unjudged) in zip(checker.rules, per_rule):
        r.evaluations = evaluations
        r.unjudged = unjudged   # check.c's words, the first 20 (what the result shows)
        if isinstance(r, Epoch):
            r.longest = None if longest is None else tuple(longest)  # type: ignore[assignment]
            r.rate_missing = rate_missing is not None
    checker.k = items - 1
    if not evidence:
        # check.py finish(): no verdict, and the end-of-trace rules were not judged
        why = checker.no_evidence()
        assert why is not None, "check.c and check.py disagree on the evidence"
        counts["rules"] = {r.name: r.evaluations for r in checker.rules}
        return CheckResult(False, None, why, "", counts, error=why)
    # The evidence and the end-of-trace rules were judged in C and passed; finish() only
    # gathers the counts and the message (the rules' own state was never fed, and their
    # at_end would judge that empty state).
    return checker.finish(at_end=False)


def check_file(path: str | Path, rules_path: str | Path | None = None, context: int = CONTEXT,
               input_bytes: int | None = None, time_bounds: bool = True, lookahead: int = DEFAULT_LOOKAHEAD,
               ncpus: int | None = None) -> CheckResult:
    """`decoder check` of a serial capture: the C engine's pass when it gives one, else
    the Python checker's verdict over the whole capture."""
    fast = c_check(path, Checker(rules_path, context, input_bytes, time_bounds), lookahead, ncpus)
    if fast is not None:
        return fast
    return run_check(read_items(str(path), lookahead=lookahead, ncpus=ncpus), rules_path, context=context,
                     input_bytes=input_bytes, time_bounds=time_bounds)
