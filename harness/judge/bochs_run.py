"""`harness run --platform bochs`: one scenario on the VMX hypervisor under Bochs, judged and
recorded like a QEMU run (run dir, verdict.json, decoded trace, checker), through
harness/launch/bochs.py.  Own guests (32/64) only: the VMX backend has no INIT/SIPI
virtualization, which OS guests need at -smp > 1.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from harness.launch import bochs
from harness.launch import build as buildmod
from harness.judge.decoding import decode_serial
from harness.hv_options import check_echo
from harness.judge.run import RunOptions, RunResult, _judge, _Watch, evidence, make_run_dir
from harness.scenario import Scenario, ScenarioError
from harness.schedule import derive
from harness.judge.verdict_record import Verdict

TRANSPORTS = (None, "uart", "e9")   # RunOptions.transport: None = e9, Bochs' default
E9 = "e9"                            # the hypervisor's trace= mode for port 0xE9 (HvOptions.trace)
# Bochs runs ~80-90 M instructions per wall second on this machine kind, QEMU's TCG
# several times that: a scenario's wall budgets are for QEMU.
WALL_SLOWDOWN = 4.0
BOOT_ALLOWANCE_S = 10.0   # BIOS + GRUB + ISO read before the hypervisor's first byte (notes: 1.3-2.3 s)


def locate_vmx(build_dir: Path, guest: int | str) -> buildmod.Build:
    if guest not in (32, 64):
        raise buildmod.BuildError(f"the bochs platform runs guest/'s own 32- and 64-bit guests, not {guest!r} "
                                  "(the VMX backend has no INIT/SIPI virtualization for an OS guest yet)")
    b = buildmod.Build(hv_elf=build_dir / "vmx" / "hv.elf", hv_elf32=build_dir / "vmx" / "hv.elf32",
                       guest_elf=build_dir / f"guest{guest}.elf", guest=guest)
    missing = [str(p) for p in b.files().values() if not p.is_file()]
    if missing:
        raise buildmod.BuildError(f"missing build outputs: {', '.join(missing)} (run `make hv ARCH=vmx` and `make`)")
    return b


def run_scenario_bochs(sc: Scenario, opts: RunOptions) -> RunResult:
    t0 = time.monotonic()
    if opts.rr or opts.transport not in TRANSPORTS or opts.stop_at_violation or opts.qemu_args or opts.kernel \
            or opts.initrd:
        raise ScenarioError("(command line)", "--platform bochs",
                            "no --rr, --transport mem, --stop-at-violation, --qemu-arg, --kernel or --initrd",
                            "bochs")
    located = locate_vmx(opts.build_dir, sc.guest)
    try:
        bochs.check_tools()
    except bochs.BochsError as exc:
        raise buildmod.BuildError(str(exc)) from None
    schedule = derive(sc, opts.seed) if opts.deterministic else None
    options = opts.hv_options or (schedule.hv_options if schedule else sc.hv_options())
    if options.trace not in (None, E9):
        raise ScenarioError("(command line)", "--platform bochs", "a streamed trace (no trace=record or trace=mem: "
                            "Bochs' memory is not read after the run)", f"trace={options.trace}")
    # Port 0xE9 unless the UART was asked for: Bochs' UART carries 11,520 bytes per
    # emulated second and XMHF64's test 4 writes 2.8x that for its whole run
    # (docs/platform.md B8); 0xE9 has no rate.  Options that already say trace=e9
    # (given whole) stream there whatever --transport says.
    if (opts.transport or E9) == E9 and options.trace is None:
        options = options.with_(trace=E9)
    transport = E9 if options.trace == E9 else "uart"
    append = options.render()
    run_dir = make_run_dir(opts.results_dir, sc.name, opts.seed)
    verdict = Verdict(scenario=sc.name, seed=opts.seed, passed=False, outcome="incomplete",
                      reason="the harness did not finish this run", expected_outcome=sc.expect_outcome,
                      bugs=opts.bugs, deterministic=schedule is not None, scenario_config=sc.as_dict())
    if schedule is not None:
        verdict.schedule = {**schedule.as_dict(), "hv_cmdline": append, "derived_hv_cmdline": schedule.hv_cmdline}
    verdict.write(run_dir)
    shutil.copy2(sc.path, run_dir / "scenario.toml")
    build, manifest = buildmod.snapshot(located, run_dir / "build")
    verdict.build = manifest
    cfg = bochs.BochsConfig(hv_elf32=build.hv_elf32, guest=build.guest_elf, append=append,
                            guest_args=sc.kernel_cmdline(), run_dir=run_dir, smp=sc.smp, memory_mb=sc.memory)
    timeout_s = sc.timeout * WALL_SLOWDOWN
    hang_s = sc.hang_timeout * WALL_SLOWDOWN + BOOT_ALLOWANCE_S
    verdict.hv_cmdline = {"ran": append, "source": "harness", "harness": append}
    try:
        ran = bochs.run(cfg, timeout_s, hang_s, opts.should_stop)
    except bochs.BochsError as exc:
        verdict.outcome, verdict.reason = "error", str(exc)
        verdict.write(run_dir)
        return RunResult(run_dir, verdict)
    verdict.platform = {"name": "bochs", "cpu_model": bochs.CPU_MODEL, "ips": bochs.IPS,
                        "log": str(cfg.log_path), **ran.as_dict()}
    verdict.nmi = {"pattern": sc.nmi.as_dict(), "sent": 0,
                   "host_nmis": "none: Bochs has no QMP; NMIs come from inside the machine (nmi_every)"}
    if schedule is not None:
        verdict.nmi["in_machine"] = {"nmi_every": schedule.nmi_every, "basis": schedule.nmi_basis}
    verdict.hang_detection = f"wall clock: no output on COM1 or port 0xE9 for {hang_s:g}s"
    verdict.serial_bytes = ran.serial_bytes
    verdict.transport = {"kind": transport, "com1_bytes": ran.com1_bytes, "e9_bytes": ran.e9_bytes}
    t_decode = time.monotonic()
    decoded = decode_serial(cfg.serial_path, sc.rules, run_dir, None, views=opts.views, time_bounds=False)
    trace = decoded.as_dict()
    verdict.trace = trace
    watch = _Watch()
    watch.outcome, watch.reason = bochs.outcome_from_trace(decoded.items, ran, hang_s, timeout_s)
    watch.interrupted = ran.why == "interrupted"
    verdict.hv_options, options_error = check_echo(append, decoded.items)
    outcome, reason, passed, rule = _judge(sc, watch, trace, None, None, options_error)
    verdict.outcome, verdict.reason, verdict.passed, verdict.rule = outcome, reason, passed, rule
    verdict.counts = (trace.get("check") or {}).get("counts")
    verdict.evidence = evidence(watch, trace)
    verdict.durations = {"total": round(time.monotonic() - t0, 3), "bochs": round(ran.wall_seconds, 3),
                         "decode": round(time.monotonic() - t_decode, 3)}
    verdict.html_timeline = trace.get("views", {}).get("html")
    verdict.write(run_dir)
    return RunResult(run_dir, verdict, interrupted=watch.interrupted)
