"""`make bench-decoder`, run small and without judging any time: every view it measures
runs on both paths (C and Python) over the fresh and the lossy traces, and they handle
the same number of items (the bench itself fails if the C check row of a trace was the
Python checker's, or a lossy trace holds no loss)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_decoder_measures_every_view_on_both_paths(tmp_path: Path) -> None:
    subprocess.run(["make", "-s", "-C", str(ROOT), "decoder"], check=True, capture_output=True)
    r = subprocess.run(["/usr/bin/python3", "-m", "bench.bench_decoder", "--records", "3000", "--runs", "1",
                        "--views", "wire,read,check,text", "--out", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, check=True, timeout=300)
    rows = re.findall(r"^(fresh|lossy) +(\d+) records +(\S+) +(python|c) +[\d.]+ M items/s +peak RSS +[\d.]+ MiB +"
                      r"\((\d+) items\)", r.stdout, re.M)
    got: dict[tuple[str, str, str], dict[str, int]] = {}
    for label, size, view, reader, items in rows:
        got.setdefault((label, size, view), {})[reader] = int(items)
    assert set(got) == {(t, s, v) for t in ("fresh", "lossy") for s in ("300", "3000")
                        for v in ("wire", "read", "check", "text")}, r.stdout
    for (label, size, view), per in got.items():
        # a lossy trace's items: a record or two fewer than asked (a dropped frame) plus losses
        least = int(size) * 9 // 10 if label == "lossy" else int(size)
        assert per.keys() == {"python", "c"} and per["python"] == per["c"] >= least, (label, size, view, per)
