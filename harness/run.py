"""One run of one scenario: launch, drive, watch, capture, decode, judge.

Everything lands in a fresh run directory; verdict.json is written first as
"incomplete" so a harness killed outright still leaves an honest record.
"""
from __future__ import annotations

import asyncio
import json
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness import build as buildmod
from harness.capture import capture
from harness.decoding import decode_serial
from harness.machine import Machine, MachineConfig
from harness.nmi import NmiInjector
from harness.qmp import QMPClient, QMPConnectionError, QMPError
from harness.scenario import Scenario
from harness.verdict import classify_exit

POLL = 0.05
QMP_CONNECT_WINDOW = 10.0


@dataclass
class RunOptions:
    seed: int
    build_dir: Path = buildmod.REPO / "build"
    results_dir: Path = Path("results")
    deterministic: bool = False
    bugs: str | None = None
    qemu_args: list[str] = field(default_factory=list)  # appended verbatim (e.g. -d int)
    # Called about 4x a second while QEMU runs, e.g. for a live status line.
    on_tick: Callable[[dict[str, Any]], None] | None = None


@dataclass
class RunResult:
    run_dir: Path
    verdict: dict[str, Any]
    interrupted: bool = False

    @property
    def passed(self) -> bool:
        return bool(self.verdict.get("passed"))

    @property
    def outcome(self) -> str:
        return str(self.verdict.get("outcome"))


@dataclass
class _Watch:
    """What the supervisor saw; filled in while the machine runs."""
    outcome: str | None = None
    reason: str = ""
    capture: dict[str, Any] | None = None
    nmi: dict[str, Any] | None = None
    qmp_error: str | None = None
    serial_bytes: int = 0
    interrupted: bool = False
    events: list[str] = field(default_factory=list)


def random_seed() -> int:
    return random.SystemRandom().randrange(1 << 31)


def make_run_dir(results_dir: Path, scenario: str, seed: int) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = results_dir.resolve() / f"{stamp}-{scenario}-{seed}"
    path, n = base, 1
    while True:
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            n += 1
            path = base.with_name(f"{base.name}.{n}")


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)


async def _connect_qmp(qmp: QMPClient, machine: Machine) -> str | None:
    """Connect while QEMU lives; None on success, else why not."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + QMP_CONNECT_WINDOW
    while True:
        if machine.poll() is not None:
            return "QEMU exited before QMP was up"
        try:
            await qmp.connect(retry_for=0.1)
            return None
        except QMPConnectionError as exc:
            if loop.time() > deadline:
                return str(exc)


async def _supervise(machine: Machine, sc: Scenario, seed: int, build: buildmod.Build,
                     run_dir: Path,
                     on_tick: Callable[[dict[str, Any]], None] | None = None) -> _Watch:
    watch = _Watch()
    serial = machine.config.serial_path
    qmp = QMPClient(str(machine.qmp_socket))
    injector_task: asyncio.Task[None] | None = None
    injector: NmiInjector | None = None
    loop = asyncio.get_running_loop()
    try:
        watch.qmp_error = await _connect_qmp(qmp, machine)
        alive = asyncio.Event()
        if watch.qmp_error is None and sc.nmi.kind != "none":
            injector = NmiInjector(qmp, sc.nmi, seed, ready=alive)
            injector_task = asyncio.create_task(injector.run(), name="nmi-injector")
        started = loop.time()
        last_growth = last_tick = started
        while True:
            status = machine.poll()
            if status is not None:
                watch.outcome, watch.reason = classify_exit(status)
                break
            now = loop.time()
            size = serial.stat().st_size if serial.exists() else 0
            if size != watch.serial_bytes:
                watch.serial_bytes, last_growth = size, now
                alive.set()
            if now - last_growth >= sc.hang_timeout:
                watch.outcome = "hang"
                watch.reason = (f"no serial output for {sc.hang_timeout:g}s "
                                f"(stuck at {size} bytes)")
                break
            if on_tick is not None and now - last_tick >= 0.25:
                last_tick = now
                on_tick({"elapsed": now - started, "serial_bytes": size,
                         "idle": now - last_growth, "nmis": injector.sent if injector else 0})
            if now - started >= sc.timeout:
                watch.outcome = "timeout"
                watch.reason = f"still running after {sc.timeout:g}s (serial still growing)"
                break
            await asyncio.sleep(POLL)
        if injector_task is not None:
            injector_task.cancel()
            await asyncio.gather(injector_task, return_exceptions=True)
        if watch.outcome in ("hang", "timeout") and qmp.connected:
            watch.capture = await capture(
                qmp, machine.gdb_socket if machine.config.gdbstub else None,
                build.hv_elf, sc.smp, run_dir / "hang", build.guest_elf)
    except asyncio.CancelledError:
        watch.interrupted = True
        watch.outcome, watch.reason = "interrupted", "interrupted (SIGINT / Ctrl-C)"
    finally:
        if injector_task is not None and not injector_task.done():
            injector_task.cancel()
            await asyncio.gather(injector_task, return_exceptions=True)
        if injector is not None:
            watch.nmi = injector.stats()
        if machine.running and qmp.connected:
            try:
                await qmp.execute("quit", timeout=2.0)
            except (QMPError, QMPConnectionError):
                pass
        await qmp.close()
    return watch


def _judge(sc: Scenario, watch: _Watch, trace: dict[str, Any]) -> tuple[str, str, bool, Any]:
    """(outcome, reason, passed, rule) from the exit outcome and the checker."""
    outcome, reason, rule = watch.outcome or "error", watch.reason, None
    check = trace.get("check")
    if check is not None and not check["passed"]:
        rule = check.get("rule")
        if outcome == "pass":
            outcome = "fail"
            reason = f"exit said pass, but the checker's rule {rule!r} failed: {check.get('message')}"
    passed = outcome == sc.expect_outcome and (check is None or check["passed"]
                                               or sc.expect_outcome != "pass")
    return outcome, reason, passed, rule


def run_scenario(sc: Scenario, opts: RunOptions) -> RunResult:
    """Run once; returns the result even on Ctrl-C (then `interrupted` is set).

    A missing build raises BuildError before any run dir exists.
    """
    t0 = time.monotonic()
    located = buildmod.locate(opts.build_dir, sc.guest)
    run_dir = make_run_dir(opts.results_dir, sc.name, opts.seed)
    verdict: dict[str, Any] = {
        "scenario": sc.name, "seed": opts.seed, "passed": False, "outcome": "incomplete",
        "reason": "the harness did not finish this run", "expected_outcome": sc.expect_outcome,
        "bugs": opts.bugs, "deterministic": opts.deterministic, "scenario_config": sc.as_dict()}
    write_json(run_dir / "verdict.json", verdict)
    shutil.copy2(sc.path, run_dir / "scenario.toml")

    try:
        build, manifest = buildmod.snapshot(located, run_dir / "build")
    except (buildmod.BuildError, OSError) as exc:
        verdict.update(outcome="error", reason=str(exc))
        write_json(run_dir / "verdict.json", verdict)
        return RunResult(run_dir, verdict)
    verdict["build"] = manifest

    config = MachineConfig(kernel=build.hv_elf32, initrd=build.guest_elf, append=sc.hv_cmdline(),
                           serial_path=(run_dir / "serial.bin").resolve(), smp=sc.smp,
                           memory_mb=sc.memory, deterministic=opts.deterministic,
                           log_path=run_dir / "qemu.log", extra_args=list(opts.qemu_args))
    machine = Machine(config)
    (run_dir / "cmdline.txt").write_text(machine.command_line_text() + "\n")
    verdict["qemu"] = {"command_line": machine.command_line()}
    watch = _Watch()
    with machine:
        verdict["qemu"]["pid"] = machine.pid
        watch = asyncio.run(_supervise(machine, sc, opts.seed, build, run_dir, opts.on_tick))
    stopped_by_harness = watch.outcome in ("hang", "timeout", "interrupted")
    verdict["qemu"].update(exit_status=machine.exit_status, wall_seconds=round(machine.wall_time, 3),
                           ended_by="harness" if stopped_by_harness else "itself")
    log = machine.log_text().strip()
    if log:
        verdict["qemu"]["log_tail"] = log[-1000:]
        if watch.outcome == "qemu died":
            watch.reason += f"; QEMU said: {log.splitlines()[-1]}"
    verdict["nmi"] = watch.nmi or {"pattern": sc.nmi.as_dict(), "sent": 0}
    verdict["serial_bytes"] = (run_dir / "serial.bin").stat().st_size \
        if (run_dir / "serial.bin").exists() else 0
    if watch.qmp_error:
        verdict["qmp_error"] = watch.qmp_error
    if watch.capture is not None:
        verdict["capture"] = watch.capture

    t_decode = time.monotonic()
    trace = decode_serial(run_dir / "serial.bin", sc.rules, run_dir).as_dict()
    verdict["trace"] = trace
    outcome, reason, passed, rule = _judge(sc, watch, trace)
    verdict.update(outcome=outcome, reason=reason, passed=passed, rule=rule,
                   counts=(trace.get("check") or {}).get("counts"))
    verdict["durations"] = {"total": round(time.monotonic() - t0, 3),
                            "qemu": verdict["qemu"]["wall_seconds"],
                            "decode": round(time.monotonic() - t_decode, 3),
                            "capture": (watch.capture or {}).get("seconds")}
    verdict["html_timeline"] = trace.get("views", {}).get("html")
    write_json(run_dir / "verdict.json", verdict)
    return RunResult(run_dir, verdict, interrupted=watch.interrupted)
