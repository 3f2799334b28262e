"""Merge per-CPU item runs into one stream ordered by TSC, with bounded lookahead.

Frames reach the serial port in per-CPU batches, so a record of CPU 1 can
arrive long after later-stamped records of CPU 0.  An item is released once
every CPU the merge waits for has delivered something at or past its TSC (the
watermark), or when more than `lookahead` items are held (then the oldest are
released anyway and anything older arriving afterwards is reported as 'late').
Each CPU's own items keep ring order: per-CPU runs are non-decreasing in TSC
(a CPU whose TSC goes backwards forces a full flush first) and the sort that
interleaves them is stable.
"""
from __future__ import annotations

from bisect import bisect_right
from operator import itemgetter

from decoder.records import Item, Loss

DEFAULT_LOOKAHEAD = 1 << 16
_tsc = itemgetter(0)


class Merger:
    def __init__(self, lookahead: int = DEFAULT_LOOKAHEAD) -> None:
        if lookahead < 2:
            raise ValueError(f"lookahead must be >= 2, got {lookahead}")
        self.lookahead = lookahead
        self.pending: dict[int, list[Item]] = {}
        self.high: dict[int, int] = {}
        self.expected: set[int] = set()
        self.held = 0
        self.released_tsc = -1
        self.late = 0
        self.order: list[int] = []  # pending's CPUs, sorted: ties go to the lower CPU

    def expect_cpus(self, ncpus: int) -> None:
        """CPUs the watermark waits for even before they say anything (BOOT ncpus).

        A frame's CPU is one byte: past 256, one CPU that can never speak stands for
        all the rest (a BOOT record saying 2^64 CPUs must not fill memory)."""
        self.expected = set(range(min(ncpus, 257)))

    def push(self, cpu: int, items: list[Item]) -> list[Item]:
        """Add one CPU's next items (ring order); returns what can be released."""
        if not items:
            return []
        out: list[Item] = []
        run = self.pending.get(cpu)
        if run is None:
            run = self.pending[cpu] = []
        if items[0][0] < self.high.get(cpu, -1):
            out += self._release_all()  # TSC went backwards on this CPU: keep ring order
        run.extend(items)
        self.held += len(items)
        self.high[cpu] = max(self.high.get(cpu, -1), items[-1][0])
        out += self._release_ready()
        return out

    def push_in_order(self, cpu: int, items: list[Item]) -> list[Item]:
        """A run whose TSC goes backwards inside: release everything held, then
        the run in ring order (TSC order cannot be had without breaking it)."""
        out = self._release_all()
        out += items
        top = max(it[0] for it in items)
        self.high[cpu] = max(self.high.get(cpu, -1), top)
        self.released_tsc = max(self.released_tsc, top)
        return out

    def push_unattributed(self, loss: Loss) -> list[Item]:
        """Damage no CPU can be named for: it goes where the stream is now."""
        at = max(self.high.values(), default=0)
        return self.push(-1, [loss._replace(tsc=max(at, self.high.get(-1, 0)))])

    def flush(self) -> list[Item]:
        return self._release_all()

    def _watermark(self) -> int:
        if self.expected and not self.expected.issubset(self.high):
            return -1
        high = self.high
        if -1 in high:
            return min((h for c, h in high.items() if c >= 0), default=-1)
        return min(high.values())

    def _release_ready(self) -> list[Item]:
        wm = self._watermark()
        out = self._release_upto(wm) if wm >= 0 else []
        if self.held > self.lookahead:
            out += self._release_oldest(self.held - self.lookahead // 2)
        return out

    def _release_upto(self, wm: int) -> list[Item]:
        parts: list[Item] = []
        runs = 0
        if len(self.order) != len(self.pending):
            self.order = sorted(self.pending)
        for cpu in self.order:
            run = self.pending[cpu]
            if not run or run[0][0] > wm:
                continue
            k = len(run) if run[-1][0] <= wm else bisect_right(run, wm, key=_tsc)
            parts += run[:k]
            del run[:k]
            runs += 1
        return self._emit(parts, presorted=runs == 1)

    def _release_oldest(self, n: int) -> list[Item]:
        allitems: list[Item] = []
        for cpu in sorted(self.pending):
            allitems += self.pending[cpu]
        allitems.sort(key=_tsc)
        cut = allitems[n - 1][0]
        return self._release_upto(cut)

    def _release_all(self) -> list[Item]:
        parts: list[Item] = []
        for cpu in sorted(self.pending):
            parts += self.pending[cpu]
            self.pending[cpu].clear()
        return self._emit(parts)

    def _emit(self, parts: list[Item], presorted: bool = False) -> list[Item]:
        if not parts:
            return parts
        if not presorted:
            parts.sort(key=_tsc)
        self.held -= len(parts)
        out: list[Item] = parts
        if parts[0][0] < self.released_tsc:
            nlate = bisect_right(parts, self.released_tsc - 1, key=_tsc)
            self.late += nlate
            first = parts[0]
            cpus = {p[1] for p in parts[:nlate]}
            out = [Loss(first[0], cpus.pop() if len(cpus) == 1 else None, "late", nlate, "records", -1,
                        f"TSC {first[0]} arrived after TSC {self.released_tsc} was released "
                        "(raise --lookahead to order them)")] + parts
        self.released_tsc = max(self.released_tsc, parts[-1][0])
        return out
