"""The Debian cloud kernel and our initramfs boot on plain QEMU (no hypervisor):
heisen.plain=1 makes the init end with `heisen exit`, so QEMU's exit status is
the init's verdict.  The console is COM3 (ttyS2, 0x3e8): COM1 carries the
hypervisor's trace and COM2 its NMI socket when the hypervisor runs."""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from decoder.defs import DEBUG_EXIT, DEBUG_EXIT_PORT

PASS = (DEBUG_EXIT["PASS"] << 1) | 1
TIMEOUT = 120   # seconds; a boot takes 5-8 s under TCG on a busy 2-core host


def qemu_cmd(linux: Path, smp: int, console: Path) -> list[str]:
    return ["qemu-system-x86_64", "-nodefaults", "-machine", "pc", "-accel", "tcg,thread=single",
            "-cpu", "qemu64", "-smp", str(smp), "-m", "512",
            "-kernel", str(linux / "vmlinuz"), "-initrd", str(linux / "initramfs.cpio"),
            "-append", "console=ttyS2 heisen.plain=1 panic=-1",
            "-serial", "null", "-serial", "null", "-serial", f"file:{console}",
            "-device", f"isa-debug-exit,iobase={DEBUG_EXIT_PORT:#x},iosize=0x04",
            "-display", "none", "-no-reboot"]


@pytest.mark.parametrize("smp", [1, 4])
def test_plain_qemu_boot(linux_build: Path, tmp_path: Path, smp: int,
                         record_property: pytest.RecordProperty) -> None:
    console = tmp_path / "console.txt"
    start = time.monotonic()
    try:
        p = subprocess.run(qemu_cmd(linux_build, smp, console), capture_output=True, text=True,
                           timeout=TIMEOUT)
        status = p.returncode
        stderr = p.stderr
    except subprocess.TimeoutExpired:
        status, stderr = None, "(timed out)"
    took = time.monotonic() - start
    record_property("boot_seconds", round(took, 2))
    print(f"\nplain QEMU -smp {smp}: {took:.1f} s, exit status {status}")
    text = console.read_text(errors="replace") if console.exists() else ""
    tail = "\n".join(text.splitlines()[-40:])
    why = f"-smp {smp}: exit status {status} after {took:.1f} s; qemu stderr: {stderr.strip()}\n" \
          f"console tail:\n{tail}"

    assert status == PASS, why
    assert "HEISEN-LINUX: PASS" in text, why
    assert "HEISEN-LINUX: FAIL" not in text, why
    online = "0" if smp == 1 else f"0-{smp - 1}"
    assert f"HEISEN-LINUX: cpus online {online} count {smp}" in text, why
    for cpu in range(smp):
        assert re.search(rf"HEISEN-LINUX: cpu{cpu}: pinned task ran here, [1-9]\d* spins", text), why
    # The console really is COM3.
    assert re.search(r"ttyS2 at I/O 0x3e8 \(irq = 4", text), why
