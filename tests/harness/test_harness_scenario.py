"""Scenario files: the shipped ones load, and malformed ones are refused with file, key and expectation."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable

import pytest

from harness.scenario import SCENARIO_DIR, ScenarioError, all_scenarios, load, load_named

PY = "/usr/bin/python3"
REPO = Path(__file__).resolve().parents[2]


def test_shipped_scenarios_cover_xmhf64_tests_smoke_and_default() -> None:
    names = {s.name for s in all_scenarios()}
    assert {"default", "smoke", "test1", "test2", "test3", "test4", "test5"} <= names


def test_xmhf64_tests_translate_to_the_hypervisor_command_line() -> None:
    t1, t2, t4, t5 = (load_named(n) for n in ("test1", "test2", "test4", "test5"))
    assert t1.hv_cmdline() == "wl=hello wl0=pal_demo:100" and t1.nmi.kind == "interval"
    assert t1.nmi.interval == pytest.approx(0.1)
    assert t2.hv_cmdline() == "wl=pal_demo:100" and t2.nmi.kind == "none"
    assert t4.nmi.kind == "flood"
    assert t5.hv_cmdline() == "wl=test-quiesce:1000"
    default = load_named("default")
    assert (default.guest, default.smp, default.hv_cmdline()) == (64, 4, "wl=test:1000 wl0=pal_demo:50 wl1=pal_demo:50")


def test_overrides_apply_and_are_validated() -> None:
    t1 = load_named("test1")
    small = t1.with_overrides(smp=4, guest=32, iterations=5)
    assert (small.smp, small.guest, small.hv_cmdline()) == (4, 32, "wl=hello wl0=pal_demo:5")
    with pytest.raises(ScenarioError, match="'smp'"):
        t1.with_overrides(smp=0)
    with pytest.raises(ScenarioError, match="'guest'"):
        t1.with_overrides(guest=16)


def test_explicit_workload_argument_beats_iterations(scenario_file: Callable[..., Path]) -> None:
    sc = load(scenario_file('iterations = 3\nsmp = 2\n[workloads]\n'
                            'default = "test"\ncpu1 = "test:7"\n'))
    assert sc.hv_cmdline() == "wl=test:3 wl1=test:7"


@pytest.mark.parametrize("text, key, expected", [
    ("hang_timout = 3\n", "hang_timout", "one of"),
    ('guest = "64"\n', "guest", '32, 64, "linux" or "multiboot"'),
    ("smp = 0\n", "smp", "integer from 1"),
    ("timeout = -1\n", "timeout", "seconds > 0"),
    ('[workloads]\ndefault = "pal-demo"\n', "workloads.default", "workload name among"),
    ('[workloads]\ndefault = "hello:3"\n', "workloads.default", "no argument"),
    ('[workloads]\ndefault = "test:lots"\n', "workloads.default", "decimal count"),
    ('[workloads]\ndefault = "poke:here"\n', "workloads.default", "a number"),
    ('[workloads]\ndefault = "test"\n', "workloads.default", "or a top-level 'iterations'"),
    ('smp = 2\n[workloads]\ncpu2 = "hello"\n', "workloads.cpu2", "below smp = 2"),
    ('[workloads]\nthird = "hello"\n', "workloads.third", "'cpuN'"),
    ('[nmi]\npattern = "sometimes"\n', "nmi.pattern", "one of none, interval"),
    ('[nmi]\npattern = "poisson"\ninterval = 0\n', "nmi.interval", "seconds > 0"),
    ('[nmi]\nperiod = 1\n', "nmi.period", "one of"),
    ('[expect]\noutcome = "ok"\n', "expect.outcome", "one of pass"),
    ('[expect]\nrules = "missing.toml"\n', "expect.rules", "existing rules file"),
    ("nmi = 3\n", "nmi", "a table"),
    ("smp = [\n", "(syntax)", "valid TOML"),
])
def test_malformed_scenario_names_file_key_and_expectation(
        scenario_file: Callable[..., Path], text: str, key: str, expected: str) -> None:
    path = scenario_file(text)
    with pytest.raises(ScenarioError) as err:
        load(path)
    message = str(err.value)
    assert str(path) in message
    assert f"'{key}'" in message
    assert expected in message
    assert err.value.key == key


def test_unknown_scenario_name_lists_the_known_ones() -> None:
    with pytest.raises(ScenarioError, match="test1"):
        load_named("no-such-scenario")


def test_cli_refuses_malformed_scenario_and_runs_nothing(
        scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    path = scenario_file('smp = 2\n[workloads]\ndefault = "hello"\ncpu5 = "hello"\n', "bad")
    results = tmp_path / "results"
    proc = subprocess.run([PY, "-m", "harness", "run", str(path), "--results", str(results)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert str(path) in proc.stdout and "workloads.cpu5" in proc.stdout
    assert not results.exists()


def test_cli_check_validates_every_shipped_scenario() -> None:
    files = sorted(str(p) for p in SCENARIO_DIR.glob("*.toml"))
    proc = subprocess.run([PY, "-m", "harness", "check", *files], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count(": ok") == len(files)
