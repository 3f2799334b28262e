"""The bochs platform's replay inside a hunt (harness/det/hunt.py `_bochs_rerun`): with no
`harness replay` for Bochs, a confirmation re-runs the failing seed on the same build and
byte-compares serial.bin.  Without Bochs: the re-run is a stand-in that writes chosen bytes."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.det import hunt as huntmod
from harness.det.hunt import HuntOptions
from harness.judge.run import RunOptions, RunResult
from harness.judge.verdict_record import Verdict
from harness.launch.build import REPO
from harness.scenario import Scenario, load_named

BUILD = {"hv_elf32": {"source": "s", "copy": "c", "sha256": "aa"}, "guest_elf": {"source": "s", "copy": "c", "sha256": "bb"}}


def result(run_dir: Path, serial: bytes, outcome: str = "fail", build: dict[str, Any] | None = None) -> RunResult:
    run_dir.mkdir(parents=True)
    shutil.copy2(REPO / "scenarios" / "zoo-nmi-flood.toml", run_dir / "scenario.toml")
    (run_dir / "serial.bin").write_bytes(serial)
    sc = load_named("zoo-nmi-flood")
    v = Verdict(scenario=sc.name, seed=1, passed=False, outcome=outcome, reason="r", deterministic=True,
                scenario_config=sc.as_dict())
    v.build = build if build is not None else BUILD
    return RunResult(run_dir, v)


@pytest.mark.parametrize("replayed,build,identical,first_diff,error", [
    (b"\0abc\0", BUILD, True, None, None),
    (b"\0abd\0", BUILD, False, 3, None),
    (b"\0abc", BUILD, False, 4, None),
    (b"\0abc\0", {**BUILD, "hv_elf32": {**BUILD["hv_elf32"], "sha256": "cc"}}, False, None, "the build changed"),
])
def test_a_bochs_confirmation_is_the_same_seed_byte_compared(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replayed: bytes, build: dict[str, Any],
        identical: bool, first_diff: int | None, error: str | None) -> None:
    failure = result(tmp_path / "run", b"\0abc\0")
    runs: list[tuple[int, bool, Path]] = []

    def rerun(sc: Scenario, opts: RunOptions) -> RunResult:
        runs.append((opts.seed, opts.deterministic, opts.build_dir))
        return result(opts.results_dir / "again", replayed, build=build)
    monkeypatch.setattr(huntmod, "run_scenario_bochs", rerun)
    opts = HuntOptions(budget_s=1, jobs=1, base_seed=1, build_dir=tmp_path / "bugs", results_dir=tmp_path,
                       confirm=1, platform="bochs")
    (c,) = huntmod.confirm(failure, opts)
    assert runs == [(1, True, tmp_path / "bugs")]
    assert (c.identical, c.first_diff, c.outcome) == (identical, first_diff, "fail")
    assert (error is None and c.error is None) or (error is not None and error in (c.error or "")), c.error
