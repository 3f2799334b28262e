"""text view: one line per item, either CPU-prefixed or in per-CPU columns."""
from __future__ import annotations

from typing import Iterable, TextIO

from decoder.defs import EVENTS
from decoder.records import Item, Loss, Record, describe, exit_name, format_value
from decoder.symbols import Symbolizer
from decoder.views.timebase import timebase_for
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
    write = out.write
    for k, it in numbered(items):
        tb.observe(it)
        if type(it) is Loss:
            body = it.describe()
        else:
            body = record_line(it, syms)  # type: ignore[arg-type]
        cpu = it[1]
        tag = f"{cpu}" if cpu is not None else "?"
        if columns and cpu is not None:
            body = " " * (width * cpu) + body[:width - 1]
        write(f"{k:>8d} {tb.stamp(it[0])} [{tag:>2}] {body}\n")
