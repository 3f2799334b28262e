"""RIP symbolisation from ELF files (pyelftools)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from decoder.symbols import SymbolError, Symbolizer

SRC = """
void first(void) { __asm__ volatile("nop; nop; nop; nop"); }
int second(int x) { return x * 3 + 1; }
void _start(void) { first(); second(2); for (;;) {} }
"""


def _elf(tmp_path: Path, base: int) -> Path:
    c = tmp_path / "t.c"
    c.write_text(SRC)
    out = tmp_path / f"t-{base:x}.elf"
    subprocess.run(["gcc", "-O1", "-ffreestanding", "-nostdlib", "-static", "-fno-pie", "-no-pie",
                    f"-Wl,-Ttext={base:#x}", "-o", str(out), str(c)], check=True, capture_output=True)
    return out


def _nm(elf: Path) -> dict[str, int]:
    out = subprocess.run(["nm", str(elf)], check=True, capture_output=True, text=True).stdout
    return {parts[2]: int(parts[0], 16) for parts in (l.split() for l in out.splitlines()) if len(parts) == 3}


def test_function_plus_offset_across_two_elves(tmp_path: Path) -> None:
    hv, guest = _elf(tmp_path, 0x100000), _elf(tmp_path, 0x2000000)
    syms = Symbolizer([hv, guest])
    a, b = _nm(hv), _nm(guest)
    assert syms.lookup(a["first"]) == "first"
    assert syms.lookup(a["first"] + 2) == "first+0x2"
    assert syms.lookup(b["second"] + 1) == "second+0x1"
    assert syms.format(b["_start"]) == f"{b['_start']:#x}(_start)"
    assert syms.lookup(0x50) is None
    assert syms.format(0x50) == "0x50"


def test_text_view_symbolises_rips(tmp_path: Path) -> None:
    import io
    from decoder.api import read_records, render
    from tests.support.synth import TraceBuilder
    elf = _elf(tmp_path, 0x2000000)
    b = TraceBuilder(1, boot=False)
    b.ev(0, "INTERCEPT_ENTER", 0x81, _nm(elf)["second"] + 1)
    out = io.StringIO()
    render("text", read_records(b.serial()), out, elf=[str(elf)])
    assert "rip=" in out.getvalue() and "(second+0x1)" in out.getvalue()


def test_unreadable_elf_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "notelf"
    bad.write_bytes(b"hello")
    with pytest.raises(SymbolError, match="notelf: not a readable ELF"):
        Symbolizer([bad])
