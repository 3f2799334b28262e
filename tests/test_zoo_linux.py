"""The bug zoo on an unmodified Linux guest (defs/bugs.toml linux_scenario): each of
XMHF64's bugs, put back by `make BUGS=name`, is caught while Linux runs XMHF64's `test`
as a program (hvtest), and each of those scenarios passes on the correct build.  Linux
at -smp 2 runs host-timed, so a bug may show as any outcome its linux_detected_as
lists -- never as a pass."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from harness.launch.build import REPO
from harness.judge.run import RunOptions, RunResult, run_scenario
from harness.scenario import load_named
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
