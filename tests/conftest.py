"""Fixtures shared by tests/harness and tests/determinism."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

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
