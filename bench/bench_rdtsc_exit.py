#!/usr/bin/python3
"""make bench-rdtsc-exit: what `rdtsc_exit=1` costs a deterministic Linux boot.

The hypervisor's RDTSC intercept (docs/hypervisor.md, "RDTSC and virtual time") is
what lets a deterministic SMP Linux bring up its APs; it costs an exit per TSC read.
Measured where it is optional, -smp 1: linux-smoke in deterministic mode, the
schedule's own options with and without rdtsc_exit=1, alternating, ROUNDS of each.
Per boot:
  icount   instructions the machine ran to its exit (QMP query-replay, the hang
           watch's last read): host-independent
  stamp    Linux's clock on its last console line (virtual time): host-independent
  wall     seconds from start to verdict: what a user waits, moves with the host
Reported: the median of each per side and with/without as a ratio.  A boot counts
only if its verdict passed.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.judge.run import RunOptions, run_scenario  # noqa: E402
from harness.scenario import load_named  # noqa: E402
from harness.schedule import derive  # noqa: E402

STAMP = re.compile(r"^\[\s*([0-9]+\.[0-9]+)\]", re.M)


def boot(rdtsc_exit: bool, seed: int, work: Path) -> dict[str, float]:
    sc = load_named("linux-smoke").with_overrides(smp=1)
    options = derive(sc, seed).hv_options.with_(rdtsc_exit=rdtsc_exit or None)
    t0 = time.monotonic()
    res = run_scenario(sc, RunOptions(seed=seed, deterministic=True, build_dir=ROOT / "build",
                                      results_dir=work, views=False, hv_options=options))
    wall = time.monotonic() - t0
    if not res.passed:
        raise SystemExit(f"bench-rdtsc-exit: a boot with rdtsc_exit={int(rdtsc_exit)} did not pass "
                         f"({res.verdict.get('reason')}); see {res.run_dir}")
    stamps = STAMP.findall((res.run_dir / "console.txt").read_text(errors="replace"))
    icount = res.verdict["qemu"].get("icount_last")
    if not stamps or not isinstance(icount, int):
        raise SystemExit(f"bench-rdtsc-exit: no console stamp or icount in {res.run_dir}")
    return {"icount": float(icount), "stamp": float(stamps[-1]), "wall": wall}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="boots per side (default 3)")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="bench-rdtsc-exit-") as tmp:
        for i in range(args.rounds):
            for side in ((False, True) if i % 2 == 0 else (True, False)):
                runs[side].append(boot(side, args.seed, Path(tmp) / f"{i}-{int(side)}"))
    print(f"bench-rdtsc-exit: linux-smoke -smp 1, deterministic, seed {args.seed}, median of {args.rounds}")
    print(f"{'':8}{'without':>14}{'with':>14}{'with/without':>14}")
    for key, unit in (("icount", "M instr"), ("stamp", "s virtual"), ("wall", "s wall")):
        scale = 1e6 if key == "icount" else 1.0
        a = statistics.median(r[key] for r in runs[False]) / scale
        b = statistics.median(r[key] for r in runs[True]) / scale
        print(f"{key:8}{a:>11.2f} {unit.split()[0]:<2}{b:>11.2f} {unit.split()[0]:<2}{b / a:>13.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
