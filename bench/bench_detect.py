"""`make bench-detect`: deterministic hunting vs XMHF64's method, bug by bug.

For every bug in defs/bugs.toml: build it (`make BUGS=name`), hunt its
scenario with the same wall-clock budget three ways -- deterministic mode
(in-machine seeded NMIs and perturbation, its rate translated from the
scenario's NMI pattern: harness/schedule.py), XMHF64's method as XMHF64 ran
it (multi-threaded TCG, QMP inject-nmi every 0.1 s) and XMHF64's method with
the scenario's own NMI pattern (the pattern deterministic mode translates,
so neither method wins by getting more NMIs) -- and replay each first
failure `replays` times.  Hangs are silence on each run's own clock: virtual
seconds under icount, which for a host-timed run is the wall clock.  Both hunts are repeated `repeats` times, the two
methods alternating, each deterministic repeat from another base seed: one
hunt's time to first failure is one draw of a random variable (XMHF64's
method found one bug in 0.4 s in one bench run and in 10.4 s in the one
before), so the table reports every draw and compares medians.  Then `runs`
deterministic runs of the correct build across the zoo scenarios, which must
all pass.  Long by design; not part of `make test`.

`--platform bochs` (make bench-detect PLATFORM=bochs) hunts the zoo's VMX-relevant bugs
(defs/bugs.toml entries with `vmx_seed`) on the VMX hypervisor under Bochs: Bochs has no
QMP, so there is no XMHF64's method to compare with, only the deterministic hunt (NMIs
from inside the machine), each bug's scenario at its `iterations` (Bochs runs ~4x slower
than TCG), its first failure re-run `replays` times on the same build and byte-compared,
and `runs` deterministic runs of the correct VMX build that must pass.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.launch.build import REPO, VMX_TARGETS, build_bugs
from harness.det.hunt import HuntOptions, HuntResult, hunt
from harness.launch.nmi import NmiPattern
from harness.judge.run import make_run_dir
from harness.scenario import ScenarioError, load_named

BUGS_TABLE = REPO / "defs" / "bugs.toml"


def zoo() -> dict[str, dict[str, str]]:
    return tomllib.loads(BUGS_TABLE.read_text())["bug"]


def _cell(out: HuntResult) -> dict[str, Any]:
    f = out.failure
    return {"caught": f is not None, "outcome": f.outcome if f else None,
            "ttf_s": out.time_to_failure_s, "seed": f.seed if f else None,
            "reproduced": out.reproduced, "replays": len(out.confirmations),
            "seeds_run": out.seeds_run, "run_dir": str(f.run_dir) if f else None}


# Base seeds of successive repeats are this far apart, so no two repeats of a
# deterministic hunt run the same seed (a hunt runs a few hundred at most).
REPEAT_SEED_STRIDE = 100_000


def summarise(cells: list[dict[str, Any]], budget: float) -> dict[str, Any]:
    """One method's repeats of one bug: how many caught, every time to first
    failure, and their median.  A repeat that caught nothing counts as the budget,
    a lower bound, so the median is then a lower bound too (`censored`)."""
    # A catch in a run that ended just past the deadline counts as the budget too.
    times = sorted(min(c["ttf_s"], budget) if c["caught"] else budget for c in cells)
    median = statistics.median(times) if times else None
    at_budget = sum(t >= budget for t in times)
    return {"caught": sum(c["caught"] for c in cells), "repeats": len(cells),
            "outcomes": sorted({c["outcome"] for c in cells if c["caught"]}),
            "ttfs_s": [c["ttf_s"] if c["caught"] else None for c in cells],
            "median_ttf_s": median,
            # The median is censored when at least half the repeats ran out of budget.
            "censored": median is not None and at_budget * 2 >= len(cells),
            "reproduced": sum(c["reproduced"] for c in cells),
            "replays": sum(c["replays"] for c in cells)}


def speed_up(det: dict[str, Any], ref: dict[str, Any]) -> tuple[float, str]:
    """Median XMHF64-method time over median deterministic time, and what kind of number that
    is: "" exact, ">" a lower bound (XMHF64's median is the budget), "<" an upper
    bound (deterministic mode's median is the budget: it mostly missed the bug), "?"
    unknown (both mostly missed: no ratio, the value is NaN)."""
    if det["censored"] and ref["censored"]:
        return math.nan, "?"
    value = ref["median_ttf_s"] / max(det["median_ttf_s"], 1e-3)
    if det["censored"]:
        return value, "<"
    return value, ">" if ref["censored"] else ""


def median_speed_up(speed_ups: list[tuple[float, str]]) -> tuple[float, str]:
    """The median over the bugs with a ratio at all, and whether bounds can move it:
    with every upper bound taken as 0 and every lower bound as infinite, the median
    stays put ("" exact), can only rise (">"), only fall ("<"), or both ("~")."""
    known = [(v, k) for v, k in speed_ups if k != "?"]
    value = statistics.median(v for v, _ in known)
    lo = statistics.median(0.0 if k == "<" else v for v, k in known)
    hi = statistics.median(math.inf if k == ">" else v for v, k in known)
    kind = {(False, False): "", (False, True): ">", (True, False): "<", (True, True): "~"}[
        (lo != value, hi != value)]
    return value, kind


def boot_floor(report: dict[str, Any]) -> float | None:
    """The fastest deterministic run seen, smoke or catch: the floor under every bound.
    A catch booted too, so a smoke run slower than one (host noise) cannot be the floor.
    The bounds and the ceiling hold for any deterministic mode whose runs are no faster
    than this; beating them takes faster runs (a faster boot), not better schedules."""
    floor = report.get("floor_s", {}).get("deterministic")
    if floor is None:
        return None
    catches = [t for row in report["bugs"].values()
               for t in row["deterministic"]["ttfs_s"] if t is not None]
    return min([floor, *catches])


def speed_up_ceiling(bounds: list[tuple[float, bool]]) -> tuple[float, str]:
    """The median of the per-bug bounds (XMHF64's median time over the floor, each
    flagged when XMHF64's median was the budget, so the bound could be higher): the
    highest median speed-up a deterministic mode with runs no faster than the floor
    could show against these draws.  "" exact, or "≥" when censored bounds could raise it."""
    value = statistics.median(v for v, _ in bounds)
    hi = statistics.median(math.inf if censored else v for v, censored in bounds)
    return value, "≥" if hi != value else ""


def _fmt(summary: dict[str, Any]) -> tuple[str, str, str]:
    if not summary["caught"]:
        return f"0/{summary['repeats']}", "-", "-"
    draws = "/".join("-" if t is None else f"{t:.1f}" for t in summary["ttfs_s"])
    median = ("≥" if summary["censored"] else "") + f"{summary['median_ttf_s']:.1f}s"
    return (f"{summary['caught']}/{summary['repeats']} ({','.join(summary['outcomes'])})",
            f"{median} ({draws})", f"{summary['reproduced']}/{summary['replays']}")


REFERENCE_NMI_INTERVAL = 0.1
# The hunts of one bug: deterministic; XMHF64's method with its own 0.1 s NMIs;
# XMHF64's method with the scenario's NMI pattern, the one deterministic mode gets.
MODES = ("deterministic", "reference_method", "reference_same_nmis")


# The startup floor's scenario per guest kind: a boot with nothing to find.
FLOOR_SCENARIO = {"own": "smoke", "linux": "linux-smoke"}
# defs/bugs.toml keys of each bug's scenario and of the outcomes that count as caught.
SCENARIO_KEY = {"own": "scenario", "linux": "linux_scenario"}
EXPECTED_KEY = {"own": "detected_as", "linux": "linux_detected_as"}


FLOOR_RUNS = 3
PLATFORMS = ("qemu", "bochs")


def startup_floor(base_seed: int, results: Path, console: Console, guest: str = "own",
                  platform: str = "qemu") -> dict[str, float]:
    """Seconds the fastest of FLOOR_RUNS passing deterministic smoke runs (boot, hello on
    every CPU, exit) takes through the same hunt, one at a time (a parallel neighbour
    would slow the run it times).  One run's time wobbled 0.21-0.38 s between bench
    runs.  The bounds use boot_floor(), which also counts the catches."""
    times = []
    floor_scenario = FLOOR_SCENARIO[guest]
    for k in range(FLOOR_RUNS):
        res = hunt(load_named(floor_scenario), HuntOptions(
            budget_s=120, jobs=1, base_seed=base_seed + k, build_dir=REPO / "build",
            results_dir=results / str(k), confirm=0, max_seeds=1, stop_on_failure=False, platform=platform))
        if res.passed != 1:
            raise SystemExit(f"bench-detect: the {floor_scenario} run did not pass: {res.outcomes}")
        times.append(res.elapsed_s)
    floor = {"deterministic": round(min(times), 3)}
    console.print(f"startup floor (fastest of {FLOOR_RUNS} passing deterministic {floor_scenario} "
                  f"runs): {floor['deterministic']:.2f}s", highlight=False)
    return floor


@dataclasses.dataclass(frozen=True)
class BenchOptions:
    budget_s: float = 60.0         # per bug, method and repeat
    runs: int = 200                # deterministic runs of the correct build
    replays: int = 10              # of each first failure
    repeats: int = 3               # hunts per bug and method
    jobs: int = os.cpu_count() or 1
    base_seed: int = 1
    only: tuple[str, ...] = ()     # bug names; empty = every bug
    scenario: str | None = None    # hunt every bug on this scenario instead of its own
    results: Path = Path("results")
    guest: str = "own"             # "own": guest/'s kernels; "linux": each bug's linux_scenario
    platform: str = "qemu"         # "bochs": the VMX zoo under Bochs, deterministic hunts only


def hunt_bug(name: str, bug: dict[str, str], opts: BenchOptions, out_dir: Path,
             console: Console) -> dict[str, Any]:
    sc = load_named(opts.scenario or bug[SCENARIO_KEY[opts.guest]])
    build_dir = build_bugs(name)
    # XMHF64's method (docs/determinism.md): multi-threaded TCG and QMP
    # inject-nmi every 0.1 s (qemu_inject_nmi.py 4444 0.1), whatever the
    # scenario's own NMI pattern is.
    reference_sc = dataclasses.replace(sc, nmi=NmiPattern(kind="interval", interval=REFERENCE_NMI_INTERVAL))
    cells: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    for r in range(opts.repeats):
        base = opts.base_seed + r * REPEAT_SEED_STRIDE
        for mode, deterministic, hunted in (("deterministic", True, sc), ("reference_method", False, reference_sc),
                                            ("reference_same_nmis", False, sc)):
            console.print(f"{name}: {mode} hunt {r + 1}/{opts.repeats} of {sc.name} for "
                          f"{opts.budget_s:g}s (seeds from {base})", highlight=False)
            res = hunt(hunted, HuntOptions(budget_s=opts.budget_s, jobs=opts.jobs, base_seed=base,
                                           build_dir=build_dir,
                                           results_dir=out_dir / name / mode / f"repeat{r + 1}",
                                           deterministic=deterministic, bugs=name,
                                           confirm=opts.replays))
            cells[mode].append(_cell(res))
    row: dict[str, Any] = {"scenario": sc.name, "expected": bug.get(EXPECTED_KEY[opts.guest]), "hunts": cells}
    for mode, mode_cells in cells.items():
        row[mode] = summarise(mode_cells, opts.budget_s)
    return row


def correct_build(scenarios: list[str], opts: BenchOptions, out_dir: Path,
                  console: Console) -> dict[str, Any]:
    correct: dict[str, Any] = {"runs": 0, "failures": 0, "per_scenario": {}}
    per = max(1, opts.runs // len(scenarios))
    for name in scenarios:
        console.print(f"correct build: {per} deterministic runs of {name}", highlight=False)
        res = hunt(load_named(name), HuntOptions(
            budget_s=10 * 3600, jobs=opts.jobs, base_seed=opts.base_seed, build_dir=REPO / "build",
            results_dir=out_dir / "correct" / name, deterministic=True, confirm=0,
            max_seeds=per, stop_on_failure=False))
        failed = res.seeds_run - res.passed
        correct["runs"] += res.seeds_run
        correct["failures"] += failed
        correct["per_scenario"][name] = {"runs": res.seeds_run, "failures": failed,
                                         "outcomes": res.outcomes}
    return correct


def bench(opts: BenchOptions, console: Console) -> dict[str, Any]:
    out_dir = make_run_dir(opts.results, "bench-detect", opts.base_seed)
    report: dict[str, Any] = {"budget_s": opts.budget_s, "jobs": opts.jobs, "replays": opts.replays,
                              "repeats": opts.repeats, "scenario": opts.scenario, "guest": opts.guest, "bugs": {},
                              "dir": str(out_dir)}
    bugs = {k: v for k, v in zoo().items() if not opts.only or k in opts.only}
    report["floor_s"] = startup_floor(opts.base_seed, out_dir / "floor", console, opts.guest)
    for name, bug in bugs.items():
        report["bugs"][name] = hunt_bug(name, bug, opts, out_dir, console)
        (out_dir / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    scenarios = ([opts.scenario] if opts.scenario
                 else sorted({b[SCENARIO_KEY[opts.guest]] for b in zoo().values()}))
    report["correct"] = correct_build(scenarios, opts, out_dir, console)
    (out_dir / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def vmx_zoo() -> dict[str, dict[str, Any]]:
    """The bugs with a VMX face: defs/bugs.toml entries with `vmx_seed`."""
    return {k: v for k, v in zoo().items() if "vmx_seed" in v}


def bochs_scenario(bug: dict[str, Any], opts: BenchOptions) -> Any:
    """The bug's scenario at its `iterations` (the size the zoo tests run it at)."""
    return load_named(opts.scenario or bug["scenario"]).with_overrides(iterations=bug["iterations"])


def hunt_bug_bochs(name: str, bug: dict[str, Any], opts: BenchOptions, out_dir: Path,
                   console: Console) -> dict[str, Any]:
    sc = bochs_scenario(bug, opts)
    build_dir = build_bugs(name, targets=VMX_TARGETS)
    cells: list[dict[str, Any]] = []
    for r in range(opts.repeats):
        base = opts.base_seed + r * REPEAT_SEED_STRIDE
        console.print(f"{name}: deterministic hunt {r + 1}/{opts.repeats} of {sc.name} (iterations "
                      f"{sc.iterations}) on Bochs for {opts.budget_s:g}s (seeds from {base})", highlight=False)
        res = hunt(sc, HuntOptions(budget_s=opts.budget_s, jobs=opts.jobs, base_seed=base, build_dir=build_dir,
                                   results_dir=out_dir / name / f"repeat{r + 1}", deterministic=True, bugs=name,
                                   confirm=opts.replays, platform="bochs", views=False))
        cells.append({**_cell(res), "identical": sum(c.identical is True for c in res.confirmations)})
    return {"scenario": sc.name, "iterations": sc.iterations, "expected": bug["vmx_detected_as"],
            "hunts": {"deterministic": cells}, "deterministic": summarise(cells, opts.budget_s)}


def correct_build_bochs(opts: BenchOptions, out_dir: Path, console: Console) -> dict[str, Any]:
    correct: dict[str, Any] = {"runs": 0, "failures": 0, "per_scenario": {}}
    scenarios = {bochs_scenario(b, opts).name: b for b in vmx_zoo().values()}
    per = max(1, opts.runs // len(scenarios))
    for name, bug in sorted(scenarios.items()):
        sc = bochs_scenario(bug, opts)
        console.print(f"correct VMX build: {per} deterministic runs of {name} (iterations {sc.iterations}) "
                      "on Bochs", highlight=False)
        res = hunt(sc, HuntOptions(budget_s=10 * 3600, jobs=opts.jobs, base_seed=opts.base_seed,
                                   build_dir=REPO / "build", results_dir=out_dir / "correct" / name,
                                   deterministic=True, confirm=0, max_seeds=per, stop_on_failure=False,
                                   platform="bochs", views=False))
        failed = res.seeds_run - res.passed
        correct["runs"] += res.seeds_run
        correct["failures"] += failed
        correct["per_scenario"][name] = {"runs": res.seeds_run, "failures": failed, "outcomes": res.outcomes}
    return correct


BOCHS_NOTE = ("the VMX hypervisor under Bochs 2.7; deterministic hunts only: Bochs has no QMP, so "
              "XMHF64's method (host NMIs by QMP) cannot run there and there is no speed-up to show")


def bench_bochs(opts: BenchOptions, console: Console) -> dict[str, Any]:
    out_dir = make_run_dir(opts.results, "bench-detect-bochs", opts.base_seed)
    report: dict[str, Any] = {"platform": "bochs", "budget_s": opts.budget_s, "jobs": opts.jobs,
                              "replays": opts.replays, "repeats": opts.repeats, "scenario": opts.scenario,
                              "bugs": {}, "dir": str(out_dir), "note": BOCHS_NOTE}
    console.print(f"bench-detect PLATFORM=bochs: {BOCHS_NOTE}", highlight=False)
    report["floor_s"] = startup_floor(opts.base_seed, out_dir / "floor", console, platform="bochs")
    for name, bug in vmx_zoo().items():
        if opts.only and name not in opts.only:
            continue
        report["bugs"][name] = hunt_bug_bochs(name, bug, opts, out_dir, console)
        (out_dir / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    report["correct"] = correct_build_bochs(opts, out_dir, console)
    (out_dir / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def _print_correct_and_details(report: dict[str, Any], console: Console, build: str) -> None:
    correct = report.get("correct")
    if correct:
        console.print(f"{build}: {correct['failures']} failures in {correct['runs']} "
                      f"deterministic runs {correct['per_scenario']}", highlight=False)
    console.print(f"details: {report['dir']}/bench.json", highlight=False)


def print_report_bochs(report: dict[str, Any], console: Console) -> None:
    where = f"every bug on {report['scenario']}, " if report.get("scenario") else ""
    table = Table(title=f"bench-detect PLATFORM=bochs: {where}{report['budget_s']:g}s per bug and repeat, "
                        f"{report['repeats']} repeats, {report['jobs']} jobs, {report['replays']} replays "
                        f"of each first failure")
    for col in ("bug", "scenario (iterations)", "expected", "caught", "ttf: median (each)", "seeds run",
                "replays: same outcome, byte-identical"):
        table.add_column(col)
    for name, row in report["bugs"].items():
        d = row["deterministic"]
        caught, ttf, repro = _fmt(d)
        cells = row["hunts"]["deterministic"]
        table.add_row(name, f"{row['scenario']} ({row['iterations']})", row["expected"], caught, ttf,
                      "/".join(str(c["seeds_run"]) for c in cells), repro if d["caught"] else "-")
    console.print(table)
    console.print(f"note: {report['note']}", highlight=False)
    if report.get("floor_s"):
        console.print(f"startup floor: {report['floor_s']['deterministic']:.2f}s (fastest passing "
                      f"deterministic smoke run on Bochs)", highlight=False)
    _print_correct_and_details(report, console, "correct VMX build")


def print_report(report: dict[str, Any], console: Console) -> None:
    repeats = report.get("repeats", 1)
    where = f"every bug on {report['scenario']}, " if report.get("scenario") else ""
    table = Table(title=f"bench-detect: {where}{report['budget_s']:g}s per bug, method and repeat, "
                        f"{repeats} repeats, {report['jobs']} jobs, {report['replays']} replays "
                        f"of each first failure")
    floor = boot_floor(report)
    for col in ("bug", "scenario", "det. caught", "det. ttf: median (each)", "det. repro",
                "ref. caught", "ref. ttf: median (each)", "ref. repro", "speed-up", "bound",
                "ref. same NMIs: caught", "ttf: median (each)", "repro", "speed-up"):
        table.add_column(col)
    det_medians: list[float] = []
    speed_ups: list[tuple[float, str]] = []
    bounds: list[tuple[float, bool]] = []
    for name, row in report["bugs"].items():
        d, s = row["deterministic"], row["reference_method"]
        if d["caught"] * 2 > d["repeats"]:
            det_medians.append(d["median_ttf_s"])
        value, kind = speed_up(d, s)
        speed_ups.append((value, kind))
        speed = "-" if kind == "?" else f"{kind}{value:.1f}x"
        # The speed-up no deterministic run could beat: XMHF64's time over one boot.
        bound = "-"
        if floor:
            bounds.append((s["median_ttf_s"] / floor, s["censored"]))
            bound = f"{bounds[-1][0]:.1f}x"
        same = row.get("reference_same_nmis")
        same_cols: tuple[str, ...] = ("-", "-", "-", "-")
        if same:
            value_same, kind_same = speed_up(d, same)
            same_speed = "-" if kind_same == "?" else f"{kind_same}{value_same:.1f}x"
            same_cols = (*_fmt(same), same_speed)
        table.add_row(name, row["scenario"], *_fmt(d), *_fmt(s), speed, bound, *same_cols)
    console.print(table)
    if floor:
        floor_scenario = FLOOR_SCENARIO[report.get("guest", "own")]
        console.print(f"bound = XMHF64's median time to first failure (or the budget) / the "
                      f"deterministic floor ({floor:.2f}s: the fastest passing {floor_scenario} run "
                      f"or deterministic catch)", highlight=False)
    if bounds:
        value, kind = speed_up_ceiling(bounds)
        console.print(f"ceiling: the median of the bounds is {kind}{value:.1f}x; against these "
                      f"draws of XMHF64's method, only runs faster than the floor could show a "
                      f"higher median speed-up", highlight=False)
    n = len(report["bugs"])
    if det_medians:
        console.print(f"deterministic: {len(det_medians)}/{n} caught in most repeats, median time "
                      f"to first failure {statistics.median(det_medians):.1f}s", highlight=False)
    if any(k != "?" for _, k in speed_ups):
        value, kind = median_speed_up(speed_ups)
        n_known = sum(k != "?" for _, k in speed_ups)
        console.print(f"median speed-up over {n_known} bugs: {kind}{value:.1f}x "
                      f"(>: bugs XMHF64's method mostly missed could raise it; <: bugs "
                      f"deterministic mode mostly missed could lower it; ~: both)", highlight=False)
    same_ups = [speed_up(row["deterministic"], row["reference_same_nmis"])
                for row in report["bugs"].values() if "reference_same_nmis" in row]
    if any(k != "?" for _, k in same_ups):
        value, kind = median_speed_up(same_ups)
        console.print(f"median speed-up over XMHF64's method given the scenario's own NMIs "
                      f"({sum(k != '?' for _, k in same_ups)} bugs): {kind}{value:.1f}x", highlight=False)
    _print_correct_and_details(report, console, "correct build")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m bench.bench_detect", description=__doc__)
    p.add_argument("--budget", type=float, default=60.0, help="seconds per bug and method")
    p.add_argument("--runs", type=int, default=200, help="runs of the correct build")
    p.add_argument("--replays", type=int, default=10, help="replays of each first failure")
    p.add_argument("--repeats", type=int, default=3,
                   help="hunts per bug and method, each deterministic one from another base seed")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--seed", type=int, default=1, help="first seed of every hunt")
    p.add_argument("--bug", action="append", default=[], help="only this bug (repeatable)")
    p.add_argument("--scenario", help="hunt every bug on this scenario instead of its own "
                                      "(e.g. stress-all, which was not written for any one bug)")
    p.add_argument("--results", type=Path, default=Path("results"))
    p.add_argument("--guest", choices=sorted(SCENARIO_KEY), default="own",
                   help="own: each bug's scenario on guest/'s kernels; linux: its linux_scenario "
                        "(XMHF64's test as a Linux program)")
    p.add_argument("--platform", choices=PLATFORMS, default="qemu",
                   help="qemu (default); bochs: the VMX-relevant bugs on the VMX hypervisor under Bochs, "
                        "deterministic hunts only")
    args = p.parse_args(argv)
    known = vmx_zoo() if args.platform == "bochs" else zoo()
    unknown = [b for b in args.bug if b not in known]
    if unknown:
        print(f"unknown bug(s) {', '.join(unknown)}"
              f"{' on the bochs platform (no vmx_seed in defs/bugs.toml)' if args.platform == 'bochs' else ''}; "
              f"known: {', '.join(known)}", file=sys.stderr)
        return 2
    if args.platform == "bochs" and args.guest != "own":
        print("--platform bochs runs guest/'s own kernels only (--guest own)", file=sys.stderr)
        return 2
    if args.budget <= 0 or args.runs < 1 or args.replays < 0 or args.jobs < 1:
        print("--budget must be > 0, --runs and --jobs at least 1, --replays at least 0", file=sys.stderr)
        return 2
    if args.repeats < 1:
        print("--repeats must be at least 1", file=sys.stderr)
        return 2
    if args.scenario:
        try:
            load_named(args.scenario)
        except ScenarioError as e:
            print(f"bench-detect: {e}", file=sys.stderr)
            return 2
    console = Console(width=190)  # the side-by-side table is wider than a CI log's 80 columns
    started = time.monotonic()
    opts = BenchOptions(budget_s=args.budget, runs=args.runs, replays=args.replays,
                        repeats=args.repeats, jobs=args.jobs, base_seed=args.seed,
                        only=tuple(args.bug), scenario=args.scenario, results=args.results,
                        guest=args.guest, platform=args.platform)
    if args.platform == "bochs":
        report = bench_bochs(opts, console)
        print_report_bochs(report, console)
    else:
        report = bench(opts, console)
        print_report(report, console)
    console.print(f"bench-detect took {time.monotonic() - started:.0f}s")
    return 0 if report["correct"]["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
