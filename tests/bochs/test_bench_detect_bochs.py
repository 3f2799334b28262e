"""make bench-detect PLATFORM=bochs, run small (make test-vmx): one VMX zoo bug hunted
deterministically on Bochs from its vmx_seed, its first failure re-run on the same build
and byte-identical, the correct VMX build passing its runs, and the output saying that
only the deterministic method runs there."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.det.hunt import HuntError, HuntOptions, hunt
from harness.launch.build import REPO
from harness.scenario import load_named

BUG = "inject-while-blocked"   # caught as `fail` at its vmx_seed 1: the shortest catch of the VMX zoo


def test_bench_detect_on_bochs_one_bug_small(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, "-m", "bench.bench_detect", "--platform", "bochs", "--bug", BUG,
                        "--budget", "240", "--runs", "2", "--replays", "1", "--repeats", "1", "--jobs", "1",
                        "--results", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=1200)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-3000:]
    assert "deterministic hunts only: Bochs has no QMP" in out.replace("\n", ""), out[-3000:]
    (bench_json,) = tmp_path.glob("*-bench-detect-bochs-*/bench.json")
    report = json.loads(bench_json.read_text())
    assert report["platform"] == "bochs" and list(report["bugs"]) == [BUG]
    row = report["bugs"][BUG]
    (cell,) = row["hunts"]["deterministic"]
    assert cell["caught"] and cell["outcome"] == row["expected"] == "fail", cell
    assert cell["seed"] == 1 and cell["ttf_s"] > 0, cell                  # its vmx_seed: the first one hunted
    # The re-run of the failing seed on the same build: same outcome, byte-identical serial.bin.
    assert cell["replays"] == 1 and cell["reproduced"] == 1 and cell["identical"] == 1, cell
    seeds = Path(cell["run_dir"])
    (replay,) = (seeds / "replays").glob("*/serial.bin")
    assert replay.read_bytes() == (seeds / "serial.bin").read_bytes()
    assert report["correct"]["runs"] == 2 and report["correct"]["failures"] == 0, report["correct"]


def test_a_bochs_hunt_is_deterministic_only(tmp_path: Path) -> None:
    with pytest.raises(HuntError, match="only deterministic mode"):
        hunt(load_named("smoke"), HuntOptions(budget_s=10, jobs=1, base_seed=1, build_dir=REPO / "build",
                                              results_dir=tmp_path, deterministic=False, platform="bochs"))
    with pytest.raises(HuntError, match="platform must be one of"):
        hunt(load_named("smoke"), HuntOptions(budget_s=10, jobs=1, base_seed=1, build_dir=REPO / "build",
                                              results_dir=tmp_path, platform="bochs;true"))
