"""`harness bisect`: git bisect run over builds of each revision, in a private worktree.

The user's working tree and index are never touched: the revisions are
checked out in a `git worktree` under the bisect's results dir (bisect refs
are per-worktree), each is built with `make -C <worktree> BUILD=<dir>`, and
the scenario runs deterministically with today's harness and decoder (the
judge stays the same while the code under test moves).  Each step's run dir
is kept.  Step exit codes are git bisect's: 0 good, 1 bad, 125 skip (the
revision does not build, or the harness could not run it).
"""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.build import REPO
from harness.run import RunOptions, make_run_dir, run_scenario
from harness.scenario import load

EXIT_GOOD, EXIT_BAD, EXIT_SKIP = 0, 1, 125


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


def step(worktree: Path, scenario: Path, seed: int, bisect_dir: Path, bugs: str | None) -> int:
    """One `git bisect run` step: build HEAD of the worktree, run, map to 0/1/125."""
    sha = git(worktree, "rev-parse", "HEAD")
    steps = bisect_dir / "steps"
    steps.mkdir(parents=True, exist_ok=True)
    build_dir = bisect_dir / "builds" / sha[:12]
    cmd = ["make", "-C", str(worktree), f"BUILD={build_dir}"] + ([f"BUGS={bugs}"] if bugs else [])
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    record: dict[str, Any] = {"commit": sha, "subject": git(worktree, "log", "-1", "--format=%s"),
                              "build": " ".join(shlex.quote(c) for c in cmd)}
    (steps / f"{sha[:12]}-build.log").write_text(proc.stdout)
    if proc.returncode != 0:
        record.update(result="skip", reason=f"does not build (make exit {proc.returncode})")
        code = EXIT_SKIP
    else:
        result = run_scenario(load(scenario), RunOptions(
            seed=seed, build_dir=build_dir, results_dir=steps / sha[:12], deterministic=True,
            bugs=bugs))
        record.update(run_dir=str(result.run_dir), outcome=result.outcome,
                      reason=result.verdict.get("reason"))
        if result.interrupted:
            record["result"] = "interrupted"
            code = 130  # > 127: git bisect run aborts
        elif result.outcome == "error":
            record["result"], code = "skip", EXIT_SKIP
        else:
            record["result"] = "good" if result.passed else "bad"
            code = EXIT_GOOD if result.passed else EXIT_BAD
    with open(bisect_dir / "steps.jsonl", "a") as f:
        f.write(json.dumps(record) + "\n")
    return code


def _step_command(worktree: Path, scenario: Path, seed: int, bisect_dir: Path,
                  bugs: str | None) -> list[str]:
    # Run from the bisect dir with this harness on PYTHONPATH: from inside the
    # worktree `-m harness` would import the *old* revision's harness.
    args = [sys.executable, "-m", "harness", "bisect-step", "--worktree", str(worktree),
            "--scenario", str(scenario), "--seed", str(seed), "--bisect-dir", str(bisect_dir)]
    if bugs:
        args += ["--bugs", bugs]
    script = bisect_dir / "step.sh"
    script.write_text("#!/bin/sh\n# One git bisect run step (kept for re-running by hand).\n"
                      f"cd {shlex.quote(str(bisect_dir))} && "
                      f"PYTHONPATH={shlex.quote(str(REPO))} exec {shlex.join(args)}\n")
    script.chmod(0o755)
    return [str(script)]


def bisect(good: str, bad: str, scenario: Path, seed: int, results_dir: Path,
           repo: Path = REPO, bugs: str | None = None) -> BisectResult:
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
        git(worktree, "bisect", "start", bad_sha, good_sha)
        proc = subprocess.run(["git", "-C", str(worktree), "bisect", "run",
                               *_step_command(worktree, scenario, seed, bisect_dir, bugs)],
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
         "seed": seed, "bugs": bugs}, indent=2) + "\n")
    return out
