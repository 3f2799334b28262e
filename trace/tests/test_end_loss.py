"""Loss at the end of a run reaches the wire: every attempted record is decoded or counted.

build/trace-sample --end-loss N (trace/tests/sample.c) attempts N records on a 16-slot
ring that overflows until the machine ends; the real drain's final flush
(trace_drain_panic) must send the ring's last `dropped` count as a LOST record of that
CPU.  The decoder (decoder/api.py) then accounts for all N: records + LOST counts.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from decoder.api import Loss, Record, read_records
from decoder.defs import EVENT_IDS

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "build/trace-sample"


def end_loss_stream(n: int) -> bytes:
    if not SAMPLE.exists():
        pytest.fail(f"{SAMPLE} is missing: run `make trace-sample` (make test-host builds it)")
    return subprocess.run([str(SAMPLE), "--end-loss", str(n)], check=True, capture_output=True).stdout


@pytest.mark.parametrize("attempted", [28, 100, 1000])
def test_every_attempted_record_is_decoded_or_lost(attempted: int) -> None:
    items = list(read_records(end_loss_stream(attempted)))
    records = [i for i in items if isinstance(i, Record)]
    losses = [i for i in items if isinstance(i, Loss)]
    assert all(loss.kind == "lost" for loss in losses), losses  # no seq gap, CRC or truncation
    lost = sum(loss.count for loss in losses)
    assert len(records) + lost == attempted
    # The ring held 16 after its one early drain: everything past them was dropped,
    # and the last word on the wire is the LOST that the final flush sent.
    assert len(records) == 11 + 16
    assert lost == attempted - 27
    assert isinstance(items[-1], Loss) and items[-1].count == attempted - 27
    assert items[-1].tsc >= records[-1].tsc
    assert all(r.type == EVENT_IDS["GUEST_EVENT"] for r in records)


def test_end_loss_rejects_a_bad_count() -> None:
    if not SAMPLE.exists():
        pytest.fail(f"{SAMPLE} is missing: run `make trace-sample`")
    out = subprocess.run([str(SAMPLE), "--end-loss", "x; rm -rf /"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "record count" in out.stderr
