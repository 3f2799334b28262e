"""`make bench-detect`: deterministic hunting vs the seed's method, bug by bug.

For every bug in defs/bugs.toml: build it (`make BUGS=name`), hunt its
scenario with the same wall-clock budget twice -- deterministic mode
(in-machine seeded NMIs and perturbation) and the seed's method
(multi-threaded TCG, host-timed QMP NMIs as the scenario says) -- and replay
the first failure `replays` times.  Then `runs` deterministic runs of the
correct build across the zoo scenarios, which must all pass.  Long by design;
not part of `make test`.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.build import REPO, build_bugs
from harness.hunt import HuntOptions, HuntResult, hunt
from harness.nmi import NmiPattern
from harness.run import make_run_dir
from harness.scenario import load_named

BUGS_TABLE = REPO / "defs" / "bugs.toml"


def zoo() -> dict[str, dict[str, str]]:
    return tomllib.loads(BUGS_TABLE.read_text())["bug"]


def _cell(out: HuntResult) -> dict[str, Any]:
    f = out.failure
    return {"caught": f is not None, "outcome": f.outcome if f else None,
            "ttf_s": out.time_to_failure_s, "seed": f.verdict.get("seed") if f else None,
            "reproduced": out.reproduced, "replays": len(out.confirmations),
            "seeds_run": out.seeds_run, "run_dir": str(f.run_dir) if f else None}


def _fmt(cell: dict[str, Any]) -> tuple[str, str, str]:
    if not cell["caught"]:
        return "no", "-", "-"
    return (f"yes ({cell['outcome']})", f"{cell['ttf_s']:.1f}s",
            f"{cell['reproduced']}/{cell['replays']}")


SEED_NMI_INTERVAL = 0.1


FLOOR_SCENARIO = "smoke"


def startup_floor(jobs: int, base_seed: int, results: Path, console: Console) -> dict[str, float]:
    """Seconds one passing smoke run (boot, hello on every CPU, exit) takes through the
    same hunt, per method: no failure can be found sooner than a machine boots, so
    seed's time to first failure / deterministic floor bounds any speed-up."""
    floor: dict[str, float] = {}
    for mode, deterministic in (("deterministic", True), ("seed_method", False)):
        res = hunt(load_named(FLOOR_SCENARIO), HuntOptions(
            budget_s=120, jobs=jobs, base_seed=base_seed, build_dir=REPO / "build",
            results_dir=results / mode, deterministic=deterministic, confirm=0,
            max_seeds=1, stop_on_failure=False))
        if res.passed != 1:
            raise SystemExit(f"bench-detect: the {FLOOR_SCENARIO} run ({mode}) did not pass: {res.outcomes}")
        floor[mode] = round(res.elapsed_s, 3)
    console.print(f"startup floor ({FLOOR_SCENARIO}, one passing run): {floor}", highlight=False)
    return floor


def bench(budget: float, runs: int, replays: int, jobs: int, base_seed: int, only: list[str],
          results: Path, console: Console) -> dict[str, Any]:
    out_dir = make_run_dir(results, "bench-detect", base_seed)
    report: dict[str, Any] = {"budget_s": budget, "jobs": jobs, "replays": replays, "bugs": {},
                              "dir": str(out_dir)}
    bugs = {k: v for k, v in zoo().items() if not only or k in only}
    report["floor_s"] = startup_floor(jobs, base_seed, out_dir / "floor", console)
    for name, bug in bugs.items():
        sc = load_named(bug["scenario"])
        build_dir = build_bugs(name)
        row: dict[str, Any] = {"scenario": sc.name, "expected": bug.get("detected_as")}
        # The seed's method, as issue 8 defines it: multi-threaded TCG and QMP
        # inject-nmi every 0.1 s (qemu_inject_nmi.py 4444 0.1), whatever the
        # scenario's own NMI pattern is.
        seed_sc = dataclasses.replace(sc, nmi=NmiPattern(kind="interval", interval=SEED_NMI_INTERVAL))
        for mode, deterministic, hunted in (("deterministic", True, sc), ("seed_method", False, seed_sc)):
            console.print(f"{name}: {mode} hunt of {sc.name} for {budget:g}s", highlight=False)
            res = hunt(hunted, HuntOptions(budget_s=budget, jobs=jobs, base_seed=base_seed,
                                       build_dir=build_dir, results_dir=out_dir / name / mode,
                                       deterministic=deterministic, bugs=name, confirm=replays))
            row[mode] = _cell(res)
        report["bugs"][name] = row
        (out_dir / "bench.json").write_text(json.dumps(report, indent=2) + "\n")

    scenarios = sorted({b["scenario"] for b in zoo().values()})
    correct: dict[str, Any] = {"runs": 0, "failures": 0, "per_scenario": {}}
    per = max(1, runs // len(scenarios))
    for name in scenarios:
        console.print(f"correct build: {per} deterministic runs of {name}", highlight=False)
        res = hunt(load_named(name), HuntOptions(
            budget_s=10 * 3600, jobs=jobs, base_seed=base_seed, build_dir=REPO / "build",
            results_dir=out_dir / "correct" / name, deterministic=True, confirm=0,
            max_seeds=per, stop_on_failure=False))
        failed = res.seeds_run - res.passed
        correct["runs"] += res.seeds_run
        correct["failures"] += failed
        correct["per_scenario"][name] = {"runs": res.seeds_run, "failures": failed,
                                         "outcomes": res.outcomes}
    report["correct"] = correct
    (out_dir / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def print_report(report: dict[str, Any], console: Console) -> None:
    table = Table(title=f"bench-detect: {report['budget_s']:g}s per bug and method, "
                        f"{report['jobs']} jobs, {report['replays']} replays")
    floor = report.get("floor_s", {}).get("deterministic")
    for col in ("bug", "scenario", "det. caught", "det. ttf", "det. repro",
                "seed caught", "seed ttf", "seed repro", "speed-up", "bound"):
        table.add_column(col)
    det_ttfs = []
    for name, row in report["bugs"].items():
        d, s = row["deterministic"], row["seed_method"]
        if d["caught"]:
            det_ttfs.append(d["ttf_s"])
        speed = "-"
        if d["caught"] and s["caught"]:
            speed = f"{s['ttf_s'] / max(d['ttf_s'], 1e-3):.1f}x"
        elif d["caught"]:
            speed = f">{report['budget_s'] / max(d['ttf_s'], 1e-3):.1f}x"
        # The speed-up no deterministic run could beat: the seed's time over one boot.
        bound = f"{(s['ttf_s'] if s['caught'] else report['budget_s']) / floor:.1f}x" if floor else "-"
        table.add_row(name, row["scenario"], *_fmt(d), *_fmt(s), speed, bound)
    console.print(table)
    if floor:
        console.print(f"bound = seed's time to first failure (or the budget) / the deterministic startup "
                      f"floor ({floor:.2f}s, one passing {FLOOR_SCENARIO} run)", highlight=False)
    if det_ttfs:
        console.print(f"deterministic: {len(det_ttfs)}/{len(report['bugs'])} caught, median time "
                      f"to first failure {statistics.median(det_ttfs):.1f}s")
    correct = report.get("correct")
    if correct:
        console.print(f"correct build: {correct['failures']} failures in {correct['runs']} "
                      f"deterministic runs {correct['per_scenario']}", highlight=False)
    console.print(f"details: {report['dir']}/bench.json", highlight=False)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m harness.bench", description=__doc__)
    p.add_argument("--budget", type=float, default=60.0, help="seconds per bug and method")
    p.add_argument("--runs", type=int, default=200, help="runs of the correct build")
    p.add_argument("--replays", type=int, default=10, help="replays of each first failure")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--seed", type=int, default=1, help="first seed of every hunt")
    p.add_argument("--bug", action="append", default=[], help="only this bug (repeatable)")
    p.add_argument("--results", type=Path, default=Path("results"))
    args = p.parse_args(argv)
    unknown = [b for b in args.bug if b not in zoo()]
    if unknown:
        print(f"unknown bug(s) {', '.join(unknown)}; known: {', '.join(zoo())}", file=sys.stderr)
        return 2
    console = Console(width=150)  # the side-by-side table is wider than a CI log's 80 columns
    started = time.monotonic()
    report = bench(args.budget, args.runs, args.replays, args.jobs, args.seed, args.bug,
                   args.results, console)
    print_report(report, console)
    console.print(f"bench-detect took {time.monotonic() - started:.0f}s")
    return 0 if report["correct"]["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
