"""html view: a self-contained HTML page with an SVG swimlane timeline.

One lane per CPU.  In each lane the upper band holds spans (intercepts
enter->leave in blue, host exceptions in orange), the lower band quiesce
participation (purple: REQUEST->END on the requester, ACK->RESUME on the
others); host NMIs (red), injections (green) and merges (brown) are vertical
markers; loss is a yellow/black hatched gap from the CPU's previous item to
the loss.  Hovering anything shows the record (SVG <title>, no script).  The
page holds at most max_records items starting at item `start`.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from itertools import islice
from typing import Iterable, TextIO

from decoder.numbering import numbered
from decoder.records import Item, Loss, Record, describe
from decoder.views.labels import label
from decoder.views.stats import NOT_DATA_LOSS
from decoder.views.timebase import Timebase, timebase_for

LANE_BG = "#eeeeee"
INTERCEPT = "#3b7dd8"
EXCEPTION = "#f0a030"
QUIESCE = "#9b59b6"
HOST_NMI = "#d62728"
INJECT = "#2ca02c"
MERGED = "#8c564b"
OTHER = "#555555"
LOSS_A, LOSS_B = "#ffd700", "#000000"


@dataclass(frozen=True)
class Geometry:
    """Where things go, in CSS pixels from the page's top-left corner."""
    width: int = 1200
    left: int = 90
    right: int = 20
    top: int = 40
    lane_h: int = 56
    gap: int = 10

    def lane_top(self, cpu: int) -> int:
        return self.top + cpu * (self.lane_h + self.gap)

    def span_band(self, cpu: int) -> tuple[int, int]:
        y = self.lane_top(cpu)
        return y + 4, y + 34

    def quiesce_band(self, cpu: int) -> tuple[int, int]:
        y = self.lane_top(cpu)
        return y + 38, y + self.lane_h - 4

    def x(self, tsc: int, t0: int, t1: int) -> float:
        span = max(t1 - t0, 1)
        return self.left + (tsc - t0) * (self.width - self.left - self.right) / span

    def height(self, ncpus: int) -> int:
        return self.lane_top(ncpus) + 60


def _title(text: str) -> str:
    return f"<title>{html.escape(text)}</title>"


def render_html(items: Iterable[Item], out: TextIO, start: int = 0, max_records: int = 20000,
                width: int = 1200, title: str = "Heisenvisor trace",
                console: list[tuple[int, str]] | None = None, dir: str | None = None, **_: object) -> None:
    """console: (TSC, line) of a guest's console, drawn in a lane below the CPUs'
    (harness/judge/console_timeline.py places the lines).  dir: write the zoomable
    timeline for a trace of any size there instead (views/timeline_dir.py)."""
    if dir is not None:
        from decoder.views.timeline_dir import render_timeline_dir
        render_timeline_dir(items, out, dir, title=title)
        return
    stream = numbered(items)
    window = list(islice(stream, start, start + max_records))
    # One more item says the page is a cut: point at the view that shows all of it.
    more = next(stream, None) is not None
    g = Geometry(width=width)
    tb = timebase_for(items)
    for _, it in window:
        tb.observe(it)
        if tb.tsc_khz:
            break
    cpus = sorted({it[1] for _, it in window if it[1] is not None}) or [0]
    ncpus = cpus[-1] + 1
    lanes = ncpus + (console is not None)
    stamps = [it[0] for _, it in window if it[0]]
    t0, t1 = (min(stamps), max(stamps)) if stamps else (0, 1)
    svg: list[str] = []
    add = svg.append
    h = g.height(lanes)
    for c in range(lanes):
        y = g.lane_top(c)
        add(f'<rect x="{g.left}" y="{y}" width="{g.width - g.left - g.right}" height="{g.lane_h}" fill="{LANE_BG}"/>')
        add(f'<text x="8" y="{y + g.lane_h // 2 + 5}" class="lane">{"console" if c == ncpus else f"CPU {c}"}</text>')
    _axis(add, g, tb, t0, t1, lanes)
    for tsc, line in console or ():
        if t0 <= tsc <= t1:
            x, y = g.x(tsc, t0, t1), g.lane_top(ncpus)
            add(f'<line x1="{x:.1f}" y1="{y + 4}" x2="{x:.1f}" y2="{y + g.lane_h - 4}" stroke="{OTHER}" '
                f'stroke-width="2">{_title(f"console: {line}")}</line>')
    open_span: dict[tuple[int, str], tuple[int, Item]] = {}
    open_q: dict[int, tuple[int, Record]] = {}
    last_tsc: dict[int, int] = {}
    marks: list[str] = []
    for k, it in window:
        cpu = it[1]
        x = g.x(it[0], t0, t1)
        if type(it) is Loss:
            if it.kind in NOT_DATA_LOSS:
                continue
            c = cpu if cpu is not None else 0
            x0 = g.x(last_tsc.get(c, it[0]), t0, t1) if cpu is not None else x - 3
            y = g.lane_top(c)
            add(f'<rect x="{x0:.1f}" y="{y}" width="{max(x - x0, 6):.1f}" height="{g.lane_h}" fill="url(#loss)">'
                f'{_title(f"#{k} {it.describe()}")}</rect>')
            continue
        rec: Record = it  # type: ignore[assignment]
        last_tsc[rec.cpu] = rec.tsc
        n = rec.name
        if n in ("INTERCEPT_ENTER", "EXCEPTION_ENTER"):
            open_span[(rec.cpu, n)] = (k, rec)
        elif n in ("INTERCEPT_LEAVE", "EXCEPTION_LEAVE"):
            key = (rec.cpu, n.replace("LEAVE", "ENTER"))
            if key in open_span:
                k0, r0 = open_span.pop(key)
                colour = INTERCEPT if n.startswith("INTERCEPT") else EXCEPTION
                _span(add, g, g.span_band(rec.cpu), r0[0], rec.tsc, t0, t1, colour,
                      f"#{k0}..#{k} cpu {rec.cpu} {describe(r0)} .. {describe(rec)}")  # type: ignore[arg-type]
        elif n in ("QUIESCE_REQUEST", "QUIESCE_ACK"):
            open_q[rec.cpu] = (k, rec)
        elif n in ("QUIESCE_END", "QUIESCE_RESUME") and rec.cpu in open_q:
            k0, r0 = open_q.pop(rec.cpu)
            _span(add, g, g.quiesce_band(rec.cpu), r0.tsc, rec.tsc, t0, t1, QUIESCE,
                  f"#{k0}..#{k} cpu {rec.cpu} quiesce epoch {r0.args[0]}: {label(r0)} .. {label(rec)}")
        colour = {"HOST_NMI": HOST_NMI, "NMI_INJECT": INJECT, "NMI_MERGED": MERGED}.get(n)
        y0, y1 = g.lane_top(rec.cpu), g.lane_top(rec.cpu) + g.lane_h
        tip = _title(f"#{k} cpu {rec.cpu} {describe(rec)}")
        if colour:
            marks.append(f'<g><line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y1}" stroke="{colour}" stroke-width="3"/>'
                         f'<path d="M{x - 6:.1f},{y0 - 8} L{x + 6:.1f},{y0 - 8} L{x:.1f},{y0} Z" fill="{colour}"/>'
                         f'{tip}</g>')
        elif n == "PANIC":
            marks.append(f'<g><path d="M{x - 8:.1f},{y0} L{x + 8:.1f},{y1} M{x + 8:.1f},{y0} L{x - 8:.1f},{y1}" '
                         f'stroke="{HOST_NMI}" stroke-width="4"/>{tip}</g>')
        elif n not in ("INTERCEPT_ENTER", "INTERCEPT_LEAVE", "EXCEPTION_ENTER", "EXCEPTION_LEAVE"):
            marks.append(f'<line x1="{x:.1f}" y1="{y1 - 10}" x2="{x:.1f}" y2="{y1}" stroke="{OTHER}" '
                         f'stroke-width="1">{tip}</line>')
    end = t1
    for (cpu, n), (k0, r0) in open_span.items():
        _span(add, g, g.span_band(cpu), r0[0], end, t0, t1, INTERCEPT if n.startswith("INTERCEPT") else EXCEPTION,
              f"#{k0} cpu {cpu} {describe(r0)} (no LEAVE in window)")  # type: ignore[arg-type]
    for cpu, (k0, r0) in open_q.items():
        _span(add, g, g.quiesce_band(cpu), r0.tsc, end, t0, t1, QUIESCE, f"#{k0} cpu {cpu} {label(r0)} (open)")
    svg += marks
    _legend(add, g, lanes)
    out.write(_PAGE.format(title=html.escape(title), w=g.width, h=h, body="\n".join(svg),
                           first=window[0][0] if window else start, last=window[-1][0] if window else start - 1,
                           more="; the trace goes on past this page: <code>html --dir</code> shows all of it"
                           if more else "", la=LOSS_A, lb=LOSS_B))


def _span(add, g: Geometry, band: tuple[int, int], a: int, b: int, t0: int, t1: int,  # type: ignore[no-untyped-def]
          colour: str, tip: str) -> None:
    x0, x1 = g.x(a, t0, t1), g.x(b, t0, t1)
    add(f'<rect x="{x0:.1f}" y="{band[0]}" width="{max(x1 - x0, 1.0):.1f}" height="{band[1] - band[0]}" '
        f'fill="{colour}">{_title(tip)}</rect>')


def _axis(add, g: Geometry, tb: Timebase, t0: int, t1: int, ncpus: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(6):
        tsc = t0 + (t1 - t0) * i // 5
        x = g.x(tsc, t0, t1)
        text = _time_label(tb.micros(tsc), tb.micros(t1) - tb.micros(t0)) if tb.tsc_khz else f"tsc {tsc}"
        add(f'<line x1="{x:.1f}" y1="{g.top - 14}" x2="{x:.1f}" y2="{g.top - 10}" stroke="#888"/>')
        add(f'<text x="{x:.1f}" y="{g.top - 20}" class="tick" text-anchor="middle">{html.escape(text)}</text>')


def _time_label(us: float, span_us: float) -> str:
    """The tick label in the unit that makes the window's span readable."""
    for unit, scale in (("s", 1e6), ("ms", 1e3), ("µs", 1.0)):
        if span_us >= 5 * scale:
            return f"{us / scale:.3f} {unit}"
    return f"{us * 1000:.0f} ns"


def _legend(add, g: Geometry, ncpus: int) -> None:  # type: ignore[no-untyped-def]
    y = g.lane_top(ncpus) + 20
    x = g.left
    for name, colour in (("intercept", INTERCEPT), ("host exception", EXCEPTION), ("quiesce", QUIESCE),
                         ("host NMI", HOST_NMI), ("NMI injected", INJECT), ("NMI merged", MERGED),
                         ("loss", "url(#loss)")):
        add(f'<rect x="{x}" y="{y}" width="14" height="14" fill="{colour}"/>'
            f'<text x="{x + 18}" y="{y + 12}" class="tick">{name}</text>')
        x += 130


_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
html, body {{ margin: 0; padding: 0; background: #ffffff; font-family: sans-serif; }}
svg {{ display: block; }}
.lane {{ font-size: 14px; fill: #222; }}
.tick {{ font-size: 11px; fill: #444; }}
</style></head>
<body>
<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">
<defs><pattern id="loss" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
<rect width="8" height="8" fill="{la}"/><rect width="4" height="8" fill="{lb}"/></pattern></defs>
{body}
</svg>
<p style="font-size:11px;color:#666;margin:4px 8px">items {first}..{last}; hover for records{more}</p>
</body></html>
"""
