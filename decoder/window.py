"""The views' common filter: a time range, a set of CPUs, a window of items around
one index.  One streaming pass, constant memory, applied before any view.

Indices stay those of the unfiltered merged stream (the text view's first column),
so an index read off a filtered view means the same item in any other view.

Loss is never hidden by the time range: a Loss item stands for the stretch from
the previous item of its CPU to the Loss itself (where the missing records could
have been), and it passes when that stretch meets [from, to].  A Loss of unknown
CPU passes every CPU filter; a Loss of unknown time (tsc 0: damage no frame header
vouches for) stands for the stretch between its neighbours in the stream.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable, Iterator

from decoder.defs import EVENT_IDS
from decoder.errors import InputError
from decoder.records import Item, Loss, Record
from decoder.views.timebase import Timebase

BOOT_ID = EVENT_IDS["BOOT"]
DEFAULT_CONTEXT = 10
# Unknown-time losses waiting for their next neighbour; past this many (a capture
# of nothing but noise) they are judged as reaching the end of the trace, which can
# show one too many but never hides one.
PENDING_CAP = 4096


class FilterError(InputError):
    """A filter that cannot apply to this trace (a CPU it does not have, an index past its end)."""


@dataclass(frozen=True)
class Window:
    """What to keep.  t_from/t_to are in the text view's time units: seconds since
    BOOT, or raw TSC ticks for items before a BOOT record gives tsc_khz."""
    t_from: float | None = None
    t_to: float | None = None
    cpus: frozenset[int] | None = None
    around: int | None = None
    context: int = DEFAULT_CONTEXT

    @property
    def active(self) -> bool:
        return (self.t_from, self.t_to, self.cpus, self.around) != (None, None, None, None)


class Windowed:
    """items seen through a Window; iterate for the items, numbered() for (index, item)."""

    def __init__(self, items: Iterable[Item], window: Window, ncpus: int | None = None) -> None:
        self.items, self.window, self.ncpus = items, window, ncpus
        self.timebase = Timebase()   # shared with the view: it sees BOOT even when the filter drops it
        _check_cpus(window, ncpus, "--ncpus")

    def __iter__(self) -> Iterator[Item]:
        return (it for _, it in self.numbered())

    def numbered(self) -> Iterator[tuple[int, Item]]:
        read = _Tally(self.items)
        kept = _by_time_and_cpu(read, self.window, self.ncpus, self.timebase)
        if self.window.around is None:
            return kept
        return _around(kept, read, self.window.around, self.window.context)


class _Tally:
    """Counts the items read, so --around can tell a short trace from a sparse filter."""

    def __init__(self, items: Iterable[Item]) -> None:
        self.items, self.n = items, 0

    def __iter__(self) -> Iterator[Item]:
        for it in self.items:
            self.n += 1
            yield it


def apply(items: Iterable[Item], window: Window, ncpus: int | None = None) -> Iterable[Item]:
    return Windowed(items, window, ncpus) if window.active else items


def _check_cpus(window: Window, ncpus: int | None, source: str) -> None:
    if window.cpus is None or not ncpus:
        return
    bad = sorted(c for c in window.cpus if c >= ncpus)
    if bad:
        raise FilterError(f"--cpu {','.join(map(str, bad))}: the trace has {ncpus} CPU(s) "
                          f"(0-{ncpus - 1}, from {source})")


def _by_time_and_cpu(items: Iterable[Item], w: Window, ncpus: int | None,
                     tb: Timebase) -> Iterator[tuple[int, Item]]:
    lo = round(w.t_from, 9) if w.t_from is not None else float("-inf")
    hi = round(w.t_to, 9) if w.t_to is not None else float("inf")
    cpus = w.cpus
    timed = w.t_from is not None or w.t_to is not None
    booted = bool(ncpus)
    seen: set[int] = set()
    last_on_cpu: dict[int | None, int] = {}   # tsc of each CPU's previous item
    now: int | None = None                     # tsc of the stream's previous timed item
    pending: list[tuple[int, Loss]] = []       # unknown-time losses awaiting a neighbour

    def when(tsc: int) -> float:
        # At the text view's resolution (ns), so --to with a printed time keeps that line.
        s = tb.seconds(tsc)
        return round(s, 9) if s is not None else float(tsc)

    def meets(a: float, b: float) -> bool:
        return a <= hi and b >= lo

    def settle(until: float) -> Iterator[tuple[int, Item]]:
        start = when(now) if now is not None else float("-inf")
        for i, loss in pending:
            if meets(start, until):
                yield i, loss
        pending.clear()

    for i, it in enumerate(items):
        tb.observe(it)
        cpu = it[1]
        if type(it) is Record and it.type == BOOT_ID and not booted:
            booted = True
            _check_cpus(w, int(it.args[0]), "its BOOT record")
        if cpu is not None:
            seen.add(cpu)
        wanted = cpus is None or cpu is None or cpu in cpus
        if not timed:
            if wanted:
                yield i, it
            continue
        if type(it) is Loss and it.tsc == 0:
            if wanted:
                pending.append((i, it))
                if len(pending) > PENDING_CAP:
                    yield from settle(float("inf"))
            continue
        t = when(it.tsc)
        if pending:
            yield from settle(t)
        if wanted:
            if type(it) is Loss:
                # The missing records lie between this CPU's previous item and the report.
                prev = now if cpu is None else last_on_cpu.get(cpu)
                if meets(min(when(prev), t) if prev is not None else t, t):
                    yield i, it
            elif lo <= t <= hi:
                yield i, it
        last_on_cpu[cpu] = it.tsc
        now = it.tsc
    yield from settle(float("inf"))
    if cpus is not None and not booted:
        missing = sorted(cpus - seen)
        if missing and seen:
            raise FilterError(f"--cpu {','.join(map(str, missing))}: no such CPU in the trace "
                              f"(no BOOT record; CPUs seen: {','.join(map(str, sorted(seen)))})")


def _around(kept: Iterator[tuple[int, Item]], read: _Tally, k: int,
            context: int) -> Iterator[tuple[int, Item]]:
    """context kept items before index k, the item at k (if kept), context after."""
    before: deque[tuple[int, Item]] = deque(maxlen=context)
    after = 0
    reached = False
    for i, it in kept:
        if i < k:
            before.append((i, it))
            continue
        if not reached:
            reached = True
            yield from before
        if i == k:
            yield i, it
            continue
        if after == context:
            return
        after += 1
        yield i, it
    if not reached:
        if read.n <= k:
            raise FilterError(f"--around {k}: the trace has only {read.n} item(s)")
        yield from before
