"""Fixtures shared with tests/harness: the fake hypervisor built at test time."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from tests.harness.harness_testutil import build_fake


@pytest.fixture(scope="session")
def fake_build(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    cache: dict[str, Path] = {}

    def get(mode: str) -> Path:
        if mode not in cache:
            cache[mode] = build_fake(mode, tmp_path_factory.mktemp(f"fake-{mode}"))
        return cache[mode]
    return get
