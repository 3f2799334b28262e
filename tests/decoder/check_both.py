"""Every capture the checker tests judge goes through both checkers: the Python one (the
reference) and `decoder check`'s fast path (decoder/fast_check.py, C over the capture).
Their results must be equal in every field, the C engine may only ever answer a pass,
and it must answer every loss-free pass itself (not leave it to Python) unless the Python
checker had to re-judge a record tied in TSC with another CPU's (counts["retied"])."""
from __future__ import annotations

import tempfile
from pathlib import Path

from decoder.check import CONTEXT, CheckResult, Checker, run_check
from decoder.fast_check import c_check, check_file
from decoder.reader import read_items
from decoder.records import Loss


def both(data: bytes, rules_path: str | Path | None = None, time_bounds: bool = True) -> CheckResult:
    ref = run_check(read_items(data), rules_path, time_bounds=time_bounds)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "serial.bin"
        path.write_bytes(data)
        fast = check_file(path, rules_path, time_bounds=time_bounds)
        judged = c_check(path, Checker(rules_path, CONTEXT, None, time_bounds))
    assert fast == ref, (fast, ref)
    if judged is not None:
        assert ref.passed and judged == ref, (judged, ref)
    elif ref.passed and not ref.counts.get("retied"):  # C judges ties in merged order: it gives up there
        assert any(type(it) is Loss for it in read_items(data)), "the C engine gave up on a loss-free pass"
    return ref
