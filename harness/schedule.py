"""Deterministic mode: (scenario, seed) -> everything that makes the run repeatable.

Under one TCG thread with a fixed icount a run is a pure function of (build,
hypervisor command line, QEMU flags) as long as nothing comes in from outside
(notes: determinism-and-replay.md).  So the scenario's host-timed NMI pattern
cannot be used as is: it is translated into `nmi_every=K` (the hypervisor
sends NMI IPIs itself, on average one per K exits per CPU, at seed-chosen
points) and `seed=` drives the hypervisor's perturbation points.  Everything
derived here is recorded in verdict.json so a person can see, and replay
can check, exactly what ran.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, fields

from decoder.defs import NMI_EDU_MAX_US
from harness.hv_options import HvOptions
from harness.launch.machine import ICOUNT_SHIFT, EDU_NMI_ARGS, deterministic_args
from harness.launch.nmi import NmiPattern
from harness.scenario import Scenario

# An OS guest's machine runs at 2**-5 instructions per ns, 31 M per virtual
# second.  At guest/'s shift 7 (7.8 M/s for the whole machine) a Linux at -smp 4
# has a ~2 M instructions/s CPU each: ftrace's boot-time check ran 26 virtual
# seconds on CPU 0 and the soft-lockup watchdog called it a bug (measured with
# linux-smoke --smp 4 --seed 7; docs/linux-guest.md "Determinism").
OS_ICOUNT_SHIFT = 5
# Machine-wide VM exits per wall second of XMHF64's method (multi-threaded
# TCG; platform-svm-tcg.md "Speed": ~90k/s, not scaling with vCPUs).  Used to
# turn "one NMI every I seconds" into "one NMI every K exits".
REFERENCE_METHOD_EXITS_PER_S = 90_000
# A QMP flood has no rate of its own; each seed picks an intensity in this
# range (log-uniform), so hunting over seeds also sweeps the NMI pressure.
FLOOD_EVERY = (4, 64)
# The device NMI source's mean gap (us) for a paced pattern is the pattern's own
# interval; an unpaced one (flood, interval 0) gets a seed-chosen mean in this
# range, log-uniform.
EDU_FLOOD_US = (1_000, 10_000)
# icount runs ~3x slower than default TCG (notes), so wall-clock budgets stretch.
WALL_SLOWDOWN = 3.0
MAX_SEED = (1 << 64) - 1


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    seed: int
    nmi_every: int           # 0 = no in-machine NMIs
    nmi_basis: str           # how nmi_every was derived from the scenario's pattern
    nmi_edu_us: int          # mean us of the gap between device NMIs (nmi_edu=, OS guests); 0 = none
    hv_options: HvOptions    # exactly what the hypervisor gets
    icount_shift: int
    qemu_args: tuple[str, ...]
    hang_virtual_s: float    # serial silence in virtual (icount) seconds that means a hang
    wall_timeout_s: float    # generous wall-clock cap on the whole run

    @property
    def hv_cmdline(self) -> str:
        return self.hv_options.render()

    def as_dict(self) -> dict[str, object]:
        # The line as text, where verdict.json has always had it.
        d: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "hv_options":
                d["hv_cmdline"] = self.hv_cmdline
            else:
                d[f.name] = list(value) if f.name == "qemu_args" else value
        return d


def check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ScheduleError(f"seed must be an integer from 0 to 2**64-1 (the hypervisor's u64), "
                            f"got {seed!r}")
    return seed


def nmi_every_for(pattern: NmiPattern, smp: int, seed: int) -> tuple[int, str]:
    """K for `nmi_every=K` and a one-line explanation of where it came from.

    XMHF64's inject-nmi reaches every CPU, so per CPU it delivered 1/I NMIs
    a second; in-machine each CPU sends (its exits)/K IPIs to one CPU, so the
    same per-CPU arrival rate needs K = exits_per_s * I / smp.  That counts exits
    only: with a seed, each perturbation point (lock taken, quiesce step, NMI
    handler entry; several per quiesce) sends with the same 1-in-K odds
    (hv/core/chaos.c), so quiesce-heavy workloads get more NMIs than XMHF64's
    rate, and with seed=0 only exits send.
    """
    rng = random.Random(seed)
    per_cpu_exit_rate = REFERENCE_METHOD_EXITS_PER_S / smp
    if pattern.kind == "none":
        return 0, "pattern none: no NMIs"
    if pattern.kind == "interval" and pattern.interval > 0:
        k = max(1, round(per_cpu_exit_rate * pattern.interval))
        return k, (f"interval {pattern.interval:g}s at ~{per_cpu_exit_rate:.0f} exits/s per CPU "
                   "(perturbation points add more)")
    if pattern.kind in ("flood", "interval"):
        lo, hi = FLOOD_EVERY
        k = round(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        return k, f"flood: seed-chosen intensity in [{lo}, {hi}]"
    if pattern.kind == "poisson":
        mean = per_cpu_exit_rate * pattern.interval
        k = max(1, round(mean * math.exp(rng.uniform(math.log(0.5), math.log(2.0)))))
        return k, f"poisson mean {pattern.interval:g}s (~{mean:.0f} exits), seed-scaled x0.5..2"
    if pattern.kind == "burst":
        gap_exits = per_cpu_exit_rate * max(pattern.gap, 1e-6)
        k = max(1, round(gap_exits / pattern.burst))
        return k, f"burst {pattern.burst} per {pattern.gap:g}s averaged to one per {k} exits"
    raise ScheduleError(f"no deterministic translation for NMI pattern {pattern.kind!r}")


def nmi_edu_for(sc: Scenario, seed: int) -> tuple[int, str]:
    """U for `nmi_edu=U` (us) and where it came from; 0 without one.

    Only an OS guest gets this source by default: its NMIs all go to the BSP,
    whose own exits and spins are the only other sending points, none of them
    inside a long hypervisor stretch (hv/core/nmi_edu.c).  guest/'s kernels keep
    their schedules.  Each device NMI comes 100 ms (the device's DMA time) after
    its arm, and the next arm waits a seed-drawn 0..2U us more, so the pattern's
    interval becomes U and the rate is at most 10 a virtual second
    (docs/determinism.md, "Device NMIs")."""
    pattern = sc.nmi
    if not sc.is_os or pattern.kind == "none":
        return 0, ""
    cap = NMI_EDU_MAX_US
    if pattern.kind in ("interval", "poisson") and pattern.interval > 0:
        us = min(cap, max(1, round(pattern.interval * 1e6)))
        return us, f"device NMIs 100 ms after each arm, arms {us} us apart on average (the pattern's interval)"
    if pattern.kind == "burst":
        us = min(cap, max(1, round(max(pattern.gap, 1e-6) * 1e6 / pattern.burst)))
        return us, f"device NMIs 100 ms after each arm, arms {us} us apart on average (the burst's gap / size)"
    lo, hi = EDU_FLOOD_US
    rng = random.Random(f"nmi_edu {seed}")
    us = round(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    return us, f"device NMIs 100 ms after each arm, arms {us} us apart on average (flood: seed-chosen in [{lo}, {hi}])"


def icount_shift_for(sc: Scenario) -> int:
    """The icount shift of a run in virtual time (deterministic, record/replay):
    guest/'s kernels keep 7, whose hang timeouts and NMI rates were measured at it."""
    return OS_ICOUNT_SHIFT if sc.is_os else ICOUNT_SHIFT


def needs_rdtsc_exit(sc: Scenario) -> bool:
    """Whether a run in virtual time needs the hypervisor's rdtsc_exit=1.

    An OS starting its APs spins on the TSC without PAUSE (Linux's BSP in
    native_cpu_up), and QEMU's one-thread icount round robin then gives the
    AP no turn until a host-timed event ends the BSP's: runs diverge, or stall
    for good (docs/linux-guest.md "Determinism").  guest/'s own kernels pause
    in every wait, and one CPU has no one to starve."""
    return sc.is_os and sc.smp > 1


def derive(sc: Scenario, seed: int) -> Schedule:
    """The deterministic schedule of (scenario, seed); a pure function."""
    check_seed(seed)
    k, basis = nmi_every_for(sc.nmi, sc.smp, seed)
    if sc.nmi.count is not None and k:
        basis += f"; nmi.count={sc.nmi.count} is not enforced in-machine"
    edu, edu_basis = nmi_edu_for(sc, seed)
    if edu:
        basis += f"; {edu_basis}"
    options = sc.hv_options().with_(seed=seed, nmi_every=k or None, rdtsc_exit=needs_rdtsc_exit(sc) or None,
                                    nmi_edu=edu or None)
    shift = icount_shift_for(sc)
    return Schedule(seed=seed, nmi_every=k, nmi_basis=basis, nmi_edu_us=edu, hv_options=options, icount_shift=shift,
                    qemu_args=tuple(deterministic_args(shift) + (EDU_NMI_ARGS if edu else [])),
                    hang_virtual_s=sc.virtual_hang_timeout, wall_timeout_s=sc.timeout * WALL_SLOWDOWN)
