#!/usr/bin/python3
"""make bench-linux: Linux's boot time to init under the hypervisor vs on plain QEMU.

The same kernel and initramfs (build/linux, `make linux`), the same memory, -smp
and accel, side by side in one run at -smp 1, 2, 4 (the goal: hv <= 1.5x plain, docs/linux-guest.md):

  plain  QEMU boots build/linux/vmlinuz itself (`heisen.plain=1`: the init ends
         the machine through isa-debug-exit, status 33 for PASS)
  hv     the product path: harness.judge.run.run_scenario on the linux-smoke scenario
         (QEMU loads build/hv.elf32; the hypervisor loads the kernel and the
         initramfs as multiboot modules); a boot counts only if its verdict passed

Each round runs, for every -smp, one plain boot and one hv boot back to back, the
order alternating from one pair to the next (so drift on a shared host hits both).
Per boot:
  to_init   wall seconds from QEMU's start to the console line
            `Run /init as init process` (the console file is polled every few ms)
  stamp     the guest-time stamp on that line: Linux's own clock, which starts
            at 0 when the kernel sets up its TSC clock (so it leaves out what ran
            before: firmware, the hypervisor's own start, decompression)
  to_end    wall seconds from QEMU's start to its exit
  cpu       host CPU seconds (user + sys) QEMU used to its exit
Reported per -smp: the median of each figure for both, hv/plain as the ratio of the
medians, and whether the goal holds (judged on to_init).

Wall time wobbles on a shared machine, so each configuration also boots once more
at -smp 1 under `-icount shift=5,sleep=off -accel tcg,thread=single` (the harness's
deterministic flags for an OS guest; plain QEMU's one-thread icount does not bring up
Linux's APs, so -smp 1 only; the hypervisor gets seed=0, i.e. no perturbation).  There two figures
do not depend on the host's load:
  icount    instructions the emulated CPU ran (the hypervisor's included) from
            QEMU's start to the line, from QMP query-replay polled around it (icount
            read before the console in each poll: the last poll without the line is
            a lower bound, icount read after the poll that found it an upper bound;
            reported as the middle, the bracket in the JSON).
            Polling cannot stop the guest at the line, so this is a bracket, a few
            million instructions wide, not an exact count.
  stamp     virtual time on Linux's clock (2**5 ns per instruction, plus the time
            skipped while the CPU idles, sleep=off): exactly repeatable.

Every boot must reach the line and pass; one that does not (no line, no PASS, a
timeout) stops the bench with a message and exit status 1.  Bad arguments or a
missing build: exit 2.  Figures go to <results>/bench-linux.json (also when a boot
failed: the boots measured so far and the error); passing hv run dirs are removed,
a failing boot's files stay under <results>/bench-linux-runs/.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import tempfile
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.launch.build import BuildError, locate  # noqa: E402
from harness.judge.linux import judge_console  # noqa: E402
from harness.judge.verdict import debug_exit_status  # noqa: E402
from harness.launch.machine import Machine, MachineConfig, MachineError, deterministic_args  # noqa: E402
from harness.judge.run import RunOptions, run_scenario  # noqa: E402
from harness.scenario import Scenario, ScenarioError, load_named  # noqa: E402
from harness.schedule import WALL_SLOWDOWN, icount_shift_for  # noqa: E402

GOAL = 1.5
MARKER = b"Run /init as init process"
PASS_STATUS = debug_exit_status("PASS")
PLAIN_OPTION = "heisen.plain=1"
START_POLL_S = 0.002     # how often the hv run dir is looked for (QEMU's start)
CONSOLE_POLL_S = 0.005   # how often the console is read for the line
ICOUNT_POLL_S = 0.001    # the same with an icount read before each (the bracket's width)
FIGURES = ("to_init_s", "stamp_s", "to_end_s", "cpu_s", "icount")   # icount: icount runs only
KINDS = ("plain", "hv")

_STAMP = re.compile(rb"\[\s*(\d+\.\d+)\]\s*" + re.escape(MARKER))


class BootError(Exception):
    """A boot that gave no figures: why, and where its files are."""


def init_stamp(console: bytes) -> float | None:
    """Linux's clock on its `Run /init as init process` line (seconds), or None
    when the console has no such line (yet).  Console lines end in CR LF."""
    m = _STAMP.search(console)
    return float(m.group(1)) if m else None


def plan(rounds: int, smps: list[int], icount: bool, wall: bool = True) -> list[tuple[str, int, str]]:
    """(kind, smp, mode) in run order: per round and -smp one plain and one hv boot, the
    order alternating from pair to pair (and so from round to round for each -smp); then
    one icount boot of each at -smp 1."""
    boots = []
    for r in range(rounds if wall else 0):
        for i, smp in enumerate(smps):
            pair = KINDS if (r + i) % 2 == 0 else KINDS[::-1]
            boots += [(kind, smp, "wall") for kind in pair]
    if icount:
        boots += [(kind, 1, "icount") for kind in KINDS]
    return boots


def ratio(hv: float | None, plain: float | None) -> float | None:
    if hv is None or plain is None or plain <= 0:
        return None
    return hv / plain


def summarise(boots: list[dict[str, Any]], goal: float = GOAL) -> list[dict[str, Any]]:
    """One row per (mode, smp) in the order first measured: each figure's median for plain
    and hv, hv/plain of the medians, and whether to_init meets the goal (None for a row
    that lacks one side)."""
    keys: list[tuple[str, int]] = []
    for b in boots:
        if (b["mode"], b["smp"]) not in keys:
            keys.append((b["mode"], b["smp"]))
    rows = []
    for mode, smp in keys:
        mine = [b for b in boots if b["mode"] == mode and b["smp"] == smp]
        row: dict[str, Any] = {"mode": mode, "smp": smp,
                               "boots": {k: sum(b["kind"] == k for b in mine) for k in KINDS}}
        for fig in FIGURES:
            med = {k: (statistics.median(v) if (v := [b[fig] for b in mine
                                                      if b["kind"] == k and b.get(fig) is not None]) else None)
                   for k in KINDS}
            row[fig] = {**med, "ratio": ratio(med["hv"], med["plain"])}
        # The goal is about wall time to init; an icount row is the instruction count
        # and virtual time, shown beside it but not judged.
        r = row["to_init_s"]["ratio"]
        row["goal"] = {"figure": "to_init_s", "max_ratio": goal,
                       "met": None if r is None or mode != "wall" else r <= goal}
        rows.append(row)
    return rows


def fmt_ratio(r: float | None, digits: int = 2) -> str:
    return "-" if r is None else f"{r:.{digits}f}x"


def fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def fmt_count(x: float | None) -> str:
    return "-" if x is None else f"{x / 1e6:.1f}M"


def goal_word(met: bool | None) -> str:
    return "-" if met is None else "met" if met else "NOT met"


WALL_HEADS = {"to_init_s": "wall to Run /init", "stamp_s": "guest clock at Run /init",
              "to_end_s": "wall to QEMU exit", "cpu_s": "QEMU CPU to exit"}
ICOUNT_HEADS = {"icount": "instructions to Run /init", "stamp_s": "virtual time at Run /init",
                "to_init_s": "wall to Run /init", "cpu_s": "QEMU CPU to exit"}


def table(rows: list[dict[str, Any]], mode: str) -> str:
    """The side-by-side table of one mode's rows, one line per -smp: plain, hv, hv/plain
    for each figure, then the goal (wall rows)."""
    heads = WALL_HEADS if mode == "wall" else ICOUNT_HEADS
    w = 24
    top = f"{'':>4} " + " ".join(f"{h:^{w}}" for h in heads.values()) + ("  goal" if mode == "wall" else "")
    sub = f"{'smp':>4} " + " ".join(f"{'plain':>7} {'hv':>7} {'hv/pl':>8}" for _ in heads)
    lines = [top, sub]
    for row in (r for r in rows if r["mode"] == mode):
        cells = []
        for fig in heads:
            fmt = fmt_count if fig == "icount" else fmt_s
            digits = 4 if mode == "icount" and fig in ("icount", "stamp_s") else 2
            cells.append(f"{fmt(row[fig]['plain']):>7} {fmt(row[fig]['hv']):>7} "
                         f"{fmt_ratio(row[fig]['ratio'], digits):>8}")
        goal = "  " + goal_word(row["goal"]["met"]) if mode == "wall" else ""
        lines.append(f"{row['smp']:>4} " + " ".join(cells) + goal)
    return "\n".join(lines)


class Qmp:
    """A blocking QMP session for polling `query-replay` from the watch thread (the
    harness's client is asyncio and serves the harness's own monitor)."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5.0)
        self.sock.connect(str(path))
        self.rfile = self.sock.makefile("rb")
        self._read()                               # the greeting
        self.execute("qmp_capabilities")

    def _read(self) -> dict[str, Any]:
        line = self.rfile.readline()
        if not line:
            raise ConnectionError("QEMU closed the QMP socket")
        return json.loads(line)

    def execute(self, command: str) -> Any:
        self.sock.sendall(json.dumps({"execute": command}).encode() + b"\n")
        while True:
            msg = self._read()
            if "return" in msg:
                return msg["return"]
            if "error" in msg:
                raise ConnectionError(f"QMP {command}: {msg['error']}")
            # an event: not ours

    def icount(self) -> int:
        return int(self.execute("query-replay")["icount"])

    def close(self) -> None:
        self.rfile.close()
        self.sock.close()


class ConsoleWatch(threading.Thread):
    """Polls, from its own thread, for QEMU's start and then for the `Run /init` line.

    find() returns the console's path once QEMU has been started (None before): t0 is
    the moment it first did, unless t0 was given (the caller saw the launch itself).
    seen is the monotonic time at which the line was first complete on the console.

    With a QMP socket (icount runs) it also brackets the instruction count at the line:
    each poll reads icount *before* the console, so a poll that finds no line gives a
    lower bound (the line was not written yet when the console was read, later than
    that icount); the poll that finds it reads icount again *after* the console, an
    upper bound.  QEMU writes each console byte to the file when the guest writes it."""

    def __init__(self, find: Callable[[], Path | None], t0: float | None = None,
                 qmp_socket: Path | None = None) -> None:
        super().__init__(daemon=True, name="console-watch")
        self.find, self.t0, self.qmp_socket = find, t0, qmp_socket
        self.path: Path | None = None
        self.seen: float | None = None
        self.stamp: float | None = None
        self.icount_lo: int | None = None
        self.icount_hi: int | None = None
        self.qmp_error: str | None = None
        self._qmp: Qmp | None = None
        self._halt = threading.Event()
        self._data = b""

    def _connect(self) -> None:
        assert self.qmp_socket is not None
        try:
            self._qmp = Qmp(self.qmp_socket)
        except (OSError, ValueError) as e:   # not listening yet
            self.qmp_error = f"QMP at {self.qmp_socket}: {e}"

    def _icount(self) -> int | None:
        if self._qmp is None:
            return None
        try:
            return self._qmp.icount()
        except (OSError, ValueError, KeyError, TypeError) as e:
            self.qmp_error = f"query-replay: {e}"
            self._qmp.close()
            self._qmp = None
            return None

    def run(self) -> None:
        f = None
        try:
            while not self._halt.is_set():
                if self.path is None:
                    self.path = self.find()
                    if self.path is None:
                        self._halt.wait(START_POLL_S)
                        continue
                    if self.t0 is None:
                        self.t0 = time.monotonic()
                if f is None:
                    try:
                        f = open(self.path, "rb")
                    except FileNotFoundError:   # QEMU has not opened it yet
                        self._halt.wait(CONSOLE_POLL_S)
                        continue
                if self.qmp_socket is not None and self._qmp is None:
                    self._connect()
                before = self._icount()
                chunk = f.read()
                if chunk:
                    self._data += chunk
                    stamp = init_stamp(self._data)
                    if stamp is not None:
                        self.seen, self.stamp = time.monotonic(), stamp
                        self.icount_hi = self._icount()
                        return
                if before is not None:
                    self.icount_lo = before
                self._halt.wait(ICOUNT_POLL_S if self.qmp_socket is not None else CONSOLE_POLL_S)
        finally:
            if f is not None:
                f.close()
            if self._qmp is not None:
                self._qmp.close()

    def finish(self) -> None:
        self._halt.set()
        self.join()

    @property
    def to_init(self) -> float | None:
        return None if self.seen is None or self.t0 is None else self.seen - self.t0


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def console_tail(path: Path, n: int = 15) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no console file)"
    return "\n".join(lines[-n:]) or "(console empty)"


def plain_boot(sc: Scenario, build: Path, smp: int, mode: str, work: Path) -> dict[str, Any]:
    """QEMU boots the kernel itself: the harness's machine (same accel flags, memory,
    -smp, UARTs), with the kernel as -kernel and the initramfs as -initrd."""
    work.mkdir(parents=True)
    linux = locate(build, "linux")
    console = work / "console.txt"
    det = mode == "icount"
    cfg = MachineConfig(kernel=linux.guest_elf, initrd=linux.initrd, append=f"{sc.append} {PLAIN_OPTION}",
                        serial_path=work / "com1.bin", console_path=console, smp=smp,
                        memory_mb=sc.memory, deterministic=det, icount_shift=icount_shift_for(sc),
                        log_path=work / "qemu.log")
    timeout = sc.timeout * (WALL_SLOWDOWN if det else 1)
    m = Machine(cfg)
    (work / "cmdline.txt").write_text(m.command_line_text() + "\n")
    cpu0 = children_cpu()
    t0 = time.monotonic()
    with m:
        watch = ConsoleWatch(lambda: console, t0, m.qmp_socket if det else None)
        watch.start()
        try:
            status = m.wait(timeout)
        except subprocess.TimeoutExpired:   # (Ctrl-C: the machine is stopped on the way out)
            status = None
        finally:
            watch.finish()
        if status is None:
            m.kill()
    cpu = children_cpu() - cpu0
    where = f"plain -smp {smp} ({mode}): "
    if status is None:
        raise BootError(f"{where}still running after {timeout:g} s; console {console}, last lines:\n"
                        f"{console_tail(console)}")
    verdict = judge_console(console)
    if status != PASS_STATUS or not verdict.ok:
        why = f"QEMU exit {status}, not {PASS_STATUS} (PASS)" if status != PASS_STATUS else verdict.reason()
        raise BootError(f"{where}{why}; console {console}, last lines:\n{console_tail(console)}")
    if watch.to_init is None:
        raise BootError(f"{where}passed, but its console never showed {MARKER.decode()!r} ({console})")
    return {"kind": "plain", "smp": smp, "mode": mode, "to_init_s": watch.to_init, "stamp_s": watch.stamp,
            "to_end_s": m.wall_time, "cpu_s": cpu, **icount_figures(watch, det, where)}


def icount_figures(watch: ConsoleWatch, det: bool, where: str) -> dict[str, Any]:
    """An icount boot's instruction count at the line: the middle of the bracket, and the
    bracket.  A bracket that is missing is an error, never a skipped figure."""
    if not det:
        return {"icount": None, "icount_lo": None, "icount_hi": None}
    lo, hi = watch.icount_lo, watch.icount_hi
    if lo is None or hi is None or lo > hi:
        raise BootError(f"{where}no icount bracket at the line (lo {lo}, hi {hi}): "
                        f"{watch.qmp_error or 'QMP answered no poll before the line'}")
    return {"icount": (lo + hi) / 2, "icount_lo": lo, "icount_hi": hi}


def hv_boot(sc: Scenario, build: Path, smp: int, mode: str, work: Path) -> dict[str, Any]:
    """The product path: run_scenario, as `harness run` does (no timeline views).  QEMU's
    start is when the run's cmdline.txt appears (the harness writes it just before it
    launches QEMU); its exit time is the verdict's."""
    work.mkdir(parents=True)

    def find() -> Path | None:
        started = next(work.glob("*/cmdline.txt"), None)
        return started.with_name("console.txt") if started else None

    det = mode == "icount"
    # icount runs: a QMP monitor of the bench's own beside the harness's (QEMU serves
    # several); under /tmp, as unix socket paths are short.
    sockdir = Path(tempfile.mkdtemp(prefix="bench-linux-")) if det else None
    qmp = sockdir / "qmp.sock" if sockdir else None
    opts = RunOptions(seed=0, build_dir=build, results_dir=work, deterministic=det, views=False,
                      qemu_args=["-qmp", f"unix:{qmp},server=on,wait=off"] if qmp else [])
    cpu0 = children_cpu()
    watch = ConsoleWatch(find, qmp_socket=qmp)
    watch.start()
    try:
        result = run_scenario(sc.with_overrides(smp=smp), opts)
    finally:
        watch.finish()
        if sockdir is not None:
            shutil.rmtree(sockdir, ignore_errors=True)
    cpu = children_cpu() - cpu0
    if result.interrupted:
        raise KeyboardInterrupt
    v, where = result.verdict, f"hv -smp {smp} ({mode}): "
    if not result.passed:
        raise BootError(f"{where}outcome {result.outcome}: {v.get('reason')}; run dir {result.run_dir}, "
                        f"console's last lines:\n{console_tail(result.run_dir / 'console.txt')}")
    if watch.to_init is None:
        raise BootError(f"{where}passed, but its console never showed {MARKER.decode()!r} "
                        f"({result.run_dir / 'console.txt'})")
    return {"kind": "hv", "smp": smp, "mode": mode, "to_init_s": watch.to_init, "stamp_s": watch.stamp,
            "to_end_s": float(v["qemu"]["wall_seconds"]), "cpu_s": cpu, **icount_figures(watch, det, where)}


def conditions(build: Path, sc: Scenario, rounds: int, smps: list[int]) -> dict[str, Any]:
    kernel = build / "linux" / "kernel.json"
    return {"scenario": sc.name, "kernel": json.loads(kernel.read_text()) if kernel.exists() else None,
            "memory_mb": sc.memory, "kernel_cmdline": sc.append, "plain_extra": PLAIN_OPTION,
            "rounds": rounds, "smp": smps, "wall_accel": "-accel tcg (multi-threaded TCG)",
            "icount_accel": " ".join(deterministic_args(icount_shift_for(sc))), "host_cpus": os.cpu_count(), "goal": GOAL}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bench-linux", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="plain+hv pairs per -smp (default 3)")
    ap.add_argument("--smp", type=int, nargs="+", default=[1, 2, 4], help="default 1 2 4")
    what = ap.add_mutually_exclusive_group()
    what.add_argument("--no-icount", action="store_true", help="skip the two -smp 1 icount boots")
    what.add_argument("--icount-only", action="store_true", help="only the two -smp 1 icount boots")
    ap.add_argument("--scenario", default="linux-smoke", help="a Linux scenario (default linux-smoke)")
    ap.add_argument("--build", type=Path, default=ROOT / "build")
    ap.add_argument("--results", type=Path, default=ROOT / "results",
                    help="bench-linux.json and bench-linux-runs/ go here (default results/)")
    a = ap.parse_args(argv)
    if a.rounds < 1 or any(not 1 <= n <= 64 for n in a.smp):
        print("bench-linux: --rounds must be >= 1 and every --smp in 1..64", file=sys.stderr)
        return 2
    try:
        sc = load_named(a.scenario)
        if not sc.is_linux:
            raise ScenarioError(sc.path, "guest", 'a Linux scenario (guest = "linux")', sc.guest)
        locate(a.build, "linux")   # the hypervisor's files too
    except (ScenarioError, BuildError) as e:
        print(f"bench-linux: {e}", file=sys.stderr)
        return 2

    a.results.mkdir(parents=True, exist_ok=True)
    runs = a.results / "bench-linux-runs" / time.strftime("%Y%m%d-%H%M%S")
    out = a.results / "bench-linux.json"
    todo = plan(a.rounds, a.smp, not a.no_icount, not a.icount_only)
    info = conditions(a.build, sc, a.rounds, a.smp)
    info["loadavg_start"] = os.getloadavg()
    print(f"bench-linux: {len(todo)} boots of {(info['kernel'] or {}).get('package', 'build/linux/vmlinuz')}, "
          f"-m {sc.memory}, load average {info['loadavg_start'][0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    boots: list[dict[str, Any]] = []
    error, code = None, 0
    try:
        for n, (kind, smp, mode) in enumerate(todo, 1):
            work = runs / f"{n:02d}-{kind}-smp{smp}-{mode}"
            boot = (plain_boot if kind == "plain" else hv_boot)(sc, a.build, smp, mode, work)
            boots.append(boot)
            print(f"[{n:2}/{len(todo)}] {kind:>5} -smp {smp} {mode:>6}: Run /init at {boot['to_init_s']:6.2f} s "
                  f"(guest clock {boot['stamp_s']:.3f} s), exit at {boot['to_end_s']:6.2f} s, "
                  f"QEMU CPU {boot['cpu_s']:6.2f} s", flush=True)
            shutil.rmtree(work, ignore_errors=True)
    except (BootError, BuildError, MachineError, ScenarioError, OSError) as e:
        error, code = str(e), 1
    except KeyboardInterrupt:
        error, code = "interrupted", 130
        print(f"bench-linux: interrupted; the boots measured so far are in {out}", file=sys.stderr)
    finally:
        info["loadavg_end"] = os.getloadavg()
        rows = summarise(boots)
        wall = [r for r in rows if r["mode"] == "wall"]
        result = {**info, "error": error, "rows": rows, "boots": boots,
                  "goal_met": None if error or not wall else all(r["goal"]["met"] for r in wall)}
        out.write_text(json.dumps(result, indent=1) + "\n")
    for d in (runs, runs.parent):   # only failing boots leave files
        if d.exists() and not any(d.iterdir()):
            d.rmdir()
    if rows:
        print_report(rows, boots, info, a.rounds)
    print(f"bench-linux: {out}")
    if error is not None and code == 1:
        print(f"bench-linux: FAILED, a boot gave no figures (the table above has the boots before it): {error}",
              file=sys.stderr)
    return code


def print_report(rows: list[dict[str, Any]], boots: list[dict[str, Any]], info: dict[str, Any], rounds: int) -> None:
    print()
    print(f"bench-linux: median of {rounds} boots per configuration, seconds; hv/pl = hv median / plain median")
    print(f"wall runs: {info['wall_accel']}")
    print(table(rows, "wall"))
    wall = [r for r in rows if r["mode"] == "wall"]
    icount = [r for r in rows if r["mode"] == "icount"]
    if icount:
        brackets = ", ".join(f"{b['kind']} {b['icount_lo'] / 1e6:.1f}M..{b['icount_hi'] / 1e6:.1f}M"
                             for b in boots if b["mode"] == "icount")
        print(f"\nicount runs, one boot each: {info['icount_accel']}; instructions to Run /init: the middle "
              f"of the bracket QMP query-replay polls gave around the line ({brackets}); virtual time: "
              f"the guest clock there")
        print(table(rows, "icount"))
    if wall:
        verdicts = ", ".join(f"-smp {r['smp']} {fmt_ratio(r['to_init_s']['ratio'])} {goal_word(r['goal']['met'])}"
                             for r in wall)
        print(f"\ngoal, hv/plain wall to Run /init <= {GOAL}x: {verdicts}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
