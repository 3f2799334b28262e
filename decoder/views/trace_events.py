"""What the perfetto views show, independent of the file format: one stream of
slice/instant events per CPU, built once so the JSON and the protobuf traces
cannot disagree about a single event.

Per CPU: intercepts and host exceptions are slices (an ENTER with a slice still
open closes it first, so every output stays balanced even when the trace is not);
quiesce participation is a slice of its own (ph b/e: an async slice in JSON, a
separate track in protobuf), from REQUEST or ACK to END or RESUME of the same
epoch; everything else, loss included, is an instant event.
"""
from __future__ import annotations

from typing import Iterable, Iterator, NamedTuple

from decoder.records import Item, Loss, Record, describe, exit_name
from decoder.views.labels import label
from decoder.views.timebase import Timebase

WIRE = 999   # the track of loss no CPU can be named for
_SPANS = {"INTERCEPT_ENTER": "INTERCEPT_LEAVE", "EXCEPTION_ENTER": "EXCEPTION_LEAVE"}
_CLOSERS = {v: k for k, v in _SPANS.items()}
_Q_OPEN = {"QUIESCE_REQUEST", "QUIESCE_ACK"}
_Q_CLOSE = {"QUIESCE_END", "QUIESCE_RESUME"}


class Event(NamedTuple):
    """ph: T (a track's first appearance: name it), B/E (slice), b/e (quiesce
    slice, id names it), i (instant; scope "g" when no CPU owns it)."""
    ph: str
    tid: int
    tsc: int
    name: str = ""
    cat: str = ""
    args: dict | None = None
    id: str = ""
    scope: str = "t"


def track_name(tid: int) -> str:
    return "wire" if tid == WIRE else f"CPU {tid}"


def events(items: Iterable[Item]) -> Iterator[Event]:
    seen: set[int] = set()
    stack: dict[int, list[str]] = {}
    quiesce: dict[int, int] = {}
    last = 0
    for it in items:
        tsc = it[0]
        last = max(last, tsc)
        cpu = it[1]
        tid = cpu if cpu is not None else WIRE
        if tid not in seen:
            seen.add(tid)
            yield Event("T", tid, tsc, track_name(tid))
        if type(it) is Loss:
            yield Event("i", tid, tsc, f"LOSS {it.kind}", "loss",
                        {"count": it.count, "unit": it.unit, "detail": it.detail}, scope="t" if cpu is not None else "g")
            continue
        rec: Record = it  # type: ignore[assignment]
        n = rec.name
        opened = stack.setdefault(tid, [])
        if n in _SPANS:
            if opened and opened[-1] == n:
                yield Event("E", tid, tsc, args={"note": "no LEAVE before next ENTER"})
                opened.pop()
            name = f"exit {exit_name(rec.args[0])}" if n == "INTERCEPT_ENTER" else f"exception {rec.args[0]}"
            yield Event("B", tid, tsc, name, n.split("_")[0].lower(), {"record": describe(rec)})
            opened.append(n)
        elif n in _CLOSERS:
            if _CLOSERS[n] in opened:
                while opened:
                    yield Event("E", tid, tsc)
                    if opened.pop() == _CLOSERS[n]:
                        break
            else:
                yield Event("i", tid, tsc, f"{n} without ENTER", "anomaly")
        elif n in _Q_OPEN:
            quiesce[tid] = rec.args[0]
            yield Event("b", tid, tsc, f"quiesce #{rec.args[0]} cpu {tid}", "quiesce", id=f"q{rec.args[0]}.{tid}")
        elif n in _Q_CLOSE and quiesce.get(tid) == rec.args[0]:
            del quiesce[tid]
            yield Event("e", tid, tsc, f"quiesce #{rec.args[0]} cpu {tid}", "quiesce", id=f"q{rec.args[0]}.{tid}")
        else:
            yield Event("i", tid, tsc, label(rec), n.lower(), {"record": describe(rec)})
    for tid, opened in stack.items():
        for _ in opened:
            yield Event("E", tid, last, args={"note": "still open at end of trace"})
    for tid, epoch in quiesce.items():
        yield Event("e", tid, last, f"quiesce #{epoch} cpu {tid}", "quiesce", id=f"q{epoch}.{tid}")


def observed(items: Iterable[Item], tb: Timebase) -> Iterator[Item]:
    """items, each shown to tb first: the time base is current when its events come out."""
    for it in items:
        tb.observe(it)
        yield it
