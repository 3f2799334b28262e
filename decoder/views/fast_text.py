"""The text view with its lines written in C (_cwire.TextFormat, decoder/native/textfmt.c).

The C formatter gets its tables from the same definitions the Python view uses
(records.field_shows, defs.FIELD_NAMES, defs.EXIT_REASONS, all generated from
trace/events.toml and defs/), never a copy.  It writes whole runs of records and
stops at any item it does not format exactly as the Python view would (a Loss, a
TEXT record, values that are not plain 64-bit ints); that item is written by the
Python view's own line function, and C goes on past it.  So the output is the
Python view's, byte for byte (tests/decoder/test_fast_text.py).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from decoder import cwire
from decoder.defs import EVENT_IDS, EVENTS, EXIT_REASONS, FIELD_NAMES
from decoder.records import SHOW_NAMED, TEXT_ID, Item, Record, field_shows
from decoder.views.timebase import Timebase

_formatter: Any = None


def _tables() -> dict[int, tuple[str, tuple]]:
    events: dict[int, tuple[str, tuple]] = {}
    for ev in EVENTS.values():
        if ev.id == TEXT_ID:
            continue
        fields = []
        for fname, show in field_shows(ev):
            flags, table = FIELD_NAMES.get((ev.name, fname), (False, {})) if show == SHOW_NAMED else (False, {})
            fields.append((fname, show, flags, tuple(table.items())))
        events[ev.id] = (ev.name, tuple(fields))
    return events


def formatter() -> Any:
    """The C formatter, or None without the extension (or with HEISEN_DECODER=python)."""
    global _formatter
    cw = cwire.load()
    if cw is None or not hasattr(cw, "TextFormat"):
        return None
    if _formatter is None:
        _formatter = cw.TextFormat(Record, EVENT_IDS["BOOT"], _tables(),
                                   tuple((name, code) for code, name in EXIT_REASONS.get("svm", {}).items()))
    return _formatter


def batches_of(items: Iterable[Item]) -> Iterable[list[Item]] | None:
    """The lists an unfiltered stream comes in (reader.ItemStream, or a list such as a
    ring dump's), or None for anything else (a filtered stream numbers its own items)."""
    if type(items) is list:
        return [items]
    own = getattr(items, "batches", None)
    return own() if callable(own) else None


def write_batches(batches: Iterable[list[Item]], write: Callable[[str], object], tb: Timebase,
                  python_line: Callable[[int, Item, Timebase], str], fmt: Any) -> int:
    """Write the lines of every item of the batches (numbered from 0); returns the count."""
    k = 0
    for items in batches:
        i, n = 0, len(items)
        while i < n:
            text, stop, tb.origin, tb.tsc_khz = fmt.lines(items, i, k + i, tb.origin, tb.tsc_khz)
            if text:
                write(text)
            if stop < n:
                write(python_line(k + stop, items[stop], tb))
                stop += 1
            i = stop
        k += n
    return k
