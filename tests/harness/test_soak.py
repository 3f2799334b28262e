"""bench/soak.py against tests/harness/fixtures/fakehv.S: a soak lists every failing seed,
exits 1 for any failure and 2 for a plan it cannot run; its figures come from the verdicts."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Callable

from harness.launch.build import REPO

SCENARIO = 'smp = 1\ntimeout = 20\nhang_timeout = 5\n[workloads]\ndefault = "hello"\n'


def soak(tmp_path: Path, build: Path, plan: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict | None]:
    results = tmp_path / "soak"
    proc = subprocess.run(["/usr/bin/python3", str(REPO / "bench/soak.py"), "--plan", plan, "--base-seed", "1",
                           "--build", str(build), "--results", str(results), *extra],
                          capture_output=True, text=True, timeout=300)
    summary = results / "soak.json"
    return proc, json.loads(summary.read_text()) if summary.exists() else None


def test_a_soak_lists_every_failing_seed_and_fails(tmp_path: Path, fake_build: Callable[[str], Path]) -> None:
    sc = tmp_path / "fake.toml"
    sc.write_text(SCENARIO)
    proc, summary = soak(tmp_path, fake_build("odd"), f"{sc}=4")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert summary is not None
    row = summary["scenarios"][0]
    assert row["seeds_run"] == 4 and row["failing_seeds"] == [1, 3], row
    assert row["outcomes"] == {"fail": 2, "pass": 2}, row
    assert len(row["failing_run_dirs"]) == 2 and all(Path(d).is_dir() for d in row["failing_run_dirs"])
    assert "failing seeds [1, 3]" in proc.stdout and "4 seeds, 2 failing" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_a_clean_soak_exits_0_and_keeps_no_passing_run(tmp_path: Path, fake_build: Callable[[str], Path]) -> None:
    sc = tmp_path / "fake.toml"
    sc.write_text(SCENARIO)
    proc, summary = soak(tmp_path, fake_build("pass"), f"{sc}=3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert summary is not None and summary["scenarios"][0]["seeds_run"] == 3
    assert summary["scenarios"][0]["failing_seeds"] == []
    assert not list((tmp_path / "soak").glob("*/*/seeds/*")), "passing run dirs are not kept"


def test_a_plan_it_cannot_run_is_exit_2(tmp_path: Path) -> None:
    for plan in ("stress-all", "stress-all=0", "no-such-scenario=3", "stress-all=x"):
        proc, summary = soak(tmp_path, REPO / "build", plan)
        assert proc.returncode == 2 and proc.stderr.startswith("soak: "), (plan, proc.stderr)
        assert "Traceback" not in proc.stderr and summary is None


def test_a_soak_that_runs_out_of_time_fails(tmp_path: Path, fake_build: Callable[[str], Path]) -> None:
    sc = tmp_path / "fake.toml"
    sc.write_text(SCENARIO)
    proc, summary = soak(tmp_path, fake_build("pass"), f"{sc}=40", "--budget", "1")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "fewer seeds than planned" in proc.stderr and "Traceback" not in proc.stderr
    assert summary is not None and summary["scenarios"][0]["seeds_run"] < 40, summary


def test_make_soak_guest_linux_plans_every_linux_test_and_checks_its_inputs() -> None:
    import sys
    import pytest
    sys.path.insert(0, str(REPO / "bench"))
    import soak as soakmod
    linux = sorted(p.stem for p in (REPO / "scenarios").glob("linux-test*.toml"))
    assert len(linux) >= 2
    assert soakmod.plan_from_env("linux", "7", "x") == ",".join(f"{n}=7" for n in linux)
    assert soakmod.plan_from_env("linux", "", "x") == ",".join(f"{n}=20" for n in linux)
    assert soakmod.plan_from_env("", "", "stress-all=5") == "stress-all=5"
    for guest, runs in [("linux", "3;touch x"), ("linux", "0"), ("windows", ""), ("", "5")]:
        with pytest.raises(ValueError):
            soakmod.plan_from_env(guest, runs, "x")
    # SMP Linux runs host-timed; every other soak scenario deterministic.
    assert not soakmod.deterministic("linux-test5") and soakmod.deterministic("stress-all")


def test_a_bad_runs_value_from_make_is_a_clear_error(tmp_path: Path) -> None:
    import os
    env = {**os.environ, "SOAK_GUEST": "linux", "SOAK_RUNS": "5'; touch pwned; '"}
    proc = subprocess.run(["/usr/bin/python3", str(REPO / "bench/soak.py"), "--from-env"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2 and "RUNS=" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "pwned").exists()
