"""The library surface the harness imports (decoder/api.py): names and shapes."""
from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from decoder import api
from tests.decoder.traces import good_run, hypercall_exit


def test_read_records_accepts_path_str_bytes_and_stream(tmp_path: Path) -> None:
    b = good_run()
    data = b.serial()
    p = tmp_path / "serial.bin"
    p.write_bytes(data)
    want = [tuple(r[:4]) for r in b.records()]
    for src in (p, str(p), data, bytearray(data), io.BytesIO(data)):
        assert [tuple(i[:4]) for i in api.read_records(src)] == want


def test_check_result_fields() -> None:
    names = [f.name for f in dataclasses.fields(api.CheckResult)]
    assert names[:5] == ["passed", "rule", "message", "window", "counts"]
    b = good_run(finish=False)
    hypercall_exit(b, 0, 1, result=3)
    r = api.check(api.read_records(b.serial()))
    assert isinstance(r, api.CheckResult) and r.passed is False and r.rule == "hypercall_test_result"
    assert r.counts["records"] > 0


def test_render_and_summary_and_ring_dump() -> None:
    b = good_run()
    items = list(api.read_records(b.serial()))
    for view in api.VIEWS:
        out = io.StringIO()
        api.render(view, items, out)
        assert out.getvalue()
    s = api.summary(items)
    assert set(s["cpus"]) == {0, 1} and s["tsc_khz"] == 1_000_000
    dumped = api.records_from_ring_dump(b.ring_dump(nslots=128), None)
    assert [tuple(i[:4]) for i in dumped] == [tuple(i[:4]) for i in items]


def test_render_unknown_view_is_clear() -> None:
    try:
        api.render("pie", [], io.StringIO())
    except ValueError as e:
        assert "unknown view 'pie'" in str(e)
    else:
        raise AssertionError("no error for an unknown view")
