"""The guest page-table walk (hv/core/gpt_walk.c) on the host under ASan/UBSan, on
synthetic tables: 4 KiB, 2 MiB and 1 GiB mappings, not-present at each level, the
user and writable bits cleared at each level, NX at each level, non-canonical
addresses, reserved bits and a table the reader refuses."""
from __future__ import annotations

from pathlib import Path

from tests.host_c import assert_cases_pass, build_driver


def test_walk_cases(tmp_path: Path) -> None:
    assert_cases_pass(build_driver(tmp_path, "gpt_walk_driver", "hv/core/gpt_walk.c"))
