"""Fixtures shared by tests/harness and tests/determinism."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import settings

# `make test` is a pure function of the tree: hypothesis draws the same examples
# every run, so a red run is a change, never the luck of the draw (its examples
# still cover what the strategies describe).  New examples are explored on
# purpose: HEISEN_HYPOTHESIS=explore, as `make fuzz-decoder` does; what they find
# becomes a named test (tests/decoder/test_fuzz_reader.py has two).
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HEISEN_HYPOTHESIS", "repeatable"))

from tests.harness.harness_testutil import build_fake


@pytest.fixture(scope="session")
def fake_build(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """fake_build("hang") -> a build dir holding fakehv in that mode (built once per mode)."""
    cache: dict[str, Path] = {}

    def get(mode: str) -> Path:
        if mode not in cache:
            cache[mode] = build_fake(mode, tmp_path_factory.mktemp(f"fake-{mode}"))
        return cache[mode]
    return get
