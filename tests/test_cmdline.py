"""The hypervisor's command line is checked whole before anything acts on it
(hv/core/cmdline.c, on the host under ASan/UBSan): a typo, a bad number, a value the
vCPU cannot hold or a workload for a missing CPU stops the machine with the word and
the reason, never runs as something else.  And in QEMU: such a run ends in the
hypervisor's panic with that message, not in a pass."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.host_c import build_driver

from harness.launch.build import REPO
from harness.hv_options import HvOptions
from harness.judge.run import RunOptions, run_scenario
from harness.scenario import load_named
from tests.boot_util import decode_serial

@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_driver(tmp_path_factory.mktemp("cmdline"), "cmdline_driver", 'hv/core/cmdline.c')


def check(driver: Path, line: str, ncpus: int = 4) -> str:
    r = subprocess.run([str(driver), str(ncpus), line], capture_output=True, text=True, timeout=30)
    assert r.returncode in (0, 1), r.stderr
    return r.stdout.strip()


@pytest.mark.parametrize("line", [
    "", "wl=hello", "wl=test:1000 wl0=pal_demo:50 wl3=test-sleep:300", "seed=42 nmi_every=0x1d",
    "trace=mem nmi_com2=1 testhc=0", "trace=record", "trace=e9 seed=1", "rdtsc_exit=1 seed=3", "seed=1 nmi_edu=10000000", "wl=poke wl1=poke:0x180000 wl2=hc-unknown:7",
    "  wl=hello   seed=1  ", "seed=18446744073709551615",
    "wl=test:" + "0" * 57 + "1",    # a value of 63 characters: the most a vCPU holds
])
def test_good_command_lines_pass(driver: Path, line: str) -> None:
    assert check(driver, line) == "ok"


@pytest.mark.parametrize("line,why,word", [
    ("wl=test:" + "0" * 58 + "1", "longer than 63", "wl=test:"),   # was cut to test:0... and passed
    ("seed=abc", "not a number", "seed=abc"),
    ("nmi_every=xyz", "not a number", "nmi_every=xyz"),
    ("seed=12x", "not a number", "seed=12x"),
    ("seed=0x", "not a number", "seed=0x"),
    ("seed=18446744073709551616", "not a number", "seed=18446744073709551616"),
    ("trace=bogus", "record, mem or e9", "trace=bogus"),
    ("trace=E9", "record, mem or e9", "trace=E9"),
    ("foo=bar", "unknown option", "foo=bar"),
    ("wl=test:0", "count of 0", "wl=test:0"),      # passed with no calls
    ("wl=test", "needs a count", "wl=test"),
    ("wl=hello:3", "takes no argument", "wl=hello:3"),
    ("wl=nosuch:3", "unknown workload", "wl=nosuch:3"),
    ("wl=test:12ab", "not a number", "wl=test:12ab"),
    ("wl4=hello", "does not have", "wl4=hello"),   # -smp 4: CPUs 0-3
    ("wl01=hello", "unknown option", "wl01=hello"),
    ("seed=1 seed=2", "given twice", "seed=2"),
    ("nmi_com2=2", "0 or 1", "nmi_com2=2"),
    ("rdtsc_exit=yes", "0 or 1", "rdtsc_exit=yes"),
    ("nmi_edu=10000001", "at most 10000000", "nmi_edu=10000001"),   # defs/machine.toml NMI_EDU_MAX_US
    ("nmi_edu=soon", "not a number", "nmi_edu=soon"),
    ("wl", "key=value", "wl"),
    ("=5", "key=value", "=5"),
])
def test_bad_command_lines_are_refused_with_the_word(driver: Path, line: str, why: str, word: str) -> None:
    out = check(driver, line)
    assert out.startswith("refused ") and why in out and out.split(" | ")[1].startswith(word), out


def test_a_bad_command_line_stops_the_machine_with_its_reason(tmp_path: Path) -> None:
    sc = load_named("smoke")
    result = run_scenario(sc, RunOptions(seed=1, deterministic=False, build_dir=REPO / "build",
                                         results_dir=tmp_path, views=False,
                                         hv_options=HvOptions.parse("wl=test:0")))
    assert result.outcome == "panic" and not result.passed, result.verdict.get("reason")
    _, _, text = decode_serial((result.run_dir / "serial.bin").read_bytes())
    assert "cmdline: 'wl=test:0': a count of 0 would pass without doing anything" in text, text
