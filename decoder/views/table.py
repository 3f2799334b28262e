"""table view: XMHF64's markdown execution-sequence tables, one column per CPU.

    |Index|CPU 0|CPU 1|
    |-|-|-|
    |41|VMEXIT VMMCALL||
    |42|quiesce() #3||

Index is the item's position in the merged stream (the `text` view's first
column), so `--around K` and a checker violation point at the same rows.
Windows: around item K, around quiesce epoch E, or (via check) around the
first violation.  Selection streams: only the window is held.
"""
from __future__ import annotations

from collections import deque
from typing import Iterable, TextIO

from decoder.defs import EVENT_IDS
from decoder.records import Item, Record
from decoder.views.markdown import markdown_table
from decoder.numbering import numbered

QUIESCE_IDS = {EVENT_IDS[n] for n in ("QUIESCE_REQUEST", "QUIESCE_ACK", "QUIESCE_BEGIN",
                                       "QUIESCE_END", "QUIESCE_RESUME")}
RESUME_ID = EVENT_IDS["QUIESCE_RESUME"]
BOOT_ID = EVENT_IDS["BOOT"]


def _ncpus(it: Item, current: int) -> int:
    if type(it) is Record and it.type == BOOT_ID:
        return int(it.args[0])
    return current


def window_around(items: Iterable[Item], k: int, context: int = 10) -> tuple[list[tuple[int, Item]], int]:
    """(rows k-context..k+context, ncpus from BOOT if seen)."""
    rows: deque[tuple[int, Item]] = deque(maxlen=context + 1)
    ncpus = 0
    after: list[tuple[int, Item]] = []
    for i, it in numbered(items):
        ncpus = _ncpus(it, ncpus)
        if i <= k:
            rows.append((i, it))
        else:
            after.append((i, it))
            if len(after) >= context:
                break
    return list(rows) + after, ncpus


def _first(items: Iterable[Item], n: int) -> tuple[list[tuple[int, Item]], int]:
    """The first n rows (of a filtered stream: its first n, whatever their indices)."""
    rows: list[tuple[int, Item]] = []
    ncpus = 0
    for i, it in numbered(items):
        ncpus = _ncpus(it, ncpus)
        rows.append((i, it))
        if len(rows) >= n:
            break
    return rows, ncpus


def window_epoch(items: Iterable[Item], epoch: int, context: int = 4,
                 max_rows: int = 400) -> tuple[list[tuple[int, Item]], int]:
    """Rows from `context` items before epoch's first quiesce event to `context` after its last RESUME."""
    before: deque[tuple[int, Item]] = deque(maxlen=context)
    rows: list[tuple[int, Item]] = []
    ncpus = 0
    resumes = 0
    tail = -1
    for i, it in numbered(items):
        ncpus = _ncpus(it, ncpus)
        in_epoch = type(it) is Record and it.type in QUIESCE_IDS and it.args[0] == epoch
        if not rows:
            if in_epoch:
                rows = list(before) + [(i, it)]
            else:
                before.append((i, it))
            continue
        rows.append((i, it))
        if in_epoch and it.type == RESUME_ID:  # type: ignore[union-attr]
            resumes += 1
            if ncpus and resumes >= ncpus - 1:
                tail = context
        elif tail > 0:
            tail -= 1
        if tail == 0 or len(rows) >= max_rows:
            break
    if not rows:
        raise LookupError(f"table: quiesce epoch {epoch} does not occur in the trace")
    return rows, ncpus


def render_table(items: Iterable[Item], out: TextIO, around: int | None = None, epoch: int | None = None,
                 violation: bool = False, context: int = 10, rules: str | None = None, **_: object) -> None:
    if violation:
        from decoder.check import run_check
        result = run_check(items, rules)
        if result.passed:
            out.write("check passed: no violation to show\n")
            return
        out.write(f"first violation: {result.rule}: {result.message}\n\n{result.window}")
        return
    if epoch is not None:
        rows, ncpus = window_epoch(items, epoch, context=min(context, 4))
    elif around is not None:
        rows, ncpus = window_around(items, around, context)
    else:
        rows, ncpus = _first(items, 2 * context + 1)
    out.write(markdown_table(rows, ncpus, mark=around))
