"""Boot the hypervisor under QEMU for a test and collect what it reported.

Uses the harness's Machine (one QEMU launcher for the whole project) and the
decoder (serial frames -> records); each CPU's text comes from its TEXT
records, so lines of different CPUs never interleave.
"""
from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from decoder.api import Loss, Record, read_records
from decoder.defs import DEBUG_EXIT, EVENT_IDS
from harness.launch.machine import Machine, MachineConfig
from harness.launch.qmp import QMPConnectionError, QMPError

ROOT = Path(__file__).resolve().parent.parent
# HEISEN_BUILD: boot another build (a mutant's: tests/mutants.toml) with the same tests.
BUILD = Path(os.environ.get("HEISEN_BUILD", ROOT / "build")).resolve()
PASS = (DEBUG_EXIT["PASS"] << 1) | 1
FAIL = (DEBUG_EXIT["FAIL"] << 1) | 1
PANIC = (DEBUG_EXIT["PANIC"] << 1) | 1

REPORT = re.compile(
    r"cpu (\d+): (\S+) -> (PASS|FAIL) status (\d+) count (\d+) detail (\w+) \| exits (\d+) \| "
    r"nmi host (\d+) injected (\d+) merged (\d+) received (\d+) nested (\d+) quiesce (\d+) pending (\d+)")


@dataclass
class CpuReport:
    workload: str
    passed: bool
    status: int
    count: int
    exits: int
    host_nmis: int
    injected: int
    merged: int
    received: int
    nested: int
    quiesce: int
    pending: int


@dataclass
class Boot:
    status: int
    serial: str              # every CPU's text, CPU by CPU
    wall: float
    nmis_sent: int = 0
    cpus: dict[int, CpuReport] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    losses: list[Loss] = field(default_factory=list)

    def events(self, name: str) -> list[Record]:
        return [r for r in self.records if r.type == EVENT_IDS[name]]


def decode_serial(data: bytes) -> tuple[list[Record], list[Loss], str]:
    records: list[Record] = []
    losses: list[Loss] = []
    for item in read_records(data, merge=False):
        (records if isinstance(item, Record) else losses).append(item)
    text: dict[int, bytearray] = {}
    for r in records:
        if r.type == EVENT_IDS["TEXT"]:
            text.setdefault(r.cpu, bytearray()).extend(r.args[0])
    joined = "".join(text[c].decode(errors="replace") for c in sorted(text))
    return records, losses, joined


def parse_reports(text: str) -> dict[int, CpuReport]:
    out = {}
    for m in REPORT.finditer(text):
        g = m.groups()
        out[int(g[0])] = CpuReport(g[1], g[2] == "PASS", int(g[3]), int(g[4]), int(g[6]),
                                   int(g[7]), int(g[8]), int(g[9]), int(g[10]), int(g[11]),
                                   int(g[12]), int(g[13]))
    return out


async def _flood_nmis(m: Machine, interval: float, after: str, serial: Path) -> int:
    # QMP is connected first: connecting after the guests started raced a short
    # workload, which could end (and QEMU exit, resetting the handshake) before the
    # first NMI.  NMIs before the hypervisor's IDT exists would reset the machine
    # (the multiboot loader runs with no IDT): they start once the guests run.
    sent = 0
    try:
        if await m.connect_qmp() is not None:
            return 0   # QEMU exited (or never listened): the callers judge `sent`
        while after not in decode_serial(serial.read_bytes() if serial.exists() else b"")[2]:
            if not m.running:
                return 0
            await asyncio.sleep(0.01)
        while m.running:
            await m.qmp.execute("inject-nmi")
            sent += 1
            await asyncio.sleep(interval)
    except (QMPConnectionError, QMPError, OSError):
        pass  # QEMU closed QMP: it is exiting, the flood is over; the callers judge `sent`
    finally:
        await m.close_qmp(quit=False)   # the guest ends the run; the callers wait for its exit
    return sent


def boot(tmp: Path, smp: int, guest: int, append: str, timeout: float = 60.0,
         nmi_interval: float | None = None) -> Boot:
    serial = tmp / f"serial-{smp}-{guest}.txt"
    cfg = MachineConfig(kernel=BUILD / "hv.elf32", initrd=BUILD / f"guest{guest}.elf", append=append,
                        serial_path=serial, smp=smp, gdbstub=False)
    sent = 0
    with Machine(cfg) as m:
        if nmi_interval is not None:
            sent = asyncio.run(asyncio.wait_for(
                _flood_nmis(m, nmi_interval, "guests running", serial), timeout))
        try:
            status = m.wait(timeout)
        except Exception:
            m.kill()
            raise AssertionError(f"QEMU did not finish in {timeout} s; serial:\n"
                                 + decode_serial(serial.read_bytes())[2][-3000:])
        wall = m.wall_time
    records, losses, text = decode_serial(serial.read_bytes())
    return Boot(status, text, wall, sent, parse_reports(text), records, losses)
