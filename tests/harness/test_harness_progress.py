"""The hang watch's samples: icount is read before the serial size, so a size can
never be older than the icount it is judged with.  The race this closes: the QMP
reply for icount can come late while the machine races on and writes its first
bytes; a size taken before that met an icount far past them, and a healthy
deterministic run was called hung (harness/judge/run.py, sample_progress)."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from harness.judge.hangwatch import HangWatch
from harness.judge.run import sample_progress
from harness.schedule import ICOUNT_SHIFT

ONE_VIRTUAL_S = 10**9 >> ICOUNT_SHIFT


class SlowQmp:
    """query-replay whose reply comes after the machine wrote `writes` bytes."""

    def __init__(self, serial: Path) -> None:
        self.serial = serial
        self.icount = 0
        self.writes = 0

    async def execute(self, cmd: str, timeout: float = 0.0) -> dict[str, Any]:
        assert cmd == "query-replay"
        with self.serial.open("ab") as f:
            f.write(b"\x00" * self.writes)
        return {"icount": self.icount}


def test_bytes_written_while_icount_was_being_read_are_in_the_sample(tmp_path: Path) -> None:
    serial = tmp_path / "serial.bin"
    serial.write_bytes(b"")
    qmp = SlowQmp(serial)
    watch = HangWatch(10.0, icount_shift=ICOUNT_SHIFT)

    qmp.icount = 1000                                   # firmware: no output yet
    icount, size = asyncio.run(sample_progress(qmp, serial, None))   # type: ignore[arg-type]
    assert (icount, size) == (1000, 0)
    assert watch.observe(0.0, size, icount) is None

    # The reply took long: 40 virtual seconds of instructions ran, and the boot's
    # first 64 bytes were written meanwhile.
    qmp.icount, qmp.writes = 1000 + 40 * ONE_VIRTUAL_S, 64
    icount, size = asyncio.run(sample_progress(qmp, serial, None))   # type: ignore[arg-type]
    assert size == 64
    assert watch.observe(0.2, size, icount) is None     # output grew: not a hang

    # Illustration, not a check on _supervise: the same pair taken the old way round
    # (size first, 0) is the false hang.
    stale = HangWatch(10.0, icount_shift=ICOUNT_SHIFT)
    stale.observe(0.0, 0, 1000)
    assert stale.observe(0.2, 0, icount) is not None


def test_without_qmp_the_sample_is_the_size_alone(tmp_path: Path) -> None:
    serial = tmp_path / "serial.bin"
    assert asyncio.run(sample_progress(None, serial, None)) == (None, 0)   # no file yet
    serial.write_bytes(b"abc")
    assert asyncio.run(sample_progress(None, serial, lambda: 5)) == (None, 8)
