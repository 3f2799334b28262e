"""A Linux run's console verdict (harness/judge/linux.py) and the Linux scenario keys: a pass
needs init's marker and none of the kernel's failure messages; bad scenario input is a
ScenarioError naming the key."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.judge.linux import FAILURES, PASS_MARKER, judge_console
from harness.scenario import ScenarioError, parse

BOOT = "[    0.000000] Linux version 6.1.0\n[    3.2] Run /init as init process\n"

KERNEL_SAYS = {
    "oops": "[   5.1] Oops: 0000 [#1] PREEMPT SMP NOPTI",
    "bug": "[   5.1] BUG: kernel NULL pointer dereference, address: 0000000000000000",
    "panic": "[   5.1] Kernel panic - not syncing: Attempted to kill init!",
    "general-protection": "[   5.1] general protection fault, probably for non-canonical address",
    "unknown-nmi": "[   5.1] Uhhuh. NMI received for unknown reason 21 on CPU 0.",
    "dazed-nmi": "[   5.1] Dazed and confused, but trying to continue",
    "soft-lockup": "[  30.1] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [sh:77]",
    "rcu-stall": "[  30.1] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
    "hung-task": "[ 130.1] INFO: task sh:77 blocked for more than 120 seconds.",
    "init-fail": "HEISEN-LINUX: FAIL cpu1 never ran its task",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "console.txt"
    path.write_text(text)
    return path


def test_marker_and_a_quiet_kernel_pass(tmp_path: Path) -> None:
    v = judge_console(write(tmp_path, BOOT + PASS_MARKER + "\n"))
    assert v.ok and v.marker and not v.failures


@pytest.mark.parametrize("name", sorted(KERNEL_SAYS))
def test_each_kernel_failure_fails_even_with_the_marker(tmp_path: Path, name: str) -> None:
    v = judge_console(write(tmp_path, BOOT + KERNEL_SAYS[name] + "\n" + PASS_MARKER + "\n"))
    assert not v.ok and name in {f["name"] for f in v.failures}, v.failures
    assert {f["line"] for f in v.failures} == {3} and "line 3" in v.reason()


def test_every_failure_pattern_has_a_case() -> None:
    assert {name for name, _ in FAILURES} == set(KERNEL_SAYS)


@pytest.mark.parametrize("text", ["", BOOT, BOOT + "echo " + PASS_MARKER + " later\n"])
def test_no_marker_or_no_console_is_not_a_pass(tmp_path: Path, text: str) -> None:
    v = judge_console(write(tmp_path, text))
    assert not v.ok and not v.marker
    assert ("empty" in v.reason()) == (text == "")


def test_unclaimed_nmis_are_expected_only_when_nmis_were_sent(tmp_path: Path) -> None:
    text = BOOT + KERNEL_SAYS["unknown-nmi"] + "\n" + KERNEL_SAYS["dazed-nmi"] + "\n" + PASS_MARKER + "\n"
    sent = judge_console(write(tmp_path, text), nmis_sent=True)
    assert sent.ok and sent.unclaimed_nmis == 1, sent
    assert not judge_console(write(tmp_path, text)).ok
    oops = judge_console(write(tmp_path, text + KERNEL_SAYS["oops"] + "\n"), nmis_sent=True)
    assert not oops.ok and [f["name"] for f in oops.failures] == ["oops"]


def test_missing_console_file_is_not_a_pass(tmp_path: Path) -> None:
    v = judge_console(tmp_path / "absent.txt")
    assert not v.ok and v.bytes == 0


def scenario(tmp_path: Path, **data: object):  # type: ignore[no-untyped-def]
    return parse(tmp_path / "s.toml", data)


def test_a_linux_scenario_runs_no_workloads_and_has_no_hv_workload_line(tmp_path: Path) -> None:
    sc = scenario(tmp_path, guest="linux", smp=2, append="console=ttyS2 quiet")
    assert sc.is_linux and sc.append == "console=ttyS2 quiet" and sc.hv_cmdline() == ""
    assert sc.as_dict()["append"] == "console=ttyS2 quiet"
    assert "append" not in scenario(tmp_path, guest=64).as_dict()


@pytest.mark.parametrize("data,key", [
    ({"guest": 64, "append": "quiet"}, "append"),
    ({"guest": "linux", "workloads": {"default": "test:5"}}, "workloads"),
    ({"guest": "linux", "append": "a\nb"}, "append"),
    ({"guest": "linux", "append": "x" * 2048}, "append"),
    ({"guest": "windows"}, "guest"),
    ({"guest": True}, "guest"),
])
def test_bad_linux_scenarios_name_the_key(tmp_path: Path, data: dict, key: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        scenario(tmp_path, **data)
    assert exc.value.key == key


def test_overrides_keep_the_guest_kind(tmp_path: Path) -> None:
    linux = scenario(tmp_path, guest="linux")
    with pytest.raises(ScenarioError):
        linux.with_overrides(guest=64)
    with pytest.raises(ScenarioError):
        scenario(tmp_path, guest=64).with_overrides(append="quiet")
    assert linux.with_overrides(append="console=ttyS2").append == "console=ttyS2"


def test_the_pass_line_is_found_when_kernel_lines_land_inside_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A correct linux-test4 run under a QMP flood: the kernel's "Uhhuh" lines for
    # unclaimed NMIs were printed in the middle of init's PASS line.
    console = tmp_path / "console.txt"
    console.write_bytes(b"HEISEN-LINUX: cpu 3: hvtest:100 exited 0\n"
                        b"HEISEN-LINUX: PA[    4.722682] Uhhuh. NMI received for unknown reason 31 on CPU 0.\n"
                        b"[    4.722682] Dazed and confused, but trying to continue\n"
                        b"SS\n")
    v = judge_console(console, nmis_sent=True)
    assert v.marker and v.unclaimed_nmis == 1 and not v.failures
    # Splitting is not inventing: a line the kernel split, with half of it missing, is no PASS.
    console.write_bytes(b"HEISEN-LINUX: PA[    4.722682] Uhhuh. NMI received for unknown reason 31 on CPU 0.\n")
    assert not judge_console(console, nmis_sent=True).marker
