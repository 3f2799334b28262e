"""perfetto view: Chrome trace-event JSON (chrome://tracing, ui.perfetto.dev).

One thread per CPU: intercepts and host exceptions as B/E slices (an ENTER
with a slice still open closes it first, so the JSON stays balanced even when
the trace is not), quiesce participation as async slices (cat "quiesce",
one id per epoch and CPU), NMIs, injections, hypercalls and guest events as
instant events, loss as instant events named "LOSS <kind>".  Written as it
streams; ts in microseconds from the BOOT record's tsc_khz (1 GHz assumed
without one).
"""
from __future__ import annotations

import json
from typing import Iterable, TextIO

from decoder.records import Item, Loss, Record, describe, exit_name
from decoder.views.labels import label
from decoder.views.timebase import timebase_for

PID = 1
_SPANS = {"INTERCEPT_ENTER": "INTERCEPT_LEAVE", "EXCEPTION_ENTER": "EXCEPTION_LEAVE"}
_CLOSERS = {v: k for k, v in _SPANS.items()}
_Q_OPEN = {"QUIESCE_REQUEST", "QUIESCE_ACK"}
_Q_CLOSE = {"QUIESCE_END", "QUIESCE_RESUME"}


class _Writer:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.first = True

    def ev(self, **e: object) -> None:
        self.out.write(("" if self.first else ",\n") + json.dumps(e, separators=(",", ":")))
        self.first = False


def render_perfetto(items: Iterable[Item], out: TextIO, **_: object) -> None:
    w = _Writer(out)
    out.write('{"displayTimeUnit":"ns","traceEvents":[\n')
    w.ev(ph="M", pid=PID, name="process_name", args={"name": "Heisenvisor"})
    tb = timebase_for(items)
    seen: set[int] = set()
    stack: dict[int, list[str]] = {}
    quiesce: dict[int, int] = {}
    last_ts = 0.0
    for it in items:
        tb.observe(it)
        ts = tb.micros(it[0])
        last_ts = max(last_ts, ts)
        cpu = it[1]
        tid = cpu if cpu is not None else 999
        if tid not in seen:
            seen.add(tid)
            w.ev(ph="M", pid=PID, tid=tid, name="thread_name", args={"name": f"CPU {cpu}" if cpu is not None else "wire"})
            w.ev(ph="M", pid=PID, tid=tid, name="thread_sort_index", args={"sort_index": tid})
        if type(it) is Loss:
            w.ev(ph="i", s="t" if cpu is not None else "g", pid=PID, tid=tid, ts=ts, name=f"LOSS {it.kind}",
                 cat="loss", args={"count": it.count, "unit": it.unit, "detail": it.detail})
            continue
        rec: Record = it  # type: ignore[assignment]
        n = rec.name
        opened = stack.setdefault(tid, [])
        if n in _SPANS:
            if opened and opened[-1] == n:
                w.ev(ph="E", pid=PID, tid=tid, ts=ts, args={"note": "no LEAVE before next ENTER"})
                opened.pop()
            name = f"exit {exit_name(rec.args[0])}" if n == "INTERCEPT_ENTER" else f"exception {rec.args[0]}"
            w.ev(ph="B", pid=PID, tid=tid, ts=ts, name=name, cat=n.split("_")[0].lower(),
                 args={"record": describe(rec)})
            opened.append(n)
        elif n in _CLOSERS:
            if _CLOSERS[n] in opened:
                while opened:
                    w.ev(ph="E", pid=PID, tid=tid, ts=ts)
                    if opened.pop() == _CLOSERS[n]:
                        break
            else:
                w.ev(ph="i", s="t", pid=PID, tid=tid, ts=ts, name=f"{n} without ENTER", cat="anomaly")
        elif n in _Q_OPEN:
            quiesce[tid] = rec.args[0]
            w.ev(ph="b", pid=PID, tid=tid, ts=ts, cat="quiesce", id=f"q{rec.args[0]}.{tid}",
                 name=f"quiesce #{rec.args[0]} cpu {tid}")
        elif n in _Q_CLOSE and quiesce.get(tid) == rec.args[0]:
            del quiesce[tid]
            w.ev(ph="e", pid=PID, tid=tid, ts=ts, cat="quiesce", id=f"q{rec.args[0]}.{tid}",
                 name=f"quiesce #{rec.args[0]} cpu {tid}")
        else:
            w.ev(ph="i", s="t", pid=PID, tid=tid, ts=ts, name=label(rec), cat=n.lower(),
                 args={"record": describe(rec)})
    for tid, opened in stack.items():
        for _ in opened:
            w.ev(ph="E", pid=PID, tid=tid, ts=last_ts, args={"note": "still open at end of trace"})
    for tid, epoch in quiesce.items():
        w.ev(ph="e", pid=PID, tid=tid, ts=last_ts, cat="quiesce", id=f"q{epoch}.{tid}",
             name=f"quiesce #{epoch} cpu {tid}")
    out.write("\n]}\n")
