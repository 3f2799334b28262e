"""Cross-check against the C encoder: build/trace-sample's frames decode to the
records it says its rings held (trace/tests/sample.c --expect)."""
from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

from decoder.api import read_records
from decoder.views import VIEWS
from decoder.check import run_check
from decoder.records import Loss, Record
from decoder.wire import cobs_decode

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "build/trace-sample"


def _sample(*args: str) -> bytes:
    # make knows when the C sources changed; building here keeps `make test-py` alone honest.
    subprocess.run(["make", "-s", "-C", str(ROOT), "build/trace-sample"], check=True, capture_output=True)
    return subprocess.run([str(SAMPLE), *args], check=True, capture_output=True, timeout=60).stdout


def _expected() -> list[tuple]:
    """The rings' records, TSCs cut to the wire's unit (the frame header's shift byte)."""
    shift = cobs_decode(_sample().split(b"\0", 1)[0])[2]
    out = []
    for line in _sample("--expect").decode().splitlines():
        e = json.loads(line)
        args = (bytes.fromhex(e["text_hex"]),) if "text_hex" in e else tuple(e["a"])
        out.append((e["cpu"], e["type"], e["tsc"] >> shift << shift, args))
    return out


def test_c_frames_decode_to_the_rings_records() -> None:
    items = list(read_records(_sample(), merge=False))
    got = []
    for it in items:
        if type(it) is Record:
            got.append((it.cpu, it.type, it.tsc, it.args))
        else:
            assert type(it) is Loss and it.kind == "lost", it  # the sample's only loss is a LOST record
            got.append((it.cpu, 2, it.tsc, (it.count,)))
    want = _expected()
    assert len(want) > 50
    assert sorted(got, key=lambda g: g[0]) == sorted(want, key=lambda w: w[0])  # per CPU in ring order
    assert {w[1] for w in want} >= {1, 2, 6, 7, 10, 26}


def test_merged_stream_of_the_sample_keeps_every_record_and_views_run() -> None:
    merged = list(read_records(_sample()))
    records = [i for i in merged if type(i) is Record]
    assert len(records) + sum(1 for i in merged if type(i) is Loss and i.kind == "lost") == len(_expected())
    result = run_check(merged)
    # The sample is an encoder exercise, not a healthy run: the checker must
    # still reach a verdict naming one of its rules.
    assert result.passed or result.rule in {r["name"] for r in _rules()}
    for view in VIEWS:
        out = io.StringIO()
        VIEWS[view](merged, out)
        assert out.getvalue()


def _rules() -> list[dict]:
    import tomllib
    return tomllib.loads((ROOT / "decoder/rules.toml").read_text())["rule"]
