"""Helpers for the harness tests: the stand-in hypervisor and process-table checks.

The real hypervisor may not exist yet or may be broken mid-work; the harness's
own behaviour (verdicts, cleanup, capture) is tested against fixtures/fakehv.S,
a tiny, predictable multiboot kernel built at test time.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fakehv_serial() -> bytes:
    """What fakehv writes to COM1 before its MODE: the banner, then one trace frame
    (the bytes fakehv.S spells out, made here by the decoder's own encoder)."""
    from decoder.defs import EVENT_IDS
    from decoder.records import Record
    from tests.support.synth import encode_frame
    text = b"fakehv: a stand-in hypervisor for harness tests"
    return b"fakehv up\n\0" + encode_frame(0, 0, [Record(1000, 0, EVENT_IDS["TEXT"], (text,))])
MODES = {"hang": 0, "pass": 1, "fail": 2, "panic": 3, "reset": 4, "chatter": 5, "odd": 6, "even": 7}


def build_fake(mode: str, dest: Path) -> Path:
    """A build dir whose hv.elf/hv.elf32/guest*.elf are fakehv in `mode`."""
    dest.mkdir(parents=True, exist_ok=True)
    obj, elf = dest / "fakehv.o", dest / "hv.elf32"
    subprocess.run(["gcc", "-m32", "-c", f"-DMODE={MODES[mode]}", str(FIXTURES / "fakehv.S"),
                    "-o", str(obj)], check=True)
    subprocess.run(["ld", "-m", "elf_i386", "--no-warn-rwx-segments", "-T",
                    str(FIXTURES / "fakehv.ld"), str(obj), "-o", str(elf)], check=True)
    # One file stands in for all four: QEMU treats the module as bytes and the
    # symbol lookup only needs trace_rings.
    for name in ("hv.elf", "guest64.elf", "guest32.elf"):
        shutil.copy(elf, dest / name)
    return dest


def qemu_children(pid: int) -> list[int]:
    """PIDs of QEMU processes whose parent is `pid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and comm.startswith("qemu-system"):
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    """True if pid exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
