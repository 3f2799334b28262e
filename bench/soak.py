#!/usr/bin/python3
"""make soak: the correct build over many deterministic seeds; every failure listed.

`make soak GUEST=linux RUNS=N` soaks XMHF64's tests on Linux instead (every
scenarios/linux-test*.toml, N runs each, host-timed: see deterministic()).

Hunts each scenario with --keep-going (harness/det/hunt.py): SEEDS consecutive seeds
from BASE, split into JOBS slices hunted by JOBS processes, every run judged by its exit status and the
checker (decoder/rules.toml, including quiesce_epoch's bound on a stop-the-world).
Prints, per scenario, the seeds run, the outcomes, every failing seed and the
worst figures any seed showed: the longest quiesce epoch (request to last resume,
guest TSC time) and the longest serial silence the hang watch saw (virtual
seconds, against the scenario's hang_timeout).  Exit 0 only if every seed of every
scenario passed.

Runs go to their end (no live check) and write no timeline views: the final check
judges every run, and rendering would cost more than the check.  Passing runs'
directories are deleted once their figures are taken (a stress-all
run keeps ~2 MB); failing ones stay under --results, with the replay the hunt ran.
The summary goes to <results>/soak.json.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.det.hunt import HuntError, HuntOptions, HuntResult, hunt  # noqa: E402
from harness.judge.run import RunResult, make_run_dir  # noqa: E402
from harness.scenario import ScenarioError, load_named  # noqa: E402

DEFAULT_PLAN = "stress-all=1000,test1=200,test2=200,test3=200,test4=200,test5=200"


@dataclass
class Worst:
    value: float = 0.0
    seed: int | None = None

    def see(self, value: float | None, seed: int) -> None:
        if value is not None and value > self.value:
            self.value, self.seed = value, seed


@dataclass
class ScenarioSoak:
    scenario: str
    seeds: int
    base_seed: int
    seeds_run: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    failing_seeds: list[int] = field(default_factory=list)
    failing_run_dirs: list[str] = field(default_factory=list)
    unmeasured_runs: int = 0      # passing runs whose verdict had no quiesce figure (no epoch ran)
    longest_quiesce_ms: Worst = field(default_factory=Worst)
    longest_silence_s: Worst = field(default_factory=Worst)
    hang_timeout_s: float = 0.0
    elapsed_s: float = 0.0


LINUX_RUNS = 20


def plan_from_env(guest: str, runs: str, default: str) -> str:
    """make soak's GUEST and RUNS: the Linux plan (every scenarios/linux-test*.toml, RUNS
    each) for GUEST=linux, else the default plan; anything else is refused."""
    if guest not in ("", "linux"):
        raise ValueError(f"GUEST={guest!r}: expected linux or nothing")
    if runs and not (runs.isdigit() and 0 < int(runs) <= 100000):
        raise ValueError(f"RUNS={runs!r}: expected a number of runs from 1 to 100000")
    if guest != "linux":
        if runs:
            raise ValueError("RUNS=N is for GUEST=linux; the default soak's sizes are in --plan")
        return default
    names = sorted(p.stem for p in (ROOT / "scenarios").glob("linux-test*.toml"))
    return ",".join(f"{n}={runs or LINUX_RUNS}" for n in names)


def parse_plan(text: str) -> list[tuple[str, int]]:
    plan = []
    for part in text.split(","):
        name, sep, count = part.partition("=")
        if not sep or not name or not count.isdigit() or int(count) < 1:
            raise ValueError(f"expected SCENARIO=SEEDS[,...] with SEEDS >= 1, got {part!r}")
        plan.append((name, int(count)))
    return plan


def take_figures(soak: ScenarioSoak, result: RunResult) -> None:
    v = result.verdict
    seed = int(v["seed"])
    measured = ((v.get("counts") or {}).get("measured") or {}).get("quiesce_epoch")
    if measured and measured.get("ms") is not None:
        soak.longest_quiesce_ms.see(float(measured["ms"]), seed)
    elif result.passed:
        soak.unmeasured_runs += 1
    gap = (v.get("hang_watch") or {}).get("longest_gap_s")
    soak.longest_silence_s.see(float(gap) if gap is not None else None, seed)
    if not result.passed:
        soak.failing_run_dirs.append(str(result.run_dir))
    elif not result.interrupted:
        shutil.rmtree(result.run_dir, ignore_errors=True)


def deterministic(name: str) -> bool:
    """The Linux soak runs SMP Linux host-timed, XMHF64's own method (QMP NMIs from
    the host, multi-threaded TCG): a seed is only a run's label and a failure's
    confirmation a rerun.  Deterministic SMP Linux runs exist (docs/linux-guest.md,
    "Determinism"); this soak measures the method XMHF64 used."""
    sc = load_named(name)
    return not (sc.is_linux and sc.smp > 1)


def soak_slice(name: str, base: int, seeds: int, build: Path, results: Path, budget_s: float) -> ScenarioSoak:
    """Seeds base..base+seeds-1 of one scenario, one QEMU at a time, in this process."""
    sc = load_named(name)
    hang_timeout = sc.virtual_hang_timeout if deterministic(name) else sc.hang_timeout
    soak = ScenarioSoak(name, seeds, base, hang_timeout_s=hang_timeout)
    opts = HuntOptions(budget_s=budget_s, jobs=1, base_seed=base, build_dir=build,
                       results_dir=results, max_seeds=seeds, stop_on_failure=False, confirm=1,
                       stop_at_violation=False, views=False, deterministic=deterministic(name))

    def on_result(result: RunResult, progress: HuntResult) -> None:
        take_figures(soak, result)
        if progress.seeds_run % 50 == 0:
            print(f"  {name} seeds {base}..{base + seeds - 1}: {progress.seeds_run} run, "
                  f"{len(progress.failing_seeds)} failing", flush=True)

    out = hunt(sc, opts, on_result)
    soak.seeds_run, soak.outcomes = out.seeds_run, out.outcomes
    soak.failing_seeds = sorted(out.failing_seeds)
    return soak


def merge(name: str, base: int, seeds: int, parts: list[ScenarioSoak], elapsed_s: float) -> ScenarioSoak:
    total = ScenarioSoak(name, seeds, base, hang_timeout_s=parts[0].hang_timeout_s,
                         elapsed_s=round(elapsed_s, 1))
    for p in parts:
        total.seeds_run += p.seeds_run
        for k, n in p.outcomes.items():
            total.outcomes[k] = total.outcomes.get(k, 0) + n
        total.failing_seeds += p.failing_seeds
        total.failing_run_dirs += p.failing_run_dirs
        total.unmeasured_runs += p.unmeasured_runs
        total.longest_quiesce_ms.see(p.longest_quiesce_ms.value, p.longest_quiesce_ms.seed or 0)
        total.longest_silence_s.see(p.longest_silence_s.value, p.longest_silence_s.seed or 0)
    total.failing_seeds.sort()
    return total


def soak_one(name: str, seeds: int, base: int, jobs: int, build: Path, results: Path,
             budget_s: float) -> ScenarioSoak:
    """The seeds split into `jobs` slices, each hunted by its own process: a run's decode
    and check are Python, and threads of one process would queue for its GIL."""
    sc = load_named(name)
    jobs = min(jobs, seeds)
    bounds = [base + seeds * k // jobs for k in range(jobs + 1)]
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(soak_slice, name, lo, hi - lo, build, results / sc.name / f"seeds-{lo}-{hi - 1}",
                               budget_s)
                   for lo, hi in zip(bounds, bounds[1:])]
        parts = [f.result() for f in futures]
    return merge(name, base, seeds, parts, time.monotonic() - started)


def report(rows: list[ScenarioSoak]) -> str:
    lines = ["| scenario | seeds | failures | outcomes | longest quiesce | longest silence (hang_timeout) | wall |",
             "|-|-|-|-|-|-|-|"]
    for r in rows:
        q, s = r.longest_quiesce_ms, r.longest_silence_s
        lines.append(f"| {r.scenario} | {r.seeds_run} (from {r.base_seed}) | {len(r.failing_seeds)} | "
                     f"{', '.join(f'{k} {n}' for k, n in sorted(r.outcomes.items()))} | "
                     f"{q.value:.1f} ms (seed {q.seed}) | {s.value:.2f} s (seed {s.seed}; {r.hang_timeout_s:g} s) | "
                     f"{r.elapsed_s:.0f} s |")
    for r in rows:
        if r.failing_seeds:
            lines.append(f"{r.scenario}: failing seeds {r.failing_seeds}")
            lines.extend(f"  {d}" for d in r.failing_run_dirs)
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="soak", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plan", default=DEFAULT_PLAN, help=f"SCENARIO=SEEDS,... (default {DEFAULT_PLAN})")
    ap.add_argument("--base-seed", type=int, default=1, help="first seed of every scenario (default 1)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel QEMUs (default 2)")
    ap.add_argument("--budget", type=float, default=24 * 3600.0,
                    help="wall seconds each scenario may take (default a day); seeds it leaves unrun "
                         "make the soak fail, never pass")
    ap.add_argument("--from-env", action="store_true",
                    help="make soak: SOAK_GUEST=linux (the Linux plan) and SOAK_RUNS=N from the environment")
    ap.add_argument("--build", type=Path, default=ROOT / "build")
    ap.add_argument("--results", type=Path, default=None, help="default results/<time>-soak")
    ns = ap.parse_args(argv)
    try:
        if ns.from_env:
            ns.plan = plan_from_env(os.environ.get("SOAK_GUEST", ""), os.environ.get("SOAK_RUNS", ""), ns.plan)
        plan = parse_plan(ns.plan)
        for name, _ in plan:
            load_named(name)
    except (ValueError, ScenarioError) as e:
        print(f"soak: {e}", file=sys.stderr)
        return 2
    if ns.jobs < 1 or ns.base_seed < 0 or not 0 < ns.budget < float("inf"):
        print("soak: --jobs must be >= 1, --base-seed >= 0 and --budget a positive number", file=sys.stderr)
        return 2
    results = ns.results or make_run_dir(ROOT / "results", "soak", ns.base_seed)
    results.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    rows: list[ScenarioSoak] = []
    try:
        for name, seeds in plan:
            mode = "deterministic" if deterministic(name) else "host-timed"
            print(f"soak {name}: seeds {ns.base_seed}..{ns.base_seed + seeds - 1}, {ns.jobs} jobs, {mode}",
                  flush=True)
            rows.append(soak_one(name, seeds, ns.base_seed, ns.jobs, ns.build, results, ns.budget))
    except (HuntError, OSError) as e:
        print(f"soak: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"soak: interrupted; the scenarios finished so far are in {results / 'soak.json'}", file=sys.stderr)
        return 130
    finally:
        (results / "soak.json").write_text(json.dumps(
            {"plan": ns.plan, "build": str(ns.build), "wall_s": round(time.monotonic() - started, 1),
             "scenarios": [asdict(r) for r in rows]}, indent=1))
    print(report(rows))
    failures = sum(len(r.failing_seeds) for r in rows)
    total = sum(r.seeds_run for r in rows)
    print(f"soak: {total} seeds, {failures} failing; summary {results / 'soak.json'}")
    short = [r.scenario for r in rows if r.seeds_run < r.seeds]
    if short:
        print(f"soak: fewer seeds than planned ran for {short}: not a clean soak", file=sys.stderr)
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
