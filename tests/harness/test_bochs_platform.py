"""The bochs platform's pure parts (harness/launch/bochs.py) and its refusals, without running
Bochs: the GRUB configuration carries the hypervisor's and the guest's command lines as
the QEMU path passes them, a word GRUB would interpret is refused, the outcome comes from
the trace's VERDICT/PANIC records and never from Bochs' exit status, and options the
platform cannot honour end the command with exit 2."""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from decoder.defs import DEBUG_EXIT, EVENT_IDS
from harness.launch import bochs

REPO = Path(__file__).resolve().parent.parent.parent


@dataclass
class Rec:
    type: int
    args: tuple[int, ...]


def cfg(tmp_path: Path, append: str = "wl=hello seed=3", guest_args: str = "") -> bochs.BochsConfig:
    return bochs.BochsConfig(hv_elf32=tmp_path / "hv.elf32", guest=tmp_path / "guest64.elf", append=append,
                             guest_args=guest_args, run_dir=tmp_path, smp=2)


def test_grub_cfg_passes_both_command_lines_after_a_name_word(tmp_path: Path) -> None:
    text = bochs.grub_cfg(cfg(tmp_path, guest_args="a=1 b"))
    assert "  multiboot /boot/hv.elf32 hv.elf32 wl=hello seed=3\n" in text
    assert "  module /boot/guest64.elf guest64.elf a=1 b\n" in text


@pytest.mark.parametrize("word", ["a;reboot", "$(x)", "'q'", 'x"y', "a{b}", "#c", "a\\b"])
def test_a_word_grub_would_interpret_is_refused(tmp_path: Path, word: str) -> None:
    with pytest.raises(bochs.BochsError, match="does not pass"):
        bochs.grub_cfg(cfg(tmp_path, append=f"wl=hello {word}"))
    with pytest.raises(bochs.BochsError, match="guest command line"):
        bochs.grub_cfg(cfg(tmp_path, guest_args=word))


def test_rc_file_is_headless_deterministic_and_logs_to_the_run_dir(tmp_path: Path) -> None:
    rc = bochs.rc_text(cfg(tmp_path), tmp_path / "hv.iso")
    for line in (f"cpu: model={bochs.CPU_MODEL}, count=2, ips={bochs.IPS}",
                 f"clock: sync=none, time0={bochs.TIME0}", 'display_library: rfb, options="timeout=0"',
                 f"com1: enabled=1, mode=file, dev={tmp_path / 'serial.bin'}", f"log: {tmp_path / 'bochs.log'}"):
        assert line in rc.splitlines(), line


def ran(why: str, status: int = 1) -> bochs.BochsRun:
    return bochs.BochsRun(ended_by="itself" if why == "exited" else "harness", why=why, exit_status=status,
                          wall_seconds=1.0, serial_bytes=10, argv=[])


def test_the_outcome_comes_from_the_trace_not_the_exit_status() -> None:
    verdict = lambda code: Rec(EVENT_IDS["VERDICT"], (code, 2, 0))  # noqa: E731
    assert bochs.outcome_from_trace([verdict(DEBUG_EXIT["PASS"])], ran("exited"), 5, 10)[0] == "pass"
    assert bochs.outcome_from_trace([verdict(DEBUG_EXIT["FAIL"])], ran("exited", 0), 5, 10)[0] == "fail"
    panic = Rec(EVENT_IDS["PANIC"], (1, 0, 0))
    assert bochs.outcome_from_trace([verdict(DEBUG_EXIT["PASS"]), panic], ran("exited"), 5, 10)[0] == "panic"
    # No record: Bochs' status (0 or 1) says nothing; silence is a hang.
    assert bochs.outcome_from_trace([], ran("exited", 0), 5, 10)[0] == "reset"
    assert bochs.outcome_from_trace([], ran("hang"), 5, 10)[0] == "hang"
    assert bochs.outcome_from_trace([], ran("timeout"), 5, 10)[0] == "timeout"


@pytest.mark.parametrize("args,words", [
    (["linux-smoke"], ["bochs platform", "guest"]),
    (["smoke", "--transport", "mem"], ["--platform bochs"]),
    (["smoke", "--bugs", "no-such-bug;true"], ["unknown bug", "no-such-bug;true"]),   # never reaches make
])
def test_what_the_platform_cannot_run_is_exit_2(tmp_path: Path, args: list[str], words: list[str]) -> None:
    r = subprocess.run(["/usr/bin/python3", "-m", "harness", "run", *args, "--platform", "bochs",
                        "--results", str(tmp_path / "results")], cwd=REPO, capture_output=True, text=True,
                       timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    out = (r.stderr + r.stdout).strip()
    assert r.returncode == 2 and "Traceback" not in out, (r.returncode, out)
    for w in words:
        assert w in out, (w, out)
