"""The bug zoo on an unmodified Linux guest (defs/bugs.toml linux_scenario): each of
XMHF64's bugs, put back by `make BUGS=name`, is caught while Linux runs XMHF64's `test`
as a program (hvtest), and each of those scenarios passes on the correct build.  Linux
at -smp 2 runs host-timed, so a bug may show as any outcome its linux_detected_as
lists -- never as a pass."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from decoder.defs import EVENT_IDS
from harness.det.replay import replay
from harness.hv_options import HvOptions
from harness.launch.build import REPO
from harness.judge.run import RunOptions, RunResult, run_scenario
from harness.scenario import load_named
from tests.boot_util import decode_serial
from tests.test_zoo import bug_build

BUGS = tomllib.loads((REPO / "defs/bugs.toml").read_text())["bug"]
SCENARIOS = sorted({b["linux_scenario"] for b in BUGS.values()})


def run(scenario: str, build: Path, tmp_path: Path, seed: int = 1) -> RunResult:
    return run_scenario(load_named(scenario), RunOptions(seed=seed, deterministic=False, build_dir=build,
                                                         results_dir=tmp_path, views=False))


def linux_bug_build(name: str) -> Path:
    """The bug's hypervisor with the project's Linux kernel and initramfs."""
    build = bug_build(name)
    link = build / "linux"
    if not link.exists():
        link.symlink_to(REPO / "build" / "linux")
    return build


@pytest.mark.parametrize("name", sorted(BUGS))
def test_zoo_bug_is_caught_on_linux(tmp_path: Path, name: str) -> None:
    bug = BUGS[name]
    result = run(bug["linux_scenario"], linux_bug_build(name), tmp_path)
    assert result.outcome in bug["linux_detected_as"], (result.outcome, result.verdict.get("reason"),
                                                        result.run_dir)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_linux_zoo_scenario_passes_on_the_correct_build(tmp_path: Path, scenario: str) -> None:
    result = run(scenario, REPO / "build", tmp_path)
    assert result.passed, (result.verdict.get("reason"), result.run_dir)
    assert result.verdict["programs"]["ok"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_linux_zoo_scenario_passes_deterministically_on_the_correct_build(tmp_path: Path, scenario: str) -> None:
    # In-machine NMIs (nmi_every) stand in for QMP's; for an OS they go to the BSP, as
    # QMP's do.  Sent to an AP still coming up, Linux would drop them uncounted and the
    # exact per-CPU accounting would fail a correct build (hv/core/chaos.c maybe_send_nmi).
    sc = load_named(scenario)
    result = run_scenario(sc, RunOptions(seed=1, deterministic=True, build_dir=REPO / "build",
                                         results_dir=tmp_path, views=False))
    assert result.passed, (result.verdict.get("reason"), result.run_dir)
    assert result.verdict["programs"]["ok"]
    assert (result.verdict["schedule"]["nmi_every"] > 0) == (sc.nmi.kind != "none"), result.verdict["schedule"]
    # The device NMIs (nmi_edu, hv/core/nmi_edu.c) ran too, and the checker's NMI_COUNTS rule held Linux's
    # /proc/interrupts count against what the hypervisor injected, device NMIs included.
    arms = result.verdict["trace"]["summary"]["cpus"]["0"]["events"].get("NMI_EDU", 0)
    assert (result.verdict["schedule"]["nmi_edu_us"] > 0) == (arms > 0) == (sc.nmi.kind != "none"), arms


def test_red_zone_is_caught_on_linux_deterministically_and_replays(tmp_path: Path) -> None:
    # The clobber needs an NMI inside the sleeping hypercall's leaf function.  In deterministic mode only
    # the edu device's NMI can land there: every other in-machine NMI is sent at an exit or a spin, and
    # none of those runs on CPU 0 while it sleeps (docs/linux-guest.md, "The zoo on Linux").
    result = run_scenario(load_named("linux-zoo-sleep-nmi"),
                          RunOptions(seed=1, deterministic=True, build_dir=linux_bug_build("red-zone"),
                                     results_dir=tmp_path, views=False))
    assert result.outcome == "fail" and result.verdict["rule"] == "hypercall_test_result", \
        (result.outcome, result.verdict.get("reason"), result.run_dir)
    assert result.verdict["schedule"]["nmi_edu_us"] > 0
    rep = replay(result.run_dir, tmp_path / "replay")
    assert rep.identical, (rep.first_diff, rep.result.run_dir)
    assert rep.result.outcome == "fail" and rep.result.verdict["rule"] == "hypercall_test_result"


def test_device_nmis_reach_every_cpu_of_an_own_guest(tmp_path: Path) -> None:
    # guest/'s kernels may use the source too (nmi_edu= by hand; the schedule gives it to OS guests only):
    # the target is then a seed-chosen CPU, and the guest's own NMI accounting must still hold.
    sc = load_named("zoo-sleep-nmi")
    options = HvOptions.parse("wl=test-sleep:60 seed=3 nmi_edu=2000")
    result = run_scenario(sc, RunOptions(seed=3, deterministic=True, build_dir=REPO / "build", results_dir=tmp_path,
                                         views=False, hv_options=options))
    assert result.passed, (result.verdict.get("reason"), result.run_dir)
    records, _, _ = decode_serial((result.run_dir / "serial.bin").read_bytes())
    targets = {r.args[0] for r in records if r.type == EVENT_IDS["NMI_EDU"]}
    assert targets == {0, 1}, targets
    for cpu in ("0", "1"):
        assert result.verdict["trace"]["summary"]["cpus"][cpu]["nmi"]["injected"] > 0
