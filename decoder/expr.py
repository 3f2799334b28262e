"""The checker's expression language: a safe subset of Python expressions.

Allowed: integer/str/bool constants, names (event fields, cpu, tsc, counters,
the constants of defs/*.toml such as HC_TEST or GUEST_EV_NMI_ENTER), the
arithmetic, bitwise, comparison and boolean operators, `in` over tuples, and
calls of the functions in FUNCTIONS.  Anything else is rejected when the
rules are loaded, with the rule and key named.
"""
from __future__ import annotations

import ast
from types import CodeType
from typing import Callable, Iterable

from decoder import defs

# The TEST hypercall's formula is generated as hc_test_checksum (a test_*
# name would be collected by pytest); rules may call it by either name.
_checksum = getattr(defs, "hc_test_checksum", None) or getattr(defs, "test_checksum")
FUNCTIONS: dict[str, Callable[..., object]] = {
    "test_checksum": _checksum, "hc_test_checksum": _checksum, "min": min, "max": max, "abs": abs,
}


def _constants() -> dict[str, int]:
    out: dict[str, int] = {}
    for prefix, table in (("HC_", defs.HYPERCALLS), ("HC_ERR_", defs.HC_ERRORS), ("INFO_", defs.INFO),
                          ("GUEST_EV_", defs.GUEST_EVENTS), ("GUEST_FAIL_", defs.GUEST_FAILS),
                          ("DEBUG_EXIT_", defs.DEBUG_EXIT)):
        for name, value in table.items():
            out[prefix + name] = value
    for (event, field), (_, names) in defs.FIELD_NAMES.items():   # the C header's TRACE_* names
        for name, value in names.items():
            out[f"{event}_{field}_{name}".upper()] = value
    for arch, codes in defs.EXIT_REASONS.items():
        for code, name in codes.items():
            if "+" not in name:
                out[f"{arch.upper()}_EXIT_{name}"] = code
    return out


CONSTANTS = _constants()
_ALLOWED = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Mod,
            ast.FloorDiv, ast.BitAnd, ast.BitOr, ast.BitXor, ast.LShift, ast.RShift, ast.UnaryOp, ast.Not,
            ast.USub, ast.Invert, ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In,
            ast.NotIn, ast.Name, ast.Load, ast.Constant, ast.Call, ast.Tuple, ast.IfExp)


class RuleError(ValueError):
    """A rules file problem; the message names file, rule and key."""


class Expr:
    """A compiled expression; evaluate with a dict of the names it uses."""

    def __init__(self, source: str, known: Iterable[str], where: str) -> None:
        self.source = source
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError as e:
            raise RuleError(f"{where}: cannot parse {source!r}: {e.msg}") from None
        known_set = set(known) | set(CONSTANTS)
        for node in ast.walk(tree):
            if not isinstance(node, _ALLOWED):
                raise RuleError(f"{where}: {type(node).__name__} is not allowed in {source!r}")
            if isinstance(node, ast.Call):
                if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
                    raise RuleError(f"{where}: only calls of {sorted(FUNCTIONS)} are allowed in {source!r}")
            elif isinstance(node, ast.Name) and node.id not in known_set and node.id not in FUNCTIONS:
                raise RuleError(f"{where}: unknown name {node.id!r} in {source!r}; "
                                f"known here: {sorted(set(known))} and the defs constants")
            elif isinstance(node, ast.Constant) and not isinstance(node.value, (int, str, bool)):
                raise RuleError(f"{where}: constant {node.value!r} not allowed in {source!r}")
        self.code: CodeType = compile(tree, where, "eval")
        self.names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        self.sides: list[tuple[str, CodeType]] = []
        body = tree.body
        if isinstance(body, ast.Compare) and len(body.ops) == 1:
            # Violations show both sides of a single comparison.
            for side in (body.left, body.comparators[0]):
                text = ast.unparse(side)
                self.sides.append((text, compile(ast.Expression(side), where, "eval")))

    def explain(self, env: dict[str, object]) -> str:
        """'lhs = v1, rhs = v2' for a comparison (values in hex when large)."""
        parts = []
        for text, code in self.sides:
            v = eval(code, _GLOBALS, env)  # noqa: S307
            parts.append(f"{text} = {v:#x}" if isinstance(v, int) and not isinstance(v, bool) and v > 0xFFFF
                         else f"{text} = {v}")
        return "; ".join(parts)

    def __call__(self, env: dict[str, object]) -> object:
        return eval(self.code, _GLOBALS, env)  # noqa: S307  (validated AST, no builtins)

    def __repr__(self) -> str:
        return self.source


_GLOBALS: dict[str, object] = {"__builtins__": {}, **FUNCTIONS, **CONSTANTS}
