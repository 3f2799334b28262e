"""The views' common filter (decoder/window.py): --from/--to/--cpu/--around."""
from __future__ import annotations

import io
import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest

from decoder.api import read_records, render
from decoder.records import Loss, Record
from tests.support.synth import TraceBuilder
from decoder.window import FilterError, Window, Windowed, apply
from tests.decoder.traces import good_run

ROOT = Path(__file__).resolve().parents[2]
NS = 1e-9   # good_run's clock: 1 GHz, records 10 ticks apart


def _items(b: TraceBuilder, **kw) -> list:  # type: ignore[no-untyped-def]
    return list(read_records(b.serial(**kw)))


def _text(items, **opts) -> list[str]:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    render("text", items, out, **opts)
    return out.getvalue().splitlines()


def _index(line: str) -> int:
    return int(line.split()[0])


def test_time_window_keeps_the_text_views_indices_and_times() -> None:
    items = _items(good_run(ncpus=3, rounds=3))
    full = _text(items)
    lo, hi = 0.0000003, 0.0000004   # as typed from the text view
    kept = _text(apply(items, Window(t_from=lo, t_to=hi)))
    want = [l for l in full if lo <= float(l.split()[1]) <= hi]
    assert kept == want and 5 < len(kept) < len(full)


def test_cpu_filter_keeps_only_those_cpus_with_their_indices() -> None:
    items = _items(good_run(ncpus=3, rounds=3))
    full = _text(items)
    kept = _text(apply(items, Window(cpus=frozenset({0, 2}))))
    assert kept == [l for l in full if re.search(r"\[ [02]\]", l)]
    assert any("[ 1]" in l for l in full)


def test_around_counts_context_in_the_filtered_stream() -> None:
    items = _items(good_run(ncpus=3, rounds=3))
    full = _text(items)
    k = 40
    plain = _text(apply(items, Window(around=k, context=3)))
    assert [_index(l) for l in plain] == list(range(k - 3, k + 4))
    cpu1 = [l for l in full if "[ 1]" in l]
    before = [l for l in cpu1 if _index(l) < k][-3:]
    after = [l for l in cpu1 if _index(l) > k][:3]
    at = [l for l in cpu1 if _index(l) == k]
    assert _text(apply(items, Window(cpus=frozenset({1}), around=k, context=3))) == before + at + after


def test_around_stops_reading_after_its_window() -> None:
    items = _items(good_run(ncpus=2, rounds=1))
    endless = itertools.chain(items, itertools.repeat(items[-1]))
    got = list(Windowed(endless, Window(around=5, context=2)).numbered())
    assert [i for i, _ in got] == [3, 4, 5, 6, 7]


def _with_lost_frame() -> tuple[list, int]:
    """CPU 1's second frame is dropped: its seq_gap Loss arrives with the frame after."""
    b = TraceBuilder(2)
    for k in range(30):
        b.ev(k % 2, "HYPERCALL", 1, k, 0)
    frames = b.frames(per_frame=4)
    dropped = [f for cpu, f in frames if cpu == 1][1]
    items = list(read_records(b"".join(f for _, f in frames if f is not dropped)))
    gap = next(i for i, it in enumerate(items) if type(it) is Loss and it.kind == "seq_gap")
    return items, gap


def test_loss_whose_stretch_meets_the_window_is_kept() -> None:
    items, gap = _with_lost_frame()
    loss = items[gap]
    prev = max(it.tsc for it in items[:gap] if it[1] == 1)   # CPU 1's item before the gap
    boot = items[0].tsc
    # A window strictly inside the missing stretch: no record of CPU 1 in it, the loss is.
    lo, hi = (prev - boot + 1) * NS, (loss.tsc - boot - 1) * NS
    kept = list(apply(items, Window(t_from=lo, t_to=hi, cpus=frozenset({1}))))
    assert kept == [loss]
    # A window wholly before the stretch does not show it.
    early = list(apply(items, Window(t_to=(prev - boot - 1) * NS)))
    assert loss not in early and early


def test_loss_of_unknown_cpu_passes_the_cpu_filter() -> None:
    b = good_run(ncpus=2, rounds=2)
    data = b.serial(per_frame=4)
    items = list(read_records(data[:40] + b"\xff\xfe" + data[40:]))
    loss = next(it for it in items if type(it) is Loss and it.cpu is None)
    t = (loss.tsc - items[0].tsc) * NS
    assert loss in list(apply(items, Window(t_from=t, t_to=t, cpus=frozenset({1}))))
    assert loss not in list(apply(items, Window(t_from=t + 100 * NS)))


def test_loss_of_unknown_time_stands_between_its_neighbours() -> None:
    items = _items(good_run(ncpus=2, rounds=1))
    k = 12
    a, z = items[k - 1].tsc, items[k].tsc
    noise = Loss(0, None, "garbage", 9, "bytes", 0)
    stream = items[:k] + [noise] + items[k:]
    boot = items[0].tsc
    inside = list(apply(stream, Window(t_from=(a - boot + 1) * NS, t_to=(z - boot - 1) * NS)))
    assert inside == [noise]
    assert noise not in list(apply(stream, Window(t_from=(z - boot + 1) * NS)))
    assert noise not in list(apply(stream, Window(t_to=(a - boot - 1) * NS)))
    assert [i for i, it in Windowed(stream, Window(t_from=0)).numbered() if it is noise] == [k]


def test_cpu_out_of_range_for_boot_is_an_error() -> None:
    items = _items(good_run(ncpus=2, rounds=1))
    with pytest.raises(FilterError, match="2 CPU"):
        list(apply(items, Window(cpus=frozenset({5}))))


def test_single_page_html_names_original_indices_and_says_when_it_is_cut() -> None:
    items = _items(good_run(ncpus=3, rounds=3))
    first2 = next(k for k, it in enumerate(items) if it.cpu == 2)
    out = io.StringIO()
    render("html", apply(items, Window(cpus=frozenset({2}))), out, max_records=5)
    assert f"items {first2}.." in out.getvalue() and "goes on past this page" in out.getvalue()
    whole = io.StringIO()
    render("html", items, whole)
    assert f"items 0..{len(items) - 1};" in whole.getvalue() and "goes on" not in whole.getvalue()


def test_without_boot_a_cpu_never_seen_is_an_error_at_the_end() -> None:
    b = TraceBuilder(2, boot=False)
    b.ev(0, "HYPERCALL", 1, 0, 0)
    b.ev(1, "HYPERCALL", 1, 1, 0)
    items = _items(b)
    assert [it.cpu for it in apply(items, Window(cpus=frozenset({1})))] == [1]
    with pytest.raises(FilterError, match="CPUs seen: 0,1"):
        list(apply(items, Window(cpus=frozenset({1, 4}))))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "decoder", *args], capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("window") / "serial.bin"
    p.write_bytes(good_run(ncpus=3, rounds=3).serial())
    return p


@pytest.mark.parametrize("view", ["text", "tokens", "table", "html", "perfetto", "stats"])
def test_every_view_takes_the_filters(capture: Path, view: str) -> None:
    r = _cli(view, str(capture), "--cpu", "2", "--from", "0", "--to", "0.001")
    assert r.returncode == 0, r.stderr
    assert _cpus_shown[view](r.stdout) == {2}, r.stdout


def _table_cpus(out: str) -> set[int]:
    lines = out.splitlines()
    head = lines[0].split("|")
    return {int(head[c].split()[1]) for l in lines[2:] for c, cell in enumerate(l.split("|"))
            if cell and c > 1 and head[c].startswith("CPU")}


_cpus_shown = {
    "text": lambda out: {int(c) for c in re.findall(r"\[\s*(\d+)\]", out)},
    "tokens": lambda out: {int(c) for c in re.findall(r"\{(\d+),", out)},
    "table": _table_cpus,
    "html": lambda out: {int(c) for c in re.findall(r"cpu (\d+) ", out)},
    "perfetto": lambda out: {int(c) for c in re.findall(r'"name":"CPU (\d+)"', out)},
    "stats": lambda out: {int(c) for c in re.findall(r"cpu (\d+)", out.split("NMI accounting")[0])},
}


@pytest.mark.parametrize("args, message", [
    (["--from", "soon"], "expected a time"),
    (["--to", "-1"], "time >= 0"),
    (["--from", "nan"], "time >= 0"),
    (["--from", "2", "--to", "1"], "after --to"),
    (["--cpu", "-1"], "integer >= 0"),
    (["--cpu", "0,x"], "CPU number"),
    (["--cpu", "7"], "the trace has 3 CPU"),
    (["--ncpus", "2", "--cpu", "2"], "out of range"),
    (["--around", "k"], "item index"),
    (["--around", "3:-1"], "context"),
    (["--around", "100000"], "only 107 item"),
])
def test_bad_filter_values_exit_2_without_traceback(capture: Path, args: list[str], message: str) -> None:
    r = _cli("text", str(capture), *args)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_table_around_takes_the_common_syntax(capture: Path) -> None:
    r = _cli("table", str(capture), "--around", "40:1", "--cpu", "0")
    assert r.returncode == 0, r.stderr
    rows = [l.split("|")[1] for l in r.stdout.splitlines()[2:]]
    assert ">40" in rows and len(rows) == 3


def test_table_around_keeps_its_context_option(capture: Path) -> None:
    r = _cli("table", str(capture), "--around", "40", "--context", "1")
    assert r.returncode == 0, r.stderr
    assert [l.split("|")[1] for l in r.stdout.splitlines()[2:]] == ["39", ">40", "41"]


def test_check_takes_no_filter(capture: Path) -> None:
    r = _cli("check", str(capture), "--cpu", "0")
    assert r.returncode == 2 and "unrecognized arguments" in r.stderr


def test_filtered_records_are_records() -> None:
    items = _items(good_run(ncpus=2, rounds=1))
    assert all(type(it) in (Record, Loss) for it in apply(items, Window(cpus=frozenset({0}))))
