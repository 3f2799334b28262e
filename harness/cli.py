"""`python3 -m harness run|matrix|list|check|hunt|replay|bisect` (exit 0 = all passed,
1 = a failure, 2 = bad scenario/usage or build error, 130 = interrupted; hunt, replay
and bisect: see harness/cli_det.py)."""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import tempfile
import sys
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.launch import build as buildmod
from harness import cli_det
from harness.det.bisect import BisectError
from harness.det.hunt import HuntError
from harness.hv_options import HvOptionsError
from harness.det.replay import ReplayError
from harness.argtypes import SEED, bug_names, int_in, int_list_of
from harness.launch.machine import MachineConfig
from harness.matrix import print_matrix, run_matrix
from harness.report import print_repeats, print_run
from harness.judge.bochs_run import run_scenario_bochs
from harness.judge.run import TRANSPORTS, RunOptions, RunResult, random_seed, run_scenario
from harness.scenario import MAX_SMP, ScenarioError, all_scenarios, load, load_named
from harness.schedule import ScheduleError

EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A command-line value the harness cannot use (exit 2, nothing run)."""




def check_results_dir(path: Path) -> Path:
    """The results root must be a directory the harness can write in, or creatable in
    one: tried (a scratch file in it, or in its nearest existing ancestor) before any run
    dir exists, and nothing is left behind.  (os.access would lie to root.)"""
    probe = path.absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        if not probe.is_dir():
            raise NotADirectoryError(20, "Not a directory", str(probe))
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise UsageError(f"--results {path}: not a writable directory ({probe}: "
                         f"{exc.strerror or exc})") from None
    return path


def check_qemu() -> None:
    """QEMU must be on PATH before any run dir is made."""
    if shutil.which(MachineConfig.qemu_binary) is None:
        raise UsageError(f"{MachineConfig.qemu_binary} not found on PATH (run `make deps`)")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python3 -m harness", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--results", type=Path, default=Path("results"), help="results root")
        sp.add_argument("--bugs", type=bug_names, help="build with `make BUGS=NAME BUILD=build/bugs-NAME` and run that")
        sp.add_argument("--build", type=Path, default=None, help="build dir (default build/)")
        sp.add_argument("--iterations", type=int_in(1, 10**9), help="override the scenario's iterations")
        sp.add_argument("--qemu-arg", action="append", default=[], dest="qemu_args",
                        help="extra QEMU argument, repeatable (e.g. --qemu-arg=-d --qemu-arg=int)")

    run = sub.add_parser("run", help="run one scenario")
    run.add_argument("scenario", help="name in scenarios/ or a path to a .toml")
    run.add_argument("--seed", type=SEED, help="seed for NMI timing (default: random, recorded)")
    run.add_argument("--repeat", type=int_in(1, 10**6), default=1, help="run K times (seeds seed..seed+K-1)")
    run.add_argument("--stop-on-fail", action="store_true", help="stop repeats at the first failure")
    run.add_argument("--smp", type=int_in(1, MAX_SMP), help="override the scenario's smp")
    run.add_argument("--guest", type=int, choices=(32, 64), help="override the guest")
    run.add_argument("--kernel", type=Path, help="your own Linux bzImage, for a Linux scenario "
                                                 "(e.g. linux-smoke; default build/linux/vmlinuz)")
    run.add_argument("--initrd", type=Path, help="your own initramfs for --kernel "
                                                 "(default build/linux/initramfs.cpio)")
    run.add_argument("--multiboot", type=Path, help="your own multiboot (v1) kernel, for a multiboot "
                                                    "scenario (e.g. multiboot; default build/multiboot.elf); "
                                                    "--initrd then gives it a module")
    run.add_argument("--append", help="the Linux or multiboot kernel's command line (default: the scenario's)")
    run.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=None,
                     help="one TCG thread + fixed icount, in-machine seeded NMIs "
                          "(default: on when --seed is given)")
    run.add_argument("--transport", choices=TRANSPORTS, default=None,
                     help="how trace frames leave the machine: the UART (qemu's default, live), "
                          "`mem`: a log in guest RAM, far cheaper per record under TCG (docs/trace-design.md), "
                          "or `e9`: I/O port 0xE9, unpaced (bochs' default; bochs only)")
    run.add_argument("--stop-at-violation", action="store_true",
                     help="check the trace while the machine runs and stop it at the first broken rule")
    run.add_argument("--platform", choices=("qemu", "bochs"), default="qemu",
                     help="qemu: the SVM hypervisor under QEMU TCG (default); bochs: the VMX hypervisor "
                          "(make hv ARCH=vmx) under Bochs, own guests only, NMIs only from inside the machine")
    run.add_argument("--rr", choices=("record",),
                     help="QEMU record/replay at -smp 1 (replay it with `harness replay`)")
    common(run)

    mx = sub.add_parser("matrix", help="scenarios x guests x smp")
    mx.add_argument("scenarios", nargs="*", help="default: test1..test5")
    mx.add_argument("--guests", type=int_list_of((32, 64)), default=[32, 64])
    mx.add_argument("--smp", type=int_list_of(range(1, MAX_SMP + 1)), default=[2, 4])
    mx.add_argument("--seed", type=SEED)
    common(mx)

    sub.add_parser("list", help="list scenarios")
    chk = sub.add_parser("check", help="validate scenario files without running anything")
    chk.add_argument("files", nargs="+", type=Path)
    cli_det.add_parsers(sub, common)
    return p


def _build_dir(args: argparse.Namespace) -> Path:
    if args.bugs:
        vmx = getattr(args, "platform", "qemu") == "bochs"
        return buildmod.build_bugs(args.bugs, targets=buildmod.VMX_TARGETS if vmx else ())
    return args.build or buildmod.REPO / "build"


def _cmd_run(args: argparse.Namespace, console: Console) -> int:
    sc = load_named(args.scenario).with_overrides(smp=args.smp, guest=args.guest,
                                                   iterations=args.iterations, append=args.append)
    if args.kernel and not sc.is_linux:
        raise ScenarioError("(command line)", "--kernel", "a Linux scenario (guest = \"linux\", "
                            "e.g. linux-smoke)", sc.name)
    if args.multiboot and not sc.is_multiboot:
        raise ScenarioError("(command line)", "--multiboot", "a multiboot scenario (guest = \"multiboot\", "
                            "e.g. multiboot)", sc.name)
    if args.initrd and not sc.is_os:
        raise ScenarioError("(command line)", "--initrd", "a Linux or multiboot scenario (e.g. linux-smoke, "
                            "multiboot)", sc.name)
    check_results_dir(args.results)
    if args.platform == "qemu":
        check_qemu()
    if args.repeat < 1:
        raise ScenarioError("(command line)", "--repeat", "an integer >= 1", args.repeat)
    base_seed = args.seed if args.seed is not None else random_seed()
    deterministic = args.deterministic if args.deterministic is not None else args.seed is not None
    if args.transport == "e9" and args.platform != "bochs":
        raise ScenarioError("(command line)", "--transport e9", "--platform bochs (QEMU: uart or mem)",
                            args.platform)
    if args.stop_at_violation and args.transport == "mem":
        raise ScenarioError("(command line)", "--stop-at-violation", "the UART transport (the memory log "
                            "is read after the run)", "--transport mem")
    if args.rr and sc.smp != 1:
        raise ScenarioError("(command line)", "--rr", "a scenario at -smp 1 (use --smp 1)", sc.smp)
    opts = RunOptions(seed=base_seed, build_dir=_build_dir(args), results_dir=args.results,
                      bugs=args.bugs, qemu_args=args.qemu_args,
                      deterministic=deterministic and not args.rr, rr=args.rr, transport=args.transport,
                      stop_at_violation=args.stop_at_violation, kernel=args.kernel or args.multiboot,
                      initrd=args.initrd)
    # The bochs platform: the VMX hypervisor under Bochs (harness/judge/bochs_run.py).
    run_one = run_scenario_bochs if args.platform == "bochs" else run_scenario
    results: list[RunResult] = []
    if args.repeat == 1:
        with console.status(f"{sc.name}: starting QEMU") as status:
            opts.on_tick = lambda t: status.update(
                f"{sc.name}: {t['elapsed']:.1f}s, serial {t['serial_bytes']} bytes, "
                f"NMIs {t['nmis']}, quiet for {t['idle']:.1f}s"
                + (f", icount {t['icount']}" if t.get("icount") is not None else ""))
            results.append(run_one(sc, opts))
        print_run(results[0], console)
    else:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                      console=console) as progress:
            task = progress.add_task(sc.name, total=args.repeat, status="")
            for i in range(args.repeat):
                opts.seed = base_seed + i
                result = run_one(sc, opts)
                results.append(result)
                failed = sum(not r.passed for r in results)
                progress.update(task, advance=1, status=f"{failed} failed")
                if result.interrupted or (args.stop_on_fail and not result.passed):
                    break
        if not results[-1].passed:
            print_run(results[-1], console)
        print_repeats(results, console)
    if any(r.interrupted for r in results):
        return EXIT_INTERRUPTED
    return 0 if all(r.passed for r in results) else 1


def _cmd_matrix(args: argparse.Namespace, console: Console) -> int:
    names = args.scenarios or [f"test{i}" for i in range(1, 6)]
    scenarios = [load_named(n) for n in names]
    check_results_dir(args.results)
    check_qemu()
    opts = RunOptions(seed=args.seed if args.seed is not None else random_seed(),
                      build_dir=_build_dir(args), results_dir=args.results, bugs=args.bugs,
                      qemu_args=args.qemu_args)
    results = run_matrix(scenarios, args.guests, args.smp, opts, args.iterations, console)
    print_matrix(results, [s.name for s in scenarios], args.guests, args.smp, console)
    if any(r.interrupted for r in results.values()):
        return EXIT_INTERRUPTED
    return 0 if results and all(r.passed for r in results.values()) else 1


def _sigterm_as_ctrl_c() -> None:
    # A CI timeout or `kill` should clean up exactly like Ctrl-C does (QEMU
    # stopped, verdict "interrupted", sockets removed), so re-raise it as SIGINT.
    signal.signal(signal.SIGTERM, lambda *_: signal.raise_signal(signal.SIGINT))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _sigterm_as_ctrl_c()
    # soft_wrap: a run dir printed into a CI log or a pipe (80 columns) stays on one
    # line, so it can be copied; tables still fit the width.
    console = Console(soft_wrap=True)
    try:
        if args.command == "run":
            return _cmd_run(args, console)
        if args.command == "matrix":
            return _cmd_matrix(args, console)
        if args.command == "hunt":
            check_results_dir(args.results)
            check_qemu()
            return cli_det.cmd_hunt(args, console, _build_dir(args))
        if args.command == "replay":
            return cli_det.cmd_replay(args, console)
        if args.command == "bisect":
            return cli_det.cmd_bisect(args, console)
        if args.command == "bisect-step":
            return cli_det.cmd_bisect_step(args)
        if args.command == "list":
            for sc in all_scenarios():
                console.print(f"{sc.name:10} guest{sc.guest} smp{sc.smp} nmi={sc.nmi.kind:8} "
                              f"{sc.hv_cmdline()}  # {sc.description}", highlight=False)
            return 0
        if args.command == "check":
            for f in args.files:
                load(f)
                console.print(f"{f}: ok")
            return 0
    except (ScenarioError, buildmod.BuildError, ScheduleError, ReplayError, HuntError,
            BisectError, UsageError, HvOptionsError) as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return 2
    except OSError as exc:
        # A path the user gave (results, a scenario, a --json file) that the system
        # refused: one line naming it, not a traceback.
        where = f"{exc.filename}: " if exc.filename else ""
        console.print(f"[bold red]error:[/] {where}{exc.strerror or exc}", highlight=False)
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `... | head`: the reader left; the run itself is complete and on disk.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 2
