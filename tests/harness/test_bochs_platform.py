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
                 f"com1: enabled=1, mode=file, dev={tmp_path / 'com1.bin'}", "port_e9_hack: enabled=1",
                 f"log: {tmp_path / 'bochs.log'}"):
        assert line in rc.splitlines(), line


# Bochs' stdout as measured (a `wl=test:300 trace=e9` run at -smp 2): banner and debugger
# lines, the hypervisor's 0xE9 bytes from its leading 0x00 on, and at power-off the
# debugger's line per CPU.
BANNER = (b"=" * 72 + b"\n                        Bochs x86 Emulator 2.7\nNext at t=0\n"
          b"(0) [0x0000fffffff0] f000:fff0 (unk. ctxt): jmpf 0xf000:e05b          ; ea5be000f0\n"
          b"(1) [0x0000fffffff0] f000:fff0 (unk. ctxt): jmpf 0xf000:e05b          ; ea5be000f0\n")
END = (b"(0).[322452610] [0x000000104d63] 0008:0000000000104d63 (unk. ctxt): out dx, ax                ; 66ef\n"
       b"(1).[322452610] [0x000002000411] 0008:0000000002000411 (unk. ctxt): jmp .-3  (0x02000410)     ; ebfd\n")
# Frames of arbitrary bytes but 0x00, including what looks like text, parentheses and newlines.
FRAMES = b"\0" + b"\x02\x02(0).[1] \n\x05\0" + bytes(range(1, 256)) + b"\0"


@pytest.mark.parametrize("raw,e9,text", [
    (BANNER + FRAMES + END, FRAMES, BANNER + END),             # powered off
    (BANNER + FRAMES, FRAMES, BANNER),                         # killed by the harness (no end lines)
    (BANNER + FRAMES + b"\x07cut(", FRAMES + b"\x07cut(", BANNER),   # killed mid-frame: the piece stays
    (BANNER + FRAMES + b"\x07cut" + END, FRAMES + b"\x07cut", BANNER + END),   # a piece, then power-off
    (BANNER + END, b"", BANNER + END),                         # trace=e9 never set: nothing on 0xE9
    (b"", b"", b""),
])
def test_bochs_stdout_splits_into_the_0xe9_frames_and_its_own_text(raw: bytes, e9: bytes, text: bytes) -> None:
    assert bochs.split_stdout(raw) == (e9, text)


def test_serial_bin_is_com1_then_0xe9_and_bochs_text_goes_to_bochs_out(tmp_path: Path) -> None:
    c = cfg(tmp_path)
    c.com1_path.write_bytes(b"\x03PANIC\0")
    c.stdout_path.write_bytes(BANNER + FRAMES + END)
    (tmp_path / "bochs.out").write_bytes(b"stderr\n")
    assert bochs.collect_trace(c) == (7, len(FRAMES))
    assert c.serial_path.read_bytes() == b"\x03PANIC\0" + FRAMES
    out = (tmp_path / "bochs.out").read_bytes()
    assert out.startswith(b"stderr\n") and out.endswith(BANNER + END) and b"\0" not in out
    assert not c.stdout_path.exists()


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


def test_transport_e9_on_qemu_is_exit_2(tmp_path: Path) -> None:
    r = subprocess.run(["/usr/bin/python3", "-m", "harness", "run", "smoke", "--transport", "e9",
                        "--results", str(tmp_path / "results")], cwd=REPO, capture_output=True, text=True,
                       timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    out = (r.stderr + r.stdout).strip()
    assert r.returncode == 2 and "Traceback" not in out and "--platform bochs" in out, (r.returncode, out)
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())
