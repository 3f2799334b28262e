"""A Linux scenario's test programs ([programs], harness/judge/linux.py) without QEMU: the
scenario table, the kernel command line that carries them, and the verdict on the
trace's PROGRAM_EXIT records."""
from __future__ import annotations

from pathlib import Path

import pytest

from decoder.defs import GUEST_EVENTS, PROGRAM
from harness.judge.linux import (SELF_NMI_PROGRAM, expected_programs, judge_programs, linux_programs,
                           programs_cmdline, programs_send_nmis)
from harness.scenario import ScenarioError, parse

EXIT = GUEST_EVENTS["PROGRAM_EXIT"]
ANY = PROGRAM["ANY_CPU"]


def linux(programs: object, smp: int = 2, guest: object = "linux") -> dict[str, object]:
    return {"guest": guest, "smp": smp, "programs": programs}


def test_the_programs_are_the_c_files_of_guest_linux_but_the_helper() -> None:
    assert "hvtest" in linux_programs() and "heisen" not in linux_programs()


def test_programs_become_init_s_command_line_words() -> None:
    sc = parse(Path("x.toml"), linux({"default": "hvtest:5", "cpu1": "hvtest:1+hvtest:2",
                                      "any": "hvtest:--privileged"}))
    assert sc.kernel_cmdline() == ("console=ttyS2 panic=-1 heisen.run_any=hvtest:--privileged "
                                   "heisen.run1=hvtest:1+hvtest:2 heisen.run=hvtest:5")
    assert programs_cmdline({}) == ""
    assert parse(Path("x.toml"), {"guest": "linux"}).kernel_cmdline() == "console=ttyS2 panic=-1"


@pytest.mark.parametrize("data, key", [
    (linux({"default": "hvtest:5"}, guest=64), "programs"),
    (linux({"default": "ls"}), "programs.default"),
    (linux({"default": "hvtest:5;reboot"}), "programs.default"),
    (linux({"default": "hvtest:5 hvtest:6"}), "programs.default"),
    (linux({"default": ""}), "programs.default"),
    (linux({"default": "hvtest:5+"}), "programs.default"),
    (linux({"cpu2": "hvtest:5"}, smp=2), "programs.cpu2"),
    (linux({"cpux": "hvtest:5"}), "programs.cpux"),
    (linux({}), "programs"),
    (linux("hvtest:5"), "programs"),
])
def test_bad_programs_tables_are_refused_with_the_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(ScenarioError) as e:
        parse(Path("x.toml"), data)
    assert f"x.toml: key '{key}': expected " in str(e.value), str(e.value)


def test_a_smaller_smp_override_refuses_a_cpu_s_programs() -> None:
    sc = parse(Path("x.toml"), linux({"cpu3": "hvtest:5"}, smp=4))
    with pytest.raises(ScenarioError, match="cpu3"):
        sc.with_overrides(smp=2)


def test_expected_programs_per_cpu_then_unpinned() -> None:
    got = expected_programs({"default": "hvtest:5", "cpu1": "hvtest:1+hvtest:2", "any": "hvtest:9"}, 3)
    assert got == [(0, "hvtest:5"), (1, "hvtest:1"), (1, "hvtest:2"), (2, "hvtest:5"), (None, "hvtest:9")]
    assert expected_programs({"cpu0": "hvtest:1"}, 2) == [(0, "hvtest:1")]


PROGRAMS = {"cpu0": "hvtest:1+hvtest:2", "any": "hvtest:3"}


@pytest.mark.parametrize("events, reason", [
    ([(EXIT, 0, 0), (EXIT, ANY, 0), (EXIT, 0, 0)], None),
    ([(EXIT, 0, 0), (EXIT, ANY, 0), (EXIT, 0, 0), (1, 0, 0), (3, 7, 7)], None),
    ([(EXIT, 0, 0), (EXIT, ANY, 0)], "the trace shows 1 exit(s) of the 2 test program(s) on CPU 0"),
    ([(EXIT, 0, 0), (EXIT, 0, 0)], "the trace shows 0 exit(s) of the 1 test program(s) unpinned"),
    ([(EXIT, 0, 0), (EXIT, 0, 1), (EXIT, ANY, 0)], "a test program on CPU 0 exited with status 1"),
    ([(EXIT, 0, 0), (EXIT, 0, 0), (EXIT, ANY, 2)], "a test program unpinned exited with status 2"),
    ([(EXIT, 0, 0), (EXIT, 0, 0), (EXIT, ANY, 0), (EXIT, 1, 0)],
     "the trace shows a program exit on CPU 1, where none was started"),
    ([], "the trace shows 0 exit(s) of the 1 test program(s) unpinned"),
])
def test_every_program_must_exit_0_once(events: list[tuple[int, int, int]], reason: str | None) -> None:
    verdict = judge_programs(PROGRAMS, 2, events)
    assert verdict.reason() == reason
    assert verdict.as_dict()["ok"] is (reason is None)


def test_only_xmhf64s_self_nmi_value_expects_unclaimed_nmis() -> None:
    assert programs_send_nmis({"cpu0": f"hvtest:5+{SELF_NMI_PROGRAM}"})
    assert programs_send_nmis({"any": "hvtest:nmi-20"})
    assert not programs_send_nmis({"cpu0": "hvtest:1000008000", "any": "hvtest:100+hvtest:sleep-3"})


def test_a_program_verdict_turns_an_exit_pass_into_a_failure() -> None:
    """The run's judgement consults the programs: an exit that says pass, a checker
    that passed and a clean console still fail when a program's exit is missing."""
    from harness.judge.run import _judge, _Watch
    sc = parse(Path("x.toml"), linux(PROGRAMS))
    trace = {"decoded": True, "check": {"passed": True, "rule": None, "error": None}}
    ok = judge_programs(PROGRAMS, 2, [(EXIT, 0, 0), (EXIT, 0, 0), (EXIT, ANY, 0)])
    short = judge_programs(PROGRAMS, 2, [(EXIT, 0, 0), (EXIT, ANY, 0)])
    assert _judge(sc, _Watch(outcome="pass"), trace, None, ok)[:3] == ("pass", "", True)
    outcome, reason, passed, _ = _judge(sc, _Watch(outcome="pass"), trace, None, short)
    assert (outcome, passed) == ("fail", False)
    assert reason == "exit said pass, but the trace shows 1 exit(s) of the 2 test program(s) on CPU 0"


def test_the_verdict_watch_finds_init_s_line_across_reads(tmp_path: Path) -> None:
    from harness.judge.linux import VerdictWatch
    console = tmp_path / "console.txt"
    console.write_bytes(b"[ 1.0] boot\nHEISEN-LINUX: programs: 2 started\nHEISEN-LIN")
    watch = VerdictWatch(console)
    assert not watch.poll()
    with console.open("ab") as f:
        f.write(b"UX: FA")
    assert not watch.poll()
    with console.open("ab") as f:
        f.write(b"IL cpu1-hvtest-exit-1\n")
    assert watch.poll() and watch.poll()
    assert not VerdictWatch(tmp_path / "missing.txt").poll()
