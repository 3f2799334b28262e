"""make bench-timeline: what `html --dir` costs and how soon its page is usable,
for a generated trace of N records (bench/bench_decoder.py's generator).

Measured, not asserted: building the directory (CPU seconds on one core, peak RSS,
bytes written), then in headless Chromium the wall time from launch until the
page's status says ready, for the first screen and for a 2 ms window (which
loads records).  Chromium's own start-up is measured on an empty page and
subtracted.  Also the page's own clock: performance.now() when it first drew a
complete screen (#status data-first-screen-ms), from navigation start.  It runs in
real time while the page works; only idle waits (its 16 ms redraw timer) are
fast-forwarded by --virtual-time-budget, so it is, if anything, a little short.

    python3 -m bench.bench_timeline [--records N] [--out DIR]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench.bench_decoder import generate
from tests.support.chromium import dump_dom, element_data, page_url


def _child(capture: str, site: str) -> None:
    """In its own process, so ru_maxrss is this build's alone."""
    import io
    from decoder.api import read_records
    from decoder.views.timeline_dir import render_timeline_dir
    t0 = time.process_time()
    render_timeline_dir(read_records(capture), io.StringIO(), site)
    print(time.process_time() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _build(capture: Path, site: Path) -> tuple[float, float, int]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    t0 = time.time()
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "-m", "bench.bench_timeline", "--child",
                          str(capture), str(site)], capture_output=True, text=True, env=env, check=True).stdout.split()
    return time.time() - t0, float(out[0]), int(out[1])


def _ready_after(url: str) -> tuple[float, dict[str, str]]:
    t0 = time.time()
    dom = dump_dom(url, budget_ms=30000)
    return time.time() - t0, element_data(dom, "status") if 'id="status"' in dom else {}


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m bench.bench_timeline")
    ap.add_argument("--records", type=int, default=10_000_000)
    ap.add_argument("--out", default="build/decoder-bench")
    ap.add_argument("--runs", type=int, default=5, help="Chromium loads per figure (best and median reported)")
    ap.add_argument("--reuse", action="store_true", help="keep an already built directory (measure the page only)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        _child(*a.child)
        return 0
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    capture = out / f"templated-{a.records}.bin"
    if not capture.exists():
        generate(capture, a.records)
    site = out / f"timeline-{a.records}"
    if not (a.reuse and (site / "overview.js").exists()):
        wall, cpu, rss = _build(capture, site)
        print(f"html --dir {a.records} records: {cpu:.1f} s cpu ({wall:.1f} s wall), peak RSS {rss / 1024:.1f} MiB",
              flush=True)
    chunks = len(list((site / "chunks").iterdir()))
    print(f"  {_size(site) / 2**20:.1f} MiB in {chunks} chunks; "
          f"overview.js {(site / 'overview.js').stat().st_size / 1024:.0f} KiB", flush=True)
    blank = out / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body><span id=\"status\" data-ready=\"1\"></span></body></html>")
    base = min(_ready_after(page_url(blank))[0] for _ in range(a.runs))
    print(f"  Chromium start-up and exit on an empty page: {base:.2f} s (best of {a.runs})", flush=True)
    for label, fragment in (("first screen", ""), ("2 ms window", "from=0.500000001&to=0.502000001")):
        runs = sorted((_ready_after(page_url(site / "index.html", fragment)) for _ in range(a.runs)),
                      key=lambda r: r[0])
        best, st = runs[0]
        median = runs[len(runs) // 2][0]
        what = f"{st.get('drawn')} records" if st.get("level") == "records" else f"{st.get('total')} items"
        clock = sorted(float(r[1].get("firstScreenMs", "nan")) for r in runs)
        print(f"  {label}: page clock {clock[0]:.0f} ms best, {clock[len(clock) // 2]:.0f} ms median; "
              f"wall {best - base:5.2f} s best, {median - base:5.2f} s median of {a.runs} beyond start-up; "
              f"level {st.get('level')}, {what}, ready={st.get('ready')}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
