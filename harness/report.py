"""What a person sees at the end of a run: a short rich summary."""
from __future__ import annotations

from typing import Any, Iterable

from rich.console import Console
from rich.table import Table

from harness.run import RunResult

STYLE = {"pass": "bold green", "fail": "bold red", "panic": "bold red", "hang": "bold magenta",
         "reset": "bold red", "timeout": "bold yellow", "qemu died": "bold red",
         "interrupted": "yellow", "error": "bold red", "incomplete": "yellow"}


def _summary_table(summary: Any) -> Table | None:
    """The decoder's per-CPU summary as a table, whatever mapping shape it has."""
    if not isinstance(summary, dict) or not summary:
        return None
    rows = summary.get("cpus", summary)
    if isinstance(rows, dict) and all(isinstance(v, dict) for v in rows.values()):
        rows = [{"cpu": k, **v} for k, v in rows.items()]
    if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
        columns: list[str] = []
        for row in rows:
            columns += [c for c in row if c not in columns]
        table = Table(title="per-CPU summary")
        for c in columns:
            table.add_column(str(c))
        for row in rows:
            table.add_row(*(str(row.get(c, "")) for c in columns))
        return table
    table = Table(title="trace summary", show_header=False)
    for key, value in summary.items():
        table.add_row(str(key), str(value))
    return table


def print_run(result: RunResult, console: Console | None = None) -> None:
    console = console or Console()
    v = result.verdict
    outcome = str(v.get("outcome"))
    mark = "PASS" if v.get("passed") else "FAIL"
    console.print(f"[{STYLE.get(outcome, 'bold')}]{mark}[/] {v.get('scenario')} seed={v.get('seed')}"
                  f"  outcome=[{STYLE.get(outcome, 'bold')}]{outcome}[/]"
                  f" (expected {v.get('expected_outcome')})")
    console.print(f"  reason: {v.get('reason')}")
    qemu = v.get("qemu", {})
    nmi = v.get("nmi", {})
    console.print(f"  qemu exit {qemu.get('exit_status')}, {qemu.get('wall_seconds')} s;"
                  f" serial {v.get('serial_bytes')} bytes; NMIs sent {nmi.get('sent', 0)}")
    trace = v.get("trace", {})
    if trace.get("decoded"):
        check = trace.get("check")
        if check is None:
            verdict_text = f"NOT run: {trace.get('check_error')}"
        elif check.get("passed"):
            verdict_text = "passed"
        else:
            verdict_text = f"FAILED rule {check.get('rule')}: {check.get('message')}"
        console.print(f"  trace: {trace.get('records')} records; checker {verdict_text}")
        table = _summary_table(trace.get("summary"))
        if table is not None:
            console.print(table)
        for view, error in trace.get("view_errors", {}).items():
            console.print(f"    [yellow]{view} view not written: {error}[/]")
    else:
        console.print(f"  trace: NOT decoded: {trace.get('reason')}")
    capture = v.get("capture")
    if capture:
        console.print(f"  captured: {', '.join(capture.get('artifacts', []))} in {capture.get('dir')}")
        for step, error in capture.get("errors", {}).items():
            console.print(f"    [yellow]{step}: {error}[/]")
    if v.get("html_timeline"):
        console.print(f"  HTML timeline: {v['html_timeline']}")
    console.print(f"  run dir: {result.run_dir}")


def print_repeats(results: Iterable[RunResult], console: Console | None = None) -> None:
    console = console or Console()
    results = list(results)
    passed = sum(r.passed for r in results)
    by_outcome: dict[str, int] = {}
    for r in results:
        by_outcome[r.outcome] = by_outcome.get(r.outcome, 0) + 1
    detail = ", ".join(f"{k} {n}" for k, n in sorted(by_outcome.items()))
    console.print(f"[bold]{passed}/{len(results)} passed[/] ({detail})")
    for r in results:
        if not r.passed:
            console.print(f"  {r.outcome}: seed {r.verdict.get('seed')} -> {r.run_dir}")
