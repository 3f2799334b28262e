"""TSC -> time, from the BOOT record's tsc_khz (raw ticks until one is seen)."""
from __future__ import annotations

from typing import Iterable

from decoder.defs import EVENT_IDS
from decoder.records import Item, Record

BOOT_ID = EVENT_IDS["BOOT"]


class Timebase:
    def __init__(self, tsc_khz: int | None = None, origin: int | None = None) -> None:
        self.tsc_khz = tsc_khz
        self.origin = origin

    def observe(self, item: Item) -> None:
        if self.origin is None:
            self.origin = item[0]
        if type(item) is Record and item.type == BOOT_ID and item.args[1] and self.tsc_khz is None:
            self.tsc_khz = int(item.args[1])
            self.origin = item.tsc

    def seconds(self, tsc: int) -> float | None:
        if not self.tsc_khz or self.origin is None:
            return None
        return (tsc - self.origin) / (self.tsc_khz * 1000.0)

    def micros(self, tsc: int) -> float:
        """Microseconds since the origin (1 tick = 1 ns assumed without tsc_khz)."""
        origin = self.origin if self.origin is not None else 0
        khz = self.tsc_khz or 1_000_000
        return (tsc - origin) * 1000.0 / khz

    def stamp(self, tsc: int) -> str:
        s = self.seconds(tsc)
        return f"{s:14.9f}" if s is not None else f"{tsc:>14d}"


def timebase_for(items: Iterable[Item]) -> Timebase:
    """The time base a view should use: a filtered stream's own (decoder/window.py),
    which has seen the BOOT record even when the filter left it out, else a fresh one.
    Observing an item twice changes nothing, so the view may keep observing."""
    own = getattr(items, "timebase", None)
    return own if isinstance(own, Timebase) else Timebase()
