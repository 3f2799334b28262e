"""`make bench-decoder`'s babeltrace2 rows, run small and judging no time: the CTF trace
LTTng-UST recorded holds exactly the capture's event count, each event once (babeltrace2
read independently of the bench), the bench prints both babeltrace2 rows and the C /
babeltrace2 ratios, and a short or lossy recording is an error, never a figure."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from bench import lttng_session
from bench.bench_decoder import BT2_RATIOS, bt2_ratios, measure_bt2

ROOT = Path(__file__).resolve().parents[2]
EMITTER = ROOT / "build/trace/lttng-emit"


@pytest.fixture(scope="module")
def emitter() -> Path:
    subprocess.run(["make", "-s", "-C", str(ROOT), "decoder", "build/trace/lttng-emit"], check=True,
                   capture_output=True)
    return EMITTER


def _arg0s(trace: Path) -> list[int]:
    """Every event's arg0 (lttng-emit's event index) in babeltrace2's text of trace."""
    text = subprocess.run(["babeltrace2", str(trace)], capture_output=True, text=True, check=True)
    assert "discarded" not in text.stderr.lower(), text.stderr
    lines = text.stdout.splitlines()
    got = [int(m.group(1)) for line in lines if (m := re.search(r"\barg0 = (\d+),", line))]
    assert len(got) == len(lines), lines[:3]
    return got


def test_bench_decoder_babeltrace2_rows(emitter: Path, tmp_path: Path) -> None:
    r = subprocess.run(["/usr/bin/python3", "-m", "bench.bench_decoder", "--records", "3000", "--runs", "1",
                        "--views", "wire,check,text", "--out", str(tmp_path), "--lttng-emit", str(emitter)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    c_items = {int(size): int(n) for size, n in re.findall(
        r"^fresh +(\d+) records +wire +c +[\d.]+ M items/s .*\((\d+) items\)", r.stdout, re.M)}
    bt2 = re.findall(r"^fresh +(\d+) records +babeltrace2 (decode|text) +[\d.]+ M events/s +peak RSS +[\d.]+ MiB +"
                     r"\((\d+) events, ctf-(\d+)\)", r.stdout, re.M)
    assert {(int(s), mode) for s, mode, _, _ in bt2} == {(s, m) for s in (300, 3000) for m in ("decode", "text")}, \
        r.stdout
    for size, _, events, name in bt2:
        assert int(events) == int(name) == c_items[int(size)] >= int(size), (size, events, name, c_items)
    for size in (300, 3000):
        n = c_items[size]
        # babeltrace2 itself, not the bench: exactly n events, lttng-emit's 0..n-1 each once
        assert sorted(_arg0s(tmp_path / f"ctf-{n}")) == list(range(n))
        ratios = re.findall(rf"^fresh +{size} records +C (\w+) / babeltrace2 (\w+): +[\d.]+x +\(goal >= 5x: (?:met|MISSED)\)",
                            r.stdout, re.M)
        assert ratios == [(v, m) for v, m in BT2_RATIOS], r.stdout
    # a second run reads the cached traces: nothing recorded again
    again = subprocess.run(["/usr/bin/python3", "-m", "bench.bench_decoder", "--records", "3000", "--runs", "1",
                            "--views", "text", "--out", str(tmp_path), "--lttng-emit", str(emitter)],
                           cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "babeltrace2 text" in again.stdout, again.stdout + again.stderr
    assert "recorded" not in again.stdout


def test_ratio_is_c_over_babeltrace2() -> None:
    got = bt2_ratios({"wire": 12e6, "check": 9e6, "text": 4e6, "read": 3e6}, {"decode": 2e6, "text": 0.5e6})
    assert got == [("wire", "decode", 6.0), ("check", "decode", 4.5), ("text", "text", 8.0)]
    assert bt2_ratios({"text": 1e6}, {"decode": 1.0, "text": 2e6}) == [("text", "text", 0.5)]


def test_record_refuses_a_short_trace(emitter: Path, tmp_path: Path) -> None:
    # a real producer that fires one event fewer than it was asked for
    short = tmp_path / "short-emit"
    short.write_text(f'#!/bin/sh\nexec {emitter} $(($1 - 1))\n')
    short.chmod(0o755)
    dest = tmp_path / "ctf-500"
    with lttng_session.sessiond(), pytest.raises(lttng_session.LttngError, match="read 499 events.* fired 500"):
        lttng_session.record(short, 500, dest)
    assert not dest.exists()    # never cached: the next bench records it afresh
    with lttng_session.sessiond():
        lttng_session.record(emitter, 500, dest)
    assert sorted(_arg0s(dest)) == list(range(500))
    # the bench's text row counts babeltrace2's lines against the trace's count each run
    rate, rss = measure_bt2("text", dest, 500, 1)
    assert rate > 0 and rss > 0
    with pytest.raises(SystemExit, match=r"printed \[500\] lines for 501 events"):
        measure_bt2("text", dest, 501, 1)


def test_a_lossy_trace_is_an_error(emitter: Path, tmp_path: Path) -> None:
    # Non-blocking 4 KiB sub-buffers: 200 000 events of ~45 bytes overrun the consumer
    # (lttng-emit fires one every ~0.1 us), so the tracer discards some.
    session = f"heisen-test-lossy-{tmp_path.name}"
    trace = tmp_path / "lossy"
    with lttng_session.sessiond():
        lttng_session.lttng("create", session, f"--output={trace}")
        try:
            lttng_session.lttng("enable-channel", "--userspace", f"--session={session}", "--subbuf-size=4096",
                                "--num-subbuf=2", "c")
            lttng_session.emit(emitter, 200000, session, "c")
            lttng_session.lttng("stop", session)
        finally:
            subprocess.run(["lttng", "--no-sessiond", "destroy", session], capture_output=True)
    with pytest.raises(lttng_session.LttngError, match="dropped events"):
        lttng_session.count_events(trace)
