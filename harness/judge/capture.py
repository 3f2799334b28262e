"""Capture everything about a stuck machine before it is killed.

Order matters: stop the VM first so registers, backtraces and the ring dump
describe the same instant; dump the rings before gdb, whose detach resumes
the vCPUs.  Each step is independent: a failing gdb must not cost us the
rings, so every step records its own error instead of raising.
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from harness.judge.decoding import decode_ring_dump
from harness.launch.elfsyms import SymbolError, find_symbol
from harness.launch.qmp import QMPClient, QMPConnectionError, QMPError

GDB_TIMEOUT = 60.0


def gdb_command(elf: Path, gdb_socket: Path, guest_elf: Path | None = None) -> list[str]:
    # A vCPU stopped while its guest runs reports guest addresses; the guest
    # is linked where it is loaded, so its symbols name those frames too.
    guest = ["-ex", f"add-symbol-file {guest_elf}"] if guest_elf else []
    return ["gdb", "-batch", "-nx",
            "-ex", "set pagination off", "-ex", "set confirm off",
            "-ex", f"file {elf}", *guest,
            # The hypervisor runs in long mode; an ELF32 (or none) would make
            # gdb reject QEMU's x86-64 register packets.
            "-ex", "set architecture i386:x86-64",
            "-ex", f"target remote {gdb_socket}",
            "-ex", "info threads",
            "-ex", "thread apply all bt",
            # Without an explicit detach, gdb's exit would kill the inferior (QEMU).
            "-ex", "detach"]


async def run_gdb(elf: Path, gdb_socket: Path, out: Path, guest_elf: Path | None = None,
                  timeout: float = GDB_TIMEOUT) -> str | None:
    """Every vCPU's backtrace into `out`; returns an error text or None."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *gdb_command(elf, gdb_socket, guest_elf), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            # A terminal Ctrl-C is the harness's to handle, not gdb's.
            start_new_session=True)
    except OSError as exc:
        return f"cannot run gdb: {exc}"
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return f"gdb did not finish within {timeout}s"
    except asyncio.CancelledError:
        proc.kill()
        await proc.wait()
        raise
    out.write_bytes(output)
    if proc.returncode != 0:
        return f"gdb exited {proc.returncode}"
    if b"Thread" not in output:
        return "gdb printed no threads (see backtraces.txt)"
    return None


async def capture(qmp: QMPClient, gdb_socket: Path | None, hv_elf: Path, ncpus: int,
                  out_dir: Path, guest_elf: Path | None = None) -> dict[str, Any]:
    """Stop the VM and save registers, ring dump (decoded) and backtraces into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    report: dict[str, Any] = {"dir": str(out_dir), "errors": {}, "artifacts": []}
    errors: dict[str, str] = report["errors"]

    async def step(name: str, coro: Any) -> Any:
        try:
            return await coro
        except (QMPError, QMPConnectionError, OSError, SymbolError) as exc:
            errors[name] = str(exc)
            return None

    await step("stop", qmp.execute("stop"))

    regs = await step("registers", qmp.hmp("info registers -a"))
    if regs is not None:
        (out_dir / "registers.txt").write_text(regs)
        report["artifacts"].append("registers.txt")

    dump = out_dir / "trace_rings.bin"
    try:
        addr, size = find_symbol(hv_elf, "trace_rings")
        report["trace_rings"] = {"address": hex(addr), "size": size}
        await step("pmemsave", qmp.execute(
            "pmemsave", {"val": addr, "size": size, "filename": str(dump.resolve())}))
    except SymbolError as exc:
        errors["pmemsave"] = str(exc)
    if dump.exists():
        report["artifacts"].append(dump.name)
        rings = decode_ring_dump(dump, ncpus, out_dir)
        report["rings"] = rings.as_dict()
        report["artifacts"] += [Path(p).name for p in rings.views.values()]
        if not rings.decoded:
            errors["rings"] = rings.reason or "not decoded"

    if gdb_socket is None:
        errors["backtraces"] = "QEMU was started without a gdbstub"
    else:
        error = await run_gdb(hv_elf, gdb_socket, out_dir / "backtraces.txt", guest_elf)
        if (out_dir / "backtraces.txt").exists():
            report["artifacts"].append("backtraces.txt")
        if error:
            errors["backtraces"] = error
    report["seconds"] = round(time.monotonic() - started, 3)
    return report
