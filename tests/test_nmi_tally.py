"""The NMI accounting read of hv/core/nmi_tally.h stays consistent when this CPU's NMI
handler interrupts it between any two loads (a torn read failed a correct run of
stress-all, seed 403), and still sees a tally that does not balance."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_an_nmi_between_any_two_loads_does_not_tear_the_tally(tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.fail("gcc is required (make deps)")
    exe = tmp_path / "nmi_tally_driver"
    subprocess.run(["gcc", "-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Werror",
                    "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                    "-I", str(ROOT / "hv"), str(ROOT / "tests/hv/nmi_tally_driver.c"), "-o", str(exe)],
                   check=True)
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "ok\n", r.stdout + r.stderr
