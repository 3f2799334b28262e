"""Every capture the checker tests judge goes through both checkers: the Python one (the
reference) and `decoder check`'s fast path (decoder/fast_check.py, C over the capture).
Their results must be equal in every field, the C engine may only ever answer a pass or
the evidence rule's error, and it must answer every such verdict itself, lossy or not
(not leave it to Python).  The passes it may leave are those that went through a
suspect cross-CPU violation (check.Checker._hold) a loss explained or a TSC tie had
re-judged (counts["retied"]): C judges in merged order and gives up at the first
violation."""
from __future__ import annotations

import tempfile
from pathlib import Path

from decoder.check import CONTEXT, CheckResult, Checker, run_check
from decoder.fast_check import c_check, check_file
from decoder.reader import read_items
from tests.support.cwire_diff import python_only


def both(data: bytes, rules_path: str | Path | None = None, time_bounds: bool = True,
         input_bytes: int | None = None) -> CheckResult:
    ref = run_check(read_items(data), rules_path, time_bounds=time_bounds, input_bytes=input_bytes)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "serial.bin"
        path.write_bytes(data)
        fast = check_file(path, rules_path, time_bounds=time_bounds, input_bytes=input_bytes)
        judged = c_check(path, Checker(rules_path, CONTEXT, input_bytes, time_bounds))
    assert fast == ref, (fast, ref)
    if judged is not None:
        assert (ref.passed or ref.error is not None) and judged == ref, (judged, ref)
        assert judged.summary() == ref.summary(), (judged.summary(), ref.summary())
    elif ref.passed or (ref.error is not None and ref.counts["records"]):
        assert python_only(ref), f"the C engine gave up on a verdict it must give: {ref.summary()}"
    return ref
