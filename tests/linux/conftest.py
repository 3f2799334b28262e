"""The Linux guest's tests build what they test: one `make linux` per session
(a no-op when build/linux is up to date; the first time it downloads the Debian
kernel and busybox with apt-get).  If that fails the tests fail, never skip."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "build" / "linux"


@pytest.fixture(scope="session")
def linux_build() -> Path:
    """build/linux after `make linux` succeeded."""
    p = subprocess.run(["make", "-s", "-C", str(ROOT), "linux"], capture_output=True, text=True,
                       timeout=900)
    assert p.returncode == 0, f"make linux failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    for name in ("vmlinuz", "kernel.json", "busybox", "heisen", "initramfs.cpio"):
        assert (LINUX / name).is_file(), f"make linux did not leave {LINUX / name}"
    return LINUX
