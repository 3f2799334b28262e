"""build/linux/heisen on the host: only what is safe to run here (its usage
errors and its ELF shape; its vmmcall and its port write are for the guest)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile


@pytest.mark.parametrize("args, why", [
    ([], "no command"),
    (["report"], "wrong number of arguments"),
    (["report", "0", "1"], "wrong number of arguments"),
    (["frobnicate", "1"], "unknown command"),
    (["report", "maybe"], "report: STATUS must be pass, fail or a number"),
    (["report", "-1"], "report: STATUS must be pass, fail or a number"),
    (["report", "0x100000000"], "report: STATUS must be pass, fail or a number"),
    (["report", "12abc"], "report: STATUS must be pass, fail or a number"),
    (["exit", "256"], "exit: CODE must be pass, fail or a number 0..255"),
    (["exit", ""], "exit: CODE must be pass, fail or a number 0..255"),
])
def test_bad_usage_exits_2(linux_build: Path, args: list[str], why: str) -> None:
    p = subprocess.run([str(linux_build / "heisen"), *args], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 2, p
    assert p.stdout == ""
    assert p.stderr.startswith(f"heisen: {why}\nusage: heisen report"), p.stderr


def test_static_x86_64(linux_build: Path) -> None:
    """Runs from the initramfs, where there is no dynamic loader or libc."""
    with (linux_build / "heisen").open("rb") as f:
        elf = ELFFile(f)
        assert elf["e_machine"] == "EM_X86_64"
        assert not any(seg["p_type"] == "PT_INTERP" for seg in elf.iter_segments())
        assert elf.get_section_by_name(".dynamic") is None
