"""Building the host drivers of hypervisor code (tests/hv/*_driver.c): the pure C of
hv/core compiled for the host under ASan and UBSan, every finding fatal."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Werror",
         "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-I", str(ROOT / "hv"),
         "-I", str(ROOT / "include")]


def build_driver(out_dir: Path, driver: str, *sources: str) -> Path:
    """gcc tests/hv/<driver>.c + the hv sources (repo-relative) -> out_dir/<driver>."""
    if shutil.which("gcc") is None:
        pytest.fail("gcc is required (make deps)")
    exe = out_dir / driver
    subprocess.run(["gcc", *FLAGS, str(ROOT / "tests/hv" / f"{driver}.c"),
                    *(str(ROOT / s) for s in sources), "-o", str(exe)], check=True)
    return exe


def assert_cases_pass(exe: Path) -> None:
    """A driver run with no argument runs its built-in cases and prints exactly "ok"."""
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "ok\n", r.stdout + r.stderr
