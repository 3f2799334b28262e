"""The shipped scenarios against the real hypervisor and guests in build/ (made by `make all`).

Sizes are cut down with overrides so the whole file stays within seconds;
the scenarios themselves keep XMHF64's sizes.
"""
from __future__ import annotations

import dataclasses

import json
from pathlib import Path

import pytest

from harness.launch.build import REPO
from harness.judge.run import RunOptions, RunResult, run_scenario
from harness.scenario import load_named

BUILD = REPO / "build"
BOOT_BOUND_S = 1.5  # see test_default_scenario_passes


# A scenario's `timeout` bounds a run's wall time; whether it is alive is the silence
# detector's question (hang_timeout, left as it is).  On a loaded host a run that makes
# steady progress can outlast the bound: test5 at -smp 4 (32-bit, 500 iterations) was
# still running at 120 s with load average 8-9 on the 2 cores, its longest serial
# silence 0.33 s, and took 248 s at that load with the bound raised.  These tests
# judge correctness, so they allow 5x the scenario's bound.
SLOW_HOST_TIMEOUT_FACTOR = 5


def run(name: str, tmp_path: Path, seed: int = 1, **overrides: int) -> RunResult:
    sc = load_named(name).with_overrides(**overrides)
    sc = dataclasses.replace(sc, timeout=sc.timeout * SLOW_HOST_TIMEOUT_FACTOR)
    return run_scenario(sc, RunOptions(seed=seed, build_dir=BUILD, results_dir=tmp_path))


def explain(result: RunResult) -> str:
    serial = (result.run_dir / "serial.bin").read_bytes()[-2000:]
    return f"{json.dumps(result.verdict, indent=1)[:3000]}\nserial tail: {serial!r}"


@pytest.mark.parametrize("guest", [32, 64])
def test_smoke_boots_every_cpu(tmp_path: Path, guest: int) -> None:
    result = run("smoke", tmp_path, guest=guest)
    assert result.outcome == "pass" and result.passed, explain(result)
    assert result.verdict["qemu"]["exit_status"] == 33


def test_default_scenario_passes(tmp_path: Path) -> None:
    result = run("default", tmp_path)
    assert result.passed, explain(result)
    assert result.verdict["scenario_config"]["hv_cmdline"] == "wl=test:1000 wl0=pal_demo:50 wl1=pal_demo:50"
    # Boot time (machine start -> last CPU in its guest; goal < 0.5 s).  Measured on
    # this 2-core machine shared with other engineers' QEMUs (load average 8), default
    # scenario, seeds 1-5: 0.58, 0.42, 0.21, 0.32, 0.64 s -- the goal holds only on a
    # quiet host.  BOOT_BOUND_S is 2.3x the worst of those: a loaded host stays under
    # it, while a boot that got 3x slower than today's typical 0.4 s fails.
    boot = result.verdict["trace"]["summary"]["all_guests_running_s"]
    assert boot is not None and 0 < boot < BOOT_BOUND_S, boot


@pytest.mark.parametrize("guest, smp", [(64, 2), (32, 4)])
def test_xmhf64_test5_two_test_loops(tmp_path: Path, guest: int, smp: int) -> None:
    result = run("test5", tmp_path, guest=guest, smp=smp, iterations=500)
    assert result.passed, explain(result)


@pytest.mark.parametrize("guest", [32, 64])
def test_xmhf64_test4_nmi_flood(tmp_path: Path, guest: int) -> None:
    result = run("test4", tmp_path, guest=guest, iterations=5000)
    assert result.passed, explain(result)
    assert result.verdict["nmi"]["sent"] > 0 and result.verdict["nmi"]["failed"] == 0


def test_stuck_run_is_captured_with_every_vcpu_backtrace(tmp_path: Path, scenario_file) -> None:
    # 50M TEST hypercalls take minutes: the 2 s timeout stops the run, and
    # the capture is the same as for a hang (which no correct build gives).
    path = scenario_file('smp = 2\ntimeout = 2\nhang_timeout = 60\n[workloads]\n'
                         'default = "test:50000000"\n')
    sc = load_named(str(path))
    result = run_scenario(sc, RunOptions(seed=1, build_dir=BUILD, results_dir=tmp_path))
    assert result.outcome == "timeout" and not result.passed, explain(result)
    hang = result.run_dir / "hang"
    regs = (hang / "registers.txt").read_text()
    assert "CPU#0" in regs and "CPU#1" in regs
    bts = (hang / "backtraces.txt").read_text()
    assert "Thread 1.1 (CPU#0" in bts and "Thread 1.2 (CPU#1" in bts, bts
    assert "packet reply is too long" not in bts  # gdb agreed on the x86-64 register layout
    capture = result.verdict["capture"]
    assert capture["errors"] == {}, capture["errors"]
    # The rings come straight out of guest memory and decode to the records
    # the stuck CPUs were writing (TEST hypercalls), drained or not.
    assert (hang / "trace_rings.bin").read_bytes()[:8] == b"HVRING01"
    assert capture["rings"]["decoded"] and capture["rings"]["records"] > 0
    assert "HYPERCALL" in (hang / "rings-timeline.txt").read_text()
