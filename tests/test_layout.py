"""Test support and benchmarks stay out of the product: no module of harness/ or
decoder/ imports tests/ or bench/, so the product runs without them and a change to a
fuzzer or a benchmark cannot change what the harness or the decoder do."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("harness", "decoder")
NOT_PRODUCT = ("tests", "bench")


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_product_module_imports_test_support_or_benchmarks() -> None:
    offenders = [f"{p.relative_to(ROOT)} imports {sorted(imported_roots(p) & set(NOT_PRODUCT))}"
                 for pkg in PRODUCT for p in sorted((ROOT / pkg).rglob("*.py"))
                 if imported_roots(p) & set(NOT_PRODUCT)]
    assert offenders == []


def test_benchmarks_and_test_support_live_in_their_trees() -> None:
    names = {p.name for pkg in PRODUCT for ext in ("py", "c") for p in (ROOT / pkg).rglob(f"*.{ext}")}
    assert not {n for n in names if n.startswith(("bench", "fuzz", "synth", "test_"))}, names
    assert not any((ROOT / "trace").rglob("bench*")), "the C trace benchmark lives in bench/trace/"
