"""XMHF64's `test` as a Linux program (guest/linux/hvtest.c) under the hypervisor:
TEST hypercalls from ring 3, the hypercall ABI for processes (kernel-only calls refused
with HC_ERR_PRIVILEGED), XMHF64's special values, two unpinned loops that stop the
world (XMHF64 test 5) and an NMI flood (XMHF64 test 4), each program's exit status carried
by the trace into the verdict (docs/linux-guest.md, "Test programs")."""
from __future__ import annotations

from pathlib import Path

import pytest

from decoder.defs import EVENT_IDS, HC_ERRORS, HYPERCALLS, TEST_FLAGS, USER_HYPERCALLS
from harness.launch.build import REPO
from harness.judge.decoding import event_records
from harness.judge.run import RunOptions, RunResult, run_scenario
from harness.scenario import load, load_named

LINUX = REPO / "build" / "linux"
HYPERCALL, QUIESCE_REQUEST = EVENT_IDS["HYPERCALL"], EVENT_IDS["QUIESCE_REQUEST"]
NMI_INJECT = EVENT_IDS["NMI_INJECT"]


@pytest.fixture(scope="module", autouse=True)
def linux_artifacts() -> None:
    for name in ("vmlinuz", "initramfs.cpio", "hvtest"):
        assert (LINUX / name).is_file(), f"{LINUX / name} missing: run `make linux`"


def run(tmp_path: Path, name: str | Path, seed: int = 1) -> RunResult:
    sc = load(name) if isinstance(name, Path) else load_named(name)
    return run_scenario(sc, RunOptions(seed=seed, deterministic=False, build_dir=REPO / "build",
                                       results_dir=tmp_path, views=False))


def console(result: RunResult) -> str:
    return (result.run_dir / "console.txt").read_text(errors="replace")


def test_processes_get_the_documented_error_for_kernel_only_hypercalls(tmp_path: Path) -> None:
    result = run(tmp_path, "linux-hvtest")
    v = result.verdict
    assert result.passed, (v.get("reason"), result.run_dir)
    assert v["programs"]["ok"] and len(v["programs"]["exits"]) == 4, v["programs"]
    records = event_records(result.run_dir / "serial.bin")
    calls = [r.args for r in records if r.type == HYPERCALL]
    kernel_only = {nr for name, nr in HYPERCALLS.items() if name not in USER_HYPERCALLS}
    refused = {nr for nr, _, res in calls if res == HC_ERRORS["PRIVILEGED"]}
    # Each kernel-only number was tried from ring 3 and refused; no user call was.
    assert refused == kernel_only, (refused, kernel_only)
    assert "kernel-only hypercalls refused from CPL 3" in console(result)
    # XMHF64's special values reached the hypervisor with their flags.
    args = {arg for nr, arg, _ in calls if nr == HYPERCALLS["TEST"]}
    assert 1000000 | TEST_FLAGS["SLEEP"] in args and 1000008 | TEST_FLAGS["SELF_NMI"] in args
    # The self-NMI reached Linux (its count equals the injected ones: the hypervisor's
    # verdict), and Linux's "unknown reason" line for it is expected, not a failure.
    assert any(r.type == NMI_INJECT for r in records)
    assert v["console"]["unclaimed_nmis"] >= 1 and not v["console"]["failures"], v["console"]


def test_two_unpinned_hvtest_loops_stop_the_world_each_call(tmp_path: Path) -> None:
    result = run(tmp_path, "linux-test5")
    v = result.verdict
    assert result.passed, (v.get("reason"), result.run_dir)
    assert [e["cpu"] for e in v["programs"]["exits"]] == [None, None], v["programs"]
    records = event_records(result.run_dir / "serial.bin")
    assert sum(1 for r in records if r.type == QUIESCE_REQUEST) >= 2 * 300
    assert "hvtest: 300 TEST calls (flags 0x40000000) checked" in console(result)


def test_an_nmi_flood_while_hvtest_runs_on_every_cpu_is_accounted(tmp_path: Path) -> None:
    result = run(tmp_path, "linux-test4")
    v = result.verdict
    assert result.passed, (v.get("reason"), result.run_dir)
    assert v["nmi"]["sent"] >= 50, v["nmi"]
    assert [e["cpu"] for e in v["programs"]["exits"]] == [0, 1, 2, 3], v["programs"]
    # The BSP's LINT1 takes QMP NMIs; Linux counted exactly the injected ones (the
    # hypervisor's verdict checks the counts per CPU).
    assert sum(1 for r in event_records(result.run_dir / "serial.bin") if r.type == NMI_INJECT) > 0
    assert "debug-exit PASS" in v["reason"]


def test_a_failing_program_fails_the_run_with_its_status(tmp_path: Path) -> None:
    sc = tmp_path / "bad-program.toml"
    sc.write_text('guest = "linux"\nsmp = 2\nmemory = 512\ntimeout = 240\nhang_timeout = 120\n'
                  '[programs]\ncpu0 = "hvtest:5"\ncpu1 = "hvtest:0"\n')
    result = run(tmp_path, sc)
    v = result.verdict
    assert not result.passed and result.outcome == "fail", (v.get("reason"), result.run_dir)
    # hvtest's usage error (status 2) on CPU 1: init says FAIL, and the trace's
    # PROGRAM_EXIT says which program, whatever the exit path reports.
    assert {"cpu": 1, "status": 2} in v["programs"]["exits"], v["programs"]
    assert "cpu1-hvtest-exit-2" in console(result)
