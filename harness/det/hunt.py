"""Search seeds for a failure, then prove it reproduces.

Seeds base, base+1, ... run in parallel (one QEMU per job; in deterministic
mode each QEMU is single-threaded, so jobs = cores uses the machine).  The
first failure stops the runs still in flight (they are recorded as
"interrupted", not as passes) and is replayed `confirm` times: a
deterministic failure must give a byte-identical serial.bin every time.
In XMHF64's mode (not deterministic) the "replay" is a rerun with the same
seed, and the report counts how often it failed again.  On the bochs platform
(`platform="bochs"`: the VMX hypervisor, harness/judge/bochs_run.py) there is
only deterministic mode -- no QMP, NMIs from inside the machine -- and no
`harness replay`: a confirmation re-runs the failing seed on the same build
(same sha256 of every file) and byte-compares serial.bin.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness.launch.build import recorded_guest_files
from harness.det.replay import ReplayError, first_difference, load_recorded_scenario, replay
from harness.judge.bochs_run import run_scenario_bochs
from harness.judge.run import RunOptions, RunResult, run_scenario
from harness.scenario import Scenario


class HuntError(Exception):
    """The hunt could not run (the harness failed, not the hypervisor)."""


@dataclass
class HuntOptions:
    budget_s: float
    jobs: int
    base_seed: int
    build_dir: Path
    results_dir: Path
    deterministic: bool = True
    bugs: str | None = None
    confirm: int = 1          # replays of the failing seed
    max_seeds: int | None = None
    stop_on_failure: bool = True  # False: count failures over max_seeds runs (bench)
    stop_at_violation: bool = True  # each run stops at its first broken rule (harness/judge/livecheck.py)
    views: bool = True        # each run writes its timeline views (RunOptions.views)
    platform: str = "qemu"    # "bochs": the VMX hypervisor under Bochs (deterministic only)


@dataclass
class Confirmation:
    run_dir: Path
    outcome: str
    identical: bool | None    # None: not a deterministic replay
    first_diff: int | None
    error: str | None = None  # the replay could not run (outcome "error"): why


@dataclass
class HuntResult:
    scenario: str
    deterministic: bool
    seeds_run: int = 0
    passed: int = 0
    elapsed_s: float = 0.0
    failure: RunResult | None = None
    time_to_failure_s: float | None = None
    confirmations: list[Confirmation] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    failing_seeds: list[int] = field(default_factory=list)
    interrupted: bool = False

    @property
    def reproduced(self) -> int:
        """Confirmations that failed the same way (and, if deterministic, byte-identically)."""
        if self.failure is None:
            return 0
        return sum(c.outcome == self.failure.outcome and c.identical is not False
                   for c in self.confirmations)

    def as_dict(self) -> dict[str, Any]:
        f = self.failure
        return {"scenario": self.scenario, "deterministic": self.deterministic,
                "seeds_run": self.seeds_run, "passed": self.passed,
                "elapsed_s": round(self.elapsed_s, 2), "outcomes": self.outcomes,
                "failing_seeds": sorted(self.failing_seeds),
                "failure": None if f is None else {
                    "seed": f.seed, "outcome": f.outcome,
                    "reason": f.reason, "rule": f.rule,
                    "run_dir": str(f.run_dir)},
                "time_to_failure_s": None if self.time_to_failure_s is None
                else round(self.time_to_failure_s, 2),
                "confirmations": [{"run_dir": str(c.run_dir), "outcome": c.outcome,
                                   "identical": c.identical, "first_diff": c.first_diff,
                                   **({"error": c.error} if c.error else {})}
                                  for c in self.confirmations],
                "reproduced": self.reproduced, "interrupted": self.interrupted}


PLATFORMS = ("qemu", "bochs")


def _is_failure(result: RunResult) -> bool:
    return not result.passed and not result.interrupted


def hunt(sc: Scenario, opts: HuntOptions,
         on_result: Callable[[RunResult, HuntResult], None] | None = None) -> HuntResult:
    if opts.jobs < 1 or opts.budget_s <= 0 or opts.confirm < 0:
        raise HuntError("hunt needs jobs >= 1, a budget > 0 and confirm >= 0")
    if opts.platform not in PLATFORMS:
        raise HuntError(f"platform must be one of {', '.join(PLATFORMS)}, not {opts.platform!r}")
    if opts.platform == "bochs" and not opts.deterministic:
        raise HuntError("the bochs platform has only deterministic mode (no QMP: NMIs come from inside the machine)")
    bochs = opts.platform == "bochs"
    out = HuntResult(sc.name, opts.deterministic)
    stop = threading.Event()
    started = time.monotonic()
    deadline = started + opts.budget_s
    next_seed = opts.base_seed

    def one(seed: int) -> RunResult:
        run = run_scenario_bochs if bochs else run_scenario
        # Bochs runs have no live check (no --stop-at-violation): they are judged at their end.
        return run(sc, RunOptions(
            seed=seed, build_dir=opts.build_dir, results_dir=opts.results_dir / "seeds",
            deterministic=opts.deterministic, bugs=opts.bugs,
            stop_at_violation=opts.stop_at_violation and not bochs,
            views=opts.views, should_stop=lambda: stop.is_set() or time.monotonic() > deadline))

    def may_start() -> bool:
        more = opts.max_seeds is None or next_seed - opts.base_seed < opts.max_seeds
        return more and not stop.is_set() and time.monotonic() < deadline

    pool = ThreadPoolExecutor(max_workers=opts.jobs, thread_name_prefix="hunt")
    running: set[Future[RunResult]] = set()
    try:
        while True:
            while len(running) < opts.jobs and may_start():
                running.add(pool.submit(one, next_seed))
                next_seed += 1
            if not running:
                break
            done, running = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in done:
                result = fut.result()
                if result.interrupted:
                    continue  # stopped by us (budget, another failure): says nothing
                if result.outcome == "error":
                    stop.set()
                    raise HuntError(f"the harness could not run seed {result.seed}: "
                                    f"{result.reason} ({result.run_dir})")
                out.seeds_run += 1
                out.outcomes[result.outcome] = out.outcomes.get(result.outcome, 0) + 1
                out.passed += result.passed
                if _is_failure(result):
                    out.failing_seeds.append(result.seed)
                    if out.failure is None:
                        out.failure = result
                        out.time_to_failure_s = time.monotonic() - started
                        if opts.stop_on_failure:
                            stop.set()
                if on_result is not None:
                    on_result(result, out)
    except KeyboardInterrupt:
        stop.set()
        out.interrupted = True
        raise
    finally:
        stop.set()
        pool.shutdown(wait=True)
        out.elapsed_s = time.monotonic() - started
    if out.failure is not None:
        out.confirmations = confirm(out.failure, opts)
    return out


def confirm(failure: RunResult, opts: HuntOptions) -> list[Confirmation]:
    """Re-run the failing seed: replay (byte-compare) if deterministic, else a plain rerun."""
    found: list[Confirmation] = []
    for _ in range(opts.confirm):
        if opts.platform == "bochs":
            found.append(_bochs_rerun(failure, opts))
            continue
        if opts.deterministic:
            # A replay that cannot run (a run dir it refuses) is a confirmation that
            # failed, with its reason: not a crash of the hunt or of a bench around it.
            try:
                rep = replay(failure.run_dir)
            except ReplayError as exc:
                found.append(Confirmation(failure.run_dir, "error", False, None, str(exc)))
                continue
            found.append(Confirmation(rep.result.run_dir, rep.result.outcome, rep.identical,
                                      rep.first_diff))
            continue
        result = _rerun(failure, opts, failure.seed)
        diff = first_difference((failure.run_dir / "serial.bin").read_bytes(),
                                (result.run_dir / "serial.bin").read_bytes()
                                if (result.run_dir / "serial.bin").exists() else b"")
        found.append(Confirmation(result.run_dir, result.outcome, None, diff))
    return found


def _bochs_rerun(failure: RunResult, opts: HuntOptions) -> Confirmation:
    """The bochs platform's replay: the failing seed again, deterministic, from the same
    build; identical = the same files (sha256) gave the same serial.bin, byte for byte."""
    try:
        sc = load_recorded_scenario(failure.run_dir, failure.verdict)
    except ReplayError as exc:
        return Confirmation(failure.run_dir, "error", False, None, str(exc))
    result = run_scenario_bochs(sc, RunOptions(seed=failure.seed, build_dir=opts.build_dir,
                                               results_dir=failure.run_dir / "replays", deterministic=True,
                                               bugs=opts.bugs, views=opts.views))
    if result.outcome == "error":
        return Confirmation(result.run_dir, "error", False, None, result.reason)
    sums = [{role: f["sha256"] for role, f in (r.verdict.get("build") or {}).items()} for r in (failure, result)]
    if sums[0] != sums[1]:
        return Confirmation(result.run_dir, result.outcome, False, None,
                            f"the build changed between the run and its replay ({opts.build_dir})")
    a, b = ((r.run_dir / "serial.bin").read_bytes() for r in (failure, result))
    diff = first_difference(a, b)
    return Confirmation(result.run_dir, result.outcome, diff is None, diff)


def _rerun(failure: RunResult, opts: HuntOptions, seed: int) -> RunResult:
    sc = load_recorded_scenario(failure.run_dir, failure.verdict)
    kernel, initrd = recorded_guest_files(failure.verdict, failure.run_dir / "build")
    return run_scenario(sc, RunOptions(seed=seed, build_dir=failure.run_dir / "build",
                                       kernel=kernel, initrd=initrd,
                                       results_dir=failure.run_dir / "reruns",
                                       deterministic=False, bugs=opts.bugs,
                                       stop_at_violation=opts.stop_at_violation))
