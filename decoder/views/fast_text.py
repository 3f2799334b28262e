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

import io
from typing import Any, Callable, Iterable, Iterator

from decoder import cwire
from decoder.defs import EVENT_IDS, EVENTS, EXIT_REASONS, FIELD_NAMES
from decoder.reader import CHUNK
from decoder.records import SHOW_NAMED, TEXT_ID, Item, Record, describe, field_shows
from decoder.views.timebase import Timebase

_formatter: Any = None
# Input bytes per C feed in write_capture: ~0.9 MB of text each (a 1 MiB feed held ~14 MB
# of text twice, as C's buffer and as the str, and peak RSS rose by 30 MiB)
FEED = 64 << 10


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


def write_capture(stream: Any, write: Callable[[str], object], tb: Timebase,
                  python_line: Callable[[int, Item, Timebase], str], fmt: Any) -> None:
    """The text of a whole capture that can be read again (reader.ItemStream with a
    source): decoded, merged and written in C (_cwire.Check in text mode), with no
    Python object per record.  The C merge stops at the first Loss item (its words are
    the Python merge's); from there the capture is decoded again by the stream's own
    batches, the items C wrote skipped, and the rest written by write_batches."""
    cw = cwire.load()
    assert cw is not None

    def fallback(k: int, rec: Item, origin: int | None, khz: int | None) -> tuple[str, int | None, int | None]:
        own = Timebase(khz, origin)
        return python_line(k, rec, own), own.origin, own.tsc_khz

    engine = cw.Check((), stream.lookahead, stream.ncpus or 0, (fmt, Record, describe, fallback))
    source = stream.source
    done = True
    with (io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")) as f:
        while done and (data := f.read(CHUNK)):
            view = memoryview(data)
            # FEED bytes of input at a time: their ~13x in text is all that is held
            for at in range(0, len(data), FEED):
                done = engine.feed(view[at:at + FEED])
                write(engine.take_text())
                if not done:
                    break
    done = done and engine.end()
    write(engine.take_text())
    written, tb.origin, tb.tsc_khz = engine.written()
    if not done:
        write_batches(_skip(stream.batches(), written), write, tb, python_line, fmt, written)


def _skip(batches: Iterable[list[Item]], n: int) -> Iterator[list[Item]]:
    """The batches without their first n items."""
    for items in batches:
        if n >= len(items):
            n -= len(items)
            continue
        yield items[n:] if n else items
        n = 0


def write_batches(batches: Iterable[list[Item]], write: Callable[[str], object], tb: Timebase,
                  python_line: Callable[[int, Item, Timebase], str], fmt: Any, k: int = 0) -> int:
    """Write the lines of every item of the batches, numbered from k; returns the count."""
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
