"""The bug zoo on VMX (make test-vmx): each VMX-relevant bug of defs/bugs.toml, built by the
harness's own `--bugs` path for the bochs platform (build/bugs-<name>/vmx/hv.elf32), is
caught by its scenario in deterministic mode (NMIs from inside the machine, so the seed
alone fixes where they land), as the table's `vmx_detected_as`; the correct VMX build passes
the same scenarios with the same seeds.  field-width: tests/bochs/test_vmx_boots.py."""
from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from harness.judge.bochs_run import run_scenario_bochs
from harness.judge.run import RunOptions, RunResult
from harness.launch import build as buildmod
from harness.scenario import load_named
from tests.bochs_util import BUILD

BUGS = tomllib.loads((buildmod.REPO / "defs/bugs.toml").read_text())["bug"]
# The bugs with a VMX face: each with a seed that catches it there (defs/bugs.toml
# vmx_seed, vmx_detected_as); the correct build passes the same scenario with it.
VMX = sorted(n for n, b in BUGS.items() if "vmx_seed" in b)


def run(scenario: str, iterations: int, build: Path, tmp_path: Path, seed: int) -> RunResult:
    sc = load_named(scenario).with_overrides(iterations=iterations)
    return run_scenario_bochs(sc, RunOptions(seed=seed, build_dir=build, results_dir=tmp_path,
                                             deterministic=True, views=False, bugs=None))


def per_cpu_nmi(r: RunResult) -> dict[str, dict[str, int]]:
    return {c: v["nmi"] for c, v in r.record.trace["summary"]["cpus"].items()}


def test_the_vmx_zoo_holds_the_bugs_the_issue_names() -> None:
    assert set(VMX) >= {"endquiesce-order", "nmi-coalesce-drop", "inject-while-blocked", "field-width"}, VMX


@pytest.mark.parametrize("name", VMX)
def test_zoo_bug_is_caught_on_vmx(tmp_path: Path, name: str) -> None:
    """End to end through the command line: `--bugs` on the bochs platform builds
    build/bugs-<name>/vmx/hv.elf32 and runs that image."""
    bug = BUGS[name]
    p = subprocess.run([sys.executable, "-m", "harness", "run", bug["scenario"], "--platform", "bochs",
                        "--bugs", name, "--seed", str(bug["vmx_seed"]), "--iterations", str(bug["iterations"]),
                        "--results", str(tmp_path)],
                       cwd=buildmod.REPO, capture_output=True, text=True, timeout=900)
    assert p.returncode == 1, (p.returncode, p.stdout[-1500:], p.stderr[-1500:])   # a run that did not pass
    (verdict_path,) = tmp_path.glob("*/verdict.json")
    v = json.loads(verdict_path.read_text())
    assert v["bugs"] == name and v["platform"]["name"] == "bochs" and v["deterministic"], v.get("platform")
    assert v["build"]["hv_elf32"]["source"] == str(buildmod.REPO / "build" / f"bugs-{name}" / "vmx" / "hv.elf32")
    assert v["outcome"] == bug["vmx_detected_as"], (v["outcome"], v["reason"], str(verdict_path))
    if name == "inject-while-blocked":
        # The bug's own face: an NMI delivered inside the guest's NMI handler, seen by
        # the guest and by the checker.
        nmi = {c: x["nmi"] for c, x in v["trace"]["summary"]["cpus"].items()}
        assert any((x["guest_nested"] or 0) > 0 for x in nmi.values()), nmi
        assert v["rule"] == "nmi_not_injected_while_blocked", v["rule"]


@pytest.mark.parametrize("scenario", sorted({BUGS[n]["scenario"] for n in VMX}))
def test_vmx_zoo_scenario_passes_on_the_correct_build(tmp_path: Path, scenario: str) -> None:
    names = [n for n in VMX if BUGS[n]["scenario"] == scenario]
    for seed in sorted({BUGS[n]["vmx_seed"] for n in names}):
        r = run(scenario, max(BUGS[n]["iterations"] for n in names), BUILD, tmp_path / str(seed), seed)
        # The hypervisor's PASS: every CPU's guest received exactly the NMIs injected, none
        # nested (hv/core/verdict.c) -- its own count, whole even where the 5000-iteration
        # flood outran the UART and the trace lost records (docs/platform.md B8).
        assert r.record.outcome == "pass" and r.passed, (seed, r.record.reason, str(r.run_dir))

