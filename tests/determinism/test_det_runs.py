"""Deterministic mode against the real hypervisor in build/ (issue 8's acceptance tests).

A run must be a pure function of (build, scenario, seed): the same triple gives
byte-identical serial.bin at -smp 2 and 4, and another seed gives another
schedule: another recorded hypervisor command line and another interleaving
of the CPUs' trace records, not just different bytes.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from decoder.api import Record, read_records
from harness.launch.build import REPO
from harness.det.replay import first_difference
from harness.judge.run import RunOptions, RunResult, run_scenario
from harness.scenario import load

BUILD = REPO / "build"


def scenario(tmp_path: Path, smp: int, nmi: str = "none", workload: str = "test:300") -> Path:
    path = tmp_path / f"det-{smp}-{nmi}.toml"
    path.write_text(f'smp = {smp}\ntimeout = 60\nhang_timeout = 10\n'
                    f'[workloads]\ndefault = "{workload}"\n[nmi]\npattern = "{nmi}"\n')
    return path


def run(path: Path, seed: int, results: Path) -> RunResult:
    """One deterministic run, which must pass: a failure under the NMI flood is a
    hypervisor bug the test reports, not a result it repeats and accepts."""
    result = run_scenario(load(path), RunOptions(seed=seed, build_dir=BUILD, results_dir=results,
                                                 deterministic=True))
    assert result.outcome == "pass", json.dumps(result.verdict, indent=1)[:3000]
    return result


def serial(result: RunResult) -> bytes:
    return (result.run_dir / "serial.bin").read_bytes()


def interleaving(result: RunResult) -> list[int]:
    """Which CPU wrote each record, in trace (TSC) order: the schedule as the trace saw it."""
    return [item.cpu for item in read_records(result.run_dir / "serial.bin")
            if isinstance(item, Record)]


@pytest.mark.parametrize("smp", [2, 4])
def test_same_build_scenario_seed_gives_identical_serial(tmp_path: Path, smp: int) -> None:
    path = scenario(tmp_path, smp, nmi="flood")
    # Results dirs of different path lengths: nothing of the host path may leak into the run.
    a = run(path, 7, tmp_path / "a")
    b = run(path, 7, tmp_path / "a-much-longer-results-dir")
    assert len(serial(a)) > 10_000
    # No third run to pick a winner: two runs of one (build, scenario, seed) that differ
    # are a failure, and both run dirs (under tmp_path, which pytest keeps) are named.
    assert serial(a) == serial(b), (f"same seed, different serial.bin from byte "
                                    f"{first_difference(serial(a), serial(b))}: {a.run_dir} vs {b.run_dir}")
    assert (a.outcome, a.verdict["reason"]) == (b.outcome, b.verdict["reason"])
    sched = a.verdict["schedule"]
    assert sched == b.verdict["schedule"]
    assert sched["seed"] == 7 and "seed=7" in sched["hv_cmdline"].split()
    assert sched["nmi_every"] > 0 and f"nmi_every={sched['nmi_every']}" in sched["hv_cmdline"]
    argv = " ".join(a.verdict["qemu"]["command_line"])
    assert " ".join(sched["qemu_args"]) in argv and "shift=7,sleep=off" in argv
    assert a.verdict["nmi"]["sent"] == 0  # nothing came in over QMP
    # The hypervisor-side NMI source actually fired: the guests received NMIs.
    summary = a.verdict["trace"]["summary"]["cpus"]
    assert sum(row["nmi"]["host"] for row in summary.values()) > 0, summary


def test_another_seed_gives_another_schedule(tmp_path: Path) -> None:
    path = scenario(tmp_path, 2)
    a, b = run(path, 1, tmp_path / "a"), run(path, 2, tmp_path / "b")
    assert a.verdict["schedule"]["hv_cmdline"] != b.verdict["schedule"]["hv_cmdline"]
    assert serial(a) != serial(b)
    # Not only the echoed command line differs: the CPUs took turns differently.
    ia, ib = interleaving(a), interleaving(b)
    assert sorted(ia) == sorted(ib)  # the same work ...
    assert ia != ib                  # ... in another order


def test_a_run_in_virtual_time_is_called_hung_on_its_virtual_hang_timeout(tmp_path: Path) -> None:
    # A silent spin of 4e9 iterations: hung on hang_timeout_virtual (1 s), not on the
    # wall-clock hang_timeout a host-timed run would use.
    path = tmp_path / "spin.toml"
    path.write_text('smp = 1\ntimeout = 20\nhang_timeout = 600\nhang_timeout_virtual = 1\n'
                    '[workloads]\ndefault = "spin:4000000000"\n')
    result = run_scenario(load(path), RunOptions(seed=1, build_dir=BUILD, results_dir=tmp_path,
                                                 deterministic=True, views=False))
    assert result.outcome == "hang", result.verdict.get("reason")
    # Called on the virtual timeout: a spin runs so fast under TCG that the wall one
    # (600 s) is reached in virtual time too within seconds, so bound the silence seen.
    silent = re.search(r"no serial output for ([0-9.]+)s of virtual time", result.verdict["reason"])
    assert silent and float(silent.group(1)) < 100, result.verdict["reason"]
    assert result.verdict["schedule"]["hang_virtual_s"] == 1
