"""perfetto view: Chrome trace-event JSON (chrome://tracing, ui.perfetto.dev), or
with format="proto" Perfetto's own protobuf trace (decoder/views/pftrace.py).

The events are decoder/views/trace_events.py's: one thread per CPU, intercepts and
host exceptions as B/E slices, quiesce participation as async slices (cat
"quiesce", one id per epoch and CPU), everything else and loss as instant events.
Written as it streams; ts in microseconds from the BOOT record's tsc_khz (1 GHz
assumed without one).
"""
from __future__ import annotations

import json
from typing import Iterable, TextIO

from decoder.records import Item
from decoder.views.timebase import timebase_for
from decoder.views.trace_events import Event, events, observed

PID = 1
FORMATS = ("json", "proto")


def _json(e: Event, ts: float) -> dict:
    d: dict = {"ph": e.ph}
    if e.ph == "i":
        d["s"] = e.scope
    d.update(pid=PID, tid=e.tid, ts=ts)
    if e.name:
        d["name"] = e.name
    if e.cat:
        d["cat"] = e.cat
    if e.id:
        d["id"] = e.id
    if e.args is not None:
        d["args"] = e.args
    return d


def render_perfetto(items: Iterable[Item], out: TextIO, format: str = "json", **_: object) -> None:
    if format == "proto":
        from decoder.views.pftrace import render_pftrace
        render_pftrace(items, out)
        return
    if format != "json":
        raise ValueError(f"perfetto: format={format!r}, expected one of {FORMATS}")
    tb = timebase_for(items)
    write = out.write
    write('{"displayTimeUnit":"ns","traceEvents":[\n')
    write(json.dumps({"ph": "M", "pid": PID, "name": "process_name", "args": {"name": "Heisenvisor"}},
                     separators=(",", ":")))
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    for e in events(observed(items, tb)):
        if e.ph == "T":
            write(",\n" + dumps({"ph": "M", "pid": PID, "tid": e.tid, "name": "thread_name", "args": {"name": e.name}}))
            write(",\n" + dumps({"ph": "M", "pid": PID, "tid": e.tid, "name": "thread_sort_index",
                                 "args": {"sort_index": e.tid}}))
            continue
        write(",\n" + dumps(_json(e, tb.micros(e.tsc))))
    write("\n]}\n")
