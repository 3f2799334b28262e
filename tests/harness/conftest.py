"""Shared fixtures for the harness tests (see harness_testutil.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from harness_testutil import build_fake


@pytest.fixture(scope="session")
def fake_build(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """fake_build("hang") -> a build dir holding fakehv in that mode (built once per mode)."""
    cache: dict[str, Path] = {}

    def get(mode: str) -> Path:
        if mode not in cache:
            cache[mode] = build_fake(mode, tmp_path_factory.mktemp(f"fake-{mode}"))
        return cache[mode]
    return get


@pytest.fixture
def scenario_file(tmp_path: Path) -> Callable[..., Path]:
    """scenario_file(text, name="probe") -> a scenario TOML in tmp_path."""
    def write(text: str, name: str = "probe") -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        return path
    return write
