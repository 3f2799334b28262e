#!/usr/bin/python3
"""make bench-determinism: is a deterministic run really a pure function of its inputs?

Runs one (build, scenario, seed) RUNS times with QEMU's default devices left out
(-nodefaults, what the harness does) and RUNS times with them in, interleaved,
JOBS machines at a time (more machines than cores on purpose: host timing must
not matter, so the bench makes it vary).  For each configuration it prints how
many distinct serial.bin outputs there were, how many runs differ from the most
common one, and how many of those already differ in the hypervisor's first
record -- i.e. before the hypervisor ran, during SeaBIOS's boot.
A deterministic configuration gives one output.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decoder.api import read_records  # noqa: E402
from decoder.records import Record  # noqa: E402
from harness.launch.machine import Machine, MachineConfig  # noqa: E402
from harness.scenario import load_named  # noqa: E402
from harness.schedule import derive  # noqa: E402

CONFIGS = {"-nodefaults (harness)": False, "QEMU default devices": True}


@dataclass(frozen=True)
class Outcome:
    data: bytes               # serial.bin: runs are compared by it
    exit_code: int | None


def records(data: bytes) -> list[Record]:
    return [r for r in read_records(data, merge=False) if isinstance(r, Record)]


def first_different_record(a: list[Record], b: list[Record]) -> int:
    """Index of the first record (TSC included) in which two runs differ."""
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def one_run(build: Path, append: str, smp: int, memory: int, default_devices: bool,
            wall_timeout: float) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="bench-det-") as d:
        serial = Path(d) / "serial.bin"
        cfg = MachineConfig(kernel=build / "hv.elf32", initrd=build / "guest64.elf", append=append,
                            serial_path=serial, smp=smp, memory_mb=memory, gdbstub=False,
                            deterministic=True, default_devices=default_devices)
        with Machine(cfg) as m:
            try:
                code: int | None = m.wait(wall_timeout)
            except subprocess.TimeoutExpired:
                code = None     # a hang: still compared by what it wrote
        data = serial.read_bytes() if serial.exists() else b""
    return Outcome(data, code)


def run_all(runs: list[tuple[str, bool]], workers: int, build: Path, append: str, smp: int, memory: int,
            wall: float) -> dict[str, list[Outcome]]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [(label, pool.submit(one_run, build, append, smp, memory, dflt, wall))
                   for label, dflt in runs]
        results: dict[str, list[Outcome]] = {label: [] for label in CONFIGS}
        for label, fut in futures:
            results[label].append(fut.result())
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="zoo-sleep-nmi")
    ap.add_argument("--seed", type=int, default=33)
    ap.add_argument("--runs", type=int, default=60, help="runs per configuration")
    ap.add_argument("--jobs", type=int, default=3)
    ap.add_argument("--build", type=Path, default=ROOT / "build")
    ap.add_argument("--hogs", type=int, default=0, help="busy-loop processes competing for the CPUs meanwhile")
    a = ap.parse_args()
    if a.runs < 2:
        ap.error("--runs must be at least 2 (one run cannot disagree with itself)")

    sc = load_named(a.scenario)
    schedule = derive(sc, a.seed)
    wall = schedule.wall_timeout_s
    runs = [(label, dflt) for _ in range(a.runs) for label, dflt in CONFIGS.items()]
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(a.hogs)]
    try:
        results = run_all(runs, a.jobs, a.build, schedule.hv_cmdline, sc.smp, sc.memory, wall)
    finally:
        for h in hogs:
            h.kill()
            h.wait()

    print(f"bench-determinism: {a.scenario} seed {a.seed} (-smp {sc.smp}, '{schedule.hv_cmdline}'), "
          f"{a.runs} runs per configuration, {a.jobs} at a time, interleaved, {a.hogs} CPU hogs")

    print(f"{'configuration':<24} {'distinct outputs':>16} {'runs differing':>15} "
          f"{'first differing record (#0: the boot took longer)':>52} {'exit codes':>12}")
    for label, outs in results.items():
        common_data, _ = Counter(o.data for o in outs).most_common(1)[0]
        common = records(common_data)
        where = sorted(first_different_record(common, records(o.data)) for o in outs if o.data != common_data)
        codes = ",".join(f"{c}x{n}" for c, n in sorted(Counter(o.exit_code for o in outs).items(), key=str))
        print(f"{label:<24} {len({o.data for o in outs}):>16} {len(where):>11}/{len(outs):<3} "
              f"{' '.join(f'#{i}' for i in where) or '-':>52} {codes:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
