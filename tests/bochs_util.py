"""Boot the VMX hypervisor (build/vmx/) under Bochs for a test, through the harness's
Bochs platform (harness/launch/bochs.py), and collect what it reported as tests/boot_util.py
does for QEMU.  Bochs' exit status says nothing, so `status` is the debug-exit status
QEMU would have exited with for the trace's VERDICT or PANIC record (0: neither).
"""
from __future__ import annotations

import os
from pathlib import Path

from decoder.defs import DEBUG_EXIT
from harness.launch import bochs
from tests.boot_util import ROOT, Boot, decode_serial, parse_reports

BUILD = Path(os.environ.get("HEISEN_BUILD", ROOT / "build")).resolve()


def status_of(boot: Boot) -> int:
    panics, verdicts = boot.events("PANIC"), boot.events("VERDICT")
    if panics:
        return (DEBUG_EXIT["PANIC"] << 1) | 1
    if verdicts:
        return (verdicts[-1].args[0] << 1) | 1
    return 0


def boot_bochs(tmp: Path, smp: int, guest: int, append: str, timeout: float = 120.0,
               hang: float = 30.0, transport: str = "e9", port_e9: bool = True) -> Boot:
    """`transport` "e9" adds the hypervisor's trace=e9 (the bochs platform's default, port
    0xE9); "uart" leaves the trace on COM1."""
    run_dir = tmp / f"bochs-{smp}-{guest}"
    run_dir.mkdir(parents=True, exist_ok=True)
    if transport == "e9":
        append = f"{append} trace=e9"
    cfg = bochs.BochsConfig(hv_elf32=BUILD / "vmx" / "hv.elf32", guest=BUILD / f"guest{guest}.elf",
                            append=append, guest_args="", run_dir=run_dir, smp=smp, port_e9=port_e9)
    ran = bochs.run(cfg, timeout, hang)
    data = cfg.serial_path.read_bytes() if cfg.serial_path.exists() else b""
    records, losses, text = decode_serial(data)
    b = Boot(0, text, ran.wall_seconds, 0, parse_reports(text), records, losses)
    b.status = status_of(b)
    if ran.why != "exited" and not b.status:
        raise AssertionError(f"Bochs {ran.why} after {ran.wall_seconds:.0f} s; serial:\n{text[-3000:]}\n"
                             f"log: {cfg.log_path}")
    return b
