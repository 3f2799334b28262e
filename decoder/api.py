"""The decoder as a library (used by harness/): the names here are stable.

    items = list(read_records("results/run/serial.bin"))
    result = check(items)            # CheckResult(passed, rule, message, window, counts, error)
    render("text", items, sys.stdout)
    summary(items)                   # per-CPU stats for the run summary
"""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, TextIO

from decoder.check import CheckResult, run_check
from decoder.records import Item, Loss, Record
from decoder.reader import read_items
from decoder.ringdump import DumpError, records_from_ring_dump  # noqa: F401  (re-exported)

__all__ = ["Record", "Loss", "Item", "read_records", "records_from_ring_dump", "check", "CheckResult",
           "render", "summary", "VIEWS", "DumpError"]


def read_records(path_or_bytes: str | Path | bytes | bytearray | BinaryIO, **opts: object) -> Iterator[Item]:
    """Records and Loss items of a serial capture, merged across CPUs by TSC.

    opts: lookahead (merge window in items), ncpus (CPUs to wait for before
    the BOOT record says), merge=False (arrival order).
    """
    source = str(path_or_bytes) if isinstance(path_or_bytes, Path) else path_or_bytes
    return read_items(source, **opts)  # type: ignore[arg-type]


def check(items: Iterable[Item], rules_path: str | Path | None = None,
          input_bytes: int | None = None, time_bounds: bool = True) -> CheckResult:
    """Run the expected-sequence checker (decoder/rules.toml unless rules_path).

    No verdict without evidence: over zero records, or (given input_bytes, the
    capture's size) over more damaged bytes than intact ones, the result has
    passed=False and `error` saying why.  result.evidence names what was used.
    time_bounds=False for a host-timed trace: rules' time bounds (within_ms) are then
    measured but not judged (decoder/rule_kinds.py Context)."""
    return run_check(items, rules_path, input_bytes=input_bytes, time_bounds=time_bounds)


def render(view: str, items: Iterable[Item], out: TextIO, **opts: object) -> None:
    """Write one view (text, tokens, table, html, perfetto, stats) of items to out."""
    from decoder.views import VIEWS
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; expected one of {sorted(VIEWS)}")
    VIEWS[view](items, out, **opts)


def summary(items: Iterable[Item]) -> dict:
    """Per-CPU counts, exits/s, NMI accounting and loss (see decoder.views.stats)."""
    from decoder.views.stats import collect
    return collect(items).as_dict()


VIEWS = ("text", "tokens", "table", "html", "perfetto", "stats")
