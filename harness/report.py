"""What a person sees at the end of a run: a short rich summary."""
from __future__ import annotations

from typing import Any, Iterable

from rich.console import Console
from rich.table import Table

from harness.judge.run import RunResult

STYLE = {"pass": "bold green", "fail": "bold red", "panic": "bold red", "hang": "bold magenta",
         "reset": "bold red", "timeout": "bold yellow", "qemu died": "bold red",
         "interrupted": "yellow", "error": "bold red", "incomplete": "yellow"}


def _total(value: Any) -> Any:
    if isinstance(value, dict):
        return sum(v for v in value.values() if isinstance(v, (int, float)))
    return value


# Short titles: the table must fit an 80-column CI log.
NMI_COLUMNS = [("host", "nmi"), ("injected", "inj"), ("merged", "merged"),
               ("guest_received", "g.rcv"), ("guest_nested", "nest")]


def _summary_table(summary: Any) -> Table | None:
    """decoder.api.summary() as one compact row per CPU (nested counts summed)."""
    if not isinstance(summary, dict):
        return None
    cpus = summary.get("cpus")
    if not isinstance(cpus, dict) or not cpus or \
            not all(isinstance(v, dict) for v in cpus.values()):
        table = Table(title="trace summary", show_header=False)
        for key, value in summary.items():
            table.add_row(str(key), str(value))
        return table
    table = Table(title="per-CPU summary")
    for title in ["cpu", "recs", "exits", "ex/s", *(t for _, t in NMI_COLUMNS), "loss"]:
        table.add_column(title, justify="right")
    for cpu, row in sorted(cpus.items(), key=lambda kv: str(kv[0])):
        nmi = row.get("nmi") if isinstance(row.get("nmi"), dict) else {}
        rate = row.get("exits_per_s")
        table.add_row(str(cpu), str(_total(row.get("events", ""))), str(row.get("exits", "")),
                      f"{rate:.0f}" if isinstance(rate, (int, float)) else "-",
                      *(str(nmi.get(key, "-")) for key, _ in NMI_COLUMNS),
                      str(_total(row.get("loss", "")) or 0))
    unattributed = summary.get("unattributed_loss")
    if unattributed:
        table.caption = f"loss not attributable to a CPU: {unattributed}"
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
    gexit = v.get("guest_exit")
    if isinstance(gexit, dict):
        code = gexit.get("code")
        console.print(f"  guest exit code: {'none' if code is None else hex(code)}"
                      f" (expected {hex(gexit.get('expected') or 0)})")
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
        boot = (trace.get("summary") or {}).get("all_guests_running_s")
        if boot is not None:
            console.print(f"  all guests running {boot:.3f} s after QEMU start (guest TSC / PIT-measured rate)")
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
            console.print(f"  {r.outcome}: seed {r.seed} -> {r.run_dir}")
