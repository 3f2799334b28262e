#!/usr/bin/python3
"""make bench-exit: the cost of a VMMCALL round trip under TCG.

Side by side in one run, at -smp 1, each configuration REPEAT times:
  test:N+1  N+1 TEST hypercalls (each a #VMEXIT, the hypervisor's handler, VMRUN)
  spin:M    the guest-only loop (same body, no VMMCALL), SPIN_SCALE times as
            many iterations so its time is measurable
  test:1    boot, one call and shutdown (subtracted from both: the hypervisor
            refuses a count of 0, which would pass without doing anything)
Host CPU time of QEMU (user+sys, from wait4) is steadier than wall time on a
shared machine.  Prints round trips per second of host CPU, the guest loop's
iterations per second, and their ratio: the cost of an exit here.
Also TRACE=off vs TRACE=on when both builds exist (make bench-exit builds them).
Every traced row must have traced every call: the `mem` row's memory log and the
`record` row's rings (a build whose rings hold the whole run, drained at the
verdict into the memory log) each hold one TEST record per call and no loss, or the bench fails --
a row that dropped records would time the drop path, not recording.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decoder.api import read_records  # noqa: E402
from decoder.defs import DEBUG_EXIT, EVENT_IDS, HYPERCALLS  # noqa: E402
from decoder.records import Record  # noqa: E402
from harness.launch import memlog  # noqa: E402
from harness.hv_options import HvOptions  # noqa: E402
from harness.launch.machine import Machine, MachineConfig  # noqa: E402

PASS = (DEBUG_EXIT["PASS"] << 1) | 1
SPIN_SCALE = 10000


def cpu_seconds(build: Path, workload: str, trace: str | None = None, smp: int = 1,
                complete: bool = False) -> float:
    """Host CPU seconds QEMU used for one run that must pass.  With `complete` (a traced
    row) the run's trace must hold one HYPERCALL record per TEST iteration and no loss
    (the cost counted is the cost of a whole trace, not of one that dropped records):
    read from the memory log with trace=mem, else from the serial port."""
    with tempfile.TemporaryDirectory(dir="/dev/shm") as d:
        mem = trace is not None  # trace=mem and trace=record both end in the memory log
        cfg = MachineConfig(kernel=build / "hv.elf32", initrd=build / "guest64.elf",
                            append=HvOptions(wl=workload, trace=trace).render(), serial_path=Path(d) / "serial.bin", smp=smp,
                            gdbstub=False, ram_file=Path(d) / "ram" if mem else None)
        m = Machine(cfg)
        m.launch()
        try:
            _, status, ru = os.wait4(m.pid, 0)
        finally:
            m.shutdown()
        code = os.waitstatus_to_exitcode(status)
        if code != PASS:
            raise SystemExit(f"bench-exit: {workload} on {build} exited {code}, not PASS")
        if complete and workload.startswith("test:"):
            if mem:
                log = memlog.read(Path(d) / "ram", *memlog.locate(build / "hv.elf"))
                data, dropped = log.data, log.dropped
            else:
                data, dropped = (Path(d) / "serial.bin").read_bytes(), 0
            check_complete_trace(data, dropped, workload, f"trace={trace}" if trace else "TRACE=on")
    return ru.ru_utime + ru.ru_stime


def check_complete_trace(data: bytes, dropped: int, workload: str, row: str) -> None:
    items = list(read_records(data, merge=False))
    losses = [i for i in items if not isinstance(i, Record)]
    n = int(workload.split(":")[1])
    calls = sum(1 for i in items if isinstance(i, Record) and i.type == EVENT_IDS["HYPERCALL"]
                and i.args[0] == HYPERCALLS["TEST"])
    if losses or dropped or calls != n:
        raise SystemExit(f"bench-exit: the {row} trace of {workload} is incomplete: {calls} TEST hypercall "
                         f"records, {len(losses)} losses, {dropped} bytes dropped")


def median_cost(build: Path, workload: str, repeat: int, trace: str | None = None,
                complete: bool = False) -> float:
    return statistics.median(cpu_seconds(build, workload, trace, complete=complete) for _ in range(repeat))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10000,
                    help="TEST calls per run (default 10000: 3 records each must fit the record build's "
                         "32768-slot ring)")
    ap.add_argument("--repeat", type=int, default=9,
                    help="runs per figure, the median taken (a row at 10,000 calls wobbles +-20 %%)")
    ap.add_argument("--build", type=Path, default=ROOT / "build")
    ap.add_argument("--build-trace-off", type=Path, default=ROOT / "build/trace-off")
    ap.add_argument("--build-record", type=Path, default=ROOT / "build/trace-record",
                    help="TRACE=on with TRACE_SLOTS=32768 TRACE_MEMLOG_MB=1 (make bench-exit builds it)")
    a = ap.parse_args()
    if a.n < 1 or a.repeat < 1:
        ap.error("--n and --repeat must be at least 1")

    # TRACE=on streams every record to the UART; trace=mem streams every record
    # to the memory log (the same frames, no emulated I/O); trace=record keeps
    # them in the rings only (the recording cost); TRACE=off compiles emission out.
    builds: list[tuple[str, Path, str | None]] = [("TRACE=on", a.build, None),
                                                  ("mem", a.build, memlog.HV_TRACE_MODE)]
    for need in (a.build_record, a.build_trace_off):
        if not (need / "hv.elf32").exists():
            raise SystemExit(f"bench-exit: no build in {need} (make bench-exit builds it)")
    builds += [("record", a.build_record, "record"), ("TRACE=off", a.build_trace_off, None)]
    rows = []
    for label, build, trace in builds:
        traced = label != "TRACE=off"
        base = median_cost(build, "test:1", a.repeat, trace)
        hc = median_cost(build, f"test:{a.n + 1}", a.repeat, trace, complete=traced) - base
        spin = (median_cost(build, f"spin:{a.n * SPIN_SCALE}", a.repeat) - base) / SPIN_SCALE
        rows.append((label, hc, spin))
    print(f"bench-exit: N={a.n} iterations, -smp 1, median of {a.repeat}, host CPU seconds (boot subtracted)")
    print(f"{'build':<10} {'VMMCALL loop':>14} {'round trips/s':>14} {'guest-only loop':>16} {'iters/s':>12} {'exit cost':>10}")
    for label, hc, spin in rows:
        spin_rate = a.n / spin if spin > 0 else float("inf")
        print(f"{label:<10} {hc:>13.3f}s {a.n / hc:>14,.0f} {spin:>15.3f}s {spin_rate:>12,.0f} {hc / max(spin, 1e-9):>9.0f}x")
    if len(rows) == 4:
        off = rows[3][1]
        for (label, cost, _), what in zip(rows, ("streamed to the UART (TRACE=on)",
                                                 "streamed to the memory log (trace=mem)",
                                                 "recorded in the rings only (trace=record)")):
            print(f"tracing overhead on the VMMCALL round trip, {what + ' / TRACE=off':<58} "
                  f"= {cost / off:.3f} ({(cost / off - 1) * 100:+.1f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
