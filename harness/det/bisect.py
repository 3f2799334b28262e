"""`harness bisect`: git bisect run over builds of each revision, in a private worktree.

The user's working tree and index are never touched: the revisions are
checked out in a `git worktree` under the bisect's results dir (bisect refs
are per-worktree), each is built with `make -C <worktree> BUILD=<dir>`, and
the scenario runs deterministically with today's harness and decoder (the
judge stays the same while the code under test moves).  Each step's run dirs
are kept.  Step exit codes are git bisect's: 0 good, 1 bad, 125 skip (the
revision does not build, or the harness could not run it).

A step runs several seeds, the given one first, and is bad if any fails: a
run is a pure function of (build, scenario, seed), and the build changes
from step to step, so the failing seed's schedule need not be the same one
at an older commit (docs/determinism.md, "bisect", measured).  Before
bisecting, the two ends are run too: a --bad that passes or a --good that
fails would make git bisect name a wrong commit without a word.
"""
from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.launch.build import REPO, BuildError
from harness.det.hunt import HuntError, HuntOptions, hunt
from harness.judge.run import RunResult, make_run_dir
from harness.scenario import load
from harness.schedule import ScheduleError, check_seed

EXIT_GOOD, EXIT_BAD, EXIT_SKIP, EXIT_ABORT = 0, 1, 125, 130  # > 127: git bisect run aborts
DEFAULT_SEEDS = 4


def seed_span(seeds: range) -> str:
    return f"seed {seeds.start}" if len(seeds) == 1 else f"seeds {seeds.start}-{seeds.stop - 1}"


def seed_range(seed: int, seeds: int) -> range:
    """The seeds a step runs, SEED..SEED+K-1; BisectError unless all are valid seeds."""
    if seeds < 1:
        raise BisectError(f"--seeds must be at least 1, got {seeds}")
    try:
        check_seed(seed)
        check_seed(seed + seeds - 1)
    except ScheduleError as exc:
        raise BisectError(str(exc)) from None
    return range(seed, seed + seeds)


class BisectError(Exception):
    pass


def git(repo: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if check and proc.returncode != 0:
        raise BisectError(f"git {' '.join(args)} failed in {repo}: {proc.stdout.strip()}")
    return proc.stdout.strip()


@dataclass
class BisectResult:
    bisect_dir: Path
    first_bad: str | None
    subject: str | None
    steps: list[dict[str, Any]] = field(default_factory=list)
    log: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"bisect_dir": str(self.bisect_dir), "first_bad": self.first_bad,
                "subject": self.subject, "steps": self.steps}


def _run_seeds(build_dir: Path, scenario: Path, seeds: range, results_dir: Path,
               bugs: str | None, record: dict[str, Any]) -> int:
    """Run `seeds` (in parallel up to the core count) until one fails: 0/1/125/130."""
    runs: list[dict[str, Any]] = []

    def note(result: RunResult, _so_far: object) -> None:
        runs.append({"seed": result.seed, "outcome": result.outcome,
                     "run_dir": str(result.run_dir)})

    opts = HuntOptions(budget_s=math.inf, jobs=min(len(seeds), os.cpu_count() or 1),
                       base_seed=seeds.start, build_dir=build_dir, results_dir=results_dir,
                       bugs=bugs, confirm=0, max_seeds=len(seeds))
    try:
        out = hunt(load(scenario), opts, on_result=note)
    except (HuntError, BuildError, ScheduleError, OSError) as exc:
        # The harness could not judge this revision: skip it.  Anything else escaping
        # would exit 2, which git bisect run takes for "bad".
        record.update(result="skip", reason=f"{type(exc).__name__}: {exc}", runs=runs)
        return EXIT_SKIP
    except KeyboardInterrupt:
        record.update(result="interrupted", runs=runs)
        return EXIT_ABORT
    record["runs"] = sorted(runs, key=lambda r: r["seed"])
    if out.failure is None and len(runs) < len(seeds):
        # Only a failure or a stop interrupts runs; without a failure, "good" needs them all.
        record.update(result="interrupted")
        return EXIT_ABORT
    if out.failure is None:
        record.update(result="good", outcome="pass", run_dir=record["runs"][0]["run_dir"])
        return EXIT_GOOD
    f = out.failure
    record.update(result="bad", outcome=f.outcome, seed=f.seed,
                  reason=f.reason, run_dir=str(f.run_dir))
    return EXIT_BAD


def step(worktree: Path, scenario: Path, seeds: range, bisect_dir: Path, bugs: str | None) -> int:
    """One `git bisect run` step: build HEAD of the worktree, run the seeds, map to 0/1/125."""
    return _step(worktree, scenario, seeds, bisect_dir, bugs)[0]


# What a Linux guest's build takes from packages, not from the revision's sources
# (guest/linux/linux.mk: `apt-get download`ed, never compiled): each step's build
# starts from the main build's copies, so a step does not download them again.
# heisen, the test programs and the initramfs are the revision's own, built by
# its `make linux`.
LINUX_DOWNLOADS = ("vmlinuz", "kernel.json", "busybox", "busybox.json")


def seed_linux_downloads(build_dir: Path, shared: Path = REPO / "build" / "linux") -> list[str]:
    """Copy the downloaded Linux artifacts into build_dir/linux, times kept (so make
    sees them up to date); returns the names copied.  Missing ones are left to the
    revision's make to download."""
    target = build_dir / "linux"
    copied = []
    for name in LINUX_DOWNLOADS:
        if (shared / name).is_file() and not (target / name).exists():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(shared / name, target / name)
            copied.append(name)
    return copied


def build_command(worktree: Path, build_dir: Path, bugs: str | None, linux: bool) -> list[str]:
    """make's argv for one revision: the default goal, and for a Linux scenario the
    revision's Linux guest too (its initramfs holds the revision's programs)."""
    return (["make", "-C", str(worktree), f"BUILD={build_dir}"] + ([f"BUGS={bugs}"] if bugs else [])
            + (["all", "linux"] if linux else []))


def _step(worktree: Path, scenario: Path, seeds: range, bisect_dir: Path, bugs: str | None,
          end: str | None = None) -> tuple[int, dict[str, Any]]:
    """step()'s exit code and the record it appends to steps.jsonl.  `end` names the
    endpoint ("--good"/"--bad") when this is the check before bisecting."""
    sha = git(worktree, "rev-parse", "HEAD")
    steps = bisect_dir / "steps"
    steps.mkdir(parents=True, exist_ok=True)
    build_dir = bisect_dir / "builds" / sha[:12]
    linux = load(scenario).is_linux
    if linux:
        seed_linux_downloads(build_dir)
    cmd = build_command(worktree, build_dir, bugs, linux)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    record: dict[str, Any] = {"commit": sha, "subject": git(worktree, "log", "-1", "--format=%s"),
                              "build": " ".join(shlex.quote(c) for c in cmd),
                              "seed_range": [seeds.start, seeds.stop - 1]}
    if end:
        record["end"] = end
    (steps / f"{sha[:12]}-build.log").write_text(proc.stdout)
    if proc.returncode != 0:
        record.update(result="skip", reason=f"does not build (make exit {proc.returncode})")
        code = EXIT_SKIP
    else:
        code = _run_seeds(build_dir, scenario, seeds, steps / sha[:12], bugs, record)
    with open(bisect_dir / "steps.jsonl", "a") as f:
        f.write(json.dumps(record) + "\n")
    return code, record


def _step_command(worktree: Path, scenario: Path, seeds: range, bisect_dir: Path,
                  bugs: str | None) -> list[str]:
    # Run from the bisect dir with this harness on PYTHONPATH: from inside the
    # worktree `-m harness` would import the *old* revision's harness.
    args = [sys.executable, "-m", "harness", "bisect-step", "--worktree", str(worktree),
            "--scenario", str(scenario), "--seed", str(seeds.start), "--seeds", str(len(seeds)),
            "--bisect-dir", str(bisect_dir)]
    if bugs:
        args += ["--bugs", bugs]
    script = bisect_dir / "step.sh"
    script.write_text("#!/bin/sh\n# One git bisect run step (kept for re-running by hand).\n"
                      f"cd {shlex.quote(str(bisect_dir))} && "
                      f"PYTHONPATH={shlex.quote(str(REPO))} exec {shlex.join(args)}\n")
    script.chmod(0o755)
    return [str(script)]


def _check_ends(worktree: Path, scenario: Path, seeds: range, bisect_dir: Path,
                bugs: str | None, good: str, bad: str) -> None:
    """--bad must fail and --good must pass, or git bisect would blame a wrong commit."""
    span = seed_span(seeds)
    for end, rev, want in (("--bad", bad, EXIT_BAD), ("--good", good, EXIT_GOOD)):
        git(worktree, "checkout", "-q", "--detach", rev)
        code, last = _step(worktree, scenario, seeds, bisect_dir, bugs, end=end)
        if code == want:
            continue
        if code == EXIT_ABORT:
            raise KeyboardInterrupt
        where = last.get("run_dir") or bisect_dir / "steps"
        if code == EXIT_SKIP:
            raise BisectError(f"{end} {rev[:12]} could not be tested: {last.get('reason')} "
                              f"({where})")
        if end == "--bad":
            raise BisectError(f"{end} {rev[:12]} passed {span}: nothing to bisect. Hunt for a "
                              f"failing seed on it first (python3 -m harness hunt) ({where})")
        raise BisectError(f"{end} {rev[:12]} already fails with seed {last.get('seed')} "
                          f"({last.get('outcome')}): pick an older good revision ({where})")


def bisect(good: str, bad: str, scenario: Path, seed: int, results_dir: Path,
           repo: Path = REPO, bugs: str | None = None, seeds: int = DEFAULT_SEEDS) -> BisectResult:
    """Find the first commit in good..bad where `seeds` runs from `seed` do not all pass."""
    tries = seed_range(seed, seeds)
    repo = Path(git(repo, "rev-parse", "--show-toplevel"))
    good_sha = git(repo, "rev-parse", "--verify", f"{good}^{{commit}}")
    bad_sha = git(repo, "rev-parse", "--verify", f"{bad}^{{commit}}")
    if subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", good_sha,
                       bad_sha]).returncode != 0:
        raise BisectError(f"--good {good} ({good_sha[:12]}) is not an ancestor of --bad {bad} "
                          f"({bad_sha[:12]})")
    scenario = scenario.resolve()
    load(scenario)  # a bad scenario must fail here, not as 'skip' at every step
    bisect_dir = make_run_dir(results_dir, f"bisect-{scenario.stem}", seed)
    worktree = bisect_dir / "worktree"
    git(repo, "worktree", "add", "--detach", str(worktree), bad_sha)
    out = BisectResult(bisect_dir, None, None)
    try:
        _check_ends(worktree, scenario, tries, bisect_dir, bugs, good_sha, bad_sha)
        git(worktree, "bisect", "start", bad_sha, good_sha)
        proc = subprocess.run(["git", "-C", str(worktree), "bisect", "run",
                               *_step_command(worktree, scenario, tries, bisect_dir, bugs)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out.log = proc.stdout
        (bisect_dir / "bisect-run.log").write_text(proc.stdout)
        (bisect_dir / "bisect.log").write_text(git(worktree, "bisect", "log", check=False) + "\n")
        match = re.search(r"^([0-9a-f]{40}) is the first bad commit", proc.stdout, re.M)
        if match:
            out.first_bad = match.group(1)
            out.subject = git(repo, "log", "-1", "--format=%s", out.first_bad)
    finally:
        git(worktree, "bisect", "reset", check=False)
        git(repo, "worktree", "remove", "--force", str(worktree), check=False)
        git(repo, "worktree", "prune", check=False)
        steps_file = bisect_dir / "steps.jsonl"
        if steps_file.exists():
            out.steps = [json.loads(line) for line in steps_file.read_text().splitlines() if line]
        (bisect_dir / "bisect.json").write_text(json.dumps(
            {**out.as_dict(), "good": good_sha, "bad": bad_sha, "scenario": str(scenario),
             "seed": seed, "seeds": seeds, "bugs": bugs}, indent=2) + "\n")
    return out
