"""The `bochs` platform: one run of the VMX hypervisor (build/vmx/hv.elf32) under Bochs 2.7.

QEMU's TCG has no VMX; Bochs emulates it (docs/platform.md B1-B7).  A run:
a GRUB rescue ISO holding the hypervisor and the guest as multiboot modules with the
command lines the QEMU path gives them (`-kernel hv.elf32 -append A -initrd "guest ARGS"`
becomes `multiboot /boot/hv.elf32 hv.elf32 A` + `module /boot/guest guest ARGS`), an rc
file with COM1 into the run dir, Bochs headless (rfb display, `timeout` around it),
its log kept as bochs.log.  The trace leaves the machine on COM1 or, with the hypervisor's
`trace=e9`, on I/O port 0xE9 (Bochs' port_e9_hack, enabled in every rc file): Bochs writes
those bytes to its stdout, one write per byte with no baud pacing, among its own banner and
debugger lines, and `split_stdout` takes them back out.  serial.bin is COM1's bytes followed
by the 0xE9 bytes (as `--transport mem` appends the memory log's): one stream of frames
for the decoder either way.  Bochs' exit status is 1 whatever happened, so the outcome
comes from the trace: the hypervisor's VERDICT record (its debug-exit code) or PANIC
record; silence on both COM1 and stdout for the scenario's hang_timeout is a hang.  No QMP: NMIs come
from inside the machine (deterministic mode's seeded sources), and `clock: sync=none`
with a fixed time0 makes a run repeat exactly.

Every subprocess gets an argv list; a user's text reaches grub.cfg only when it is
made of characters GRUB's script reads as one plain word (`check_words`).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from decoder.defs import DEBUG_EXIT, EVENT_IDS

BOCHS = "bochs"
GRUB_MKRESCUE = "grub-mkrescue"
PACKAGES = "bochs bochsbios vgabios grub-pc-bin grub-common xorriso mtools"
CPU_MODEL = "corei7_skylake_x"   # VMX with EPT, unrestricted guest, vNMI, NMI-window, VPID (notes)
IPS = 50_000_000                 # Bochs' instructions per emulated second (clock: sync=none)
TIME0 = 1577836800               # 2020-01-01: a fixed CMOS time, as QEMU's -rtc base
BIOS = Path("/usr/share/bochs/BIOS-bochs-latest")
VGABIOS = Path("/usr/share/vgabios/vgabios.bin")
POLL = 0.1
# A word GRUB's script language takes as it is: no quotes, $, ;, spaces, braces, #.
PLAIN_WORD = re.compile(r"[A-Za-z0-9_.,:=+/@%-]+")
# What Bochs' debugger prints on stdout once the simulation ends (power-off, not a kill):
# one line per CPU, "(0).[322452610] [0x000000104d63] 0008:...: out dx, ax ; 66ef".
BOCHS_END_LINES = re.compile(rb"(?:\(\d+\)\.\[\d+\] [^\n]*\n)+\Z")


class BochsError(Exception):
    """The Bochs platform cannot run this (missing tool, bad input, ISO not built)."""


@dataclass(frozen=True)
class BochsConfig:
    hv_elf32: Path
    guest: Path
    append: str            # the hypervisor's command line (what -append says under QEMU)
    guest_args: str        # module 0's own command line after its name
    run_dir: Path
    smp: int = 2
    memory_mb: int = 256
    port_e9: bool = True   # Bochs' port_e9_hack (off only to test the hypervisor's refusal)

    @property
    def serial_path(self) -> Path:
        """The trace as the decoder reads it, written after the run (COM1, then port 0xE9)."""
        return self.run_dir / "serial.bin"

    @property
    def com1_path(self) -> Path:
        return self.run_dir / "com1.bin"

    @property
    def stdout_path(self) -> Path:
        """Bochs' stdout while it runs: its banner and debugger lines, and the 0xE9 bytes."""
        return self.run_dir / "bochs.stdout"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "bochs.log"


def check_words(text: str, what: str) -> list[str]:
    """The words of `text`, each a plain GRUB word; BochsError names the first that is not."""
    words = text.split()
    for w in words:
        if not PLAIN_WORD.fullmatch(w):
            raise BochsError(f"{what}: {w!r} holds a character the Bochs platform does not pass "
                             f"through grub.cfg (allowed: letters, digits and _.,:=+/@%-)")
    return words


def check_tools() -> None:
    missing = [t for t in (BOCHS, GRUB_MKRESCUE, "timeout") if shutil.which(t) is None]
    missing += [str(p) for p in (BIOS, VGABIOS) if not p.is_file()]
    if missing:
        raise BochsError(f"missing {', '.join(missing)} (make deps: {PACKAGES})")


def grub_cfg(cfg: BochsConfig) -> str:
    """GRUB passes a multiboot kernel the words after its path, and the hypervisor (as
    under QEMU, whose line starts with the kernel's name) skips the first: so the
    first word is the image's name."""
    hv_words = check_words(cfg.append, "hypervisor command line")
    guest_words = check_words(cfg.guest_args, "guest command line")
    guest_name = check_words(cfg.guest.name, "guest file name")[0]
    return "\n".join([
        "set timeout=0",
        "set default=0",
        'menuentry "heisenvisor" {',
        "  multiboot /boot/hv.elf32 " + " ".join(["hv.elf32", *hv_words]),
        f"  module /boot/{guest_name} " + " ".join([guest_name, *guest_words]),
        "  boot",
        "}",
        ""])


def build_iso(cfg: BochsConfig) -> Path:
    stage = cfg.run_dir / "iso"
    (stage / "boot" / "grub").mkdir(parents=True, exist_ok=True)
    (stage / "boot" / "grub" / "grub.cfg").write_text(grub_cfg(cfg))
    shutil.copy2(cfg.hv_elf32, stage / "boot" / "hv.elf32")
    shutil.copy2(cfg.guest, stage / "boot" / cfg.guest.name)
    iso = cfg.run_dir / "hv.iso"
    r = subprocess.run([GRUB_MKRESCUE, "-o", str(iso), str(stage)], capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0 or not iso.is_file():
        raise BochsError(f"grub-mkrescue failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    return iso


def rc_text(cfg: BochsConfig, iso: Path) -> str:
    """The Bochs configuration (notes: headless needs rfb, the sound and speaker off)."""
    return "\n".join([
        f"megs: {cfg.memory_mb}",
        f"cpu: model={CPU_MODEL}, count={cfg.smp}, ips={IPS}",
        f"clock: sync=none, time0={TIME0}",
        f"romimage: file={BIOS}",
        f"vgaromimage: file={VGABIOS}",
        'display_library: rfb, options="timeout=0"',
        "speaker: enabled=0",
        "sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy",
        "magic_break: enabled=0",
        f"com1: enabled=1, mode=file, dev={cfg.com1_path}",
        f"port_e9_hack: enabled={int(cfg.port_e9)}",
        "boot: cdrom",
        f"ata0-master: type=cdrom, path={iso}, status=inserted",
        f"log: {cfg.log_path}",
        ""])


def split_stdout(raw: bytes) -> tuple[bytes, bytes]:
    """(the 0xE9 trace bytes, Bochs' own text) of what Bochs wrote to stdout.

    The hypervisor's first 0xE9 byte is a frame delimiter, 0x00 (hv/core/trace_glue.c),
    and Bochs' banner and debugger lines before it are text, which never holds one: the
    frames start at the first 0x00.  Every frame ends with 0x00, so after the last one
    comes either Bochs' end-of-simulation lines (BOCHS_END_LINES, printed at power-off)
    or the cut-off piece of a frame (Bochs killed mid-frame, kept for the decoder to
    report) -- or both, a piece then those lines."""
    start = raw.find(b"\0")
    if start < 0:
        return b"", raw
    body = raw[start:]
    after_last = body.rfind(b"\0") + 1
    end = BOCHS_END_LINES.search(body, after_last)
    cut = end.start() if end else len(body)
    return body[:cut], raw[:start] + body[cut:]


def collect_trace(cfg: BochsConfig) -> tuple[int, int]:
    """After the run: serial.bin = COM1's bytes + the 0xE9 bytes; Bochs' own stdout text
    goes to the end of bochs.out (its stderr), and the raw stdout file is removed.
    Returns (COM1 bytes, 0xE9 bytes)."""
    com1 = cfg.com1_path.read_bytes() if cfg.com1_path.exists() else b""
    raw = cfg.stdout_path.read_bytes() if cfg.stdout_path.exists() else b""
    e9, text = split_stdout(raw)
    cfg.serial_path.write_bytes(com1 + e9)
    with open(cfg.run_dir / "bochs.out", "ab") as out:
        out.write(b"\n--- Bochs' stdout, without the port 0xE9 trace bytes ---\n" + text)
    cfg.stdout_path.unlink(missing_ok=True)
    return len(com1), len(e9)


def _output_size(cfg: BochsConfig) -> int:
    return sum(p.stat().st_size for p in (cfg.com1_path, cfg.stdout_path) if p.exists())


@dataclass
class BochsRun:
    ended_by: str          # "itself" (ACPI power-off, or any exit) or "harness"
    why: str               # "exited", "hang", "timeout", "interrupted"
    exit_status: int | None
    wall_seconds: float
    serial_bytes: int      # serial.bin: com1_bytes + e9_bytes
    argv: list[str]
    com1_bytes: int = 0
    e9_bytes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"command_line": self.argv, "exit_status": self.exit_status, "ended_by": self.ended_by,
                "why": self.why, "wall_seconds": round(self.wall_seconds, 3)}


def run(cfg: BochsConfig, timeout_s: float, hang_s: float,
        should_stop: Callable[[], bool] | None = None) -> BochsRun:
    """Build the ISO and rc file, run Bochs until it powers off, falls silent on COM1 and
    port 0xE9 for hang_s (counted from its start, so a boot that never speaks is a hang
    too), or runs for timeout_s.  `timeout` around Bochs is the backstop if this process
    dies.  Then serial.bin is assembled (collect_trace)."""
    check_tools()
    iso = build_iso(cfg)
    rc = cfg.run_dir / "bochsrc"
    rc.write_text(rc_text(cfg, iso))
    cont = cfg.run_dir / "bochs-cont.rc"
    cont.write_text("c\n")        # the debugger's one command: continue
    argv = ["timeout", "--kill-after=5", str(int(timeout_s) + 30), BOCHS, "-q", "-f", str(rc),
            "-rc", str(cont)]
    with open(cfg.run_dir / "bochs.out", "wb") as err, open(cfg.stdout_path, "wb") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, cwd=cfg.run_dir, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, start_new_session=True)
        why, size, last_growth = "exited", 0, t0
        try:
            while proc.poll() is None:
                now = time.monotonic()
                new = _output_size(cfg)
                if new != size:
                    size, last_growth = new, now
                if now - last_growth >= hang_s:
                    why = "hang"
                elif now - t0 >= timeout_s:
                    why = "timeout"
                elif should_stop is not None and should_stop():
                    why = "interrupted"
                if why != "exited":
                    break
                time.sleep(POLL)
        except KeyboardInterrupt:
            why = "interrupted"
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        wall = time.monotonic() - t0
    com1, e9 = collect_trace(cfg)
    return BochsRun(ended_by="itself" if why == "exited" else "harness", why=why,
                    exit_status=proc.returncode, wall_seconds=wall, serial_bytes=com1 + e9, argv=argv,
                    com1_bytes=com1, e9_bytes=e9)


def outcome_from_trace(items: list[Any] | None, bochs: BochsRun, hang_s: float,
                       timeout_s: float) -> tuple[str, str]:
    """(outcome, reason) from what the hypervisor recorded, never from Bochs' status."""
    if bochs.why == "interrupted":
        return "interrupted", "stopped by the caller"
    verdicts = [i for i in items or () if getattr(i, "type", None) == EVENT_IDS["VERDICT"]]
    panics = [i for i in items or () if getattr(i, "type", None) == EVENT_IDS["PANIC"]]
    if panics:
        return "panic", f"the hypervisor panicked (PANIC record, code {panics[0].args[0]:#x})"
    if verdicts:
        code = verdicts[-1].args[0]
        if code == DEBUG_EXIT["PASS"]:
            return "pass", "every CPU's workload reported pass (VERDICT record PASS)"
        if code == DEBUG_EXIT["FAIL"]:
            return "fail", "a workload reported failure (VERDICT record FAIL)"
        return "error", f"VERDICT record with an unknown code {code:#x}"
    if bochs.why == "hang":
        return "hang", f"no trace output (COM1, port 0xE9) for {hang_s:g}s"
    if bochs.why == "timeout":
        return "timeout", f"still running after {timeout_s:g}s (serial still growing)"
    return "reset", "Bochs ended without a VERDICT or PANIC record (a reset or triple fault: see bochs.log)"
