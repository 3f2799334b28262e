"""html --dir DIR: the timeline for a trace of any size, as a directory.

    DIR/index.html     the page (views/timeline.html) and its script (views/timeline.js)
    DIR/overview.js    what the first screen needs: CPUs, time base, the chunk table,
                       the whole trace's density per CPU (density.Doubling)
    DIR/sums/gNNNN.js  a finer density: each chunk's span in SUM_BUCKETS buckets,
                       GROUP_CHUNKS chunks to a file
    DIR/chunks/cNNNNN.js  the records themselves, CHUNK_ITEMS consecutive items each

Three levels of detail, so the page never holds more than a few chunks: the whole
trace's density, the chunks' finer densities, the records.  Every file is a script
calling HV.<kind>(...) (JSONP): a page opened from file:// may load scripts but may
not fetch() files.  Written in one streaming pass: memory holds one chunk and one
group of densities, whatever the trace's length.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Iterable, TextIO

from decoder.defs import EVENT_IDS, EVENTS, EXIT_REASONS
from decoder.errors import InputError
from decoder.numbering import numbered
from decoder.records import Item, Loss, Record
from decoder.views.density import ITEMS, LOSS, NMIS, Doubling, fixed
from decoder.views.stats import NOT_DATA_LOSS
from decoder.views.timebase import timebase_for

CHUNK_ITEMS = 20_000
SUM_BUCKETS = 128
GROUP_CHUNKS = 64
OVERVIEW_BUCKETS = 2048
UNKNOWN_CPU = -1
_JS_EXACT = 1 << 53            # larger integers (RIPs) travel as hex strings
_NMI = EVENT_IDS["HOST_NMI"]
_BOOT = EVENT_IDS["BOOT"]
_ASSETS = Path(__file__).resolve().parent
_MARK = "overview.js"          # what makes a directory ours to overwrite


def _arg(v: object) -> object:
    if type(v) is int:
        return v if -_JS_EXACT < v < _JS_EXACT else hex(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "backslashreplace")
    return v


def _js(call: str, *args: object) -> str:
    return f"HV.{call}(" + ",".join(json.dumps(a, separators=(",", ":")) for a in args) + ");\n"


def _prepare(root: Path) -> None:
    if root.exists() and (not root.is_dir() or (any(root.iterdir()) and not (root / _MARK).exists())):
        raise InputError(f"html --dir {root}: exists and is not an (empty or) timeline directory; "
                         "refusing to overwrite it")
    try:
        for sub in ("chunks", "sums"):
            shutil.rmtree(root / sub, ignore_errors=True)
            (root / sub).mkdir(parents=True)
    except OSError as e:
        raise InputError(f"html --dir {root}: cannot create it ({e.strerror or e})") from None


class _Writer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.chunks: list[list[int]] = []    # [t_min, t_max, items, first index] per chunk
        self.group: list[dict] = []

    def chunk(self, rows: list[list], points: list[tuple[int, int, int]]) -> None:
        cid = len(self.chunks)
        times = [p[1] for p in points]
        lo, hi = min(times), max(times)
        self.chunks.append([lo, hi, len(rows), rows[0][0]])
        (self.root / "chunks" / f"c{cid:05d}.js").write_text(_js("chunk", cid, rows), encoding="utf-8")
        dens = fixed(points, lo, hi, SUM_BUCKETS)
        self.group.append({str(c): r for c, r in dens.items()})
        if len(self.group) == GROUP_CHUNKS:
            self.flush_group()

    def flush_group(self) -> None:
        if self.group:
            gid = (len(self.chunks) - 1) // GROUP_CHUNKS
            (self.root / "sums" / f"g{gid:04d}.js").write_text(_js("sums", gid, self.group), encoding="utf-8")
            self.group = []


def render_timeline_dir(items: Iterable[Item], out: TextIO, root: str, title: str = "Heisenvisor trace",
                        **_: object) -> None:
    base = Path(root)
    _prepare(base)
    tb = timebase_for(items)
    w = _Writer(base)
    hist: Doubling | None = None
    t0: int | None = None
    boot: int | None = None
    prev = 0
    rows: list[list] = []
    points: list[tuple[int, int, int]] = []
    totals = {"items": 0, "records": 0, "loss": 0}
    cpus: set[int] = set()
    for k, it in numbered(items):
        tb.observe(it)
        tsc = it[0] or prev           # a loss of unknown time: where the stream is
        if t0 is None:
            t0 = tsc
            hist = Doubling(t0, OVERVIEW_BUCKETS)
        prev = tsc
        t = tsc - t0
        cpu = it[1] if it[1] is not None else UNKNOWN_CPU
        totals["items"] += 1
        assert hist is not None
        if type(it) is Loss:
            totals["loss"] += 1
            kind = ITEMS if it.kind in NOT_DATA_LOSS else LOSS
            rows.append([k, t, cpu, -1, it.kind, it.count, it.unit, it.detail])
            points.append((cpu, t, kind))
            hist.add(cpu, tsc, kind)
        else:
            rec: Record = it  # type: ignore[assignment]
            totals["records"] += 1
            cpus.add(cpu)
            if rec.type == _BOOT and boot is None:
                boot = rec.tsc
            rows.append([k, t, cpu, rec.type, *map(_arg, rec.args)])
            points.append((cpu, t, ITEMS))
            hist.add(cpu, tsc, ITEMS)
            if rec.type == _NMI:
                points.append((cpu, t, NMIS))
                hist.add(cpu, tsc, NMIS)
        if len(rows) == CHUNK_ITEMS:
            w.chunk(rows, points)
            rows, points = [], []
    if rows:
        w.chunk(rows, points)
    w.flush_group()
    used = hist.used() if hist else 0
    meta = {
        "title": title, "cpus": sorted(cpus), "tsc_khz": tb.tsc_khz,
        "boot": (boot - t0) if boot is not None and t0 is not None else None,
        "totals": totals, "chunks": w.chunks, "group_chunks": GROUP_CHUNKS, "sum_buckets": SUM_BUCKETS,
        "overview": {"width": hist.width if hist else 1, "buckets": used,
                     "rows": {str(c): [r[i][:used] for i in range(3)] for c, r in (hist.rows.items() if hist else ())}},
        "events": {str(e.id): [e.name, [f for f, _ in e.fields]] for e in EVENTS.values()},
        "exits": {str(k): v for k, v in EXIT_REASONS.get("svm", {}).items()},
    }
    (base / "overview.js").write_text(_js("overview", meta), encoding="utf-8")
    shutil.copyfile(_ASSETS / "timeline.js", base / "timeline.js")
    page = (_ASSETS / "timeline.html").read_text(encoding="utf-8")
    (base / "index.html").write_text(page.replace("{title}", json.dumps(title)[1:-1].replace("<", "&lt;")),
                                     encoding="utf-8")
    out.write(f"{base / 'index.html'}: {totals['items']} items ({totals['records']} records, "
              f"{totals['loss']} loss) in {len(w.chunks)} chunks\n")
