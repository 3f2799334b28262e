"""Shared fixtures for the harness tests (see harness_testutil.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

# fake_build is in tests/conftest.py (shared with tests/determinism).


@pytest.fixture
def scenario_file(tmp_path: Path) -> Callable[..., Path]:
    """scenario_file(text, name="probe") -> a scenario TOML in tmp_path."""
    def write(text: str, name: str = "probe") -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        return path
    return write
