"""make mutants: apply each mutant of tests/mutants.toml to a clean copy and see the tests kill it.

A mutant is one search/replace in one file, modelling one bug (its `models` line).
For each, in its own clean copy of HEAD (a detached git worktree under --work):
  1. apply it (the search string must occur exactly once: a stale mutant is an error);
  2. build (`make -s all` over a copy of the unmutated build, so only what depends on
     the mutated file is rebuilt); a mutant that does not build is *stillborn*, not killed;
  3. run its `killed_by` command first (a pytest node or a make target: the test that
     should catch it, so a kill costs seconds), then, if that passes, the whole
     `make test` with pytest -x;
  4. a failure counts as a kill only if the same failing command passes on an unmutated
     copy: a test that crashes by itself kills nothing.
Mutants with an `equivalent` argument are listed, not run.  The table (mutant, result,
first failing test, seconds) goes to stdout and, with --json, to a file; the kill rate is
killed / (killed + survived).  Exit 0 when no mutant survived, 1 otherwise, 2 for a bad
catalogue or a copy that could not be made.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "tests" / "mutants.toml"
PYTHON = "/usr/bin/python3"
KEYS = {"id", "file", "find", "replace", "models", "killed_by", "equivalent"}
FAILED_TEST = re.compile(r"^FAILED (\S+)", re.M)
TIMEOUT_S = 1800


class CatalogueError(Exception):
    pass


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str
    find: str
    replace: str
    models: str
    killed_by: str
    equivalent: str | None = None


@dataclass
class Outcome:
    id: str
    file: str
    models: str
    result: str              # killed | survived | stillborn | equivalent | error
    first_failure: str | None
    seconds: float
    detail: str = ""


def load(path: Path) -> list[Mutant]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise CatalogueError(f"{path}: cannot read the catalogue ({e})") from None
    entries = data.get("mutant")
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{path}: expected [[mutant]] tables")
    out: list[Mutant] = []
    for i, e in enumerate(entries):
        where = f"{path.name}: mutant[{i}]"
        if not isinstance(e, dict) or set(e) - KEYS:
            raise CatalogueError(f"{where}: unknown keys {sorted(set(e) - KEYS)}; expected {sorted(KEYS)}")
        missing = [k for k in ("id", "file", "find", "replace", "models", "killed_by") if not isinstance(e.get(k), str)]
        if missing:
            raise CatalogueError(f"{where}: missing string keys {missing}")
        m = Mutant(**e)
        if m.find == m.replace:
            raise CatalogueError(f"{where} ({m.id}): find and replace are the same")
        src = ROOT / m.file
        if not src.is_file():
            raise CatalogueError(f"{where} ({m.id}): no file {m.file}")
        n = src.read_text().count(m.find)
        if n != 1:
            raise CatalogueError(f"{where} ({m.id}): the search string occurs {n} times in {m.file}, not once")
        out.append(m)
    ids = [m.id for m in out]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise CatalogueError(f"{path.name}: duplicate ids {sorted(dup)}")
    return out


def make_copy(work: Path, name: str) -> Path:
    path = work / name
    if path.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                       capture_output=True)
        shutil.rmtree(path, ignore_errors=True)
    r = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), "HEAD"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise CatalogueError(f"cannot make a clean copy at {path}: {r.stderr.strip()}")
    return path


def drop_copy(path: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], capture_output=True)
    shutil.rmtree(path, ignore_errors=True)


def command_for(killed_by: str) -> list[str]:
    """A make target ('make test-host') or pytest node ids ('tests/x.py::test_y ...')."""
    if killed_by.startswith("make "):
        return ["make", "-s", *killed_by.split()[1:]]
    return [PYTHON, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *killed_by.split()]


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S,
                              env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return subprocess.CompletedProcess(cmd, 124, out, f"timed out after {TIMEOUT_S} s")


def first_failure(proc: subprocess.CompletedProcess[str], fallback: str) -> str:
    m = FAILED_TEST.search(proc.stdout)
    return m.group(1) if m else fallback


def age_sources(copy: Path) -> None:
    """Date every tracked file of a fresh checkout a day back, before the build copied in."""
    old = time.time() - 86400
    files = subprocess.run(["git", "-C", str(copy), "ls-files", "-z"], capture_output=True, check=True).stdout
    for name in files.decode().split("\0"):
        if name:
            os.utime(copy / name, (old, old))


class Baseline:
    """Unmutated copy: a failing command only kills if it passes here (cached per command)."""

    def __init__(self, work: Path) -> None:
        self.path = make_copy(work, "baseline")
        age_sources(self.path)
        # The Linux guest's tests need build/linux; seeding it from this checkout's
        # (when there) spares a kernel download per run, and `make linux` makes it
        # whole either way.  Mutant copies inherit it with the rest of the build.
        fetched = ROOT / "build" / "linux"
        if fetched.is_dir():
            shutil.copytree(fetched, self.path / "build" / "linux", symlinks=True)
        built = run(["make", "-s", "all", "linux"], self.path)
        if built.returncode != 0:
            raise CatalogueError(f"the unmutated copy does not build:\n{built.stdout[-2000:]}{built.stderr[-2000:]}")
        self.cache: dict[tuple[str, ...], bool] = {}
        self.output: dict[tuple[str, ...], str] = {}
        # One command at a time: two mutants confirming with the same test would run it
        # twice at once in this one copy, and the two runs' files collide.
        self.lock = threading.Lock()

    def passes(self, cmd: list[str]) -> bool:
        key = tuple(cmd)
        with self.lock:
            if key not in self.cache:
                proc = run(cmd, self.path)
                self.cache[key] = proc.returncode == 0
                self.output[key] = proc.stdout + proc.stderr
            return self.cache[key]


def try_mutant(m: Mutant, work: Path, baseline: Baseline, full_suite: bool = True) -> Outcome:
    started = time.monotonic()

    def done(result: str, first: str | None = None, detail: str = "") -> Outcome:
        return Outcome(m.id, m.file, m.models, result, first, round(time.monotonic() - started, 1), detail)

    if m.equivalent:
        return done("equivalent", detail=m.equivalent)
    copy = make_copy(work, f"m-{m.id}")
    try:
        # Start from the unmutated build, with every source older than it: make then
        # rebuilds only what depends on the mutated file (seconds, not a full build).
        shutil.copytree(baseline.path / "build", copy / "build", symlinks=True)
        age_sources(copy)
        src = copy / m.file
        src.write_text(src.read_text().replace(m.find, m.replace, 1))
        built = run(["make", "-s", "all"], copy)
        if built.returncode != 0:
            return done("stillborn", detail=(built.stdout + built.stderr)[-400:])
        targeted = command_for(m.killed_by)
        proc = run(targeted, copy)
        if proc.returncode != 0:
            if baseline.passes(targeted):
                return done("killed", first_failure(proc, m.killed_by))
            return done("error", m.killed_by, "fails on the unmutated copy too: it says nothing\n"
                        + baseline.output.get(tuple(targeted), "")[-1500:])
        if not full_suite:
            return done("survived", m.killed_by, "survived its own test; the whole suite was not run (--quick)")
        full = ["make", "-s", "test"]
        proc = run(full, copy, {"PYTEST_ADDOPTS": "-x"})
        if proc.returncode == 0:
            return done("survived")
        first = first_failure(proc, "make test")
        confirm = command_for(first) if first != "make test" else full
        if baseline.passes(confirm):
            return done("killed", first)
        return done("error", first, "fails on the unmutated copy too: it says nothing")
    finally:
        drop_copy(copy)


def table(outcomes: list[Outcome]) -> str:
    rows = ["| mutant | file | models | result | first failing test | s |", "|-|-|-|-|-|-|"]
    for o in outcomes:
        rows.append(f"| {o.id} | {o.file} | {o.models} | {o.result} | {o.first_failure or ''} | {o.seconds:.0f} |")
    return "\n".join(rows)


def kill_rate(outcomes: list[Outcome]) -> tuple[int, int, float]:
    killed = sum(o.result == "killed" for o in outcomes)
    judged = killed + sum(o.result == "survived" for o in outcomes)
    return killed, judged, (killed / judged if judged else 0.0)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="mutants", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalogue", type=Path, default=CATALOGUE)
    ap.add_argument("--jobs", type=int, default=2, help="mutants at a time (default 2)")
    ap.add_argument("--only", action="append", default=[], metavar="ID", help="run only these mutants")
    ap.add_argument("--work", type=Path, default=Path("/tmp/heisenvisor-mutants"),
                    help="where the clean copies go")
    ap.add_argument("--json", type=Path, help="also write the outcomes here")
    ap.add_argument("--quick", action="store_true",
                    help="run each mutant's own test only, not the whole suite after it (a quick look "
                         "for survivors; its kill rate is a lower bound)")
    ns = ap.parse_args(argv)
    try:
        mutants = load(ns.catalogue)
        unknown = set(ns.only) - {m.id for m in mutants}
        if unknown:
            raise CatalogueError(f"--only: no mutants {sorted(unknown)} in {ns.catalogue}")
        if ns.jobs < 1:
            raise CatalogueError("--jobs must be at least 1")
        chosen = [m for m in mutants if not ns.only or m.id in ns.only]
        ns.work.mkdir(parents=True, exist_ok=True)
        baseline = Baseline(ns.work)
    except CatalogueError as e:
        print(f"mutants: {e}", file=sys.stderr)
        return 2
    try:
        with ThreadPoolExecutor(max_workers=ns.jobs) as pool:
            outcomes = []
            for o in pool.map(lambda m: try_mutant(m, ns.work, baseline, not ns.quick), chosen):
                print(f"  {o.id}: {o.result} {o.first_failure or ''} ({o.seconds:.0f} s)", flush=True)
                outcomes.append(o)
    except CatalogueError as e:
        print(f"mutants: {e}", file=sys.stderr)
        return 2
    finally:
        drop_copy(baseline.path)
    print(table(outcomes))
    killed, judged, rate = kill_rate(outcomes)
    others = {r: sum(o.result == r for o in outcomes) for r in ("equivalent", "stillborn", "error")}
    print(f"mutants: {len(outcomes)}; killed {killed} of {judged} judged ({100 * rate:.0f} %); "
          + ", ".join(f"{r} {n}" for r, n in others.items()))
    if ns.json:
        ns.json.write_text(json.dumps({"outcomes": [asdict(o) for o in outcomes], "killed": killed,
                                       "judged": judged, "rate": rate}, indent=1))
    return 0 if killed == judged and not others["stillborn"] and not others["error"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
