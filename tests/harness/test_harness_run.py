"""`python3 -m harness run` end to end against the stand-in hypervisor (fixtures/fakehv.S)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

import pytest

from harness.judge.run import RunOptions, run_scenario
from harness.scenario import load
from harness_testutil import alive, qemu_children

PY = "/usr/bin/python3"
REPO = Path(__file__).resolve().parents[2]
QUICK = 'smp = 2\ntimeout = 30\nhang_timeout = {hang}\n[workloads]\ndefault = "hello"\n'


def verdict_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "verdict.json").read_text())


def only_run_dir(results: Path) -> Path:
    dirs = [p for p in results.iterdir() if p.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


@pytest.mark.parametrize("mode, outcome, status", [
    ("pass", "pass", 33), ("fail", "fail", 35), ("panic", "panic", 37), ("reset", "reset", 0)])
def test_exit_status_becomes_the_verdict(fake_build: Callable[[str], Path], scenario_file,
                                         tmp_path: Path, mode: str, outcome: str, status: int) -> None:
    sc = load(scenario_file(QUICK.format(hang=5)))
    result = run_scenario(sc, RunOptions(seed=11, build_dir=fake_build(mode),
                                         results_dir=tmp_path / "results"))
    v = verdict_of(result.run_dir)
    assert (v["outcome"], v["qemu"]["exit_status"], v["passed"]) == (outcome, status, mode == "pass")
    assert result.run_dir.name.endswith("-probe-11")
    assert (result.run_dir / "serial.bin").read_bytes().startswith(b"fakehv up\n")
    cmdline = (result.run_dir / "cmdline.txt").read_text()
    assert "qemu-system-x86_64" in cmdline and "-append wl=hello" in cmdline
    for role in ("hv_elf", "hv_elf32", "guest_elf"):
        assert Path(v["build"][role]["copy"]).is_file() and len(v["build"][role]["sha256"]) == 64
    # The trace is either decoded and checked, or verdict.json says why not: never silent.
    trace = v["trace"]
    assert trace["decoded"] or trace["reason"]
    assert trace["checked"] or trace["check_error"] or not trace["decoded"]


def test_hang_is_detected_and_captured(fake_build: Callable[[str], Path], scenario_file,
                                       tmp_path: Path) -> None:
    sc = load(scenario_file(QUICK.format(hang=1)))
    t0 = time.monotonic()
    result = run_scenario(sc, RunOptions(seed=1, build_dir=fake_build("hang"),
                                         results_dir=tmp_path / "results"))
    assert time.monotonic() - t0 < 20
    v = verdict_of(result.run_dir)
    assert v["outcome"] == "hang" and not v["passed"] and v["qemu"]["ended_by"] == "harness"
    hang = result.run_dir / "hang"
    regs = (hang / "registers.txt").read_text()
    assert "CPU#0" in regs and "CPU#1" in regs
    bts = (hang / "backtraces.txt").read_text()
    assert "Thread 1" in bts and "Thread 2" in bts and "in spin ()" in bts
    assert (hang / "trace_rings.bin").read_bytes().startswith(b"HVRING01")
    assert v["capture"]["errors"].get("backtraces") is None
    # The one record the fake never "drained" comes back out of guest memory.
    rings = v["capture"]["rings"]
    assert rings["decoded"] and rings["records"] == 1
    assert not qemu_children(os.getpid())


def test_injected_nmis_reach_the_machine(fake_build: Callable[[str], Path], scenario_file,
                                         tmp_path: Path) -> None:
    # fakehv has no IDT, so the first NMI that lands triple-faults it: the
    # injector is wired to the run and its count is recorded.
    sc = load(scenario_file(QUICK.format(hang=10) + '[nmi]\npattern = "interval"\ninterval = 0.05\n'
                            'start_after = 0.2\n'))
    result = run_scenario(sc, RunOptions(seed=2, build_dir=fake_build("hang"),
                                         results_dir=tmp_path / "results"))
    v = verdict_of(result.run_dir)
    assert v["outcome"] == "reset"
    assert v["nmi"]["sent"] >= 1 and v["nmi"]["pattern"]["kind"] == "interval"


def start_harness(build: Path, scenario: Path, results: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([PY, "-m", "harness", "run", str(scenario), "--build", str(build),
                             "--results", str(results), "--seed", "5"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_qemu(harness: subprocess.Popen[str], results: Path) -> tuple[int, Path]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        kids = qemu_children(harness.pid)
        serials = list(results.glob("*/serial.bin"))
        if kids and serials and serials[0].stat().st_size > 10:
            return kids[0], serials[0].parent
        time.sleep(0.05)
    raise AssertionError("harness never got QEMU running")


def sockets_of(run_dir: Path) -> Path:
    for word in (run_dir / "cmdline.txt").read_text().split():
        if word.startswith("unix:") and "qmp.sock" in word:
            return Path(word[len("unix:"):].split(",")[0]).parent
    raise AssertionError("no QMP socket in cmdline.txt")


def test_qemu_killed_mid_run_is_qemu_died_with_artifacts_and_no_orphans(
        fake_build: Callable[[str], Path], scenario_file, tmp_path: Path) -> None:
    results = tmp_path / "results"
    harness = start_harness(fake_build("chatter"), scenario_file(QUICK.format(hang=30)), results)
    qemu_pid, run_dir = wait_for_qemu(harness, results)
    os.kill(qemu_pid, signal.SIGKILL)
    out, _ = harness.communicate(timeout=60)
    assert harness.returncode == 1, out
    v = verdict_of(run_dir)
    assert v["outcome"] == "qemu died" and "SIGKILL" in v["reason"]
    assert (run_dir / "serial.bin").stat().st_size > 10 and (run_dir / "cmdline.txt").exists()
    assert "qemu died" in out
    assert not alive(qemu_pid) and not sockets_of(run_dir).exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_qemu_keeps_artifacts_and_says_interrupted(
        fake_build: Callable[[str], Path], scenario_file, tmp_path: Path, sig: int) -> None:
    results = tmp_path / "results"
    harness = start_harness(fake_build("chatter"), scenario_file(QUICK.format(hang=30)), results)
    qemu_pid, run_dir = wait_for_qemu(harness, results)
    harness.send_signal(sig)  # SIGINT is what a terminal's Ctrl-C delivers to the harness
    out, _ = harness.communicate(timeout=60)
    assert harness.returncode == 130, out
    v = verdict_of(run_dir)
    assert v["outcome"] == "interrupted" and v["qemu"]["ended_by"] == "harness"
    assert (run_dir / "serial.bin").stat().st_size > 10
    assert not alive(qemu_pid) and not sockets_of(run_dir).exists()


def test_repeat_uses_consecutive_seeds_and_stop_on_fail_stops(
        fake_build: Callable[[str], Path], scenario_file, tmp_path: Path) -> None:
    path = scenario_file(QUICK.format(hang=5))
    ok = subprocess.run([PY, "-m", "harness", "run", str(path), "--build", str(fake_build("pass")),
                         "--results", str(tmp_path / "ok"), "--seed", "40", "--repeat", "3"],
                        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout
    seeds = sorted(verdict_of(p)["seed"] for p in (tmp_path / "ok").iterdir())
    assert seeds == [40, 41, 42] and "3/3 passed" in ok.stdout
    bad = subprocess.run([PY, "-m", "harness", "run", str(path), "--build", str(fake_build("fail")),
                          "--results", str(tmp_path / "bad"), "--seed", "1", "--repeat", "3",
                          "--stop-on-fail"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert verdict_of(only_run_dir(tmp_path / "bad"))["outcome"] == "fail"
    assert "0/1 passed" in bad.stdout


def test_missing_build_is_an_error_before_any_run_dir(scenario_file, tmp_path: Path) -> None:
    proc = subprocess.run([PY, "-m", "harness", "run", str(scenario_file(QUICK.format(hang=5))),
                           "--build", str(tmp_path / "nobuild"), "--results", str(tmp_path / "r")],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "hv.elf" in proc.stdout and "make" in proc.stdout
    assert not (tmp_path / "r").exists()


def test_matrix_runs_every_cell_and_prints_the_xmhf64_style_list(
        fake_build: Callable[[str], Path], tmp_path: Path) -> None:
    proc = subprocess.run([PY, "-m", "harness", "matrix", "smoke", "test5", "--build",
                           str(fake_build("fail")), "--guests", "32,64", "--smp", "1,2",
                           "--results", str(tmp_path / "m"), "--seed", "3"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert len(list((tmp_path / "m").iterdir())) == 8
    assert "* x64 guest, smp 2: smoke fail (fail), test5 fail (fail)" in proc.stdout
    guests = {verdict_of(p)["scenario_config"]["guest"] for p in (tmp_path / "m").iterdir()}
    assert guests == {32, 64}


def test_qemu_refusing_to_start_is_qemu_died_with_its_message(
        fake_build: Callable[[str], Path], scenario_file, tmp_path: Path) -> None:
    sc = load(scenario_file(QUICK.format(hang=5)))
    result = run_scenario(sc, RunOptions(seed=1, build_dir=fake_build("pass"),
                                         results_dir=tmp_path / "r", qemu_args=["-no-such-option"]))
    v = result.verdict
    assert v["outcome"] == "qemu died" and v["qemu"]["exit_status"] == 1
    assert "no-such-option" in v["reason"] and "no-such-option" in v["qemu"]["log_tail"]
