"""Every view, round-tripped from synthetic traces."""
from __future__ import annotations

import io
import json
import re

import pytest

from decoder.api import read_records, render, summary
from decoder.defs import EVENTS
from decoder.records import Loss, Record
from tests.support.synth import TraceBuilder
from tests.decoder.traces import good_run


def _items(b: TraceBuilder, **kw) -> list:  # type: ignore[no-untyped-def]
    return list(read_records(b.serial(**kw)))


def _render(view: str, items: list, **opts) -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    render(view, items, out, **opts)
    return out.getvalue()


def _tiny() -> TraceBuilder:
    b = TraceBuilder(2, boot=False)
    b.ev(0, "INTERCEPT_ENTER", 32, 0x1000)
    b.ev(0, "INTERCEPT_LEAVE", 32)
    b.ev(1, "QUIESCE_ACK", 3)
    b.ev(0, "TEXT", "CPU(0x00): hi\n")
    b.ev(1, "HOST_NMI", 1, 1, 0)
    return b


def test_text_round_trip_one_line_per_item() -> None:
    items = _items(good_run(ncpus=3))
    lines = _render("text", items).splitlines()
    assert len(lines) == len(items)
    for line, it in zip(lines, items):
        k, _, cpu, rest = re.match(r"\s*(\d+)\s+(\S+)\s+\[\s*(\S+)\]\s+(.*)", line).groups()  # type: ignore[union-attr]
        assert int(cpu) == it.cpu and rest.split()[0] == it.name


def test_text_columns_and_loss_lines() -> None:
    b = good_run(ncpus=2, rounds=2)
    frames = [f for _, f in b.frames(per_frame=3)]
    items = list(read_records(b"".join(frames[:1] + frames[2:])))
    text = _render("text", items, columns=True, width=30)
    assert "LOSS seq_gap: 1 frames (cpu 0" in text
    cpu1 = [l for l in text.splitlines() if "[ 1]" in l]
    assert cpu1 and all(re.search(r"\] {31}\S", l) for l in cpu1)


def test_tokens_seed_format() -> None:
    items = _items(_tiny(), per_frame=1)
    assert _render("tokens", items) == "{0,i,32}{0,I,32}{1,p,3}CPU(0x00): hi\n{1,n,1,1,0}\n"
    assert _render("tokens", items, fields="none", text=False) == "{0,i}{0,I}{1,p}{1,n}\n"
    assert _render("tokens", items, fields="all", text=False).startswith("{0,i,32,0x1000}")
    assert _render("tokens", items, per_cpu=True) == "cpu 0: {0,i,32}{0,I,32}\ncpu 1: {1,p,3}{1,n,1,1,0}\n"


def test_tokens_round_trip_against_records() -> None:
    items = _items(good_run(ncpus=3))
    toks = re.findall(r"\{(\d+),(\w)[^}]*\}", _render("tokens", items, text=False, wrap=60))
    want = [(str(r.cpu), EVENTS[r.type].token) for r in items if r.name != "TEXT"]
    assert toks == want


def test_table_seed_layout_and_windows() -> None:
    items = _items(_tiny(), per_frame=1)
    assert _render("table", items, around=2, context=1) == (
        "|Index|CPU 0|CPU 1|\n|-|-|-|\n|1|VMENTER||\n|>2||Update counter, busy wait #3|\n"
        "|3|\"CPU(0x00): hi\"||\n")
    b = good_run(ncpus=3, rounds=3)
    epoch = _render("table", _items(b), epoch=2, context=0)
    rows = epoch.splitlines()[2:]
    assert "quiesce() #2" in rows[0]
    assert sum("resume #2" in r for r in rows) == 2 and "resume #2" in rows[-1]
    assert all("#3" not in r and "#1" not in r for r in rows)
    with pytest.raises(LookupError, match="epoch 9"):
        _render("table", _items(b), epoch=9)


def test_perfetto_json_is_balanced_and_complete() -> None:
    b = good_run(ncpus=2, rounds=2)
    frames = [f for _, f in b.frames(per_frame=4)]
    items = list(read_records(b"".join(frames[:2] + frames[3:])))
    doc = json.loads(_render("perfetto", items))
    evs = doc["traceEvents"]
    stacks: dict[int, int] = {}
    for e in evs:
        if e["ph"] == "B":
            stacks[e["tid"]] = stacks.get(e["tid"], 0) + 1
        elif e["ph"] == "E":
            stacks[e["tid"]] -= 1
            assert stacks[e["tid"]] >= 0
    assert all(v == 0 for v in stacks.values())
    async_b = [e for e in evs if e["ph"] == "b"]
    async_e = [e for e in evs if e["ph"] == "e"]
    assert len(async_b) == len(async_e) > 0 and {e["id"] for e in async_b} == {e["id"] for e in async_e}
    assert any(e.get("name") == "LOSS seq_gap" for e in evs)
    names = {e["args"]["name"] for e in evs if e["ph"] == "M" and e["name"] == "thread_name"}
    assert names == {"CPU 0", "CPU 1"}
    nrec = sum(1 for i in items if type(i) is Record)
    assert sum(1 for e in evs if e["ph"] in "BiEbe" and not e.get("args", {}).get("note")) >= nrec


def test_stats_and_summary_numbers() -> None:
    b = good_run(ncpus=2, rounds=3)
    items = _items(b)
    s = summary(items)
    c0 = s["cpus"][0]
    assert c0["nmi"]["host_for_guest"] == 2 and c0["nmi"]["injected"] == 2 and c0["nmi"]["guest_received"] == 2
    assert c0["exits"] == sum(1 for r in b.per_cpu[0] if r.name == "INTERCEPT_ENTER")
    span = (b.per_cpu[0][-1].tsc - b.per_cpu[0][0].tsc) / 1e9  # tsc_khz 1e6 -> 1 GHz
    assert c0["exits_per_s"] == pytest.approx(c0["exits"] / span)
    text = _render("stats", items)
    assert "INTERCEPT_ENTER" in text and "loss:\n  none" in text
    assert re.search(r"cpu 0: host 3 \(for guest 2, quiesce 1\), injected 2, merged 0, latched 0, "
                     r"guest received 2, nested 0: ok", text)


def test_html_round_trip_titles_per_record() -> None:
    items = _items(good_run(ncpus=2, rounds=1))
    page = _render("html", items)
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "http" not in page.split("<svg", 1)[0]
    spans = page.count("INTERCEPT_LEAVE")
    assert spans == sum(1 for r in items if r.name == "INTERCEPT_LEAVE")


def test_loss_is_visible_in_every_view() -> None:
    b = good_run(ncpus=1, rounds=2)
    data = b.serial(per_frame=4)
    items = list(read_records(data[:40] + b"\xff\xfe" + data[40:]))
    assert any(type(i) is Loss for i in items)
    for view, needle in (("text", "LOSS"), ("tokens", "{?,!"), ("stats", "cpu ?: "), ("perfetto", "LOSS"),
                         ("html", "url(#loss)\">")):
        assert needle in _render(view, items), view
