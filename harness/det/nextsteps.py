"""What to run once a hunt has found a failure: replay it, stop gdb at the record
where the checker's rule broke, bisect it.  Printed after the hunt, so going from
"seed 100001 panicked" to a gdb prompt at the failing event is one paste."""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from elftools.common.exceptions import ELFError

from harness.judge.decoding import DecoderUnavailable, api, is_record, trace_items
from harness.det.gdbat import stop_key_offset

PY = "/usr/bin/python3 -m harness"


def violating_record(serial: Path, rules: str | None = None) -> tuple[int, str] | None:
    """(K, rule): the trace record, counted as `replay --gdb-at-event K` counts (1-based,
    records only), at which the checker's rule broke; None when the trace passes, the
    rule is an end-of-trace one, or it broke on a loss marker rather than a record."""
    items = trace_items(serial)
    try:
        result = api().check(items, rules)
    except Exception as exc:  # the checker's own errors: the hint is dropped, not the hunt
        raise DecoderUnavailable(f"checking {serial}: {type(exc).__name__}: {exc}") from exc
    if result.passed or result.event is None or result.index is None:
        return None
    if not is_record(items[result.index]):
        return None
    # The checker counts every item from 0, losses included; gdb-at-event counts records from 1.
    return sum(map(is_record, items[:result.index + 1])), result.rule


def next_steps(run_dir: Path, verdict: dict[str, Any], bisectable: bool) -> list[str]:
    """Commands (with a comment each) for a deterministic failure in `run_dir`.
    `bisectable`: the hunt ran the scenario file as it is on this checkout's build, so
    `bisect` would run the same thing (it takes no overrides and builds each revision)."""
    run = shlex.quote(str(run_dir))
    steps = [f"{PY} replay {run}   # byte-identical re-run"]
    config = verdict.get("scenario_config") or {}
    try:
        found = violating_record(run_dir / "serial.bin", config.get("rules"))
    except DecoderUnavailable as exc:
        steps.append(f"# no --gdb-at-event hint: {exc}")
        found = None
    if found is not None:
        k, rule = found
        try:
            old_build = stop_key_offset(run_dir / "build" / "hv.elf32") is None
        except (OSError, ELFError):
            old_build = True
        drift = " (a build without the replay stop: at -smp > 1 the stop can drift)" \
            if old_build and int(config.get("smp", 1)) > 1 else ""
        steps.append(f"{PY} replay {run} --gdb-at-event {k}   # gdb where rule {rule!r} "
                     f"broke{drift}")
    if bisectable and not verdict.get("bugs"):
        steps.append(f"{PY} bisect {shlex.quote(str(verdict.get('scenario')))} --good <REV> "
                     f"--bad HEAD --seed {verdict.get('seed')}   # if REV passed it")
    return steps
