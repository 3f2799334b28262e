"""An OS guest's console placed among the trace records (harness/judge/console_timeline.py),
on a synthetic trace: each line lands after the records that had reached serial.bin
when the harness first saw it, and before the later ones."""
from __future__ import annotations

from pathlib import Path

from decoder.api import read_records
from tests.support.synth import TraceBuilder
from tests.support.synth import encode_frame
from harness.judge.console_timeline import ConsoleSampler, load_samples, place_lines, tsc_at_offsets, write_views


def two_frames() -> tuple[bytes, int, list[int]]:
    """Two frames of CPU 0; returns (serial, end of frame 1, each frame's last TSC)."""
    b = TraceBuilder(1)
    for k in range(6):
        b.ev(0, "HYPERCALL", 1, k, 0)
    recs = b.per_cpu[0]
    f1, f2 = encode_frame(0, 0, recs[:4]), encode_frame(0, 1, recs[4:])
    return f1 + f2, len(f1), [recs[3].tsc, recs[-1].tsc]


def test_tsc_at_an_offset_is_the_newest_record_of_the_frames_before_it() -> None:
    serial, end1, last = two_frames()
    assert tsc_at_offsets(serial, [0, end1 - 1, end1, len(serial) + 5]) == [0, 0, last[0], last[1]]


def test_a_line_gets_the_tsc_of_the_first_sample_that_saw_it_whole() -> None:
    console = b"one\ntwo\nthree\npartial"
    samples = [(10, 2), (20, 8), (30, 14), (40, 22)]
    tscs = [100, 200, 300, 400]
    assert place_lines(console, samples, tscs) == [(200, "one"), (200, "two"), (300, "three"),
                                                   (400, "partial")]
    # Bytes written after the last sample (the end of the run) get the last TSC.
    assert place_lines(b"a\nb\n", [(5, 2)], [7]) == [(7, "a"), (7, "b")]
    assert place_lines(b"", [], []) == []


def test_the_views_interleave_console_lines_by_sample(tmp_path: Path) -> None:
    serial, end1, last = two_frames()
    (tmp_path / "serial.bin").write_bytes(serial)
    console = tmp_path / "console.txt"
    console.write_bytes(b"[    0.1] early line\n[    0.2] Oops: late line\n")
    items = list(read_records(serial))
    views = write_views(tmp_path, items, console, [(end1, 21), (len(serial), 46)])
    text = Path(views["console_text"]).read_text().splitlines()
    con = [i for i, line in enumerate(text) if "[con]" in line]
    assert len(con) == 2 and "early line" in text[con[0]] and "Oops: late line" in text[con[1]]
    # The early line after the first frame's four records, before the second's.
    assert con[0] == 4 and con[1] == len(text) - 1, text
    assert "console: [    0.2] Oops: late line" in Path(views["console_html"]).read_text()


def test_the_sampler_records_growth_only_and_saves_a_map(tmp_path: Path) -> None:
    serial, console = tmp_path / "serial.bin", tmp_path / "console.txt"
    sampler = ConsoleSampler(serial, console)
    sampler.sample()                       # neither file yet: nothing
    serial.write_bytes(b"x" * 10)
    console.write_bytes(b"a\n")
    sampler.sample()
    sampler.sample()                       # no growth: no new sample
    serial.write_bytes(b"x" * 30)
    console.write_bytes(b"a\nb\n")
    path = sampler.save(tmp_path)
    assert load_samples(path) == [(10, 2), (30, 4)]
