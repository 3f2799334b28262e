"""An OS guest's console interleaved with the hypervisor's trace.

The console (COM3, console.txt) and the trace (COM1, serial.bin) are two byte streams
with no common clock of their own: Linux stamps its lines with its own uptime, the
trace with the TSC. While the machine runs, the harness samples both file sizes at
every poll (`ConsoleSampler`, every 50 ms); a console line is placed at the TSC of the
last trace record that had reached serial.bin when the harness first saw the line. So a
line sits after every record written before it was seen and before the records of the
next poll: its place is right to within one poll interval plus the UART's and the
drain's latency -- enough to read an oops next to the exits and NMIs around it, not to
order two events microseconds apart (the trace alone does that).

Views: timeline-console.txt (the text timeline with `[con]` lines) and
timeline-console.html (the HTML timeline with a console lane).
"""
from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, TextIO

MAP_FILE = "console-map.json"


@dataclass
class ConsoleSampler:
    """(serial bytes, console bytes) pairs, one whenever the console grew."""
    serial: Path
    console: Path
    samples: list[tuple[int, int]] = field(default_factory=list)

    def sample(self) -> None:
        try:
            # The serial size first: a console line seen now was written after
            # every frame already in the file.
            serial = self.serial.stat().st_size if self.serial.exists() else 0
            size = self.console.stat().st_size
        except OSError:
            return
        if not self.samples or size > self.samples[-1][1]:
            self.samples.append((serial, size))

    def save(self, run_dir: Path) -> Path:
        self.sample()
        path = run_dir / MAP_FILE
        path.write_text(json.dumps({"doc": "[serial.bin bytes, console bytes] when the console grew",
                                    "samples": self.samples}))
        return path


def load_samples(path: Path) -> list[tuple[int, int]]:
    data = json.loads(path.read_text())
    return [(int(s), int(c)) for s, c in data["samples"]]


def tsc_at_offsets(serial: bytes, offsets: list[int]) -> list[int]:
    """For each offset (ascending), the largest TSC of the records in the frames that
    end at or before it (0 before the first)."""
    from decoder.reader import FrameReader, iter_pieces
    import io
    reader = FrameReader()
    out: list[int] = []
    best = 0
    queries = iter(offsets)
    want = next(queries, None)
    for offset, piece, first, terminated in iter_pieces(io.BytesIO(serial)):
        end = offset + len(piece) + terminated
        while want is not None and want < end:
            out.append(best)
            want = next(queries, None)
        _, items = reader.decode(offset, piece, first, terminated)
        for it in items:
            if type(it).__name__ == "Record":
                best = max(best, it[0])
    while want is not None:
        out.append(best)
        want = next(queries, None)
    return out


def place_lines(console: bytes, samples: list[tuple[int, int]], tscs: list[int]) -> list[tuple[int, str]]:
    """(TSC, line) for every console line: the TSC of the first sample that saw it
    whole; a line after the last sample gets the last sample's TSC."""
    seen_at = [c for _, c in samples]
    out: list[tuple[int, str]] = []
    start = 0
    for raw in console.split(b"\n"):
        end = start + len(raw) + 1
        text = raw.decode("utf-8", "backslashreplace").rstrip("\r")
        if raw or end <= len(console):
            i = bisect.bisect_left(seen_at, min(end, len(console)))
            tsc = tscs[i] if i < len(tscs) else (tscs[-1] if tscs else 0)
            if text:
                out.append((tsc, text))
        start = end
    return out


def merge(items: Iterable[Any], lines: list[tuple[int, str]]) -> list[tuple[int, Any]]:
    """Trace items and console lines in one time order; a line goes after the
    records of its own TSC (it was seen after they were written)."""
    merged: list[tuple[int, int, int, Any]] = [(it[0], 0, k, it) for k, it in enumerate(items)]
    merged += [(tsc, 1, k, line) for k, (tsc, line) in enumerate(lines)]
    merged.sort(key=lambda m: (m[0], m[1], m[2]))
    return [(m[0], m[3]) for m in merged]


def render_text(items: list[Any], lines: list[tuple[int, str]], out: TextIO) -> None:
    from decoder.records import Loss
    from decoder.symbols import Symbolizer
    from decoder.views.text import record_line
    from decoder.views.timebase import Timebase
    syms = Symbolizer([])
    tb = Timebase()
    index = {id(it): k for k, it in enumerate(items)}
    for it in items:   # the rate comes from the BOOT record, wherever it is
        tb.observe(it)
        if tb.tsc_khz:
            break
    for tsc, what in merge(items, lines):
        if isinstance(what, str):
            out.write(f"{'':>8} {tb.stamp(tsc)} [con] {what}\n")
            continue
        tb.observe(what)
        body = what.describe() if type(what) is Loss else record_line(what, syms)
        cpu = what[1]
        out.write(f"{index[id(what)]:>8d} {tb.stamp(what[0])} [{cpu if cpu is not None else '?':>2}] {body}\n")


def write_views(run_dir: Path, items: list[Any], console: Path, samples: list[tuple[int, int]]) -> dict[str, str]:
    """timeline-console.txt and .html in run_dir; returns {view: path}."""
    from decoder.views.html import render_html
    serial = (run_dir / "serial.bin").read_bytes()
    tscs = tsc_at_offsets(serial, [s for s, _ in samples])
    lines = place_lines(console.read_bytes(), samples, tscs)
    text = run_dir / "timeline-console.txt"
    with text.open("w") as f:
        render_text(items, lines, f)
    page = run_dir / "timeline-console.html"
    with page.open("w") as f:
        render_html(items, f, console=lines, title="Heisenvisor trace and guest console")
    return {"console_text": str(text), "console_html": str(page)}
