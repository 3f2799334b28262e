#!/usr/bin/python3
"""make bench-exit PLATFORM=bochs: the cost of a hypercall round trip on the VMX hypervisor
under Bochs (build/vmx/), side by side with the guest-only loop, in one run, at -smp 1:
  test:N+1  N+1 TEST hypercalls (VMMCALL: #UD exit, the handler, VMRESUME; each streams
            its trace records to COM1), and again with trace=e9 (to port 0xE9, unpaced)
  spin:M    the same loop without the hypercall, SPIN_SCALE times as many iterations
  test:1    boot (BIOS, GRUB, hypervisor), one call, power-off: subtracted from each
            (its own trace=e9 run for the 0xE9 row)
Each REPEAT times, the median of Bochs' host CPU seconds (user+sys of the children, from
getrusage), and every run must end with the hypervisor's VERDICT PASS in its trace.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decoder.api import read_records  # noqa: E402
from decoder.defs import DEBUG_EXIT, EVENT_IDS, HYPERCALLS  # noqa: E402
from decoder.records import Record  # noqa: E402
from harness.launch import bochs  # noqa: E402
from harness.hv_options import HvOptions  # noqa: E402

SPIN_SCALE = 100   # Bochs runs the guest-only loop ~10^7 iterations/s, not TCG's ~10^9


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def cpu_seconds(build: Path, workload: str, trace: str | None = None) -> float:
    """Host CPU seconds of one Bochs run that must pass, its TEST calls all traced
    (trace: the hypervisor's trace= mode, None = COM1)."""
    with tempfile.TemporaryDirectory() as d:
        cfg = bochs.BochsConfig(hv_elf32=build / "vmx" / "hv.elf32", guest=build / "guest64.elf",
                                append=HvOptions(wl=workload, trace=trace).render(), guest_args="",
                                run_dir=Path(d), smp=1)
        before = children_cpu()
        ran = bochs.run(cfg, timeout_s=600, hang_s=60)
        spent = children_cpu() - before
        items = list(read_records(cfg.serial_path.read_bytes(), merge=False))
    verdicts = [i.args[0] for i in items if isinstance(i, Record) and i.type == EVENT_IDS["VERDICT"]]
    if ran.why != "exited" or verdicts != [DEBUG_EXIT["PASS"]]:
        raise SystemExit(f"bench-exit: {workload} under Bochs did not pass ({ran.why}, verdicts {verdicts})")
    if workload.startswith("test:"):
        n = int(workload.split(":")[1])
        calls = sum(1 for i in items if isinstance(i, Record) and i.type == EVENT_IDS["HYPERCALL"]
                    and i.args[0] == HYPERCALLS["TEST"])
        losses = [i for i in items if not isinstance(i, Record)]
        if calls != n or losses:
            raise SystemExit(f"bench-exit: {workload}: {calls} TEST records, {len(losses)} losses")
    return spent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5000, help="TEST calls per run (default 5000)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per figure, the median taken (default 5)")
    ap.add_argument("--build", type=Path, default=ROOT / "build")
    a = ap.parse_args()
    if a.n < 1 or a.repeat < 1:
        ap.error("--n and --repeat must be at least 1")
    try:
        bochs.check_tools()
    except bochs.BochsError as exc:
        raise SystemExit(f"bench-exit: {exc}") from None

    def median(workload: str, trace: str | None = None) -> float:
        return statistics.median(cpu_seconds(a.build, workload, trace) for _ in range(a.repeat))
    base = median("test:1")
    hc = median(f"test:{a.n + 1}") - base
    hc_e9 = median(f"test:{a.n + 1}", "e9") - median("test:1", "e9")
    spin = (median(f"spin:{a.n * SPIN_SCALE}") - base) / SPIN_SCALE
    if min(hc, hc_e9) <= 0:
        raise SystemExit(f"bench-exit: the hypercall loop cost no more than the boot ({hc:.3f}s, 0xE9 "
                         f"{hc_e9:.3f}s): raise --n")
    print(f"bench-exit PLATFORM=bochs: N={a.n} iterations, -smp 1, {bochs.CPU_MODEL}, median of {a.repeat}, "
          "host CPU seconds of Bochs (boot subtracted)")
    print(f"{'VMMCALL loop':>14} {'round trips/s':>14} {'guest-only loop':>16} {'iters/s':>12} {'exit cost':>10}")
    spin_rate = a.n / spin if spin > 0 else float("inf")
    print(f"{hc:>13.3f}s {a.n / hc:>14,.0f} {spin:>15.5f}s {spin_rate:>12,.0f} {hc / max(spin, 1e-9):>9.0f}x"
          "   (trace to COM1)")
    print(f"{hc_e9:>13.3f}s {a.n / hc_e9:>14,.0f} {spin:>15.5f}s {spin_rate:>12,.0f} "
          f"{hc_e9 / max(spin, 1e-9):>9.0f}x   (trace to port 0xE9: {hc / hc_e9:.2f}x the round trips/s of COM1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
