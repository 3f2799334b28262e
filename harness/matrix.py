"""scenarios x guests x smp, printed like XMHF64's results lists."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from harness.judge.run import RunOptions, RunResult, run_scenario
from harness.scenario import Scenario


@dataclass(frozen=True)
class Cell:
    scenario: str
    guest: int
    smp: int


def configs(guests: list[int], smps: list[int]) -> list[tuple[int, int]]:
    return list(itertools.product(guests, smps))


def run_matrix(scenarios: list[Scenario], guests: list[int], smps: list[int],
               opts: RunOptions, iterations: int | None = None,
               console: Console | None = None) -> dict[Cell, RunResult]:
    console = console or Console()
    results: dict[Cell, RunResult] = {}
    for sc in scenarios:
        for guest, smp in configs(guests, smps):
            cell = Cell(sc.name, guest, smp)
            try:
                variant = sc.with_overrides(guest=guest, smp=smp, iterations=iterations)
            except Exception as exc:  # e.g. a per-CPU workload beyond this smp
                console.print(f"[yellow]skip {cell}: {exc}[/]")
                continue
            result = run_scenario(variant, opts)
            results[cell] = result
            console.print(f"{sc.name} guest{guest} smp{smp}: {result.outcome}")
            if result.interrupted:
                return results
    return results


def cell_text(result: RunResult | None) -> str:
    if result is None:
        return "n/a"
    if result.passed:
        return "pass"
    rule = result.rule
    return f"fail ({result.outcome}{', ' + str(rule) if rule else ''})"


def print_matrix(results: dict[Cell, RunResult], scenarios: list[str], guests: list[int],
                 smps: list[int], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title="Heisenvisor matrix")
    table.add_column("scenario")
    cols = configs(guests, smps)
    for guest, smp in cols:
        table.add_column(f"guest{guest} smp{smp}")
    for name in scenarios:
        table.add_row(name, *(cell_text(results.get(Cell(name, g, s))) for g, s in cols))
    console.print(table)
    # XMHF64's notation: one line per configuration listing every test.
    for guest, smp in cols:
        parts = [f"{name} {cell_text(results.get(Cell(name, guest, smp)))}" for name in scenarios]
        console.print(f"* x{'64' if guest == 64 else '86'} guest, smp {smp}: " + ", ".join(parts))
