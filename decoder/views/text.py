"""text view: one line per item, either CPU-prefixed or in per-CPU columns."""
from __future__ import annotations

from typing import Iterable, TextIO

from decoder.defs import EVENTS
from decoder.records import Item, Loss, Record, describe, exit_name, format_value
from decoder.symbols import Symbolizer
from decoder.views import fast_text
from decoder.views.timebase import Timebase, timebase_for
from decoder.numbering import numbered


def record_line(rec: Record, syms: Symbolizer | None) -> str:
    if syms is None or not len(syms):
        return describe(rec)
    ev = EVENTS.get(rec.type)
    if ev is None or rec.name == "TEXT":
        return describe(rec)
    parts = [ev.name]
    for (fname, enc), value in zip(ev.fields, rec.args):
        if enc == "rip":
            shown = syms.format(value)
        elif fname == "reason" and ev.name.startswith("INTERCEPT"):
            shown = f"{value:#x}({exit_name(value)})"
        else:
            shown = format_value(enc, value)
        parts.append(f"{fname}={shown}")
    return " ".join(parts)


def render_text(items: Iterable[Item], out: TextIO, columns: bool = False, width: int = 44,
                elf: list[str] | None = None, ncpus: int | None = None, **_: object) -> None:
    """Lines 'index time cpu event'; columns=True indents each CPU into its own column."""
    syms = Symbolizer(elf or [])
    tb = timebase_for(items)
    fmt = fast_text.formatter() if not columns and not len(syms) else None
    line = lambda k, it, t: _line(k, it, t, syms, False, width)  # noqa: E731
    if fmt is not None and getattr(items, "source", None) is not None:
        # A whole capture: decoded, merged and written in C (decoder/views/fast_text.py)
        fast_text.write_capture(items, out.write, tb, line, fmt)
        return
    batches = fast_text.batches_of(items) if fmt is not None else None
    if batches is not None:
        # A whole unfiltered stream: C writes the lines of the merged batches
        fast_text.write_batches(batches, out.write, tb, line, fmt)
        return
    write = out.write
    for k, it in numbered(items):
        write(_line(k, it, tb, syms, columns, width))


def _line(k: int, it: Item, tb: Timebase, syms: Symbolizer, columns: bool, width: int) -> str:
    """One item's line (the reference: the C formatter's output must equal it)."""
    tb.observe(it)
    if type(it) is Loss:
        body = it.describe()
    else:
        body = record_line(it, syms)  # type: ignore[arg-type]
    cpu = it[1]
    tag = f"{cpu}" if cpu is not None else "?"
    if columns and cpu is not None:
        body = " " * (width * cpu) + body[:width - 1]
    return f"{k:>8d} {tb.stamp(it[0])} [{tag:>2}] {body}\n"
