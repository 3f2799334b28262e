"""One run of one scenario: launch, drive, watch, capture, decode, judge.

Everything lands in a fresh run directory; verdict.json is written first as
"incomplete" so a harness killed outright still leaves an honest record.
"""
from __future__ import annotations

import asyncio
import os
import random
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness.launch import build as buildmod
from harness.launch import memlog
from harness.judge.capture import capture
from harness.judge.decoding import decode_serial
from harness.judge.hangwatch import HangWatch
from harness.judge.livecheck import CheckResult, LiveCheck
from harness.judge.console_timeline import ConsoleSampler, write_views as write_console_views
from harness.judge.linux import (ConsoleVerdict, ProgramsVerdict, VerdictWatch, judge_console, judge_programs,
                           programs_send_nmis)
from harness.judge import multiboot
from harness.launch.machine import Machine, MachineConfig, MachineError
from harness.launch.nmi import NmiInjector
from harness.launch.qmp import QMPClient, QMPConnectionError, QMPError
from harness.hv_options import HvOptions, HvOptionsError, check_echo
from harness.launch.rr import Com2NmiSink, StallReinjector
from harness.scenario import Scenario, ScenarioError
from harness.schedule import Schedule, derive, icount_shift_for, needs_rdtsc_exit
from harness.judge.verdict import classify_exit
from harness.judge.verdict_record import Verdict

POLL = 0.05


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
    # Polled while QEMU runs; True stops the run as "interrupted" (hunt stops
    # the other seeds' runs once one has failed).
    should_stop: Callable[[], bool] | None = None
    # replay: the exact hypervisor options of the run being replayed, instead of
    # the ones derived from (scenario, seed) by today's harness.
    hv_options: HvOptions | None = None
    # QEMU record/replay at -smp 1: "record" or "replay" with rr_file.
    rr: str | None = None
    rr_file: Path | None = None
    # replay of a run recorded with QMP inject-nmi (before NMIs went over COM2,
    # harness/launch/rr.py): the icounts it logged, for the legacy stall re-injection.
    rr_nmi_icounts: list[int | None] | None = None
    # How frames leave the machine: "uart" (the 16550, live in serial.bin), "mem"
    # (hv `trace=mem`: a log in guest RAM read through a shared RAM file; serial.bin
    # then holds the UART's bytes followed by the log's, the same frames either way),
    # or "e9" (hv `trace=e9`: I/O port 0xE9, the bochs platform only).  None: the
    # platform's default, "uart" under QEMU, "e9" under Bochs (harness/judge/bochs_run.py).
    transport: str | None = None
    # Check the trace while the machine runs and stop it at the first broken rule
    # (harness/judge/livecheck.py): hunts want the first failure, not the end of the run.
    # Needs the UART transport (the memory log is read after the run).
    stop_at_violation: bool = False
    # Write the timeline views (text, tokens, HTML) into the run dir.  The soak turns
    # them off: it keeps the checker's verdict and figures, and rendering costs more
    # than checking.
    views: bool = True
    # A Linux guest of the user's own instead of build/linux's (`run --kernel/--initrd`),
    # or a multiboot kernel instead of build/multiboot.elf (`run --multiboot`, with an
    # optional module `--initrd`).
    kernel: Path | None = None
    initrd: Path | None = None


TRANSPORTS = ("uart", "mem", "e9")
QEMU_TRANSPORTS = ("uart", "mem")


@dataclass(frozen=True)
class _Plan:
    """How _supervise drives and watches this machine."""
    host_nmis: bool               # the scenario's QMP injector (never in deterministic mode)
    hang: HangWatch
    timeout: float                # wall seconds
    read_icount: bool             # poll query-replay (icount) every tick
    rr: str | None = None
    rr_nmi_icounts: list[int | None] | None = None
    nmi_com2: bool = False        # rr: host NMIs are bytes on COM2 (harness/launch/rr.py)
    trace_bytes: Callable[[], int] | None = None  # progress when frames do not go to serial
    live_check: LiveCheck | None = None
    console_sampler: ConsoleSampler | None = None   # an OS guest's console against the trace


@dataclass
class RunResult:
    run_dir: Path
    record: Verdict               # what verdict.json holds; written only by record.write
    interrupted: bool = False

    @property
    def verdict(self) -> dict[str, Any]:
        """verdict.json's object, for the many readers that index it by key; a view:
        change `record` (and write it), not this."""
        return self.record.as_dict()

    @property
    def passed(self) -> bool:
        return self.record.passed

    @property
    def outcome(self) -> str:
        return self.record.outcome

    @property
    def seed(self) -> int:
        return self.record.seed

    @property
    def reason(self) -> str:
        return self.record.reason

    @property
    def rule(self) -> str | None:
        """The checker's rule that failed; None when none did (or the run never got that far)."""
        return self.record.rule or None


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
    icount: int | None = None
    rr: dict[str, Any] | None = None
    violation: dict[str, Any] | None = None  # the first broken rule the live check saw
    stopped_by_live_check: bool = False


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


async def _read_icount(qmp: QMPClient) -> int | None:
    try:
        reply = await qmp.execute("query-replay", timeout=2.0)
    except (QMPError, QMPConnectionError, asyncio.TimeoutError):
        return None
    value = reply.get("icount") if isinstance(reply, dict) else None
    return value if isinstance(value, int) else None


async def sample_progress(qmp: QMPClient | None, serial: Path,
                          trace_bytes: Callable[[], int] | None) -> tuple[int | None, int]:
    """(icount, bytes of trace so far), icount read *first*.

    The hang watch calls a deterministic run hung when icount moved hang_timeout of
    virtual time past the last growth of the serial output.  Read the other way
    round, the pair was stale: the size was taken, then the QMP reply came late
    while the machine raced on (up to ~300 M instructions in one sample, ~10**9 a
    second in test-sleep's loops) and wrote its first bytes -- so a size of 0 met
    an icount far past the boot's first output, and a healthy run was called hung
    (zoo-sleep-nmi, about 1 in 200 bench runs, 1 in 28 with 3 QEMUs on 2 cores).  Read icount first, and every byte written before that icount is in the
    size.  Test: tests/harness/test_harness_progress.py."""
    icount = await _read_icount(qmp) if qmp is not None else None
    size = serial.stat().st_size if serial.exists() else 0
    if trace_bytes is not None:
        size += trace_bytes()
    return icount, size


async def _supervise(machine: Machine, sc: Scenario, seed: int, build: buildmod.Build,
                     run_dir: Path, plan: _Plan,
                     on_tick: Callable[[dict[str, Any]], None] | None = None,
                     should_stop: Callable[[], bool] | None = None) -> _Watch:
    watch = _Watch()
    serial = machine.config.serial_path
    injector_task: asyncio.Task[None] | None = None
    injector: NmiInjector | None = None
    sink: Com2NmiSink | None = None
    reinjector: StallReinjector | None = None
    loop = asyncio.get_running_loop()
    try:
        # QEMU up and QMP connected; a run whose QMP never came up goes on without
        # it (no host NMIs, no icount, no capture) and says so in qmp_error.
        await machine.start(require_qmp=False)
        watch.qmp_error = machine.qmp_error
        qmp = machine.qmp if machine.qmp_connected else None
        alive = asyncio.Event()
        if qmp is not None and plan.host_nmis and sc.nmi.kind != "none":
            # Under rr=record an NMI is a byte on COM2 that the hypervisor turns
            # into a self-NMI: QEMU records that, not QMP inject-nmi (harness/launch/rr.py).
            sink = Com2NmiSink(qmp, machine.nmi_socket) if plan.nmi_com2 else None
            injector = NmiInjector(sink or qmp, sc.nmi, seed, ready=alive)
            injector_task = asyncio.create_task(injector.run(), name="nmi-injector")
        if qmp is not None and plan.rr == "replay" and plan.rr_nmi_icounts:
            # Only a run recorded with QMP NMIs needs them sent again; COM2
            # bytes come back from QEMU's own log.
            reinjector = StallReinjector(qmp, plan.rr_nmi_icounts)
        # A Linux guest's NMIs stop when init prints its verdict: the programs are
        # done, and a flood need not run on through every CPU's report.
        verdict_watch = VerdictWatch(machine.config.console_path) \
            if injector_task is not None and sc.is_linux and machine.config.console_path else None
        started = loop.time()
        last_growth = last_tick = started
        while True:
            status = machine.poll()
            if status is not None:
                watch.outcome, watch.reason = classify_exit(status)
                if plan.live_check is not None:
                    # The machine may have ended itself (fail-fast) before a poll saw
                    # the violation: read the rest, so the verdict and a replay know it.
                    watch.violation = _violation(plan.live_check.poll_all())
                break
            icount, size = await sample_progress(machine.qmp if plan.read_icount and machine.qmp_connected
                                                 else None,
                                                 serial, plan.trace_bytes)
            now = loop.time()
            if icount is not None:
                watch.icount = icount
            grew = size != watch.serial_bytes
            if grew:
                watch.serial_bytes, last_growth = size, now
                alive.set()
            if plan.live_check is not None and grew:
                watch.violation = _violation(plan.live_check.poll())
                if watch.violation is not None:
                    watch.outcome, watch.reason = live_check_outcome(watch.violation)
                    watch.stopped_by_live_check = True
                    break
            if plan.console_sampler is not None:
                plan.console_sampler.sample()
            if verdict_watch is not None and injector is not None and verdict_watch.poll() \
                    and injector_task is not None and not injector_task.done():
                injector_task.cancel()
                await asyncio.gather(injector_task, return_exceptions=True)
                injector.stopped_because = "Linux init printed its verdict"
            if reinjector is not None:
                await reinjector.observe(now, icount)
            hung = plan.hang.observe(now, size, icount)
            if hung and reinjector is not None and reinjector.may_still_be_stalled_on_nmi(now):
                hung = None  # give the re-sent NMI its chance before calling it a hang
            if hung:
                watch.outcome, watch.reason = "hang", hung
                break
            if on_tick is not None and now - last_tick >= 0.25:
                last_tick = now
                on_tick({"elapsed": now - started, "serial_bytes": size,
                         "idle": now - last_growth, "nmis": injector.sent if injector else 0,
                         "icount": watch.icount})
            if should_stop is not None and should_stop():
                watch.interrupted = True
                watch.outcome, watch.reason = "interrupted", "stopped by the caller"
                break
            if now - started >= plan.timeout:
                watch.outcome = "timeout"
                watch.reason = f"still running after {plan.timeout:g}s (serial still growing)"
                break
            await asyncio.sleep(POLL)
        if injector_task is not None:
            injector_task.cancel()
            await asyncio.gather(injector_task, return_exceptions=True)
        if watch.outcome in ("hang", "timeout") and machine.qmp_connected:
            watch.capture = await capture(
                machine.qmp, machine.gdb_socket if machine.config.gdbstub else None,
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
        if sink is not None:
            watch.rr = sink.stats()
            await sink.close()
        if reinjector is not None:
            watch.rr = reinjector.stats()
        await machine.stop()
    return watch


def live_check_outcome(violation: dict[str, Any]) -> tuple[str, str]:
    """(outcome, reason) for a run the live check stopped.  A broken rule is a failure,
    except the hypervisor's own PANIC record seen before its debug-exit: that is the
    panic either way, so reruns that win or lose this race still agree."""
    outcome = "panic" if violation.get("event") == "PANIC" else "fail"
    return outcome, (f"the checker's rule {violation['rule']!r} failed while the machine ran "
                     f"(record #{violation['index']}): {violation['message']}; the harness stopped it")


def _violation(found: CheckResult | None) -> dict[str, Any] | None:
    """A live check's finding as the verdict records it."""
    return None if found is None else {"rule": found.rule, "index": found.index, "message": found.message,
                                       "event": found.event}


class _MemTransport:
    """The `trace=mem` log: where its RAM file lives, progress while the machine runs,
    and the frames into serial.bin afterwards (whatever ended the run)."""

    def __init__(self, run_dir: Path, hv_elf: Path) -> None:
        # tmpfs: QEMU writes guest RAM through it at memory speed; removed in collect()
        # or, whatever happens, by run_scenario.  pid + random part: two harnesses running
        # the same scenario and seed in the same second must not share a machine's RAM.
        self.ram_file = Path("/dev/shm") / f"heisenvisor-{os.getpid()}-{uuid.uuid4().hex[:8]}-{run_dir.name}.ram"
        self.offset, self.size = memlog.locate(hv_elf)

    def progress(self) -> int:
        try:
            return memlog.progress(self.ram_file, self.offset, self.size)
        except memlog.MemlogError:
            return 0  # QEMU has not created the file yet

    def collect(self, serial: Path) -> dict[str, Any]:
        uart = serial.with_name("uart.bin")
        data = uart.read_bytes() if uart.exists() else b""
        try:
            log = memlog.read(self.ram_file, self.offset, self.size)
            serial.write_bytes(data + log.data)
            return {"uart_bytes": len(data), "log_bytes": len(log.data), "dropped_bytes": log.dropped}
        except memlog.MemlogError as exc:
            serial.write_bytes(data)  # what the UART got is still evidence
            return {"uart_bytes": len(data), "error": str(exc)}
        finally:
            self.ram_file.unlink(missing_ok=True)


def checker_not_run(trace: dict[str, Any]) -> str | None:
    """Why the checker gave no verdict on this trace, or None when it judged it."""
    check = trace.get("check")
    if check is not None and not check.get("error"):
        return None
    if check is not None:
        return f"no evidence: {check['error']}"
    return trace.get("check_error") or trace.get("reason") or "the trace was not decoded"


def evidence(watch: _Watch, trace: dict[str, Any]) -> dict[str, Any]:
    """What the verdict rests on: the exit status, and what the checker judged (records,
    rules run) or why it judged nothing."""
    check = trace.get("check") or {}
    why = checker_not_run(trace)
    return {"exit_outcome": watch.outcome, "checker_ran": why is None, "checker_not_run": why,
            **({"records_checked": (check.get("evidence") or {}).get("records"),
                "rules_run": (check.get("evidence") or {}).get("rules")} if why is None else {})}


def hv_cmdline_ran(harness_append: str, qemu_args: list[str]) -> dict[str, str]:
    """The hypervisor command line QEMU really passed: QEMU takes the last -append, so a
    `--qemu-arg -append --qemu-arg X` replaces the harness's (scenario's) line."""
    ran, source = harness_append, "harness"
    for k, arg in enumerate(qemu_args):
        if arg in ("-append", "--append") and k + 1 < len(qemu_args):
            ran, source = qemu_args[k + 1], "--qemu-arg -append"
    return {"ran": ran, "source": source, "harness": harness_append}


def _judge(sc: Scenario, watch: _Watch, trace: dict[str, Any],
           console: ConsoleVerdict | None = None,
           programs: ProgramsVerdict | None = None,
           options_error: str | None = None) -> tuple[str, str, bool, Any]:
    """(outcome, reason, passed, rule) from the exit outcome and the checker.

    No verdict without evidence: an exit that says pass is a pass only when the checker
    judged the trace; when it did not run (not decoded, no records, more damage than
    data, a checker error) the outcome is `error`, with the reason.  Nor when the
    hypervisor ran with other options than it was sent (`options_error`,
    hv_options.check_echo): whatever happened, it is not the run that was asked for."""
    if options_error is not None and watch.outcome != "interrupted":
        return "error", options_error, False, None
    outcome, reason, rule = watch.outcome or "error", watch.reason, None
    check = trace.get("check")
    why = checker_not_run(trace)
    if why is not None:
        check = None
        if outcome == "pass":
            outcome = "error"
            reason = f"exit said pass, but the checker did not judge the trace ({why})"
    if check is not None and not check["passed"]:
        rule = check.get("rule")
        if outcome == "pass":
            outcome = "fail"
            reason = f"exit said pass, but the checker's rule {rule!r} failed: {check.get('message')}"
    if console is not None and not console.ok and outcome == "pass":
        outcome, reason = "fail", f"exit said pass, but {console.reason()}"
    why_programs = programs.reason() if programs is not None else None
    if why_programs is not None and outcome == "pass":
        outcome, reason = "fail", f"exit said pass, but {why_programs}"
    passed = outcome == sc.expect_outcome and (check is None or check["passed"]
                                               or sc.expect_outcome != "pass")
    return outcome, reason, passed, rule


def run_scenario(sc: Scenario, opts: RunOptions) -> RunResult:
    """Run once; returns the result even on Ctrl-C (then `interrupted` is set).

    A missing build raises BuildError before any run dir exists.
    """
    t0 = time.monotonic()
    located = buildmod.locate(opts.build_dir, sc.guest, opts.kernel, opts.initrd)
    if sc.is_multiboot:
        try:
            multiboot.check_kernel(located.guest_elf)
        except multiboot.MultibootError as exc:
            raise buildmod.BuildError(str(exc)) from None
    if shutil.which(MachineConfig.qemu_binary) is None:
        raise buildmod.BuildError(f"{MachineConfig.qemu_binary} not found on PATH (run `make deps`)")
    schedule = derive(sc, opts.seed) if opts.deterministic and opts.rr is None else None
    run_dir = make_run_dir(opts.results_dir, sc.name, opts.seed)
    verdict = Verdict(
        scenario=sc.name, seed=opts.seed, passed=False, outcome="incomplete",
        reason="the harness did not finish this run", expected_outcome=sc.expect_outcome,
        bugs=opts.bugs, deterministic=schedule is not None, scenario_config=sc.as_dict())
    options = sc.hv_options()
    sched: dict[str, Any] | None = None
    if schedule is not None:
        options = opts.hv_options or schedule.hv_options
        verdict.schedule = sched = {**schedule.as_dict(), "hv_cmdline": options.render(),
                                    "derived_hv_cmdline": schedule.hv_cmdline}
    elif opts.hv_options is not None:
        options = opts.hv_options
    if opts.rr == "record" and sc.nmi.kind != "none":
        options = options.with_(nmi_com2=True)   # host NMIs as COM2 bytes (harness/launch/rr.py)
    if opts.rr == "record" and needs_rdtsc_exit(sc):
        options = options.with_(rdtsc_exit=True)  # virtual time, as derive() does
    # A replay's recorded options already say whether NMIs came over COM2.
    nmi_com2 = opts.rr is not None and bool(options.nmi_com2)
    rr_file = None
    if opts.rr is not None:
        rr_file = (opts.rr_file or run_dir / "replay.bin").resolve()
        verdict.rr = {"mode": opts.rr, "file": str(rr_file), "hv_cmdline": options.render()}
    verdict.write(run_dir)
    shutil.copy2(sc.path, run_dir / "scenario.toml")

    try:
        build, manifest = buildmod.snapshot(located, run_dir / "build")
    except (buildmod.BuildError, OSError) as exc:
        verdict.outcome, verdict.reason = "error", str(exc)
        verdict.write(run_dir)
        return RunResult(run_dir, verdict)
    verdict.build = manifest

    transport = opts.transport or "uart"
    if transport not in QEMU_TRANSPORTS:
        raise ScenarioError("(command line)", "--transport", f"one of {', '.join(QEMU_TRANSPORTS)} on the qemu "
                            "platform (e9 is the bochs platform's)", transport)
    # A replay's recorded options already say trace=mem.
    use_mem = transport == "mem" or options.trace == memlog.HV_TRACE_MODE
    try:
        mem = _MemTransport(run_dir, build.hv_elf) if use_mem else None
    except memlog.MemlogError as exc:
        verdict.outcome, verdict.reason = "error", str(exc)
        verdict.write(run_dir)
        return RunResult(run_dir, verdict)
    if mem is not None:
        if options.trace is None:   # trace=record ends in the memory log too (trace_glue.c)
            options = options.with_(trace=memlog.HV_TRACE_MODE)
        verdict.transport = {"kind": "mem", "ram_file": str(mem.ram_file)}
        if sched is not None:
            sched["hv_cmdline"] = options.render()
    try:
        return _run_machine(_Launch(sc=sc, opts=opts, verdict=verdict, run_dir=run_dir, build=build,
                                    options=options, schedule=schedule, rr_file=rr_file,
                                    nmi_com2=nmi_com2, mem=mem, started=t0))
    finally:
        if mem is not None:
            mem.ram_file.unlink(missing_ok=True)  # whatever ended the run, never leave guest RAM in /dev/shm


def _records_of(items: list[Any] | None, event: str) -> list[Any]:
    """The trace's records of one event, in order."""
    from decoder.defs import EVENT_IDS
    kind = EVENT_IDS[event]
    return [item for item in items or () if getattr(item, "type", None) == kind]


def guest_events(items: list[Any] | None) -> list[tuple[int, int, int]]:
    """The trace's GUEST_EVENT records as (kind, a, b), in order."""
    return [tuple(item.args[:3]) for item in _records_of(items, "GUEST_EVENT")]


def guest_exits(items: list[Any] | None) -> list[dict[str, Any]]:
    """The trace's GUEST_EXIT records (a multiboot guest's isa-debug-exit writes), in order."""
    return [{"cpu": item.cpu, "code": item.args[0], "port": item.args[1], "size": item.args[2]}
            for item in _records_of(items, "GUEST_EXIT")]


def _progress_counter(mem: _MemTransport | None, console: Path | None) -> Callable[[], int] | None:
    """Bytes that show the machine is alive besides the UART's: the memory log's,
    and a Linux guest's console -- Linux runs for seconds without an exit, so the
    hypervisor's trace alone would fall silent and be called a hang."""
    if mem is None and console is None:
        return None

    def count() -> int:
        n = mem.progress() if mem is not None else 0
        if console is not None and console.exists():
            n += console.stat().st_size
        return n
    return count


def machine_config(sc: Scenario, build: buildmod.Build, run_dir: Path, append: str, *,
                   deterministic: bool, rr: str | None, rr_file: Path | None, nmi_com2: bool,
                   ram_file: Path | None, qemu_args: list[str]) -> MachineConfig:
    """The machine a run of `sc` launches: a pure function of the run's facts, so a
    replay computes the same config (and, through machine.qemu_argv, the same argv)
    that its run will launch, and compares it with the recorded one before running."""
    return MachineConfig(kernel=build.hv_elf32, initrd=build.guest_elf, append=append,
                         initrd_args=sc.kernel_cmdline(), second_module=build.initrd,
                         console_path=(run_dir / "console.txt").resolve() if sc.is_os else None,
                         serial_path=(run_dir / ("uart.bin" if ram_file else "serial.bin")).resolve(),
                         smp=sc.smp, ram_file=ram_file, memory_mb=sc.memory, deterministic=deterministic,
                         icount_shift=icount_shift_for(sc), rr=rr, rr_file=rr_file, nmi_com2=nmi_com2,
                         log_path=run_dir / "qemu.log", extra_args=list(qemu_args),
                         nmi_device=wants_nmi_device(append))


def wants_nmi_device(append: str) -> bool:
    """The edu device is in the machine exactly when the hypervisor is told to use it
    (nmi_edu=): a replay's recorded line then brings the device back with it."""
    try:
        return bool(HvOptions.parse(append).nmi_edu)
    except HvOptionsError:
        return False


@dataclass(frozen=True)
class _Launch:
    """What run_scenario settled before the machine starts, handed to _run_machine
    as one value: the run's scenario and options, its record so far, the build
    copy it runs, the hypervisor options it sends and how the machine is driven."""
    sc: Scenario
    opts: RunOptions
    verdict: Verdict              # written as the run goes (the one writer: Verdict.write)
    run_dir: Path
    build: buildmod.Build         # the run dir's copies
    options: HvOptions            # rendered into -append
    schedule: Schedule | None     # a deterministic run's derived schedule
    rr_file: Path | None          # QEMU record/replay log
    nmi_com2: bool                # rr: host NMIs go as bytes on COM2
    mem: _MemTransport | None     # the `trace=mem` transport
    started: float                # time.monotonic() when run_scenario began

    @property
    def append(self) -> str:
        return self.options.render()

    def machine_config(self) -> MachineConfig:
        return machine_config(self.sc, self.build, self.run_dir, self.append,
                              deterministic=self.schedule is not None, rr=self.opts.rr,
                              rr_file=self.rr_file, nmi_com2=self.nmi_com2,
                              ram_file=self.mem.ram_file if self.mem else None,
                              qemu_args=self.opts.qemu_args)


def _run_machine(launch: _Launch) -> RunResult:
    sc, opts, verdict, run_dir, build = launch.sc, launch.opts, launch.verdict, launch.run_dir, launch.build
    append, schedule, nmi_com2, mem, t0 = launch.append, launch.schedule, launch.nmi_com2, launch.mem, launch.started
    config = launch.machine_config()
    machine = Machine(config)
    try:
        (run_dir / "cmdline.txt").write_text(machine.command_line_text() + "\n")
    except MachineError as exc:
        verdict.outcome, verdict.reason = "error", str(exc)
        verdict.write(run_dir)
        return RunResult(run_dir, verdict)
    verdict.qemu = qemu = {"command_line": machine.command_line(), "extra_args": list(opts.qemu_args)}
    verdict.hv_cmdline = ran = hv_cmdline_ran(append, opts.qemu_args)
    icount_mode = schedule is not None or opts.rr is not None
    plan = _Plan(host_nmis=schedule is None and opts.rr != "replay",
                 hang=HangWatch(sc.virtual_hang_timeout if icount_mode else sc.hang_timeout,
                                icount_shift_for(sc) if icount_mode else None),
                 timeout=schedule.wall_timeout_s if schedule else sc.timeout,
                 read_icount=icount_mode, rr=opts.rr, rr_nmi_icounts=opts.rr_nmi_icounts,
                 nmi_com2=nmi_com2,
                 trace_bytes=_progress_counter(mem, config.console_path),
                 live_check=LiveCheck(config.serial_path, sc.rules, time_bounds=icount_mode)
                 if opts.stop_at_violation and mem is None else None,
                 console_sampler=ConsoleSampler(config.serial_path, config.console_path)
                 if config.console_path is not None and mem is None else None)
    if opts.stop_at_violation and mem is not None:
        verdict.live_check_error = "no live check with the memory transport (its log is read after the run)"
    watch = _Watch()
    try:
        watch = asyncio.run(_supervise(machine, sc, opts.seed, build, run_dir, plan,
                                       opts.on_tick, opts.should_stop))
    except MachineError as exc:
        if machine.pid is not None:
            raise
        verdict.outcome, verdict.reason = "error", f"QEMU not started: {exc}"
        verdict.write(run_dir)
        return RunResult(run_dir, verdict)
    finally:
        machine.shutdown()   # _supervise stops it; this covers what escaped asyncio.run
    qemu["pid"] = machine.pid
    stopped_by_harness = watch.outcome in ("hang", "timeout", "interrupted") or watch.stopped_by_live_check
    qemu.update(exit_status=machine.exit_status, wall_seconds=round(machine.wall_time, 3),
                           ended_by="harness" if stopped_by_harness else "itself")
    log = machine.log_text().strip()
    if log:
        qemu["log_tail"] = log[-1000:]
        if watch.outcome == "qemu died":
            watch.reason += f"; QEMU said: {log.splitlines()[-1]}"
    verdict.nmi = nmi = watch.nmi or {"pattern": sc.nmi.as_dict(), "sent": 0}
    if schedule is not None:
        nmi["in_machine"] = {"nmi_every": schedule.nmi_every,
                                        "basis": schedule.nmi_basis, "nmi_edu_us": schedule.nmi_edu_us}
    verdict.hang_watch = plan.hang.stats()
    if icount_mode:
        qemu["icount_last"] = watch.icount
        verdict.hang_detection = ("virtual time: serial silence over icount "
                                     f"(shift {icount_shift_for(sc)}), backstops in harness/judge/hangwatch.py")
    if watch.rr is not None:
        rr = verdict.rr if isinstance(verdict.rr, dict) else {}
        verdict.rr = {**rr, **watch.rr}
    lost_tail = None
    if mem is not None:
        transport = verdict.transport if isinstance(verdict.transport, dict) else {}
        verdict.transport = transport = {**transport, **mem.collect(run_dir / "serial.bin")}
        dropped = transport.get("dropped_bytes", 0)
        if dropped:
            lost_tail = (dropped, f"the memory log was full: {dropped} bytes of frames dropped after it")
    if opts.stop_at_violation:
        verdict.live_violation = watch.violation
        verdict.stopped_at_violation = watch.violation if watch.stopped_by_live_check else None
        if plan.live_check is not None and plan.live_check.error:
            verdict.live_check_error = plan.live_check.error
    verdict.serial_bytes = (run_dir / "serial.bin").stat().st_size \
        if (run_dir / "serial.bin").exists() else 0
    if watch.qmp_error:
        verdict.qmp_error = watch.qmp_error
    if watch.capture is not None:
        verdict.capture = watch.capture

    t_decode = time.monotonic()
    decoded = decode_serial(run_dir / "serial.bin", sc.rules, run_dir, lost_tail, views=opts.views,
                            time_bounds=icount_mode)
    trace = decoded.as_dict()
    verdict.trace = trace
    nmis_sent = sc.nmi.kind != "none" or programs_send_nmis(sc.programs)
    console = judge_console(config.console_path, nmis_sent=nmis_sent) \
        if config.console_path is not None and sc.is_linux else None
    if plan.console_sampler is not None and decoded.decoded and decoded.items and opts.views:
        try:
            plan.console_sampler.save(run_dir)
            trace.setdefault("views", {}).update(
                write_console_views(run_dir, decoded.items, config.console_path, plan.console_sampler.samples))
        except (OSError, ValueError) as exc:
            trace.setdefault("view_errors", {})["console"] = f"{type(exc).__name__}: {exc}"
    if console is not None:
        verdict.console = {"path": str(config.console_path), **console.as_dict()}
    elif config.console_path is not None:
        # A multiboot kernel's console is its own business: kept, not judged.
        verdict.console = {"path": str(config.console_path),
                           "bytes": config.console_path.stat().st_size if config.console_path.exists() else 0}
    programs = judge_programs(sc.programs, sc.smp, guest_events(decoded.items)) if sc.programs else None
    if programs is not None:
        verdict.programs = programs.as_dict()
    if sc.is_multiboot:
        exit_outcome = watch.outcome
        watch.outcome, watch.reason, guest_exit = multiboot.judge_guest_exit(
            machine.exit_status if not stopped_by_harness else None, guest_exits(decoded.items),
            sc.guest_exit_code if sc.guest_exit_code is not None else multiboot.DEFAULT_EXIT_CODE,
            watch.outcome or "error", watch.reason)
        guest_exit["exit_outcome"] = exit_outcome   # what the status alone said
        verdict.guest_exit = guest_exit
        verdict.guest_exit_code = guest_exit["code"]
    verdict.hv_options, options_error = check_echo(ran["ran"], decoded.items)
    outcome, reason, passed, rule = _judge(sc, watch, trace, console, programs, options_error)
    verdict.outcome, verdict.reason, verdict.passed, verdict.rule = outcome, reason, passed, rule
    verdict.counts = (trace.get("check") or {}).get("counts")
    verdict.evidence = evidence(watch, trace)
    verdict.durations = {"total": round(time.monotonic() - t0, 3),
                         "qemu": qemu["wall_seconds"],
                         "decode": round(time.monotonic() - t_decode, 3),
                         "capture": (watch.capture or {}).get("seconds")}
    verdict.html_timeline = trace.get("views", {}).get("html")
    verdict.write(run_dir)
    return RunResult(run_dir, verdict, interrupted=watch.interrupted)
