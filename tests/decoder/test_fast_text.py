"""The text view's lines written in C (decoder/views/fast_text.py, decoder/native/textfmt.c)
are the Python view's, byte for byte: on the decoder's fixtures, on items the C
formatter must leave to Python, and through the CLI.  The generated damaged inputs
are compared by tests/support/cwire_diff.py's compare() (tests/decoder/test_cwire_diff.py)."""
from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest

from decoder import cwire
from tests.support.cwire_diff import c_text, python_items, python_text
from decoder.defs import EVENT_IDS
from decoder.records import Loss, Record
from decoder.views import fast_text
from decoder.views.text import render_text
from decoder.views.timebase import Timebase
from tests.decoder.test_cwire_diff import FIXTURES, _fixture, built  # noqa: F401 -- built: autouse fixture
from tests.decoder.traces import good_run

ROOT = Path(__file__).resolve().parents[2]
E = EVENT_IDS



@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_prints_identically(name: str) -> None:
    data = _fixture(name)
    want = python_text(python_items(data, merge=True, lookahead=64))
    assert want.count("\n") > 10
    assert c_text(data) == want
    assert c_text(data, whole=True) == want


def _fast(items: list) -> tuple[str, list]:
    """The text of items through the C formatter, and the items it left to Python."""
    fmt = fast_text.formatter()
    assert fmt is not None
    left: list = []
    out: list[str] = []

    def python_line(k: int, it: object, tb: Timebase) -> str:
        left.append(it)
        buf = io.StringIO()
        # the reference line, numbered k, with the timebase C handed over
        from decoder.views.text import _line
        from decoder.symbols import Symbolizer
        buf.write(_line(k, it, tb, Symbolizer([]), False, 44))  # type: ignore[arg-type]
        return buf.getvalue()

    fast_text.write_batches([items], out.append, Timebase(), python_line, fmt)
    return "".join(out), left


def _reference(items: list) -> str:
    buf = io.StringIO()
    render_text(iter(items), buf)
    return buf.getvalue()


def test_c_writes_every_record_of_a_clean_run() -> None:
    items = [it for it in python_items(good_run(ncpus=4).serial(), merge=True) if type(it) is Record]
    text, left = _fast(items)
    assert text == _reference(items)
    assert left == []   # no line of a plain run went through Python


BOOT = Record(1000, 0, E["BOOT"], (2, 1_000_000, 1))
ODD = [
    Record(900, 1, E["INTERCEPT_LEAVE"], (0x81,)),                       # before BOOT: raw TSC
    BOOT,                                                                  # from here: seconds
    Record(1500, 1, E["INTERCEPT_ENTER"], (0x3fff_ffff, 0)),              # an exit with no name
    Record(1501, 0, E["HOST_NMI"], (3, 3, 0)),                            # flags, a named value
    Record(1502, 0, E["HOST_NMI"], (0, 9, 0)),                            # none, no name
    Record(1503, 0, E["HOST_NMI"], (4 | 1, 1, 0)),                        # a bit with no name
    Record(1504, 0, E["OPTIONS"], (1 << 63, 0xffff, 0xffff_ffff_ffff_ffff)),
    Record(1505, 0, E["NMI_INJECT"], (True,)),                            # bool: Python writes True
    Record(1506, 0, E["NMI_INJECT"], (-1,)),                              # negative
    Record(1507, 0, E["NMI_INJECT"], (1 << 64,)),                         # past 64 bits
    Record(1508, 0, E["NMI_INJECT"], (1, 2)),                             # one value too many
    Record(1509, 0, E["TEXT"], ("é'\"\n".encode(),)),                     # repr of text
    Record(1510, 0, 250, (1,)),                                            # an unknown event
    Loss(1511, None, "garbage", 3, "bytes", 17, "x"),
    Record(1512, 300, E["NMI_INJECT"], (1,)),                             # a CPU past one byte
    Record(1 << 60, 0, E["NMI_INJECT"], (1,)),                            # seconds not exact in C
    Record(2000, 1, E["BOOT"], (4, 5, 1)),                                # a second BOOT: no change
    Record(2001, 1, E["NMI_INJECT"], (0,)),
]


def test_items_c_cannot_format_go_to_python_and_the_text_is_the_same() -> None:
    text, left = _fast(ODD)
    assert text == _reference(ODD)
    assert {ODD.index(it) for it in left} == {7, 8, 9, 10, 11, 12, 13, 15}


def test_the_time_base_starts_at_the_first_item_without_a_boot_record() -> None:
    items = [Record(5000 + i, 0, E["NMI_INJECT"], (i,)) for i in range(3)] + [BOOT._replace(tsc=6000)] + \
        [Record(7000, 1, E["NMI_INJECT"], (9,))]
    text, left = _fast(items)
    assert text == _reference(items) and left == []
    assert "           5000 [ 0]" in text and "   0.000001000 [ 1]" in text


def test_the_cli_prints_the_same_with_either_path(tmp_path: Path) -> None:
    trace = tmp_path / "t.bin"
    trace.write_bytes(good_run(ncpus=3).serial(per_frame=4))
    out = {}
    for mode in ("c", "python"):
        env = {**os.environ, "PYTHONPATH": str(ROOT), cwire.ENV: mode}
        r = subprocess.run(["/usr/bin/python3", "-m", "decoder", "text", str(trace)], capture_output=True,
                           env=env, cwd=ROOT, check=True)
        out[mode] = r.stdout
    assert out["c"] == out["python"] and out["c"].count(b"\n") > 50


def test_times_round_as_python_formats_them() -> None:
    # f"{s:14.9f}" rounds the exact binary value half to even; C computes the digits
    # itself (textfmt.c put_seconds), so every kind of quotient is compared here.
    import random
    rng = random.Random(19)
    items: list = []
    left_to_python = 0
    for i in range(3000):
        khz = rng.choice((1, 3, 7, 1000, 999_983, 2_500_000, 3_000_000_007, rng.randrange(1, 1 << 40)))
        base = rng.randrange(1 << 62)
        items.append(Record(base, 0, E["BOOT"], (1, khz, 1)))
        for _ in range(3):
            d = rng.choice((rng.randrange(-(1 << 20), 1 << 20), rng.randrange(-(1 << 53), 1 << 53),
                            khz * rng.randrange(1 << 12) // 2, rng.randrange(1 << 34)))
            items.append(Record(base + d, 1, E["NMI_INJECT"], (i,)))
        text, left = _fast(items)
        assert text == _reference(items), f"khz {khz}"
        left_to_python += len(left)   # only times of 2^33 s and more, or TSC steps past 2^53
        items.clear()
    assert left_to_python < 12000 // 10


def test_a_time_exactly_halfway_rounds_to_even_as_python_does() -> None:
    # (2^24 + odd/1024) s is exact in binary and its tenth decimal is a 5: a true tie
    # (16777216.0009765625 -> ...062, 16777216.0029296875 -> ...688)
    boot = BOOT._replace(tsc=1 << 50, args=(2, 1024, 1))
    items: list = [boot]
    for base in (1 << 24, 1 << 25, 12345):
        for odd in (1, 3, 5, 7):
            d = (base * 1024 + odd) * 1000
            items += [Record(boot.tsc + d, 0, E["NMI_INJECT"], (0,)), Record(boot.tsc - d, 1, E["NMI_INJECT"], (0,))]
    text, left = _fast(items)
    assert left == [] and text == _reference(items)
    assert "16777216.000976562" in text and "16777216.002929688" in text and "-16777216.000976562" in text


def test_a_capture_is_written_in_c_until_its_first_loss_then_by_the_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    b = good_run(ncpus=2, rounds=6)
    frames = [f + b"\0" for f in b.serial(per_frame=3).split(b"\0")[:-1]]   # as sent: in TSC order
    cut = len(frames) - 3
    data = b"".join(frames[:cut] + frames[cut + 1:])   # one frame lost on the wire: a seq_gap
    want = python_text(python_items(data, merge=True, lookahead=64))
    handed: list[int] = []
    real = fast_text.write_batches

    def spy(batches, write, tb, line, fmt, k=0):  # type: ignore[no-untyped-def]
        handed.append(k)
        return real(batches, write, tb, line, fmt, k)

    monkeypatch.setattr(fast_text, "write_batches", spy)
    assert c_text(data, whole=True) == want and "LOSS seq_gap" in want
    assert len(handed) == 1 and 0 < handed[0] < want.count("\n")   # C wrote the lines before the loss
    handed.clear()
    clean = b"".join(frames)
    assert c_text(clean, whole=True) == python_text(python_items(clean, merge=True, lookahead=64))
    assert handed == []                                 # no loss: all of it in C


def test_a_stream_read_in_part_prints_the_rest_as_the_python_view_does(monkeypatch: pytest.MonkeyPatch) -> None:
    from decoder.api import read_records
    data = good_run(ncpus=3).serial(per_frame=4)
    out = {}
    for mode in ("c", "python"):
        monkeypatch.setenv(cwire.ENV, mode)
        s = read_records(data)
        next(s)
        buf = io.StringIO()
        render_text(s, buf)
        out[mode] = buf.getvalue()
    assert out["c"] == out["python"] and out["c"].count("\n") > 50
