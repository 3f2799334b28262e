"""Per-CPU event density in time buckets, for the timeline's overview levels.

Two shapes.  `Doubling`: the whole trace in at most 2n buckets when its length is
not known in advance (a stream): buckets start one tick wide and, when an item
falls past the last, neighbours merge pairwise and the width doubles, so memory
stays constant and every bucket has the same width.  `fixed()`: a span already
known (one chunk of records) in exactly n buckets.

Each bucket counts three things per CPU: items, host NMIs (drawn as markers at
every zoom, the events the project is about) and loss items (never averaged
away: a bucket with any loss is drawn as loss).
"""
from __future__ import annotations

from typing import Iterable

ITEMS, NMIS, LOSS = 0, 1, 2
KINDS = 3
Row = list[list[int]]   # [kind][bucket]


class Doubling:
    def __init__(self, t0: int, n: int) -> None:
        self.t0, self.n, self.width = t0, n, 1
        self.rows: dict[int, Row] = {}

    def add(self, cpu: int, tsc: int, kind: int) -> None:
        b = (tsc - self.t0) // self.width if tsc > self.t0 else 0
        while b >= 2 * self.n:
            self._coarsen()
            b = (tsc - self.t0) // self.width
        row = self.rows.get(cpu)
        if row is None:
            row = self.rows[cpu] = [[0] * (2 * self.n) for _ in range(KINDS)]
        row[kind][b] += 1

    def _coarsen(self) -> None:
        for row in self.rows.values():
            for k, counts in enumerate(row):
                merged = [counts[i] + counts[i + 1] for i in range(0, len(counts), 2)]
                row[k] = merged + [0] * (len(counts) - len(merged))
        self.width *= 2

    def used(self) -> int:
        """Buckets up to the last non-empty one (what is worth writing)."""
        last = 0
        for row in self.rows.values():
            for counts in row:
                nz = [i for i, c in enumerate(counts) if c]
                if nz:
                    last = max(last, nz[-1] + 1)
        return last


def fixed(points: Iterable[tuple[int, int, int]], t0: int, t1: int, n: int) -> dict[int, Row]:
    """(cpu, tsc, kind) points of [t0, t1] in n equal buckets per CPU."""
    span = max(t1 - t0, 1)
    rows: dict[int, Row] = {}
    for cpu, tsc, kind in points:
        row = rows.get(cpu)
        if row is None:
            row = rows[cpu] = [[0] * n for _ in range(KINDS)]
        b = (tsc - t0) * n // span if tsc > t0 else 0
        row[kind][min(b, n - 1)] += 1
    return rows
