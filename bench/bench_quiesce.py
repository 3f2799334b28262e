#!/usr/bin/python3
"""make bench-quiesce: stop-the-world round trip under TCG at -smp 2, 4, 8.

Every CPU runs test-quiesce:N (each TEST call quiesces all other CPUs), so
requests also contend for the quiesce lock, as XMHF64's concurrent tests did.
From the trace, per epoch: request -> every other CPU stopped (QUIESCE_BEGIN)
and request -> every CPU resumed (last QUIESCE_RESUME), converted with the
PIT-measured TSC rate of the BOOT record.  Prints a table (the curve).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decoder.api import Record, read_records  # noqa: E402
from decoder.defs import DEBUG_EXIT, EVENT_IDS  # noqa: E402
from harness.launch.machine import Machine, MachineConfig  # noqa: E402

PASS = (DEBUG_EXIT["PASS"] << 1) | 1
EV = EVENT_IDS


def epochs(serial: bytes) -> tuple[float, dict[int, dict[str, int]]]:
    khz, by_epoch = 0, {}
    for r in read_records(serial):
        if not isinstance(r, Record):
            continue
        if r.type == EV["BOOT"]:
            khz = r.args[1]
        elif r.type in (EV["QUIESCE_REQUEST"], EV["QUIESCE_BEGIN"], EV["QUIESCE_RESUME"]):
            e = by_epoch.setdefault(r.args[0], {})
            key = {EV["QUIESCE_REQUEST"]: "req", EV["QUIESCE_BEGIN"]: "begin"}.get(r.type, "resume")
            e[key] = max(e.get(key, 0), r.tsc)
    return khz, by_epoch


def one(smp: int, n: int, build: Path) -> tuple[list[float], list[float], float]:
    with tempfile.TemporaryDirectory() as d:
        serial = Path(d) / "serial.bin"
        cfg = MachineConfig(kernel=build / "hv.elf32", initrd=build / "guest64.elf",
                            append=f"wl=test-quiesce:{n}", serial_path=serial, smp=smp, gdbstub=False)
        with Machine(cfg) as m:
            status = m.wait(600)
            wall = m.wall_time
        if status != PASS:
            raise SystemExit(f"bench-quiesce: -smp {smp} exited {status}, not PASS")
        khz, eps = epochs(serial.read_bytes())
    us = 1000.0 / khz
    stop = [(e["begin"] - e["req"]) * us for e in eps.values() if {"req", "begin"} <= e.keys()]
    full = [(e["resume"] - e["req"]) * us for e in eps.values() if {"req", "resume"} <= e.keys()]
    return stop, full, wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=40, help="quiescing calls per CPU")
    ap.add_argument("--smp", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--build", type=Path, default=ROOT / "build")
    a = ap.parse_args()
    print(f"bench-quiesce: test-quiesce:{a.n} on every CPU, 64-bit guest, multi-threaded TCG")
    print(f"{'smp':>4} {'epochs':>7} {'stop median':>12} {'stop p90':>10} {'round trip median':>18} "
          f"{'round trip p90':>15} {'wall':>7}")
    for smp in a.smp:
        stop, full, wall = one(smp, a.n, a.build)
        p90 = lambda xs: sorted(xs)[int(len(xs) * 0.9)] if xs else float("nan")  # noqa: E731
        print(f"{smp:>4} {len(full):>7} {statistics.median(stop):>10.0f}us {p90(stop):>8.0f}us "
              f"{statistics.median(full):>16.0f}us {p90(full):>13.0f}us {wall:>6.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
