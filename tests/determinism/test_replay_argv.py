"""The replay's QEMU argv check, without launching QEMU: the argv a replay would run is
computed (run.machine_config + machine.qemu_argv) and held against the recorded one."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from harness.det.replay import (UNMADE_SOCKDIR, ReplayError, argv_difference, check_argv, load_recorded,
                                 replay_argv, replay_options)
from harness.judge.verdict_record import Verdict

REPO = Path(__file__).resolve().parents[2]


def recorded_linux_run(run_dir: Path, argv: list[str]) -> Path:
    """A deterministic linux-smoke run dir as run_scenario leaves it (verdict.json, the
    scenario copy, serial.bin, the build copy under snapshot()'s Linux names), with
    `argv` as the recorded QEMU command line."""
    build = run_dir / "build"
    build.mkdir(parents=True)
    for name in ("hv.elf", "hv.elf32", "bzImage", "initrd.img"):
        (build / name).write_bytes(b"")   # locate() only asks that they exist
    shutil.copy2(REPO / "scenarios" / "linux-smoke.toml", run_dir / "scenario.toml")
    (run_dir / "serial.bin").write_bytes(b"")
    Verdict(scenario="linux-smoke", seed=1, passed=True, outcome="pass", reason="",
            deterministic=True,
            scenario_config={"guest": "linux", "smp": 1, "iterations": None},
            build={"guest_elf": {"copy": str(build / "bzImage")},
                   "initrd": {"copy": str(build / "initrd.img")}},
            qemu={"command_line": argv, "extra_args": []}).write(run_dir)
    return run_dir


def linux_argv(run_dir: Path, smp: str = "1") -> list[str]:
    """What a deterministic Linux run records (an OS guest: icount shift 5):
    COM2 is `-serial null` so that the console lands on COM3, before -qmp."""
    return ["qemu-system-x86_64", "-nodefaults", "-machine", "pc", "-accel", "tcg,thread=single",
            "-icount", "shift=5,sleep=off", "-rtc", "base=2020-01-01T00:00:00,clock=vm",
            "-cpu", "qemu64,+svm,+npt", "-smp", smp, "-m", "512", "-kernel", "hv.elf32",
            "-initrd", "bzImage console=ttyS2 panic=-1,initrd.img", "-append", "seed=1",
            "-display", "none", "-monitor", "none", "-no-reboot",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-name", "heisenvisor,debug-threads=on",
            "-serial", f"file:{run_dir}/serial.bin", "-serial", "null",
            "-serial", f"file:{run_dir}/console.txt",
            "-qmp", "unix:/tmp/heisenvisor-8niuqbz8/qmp.sock,server,nowait",
            "-gdb", "unix:/tmp/heisenvisor-8niuqbz8/gdb.sock,server,nowait"]


def test_replay_of_a_linux_run_accepts_its_console_serial_ports(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    rec = load_recorded(recorded_linux_run(run_dir, linux_argv(run_dir)))
    check_argv(rec, replay_options(rec, tmp_path / "replays"))   # raises on a mismatch


def test_replay_of_a_linux_run_still_refuses_a_different_argv(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    rec = load_recorded(recorded_linux_run(run_dir, linux_argv(run_dir, smp="2")))
    with pytest.raises(ReplayError, match=r"'1' vs recorded '2'"):
        check_argv(rec, replay_options(rec, tmp_path / "replays"))


def test_argv_difference_names_an_argument_only_one_side_has() -> None:
    then = ["q", "-serial", "<path>", "-serial", "null", "-qmp", "<path>"]
    now = ["q", "-serial", "<path>", "-qmp", "<path>"]
    assert argv_difference(then, then) is None
    # lined up by a diff, not by position: no "'-qmp' vs recorded '-serial'"
    assert argv_difference(now, then) == "recorded '-serial null' missing"
    assert argv_difference(then, now) == "'-serial null' not in the recorded one"


def test_the_replays_argv_is_computed_without_a_machine_or_a_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = tmp_path / "run"
    rec = load_recorded(recorded_linux_run(run_dir, linux_argv(run_dir)))
    before = sorted(tmp_path.rglob("*"))

    def no_temp_dir(*args: object, **kw: object) -> str:
        raise AssertionError("the replay's argv made a temp dir")
    monkeypatch.setattr(tempfile, "mkdtemp", no_temp_dir)
    argv = replay_argv(rec, replay_options(rec, tmp_path / "replays"))
    assert argv[argv.index("-qmp") + 1] == f"unix:{UNMADE_SOCKDIR}/qmp.sock,server,nowait"
    assert not UNMADE_SOCKDIR.exists() and sorted(tmp_path.rglob("*")) == before
