"""A PAL's own nested table (hv/core/nested_build.c) on the host under ASan/UBSan, in
two entry formats: every listed page mapped with its own writable bit, its neighbours
not, upper-level tables shared, a rebuild forgetting the last table, and a pool one
table too small refused without a write past it."""
from __future__ import annotations

from pathlib import Path

from tests.host_c import assert_cases_pass, build_driver


def test_nested_build_cases(tmp_path: Path) -> None:
    assert_cases_pass(build_driver(tmp_path, "nested_build_driver", "hv/core/nested_build.c"))
