"""`python3 -m harness hunt|replay|bisect`: the deterministic-mode commands.

Exit statuses (beside cli.py's 2 = usage/build error, 130 = interrupted):
  hunt    0 no failure within the budget, 1 failure found and reproduced,
          3 failure found but a replay differed (determinism is broken)
  replay  0 byte-identical, 1 differs
  bisect  0 first bad commit found, 1 bisect could not decide
"""
from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

from rich.console import Console

from harness.argtypes import SEED, bug_names, int_in
from harness.det.bisect import DEFAULT_SEEDS, bisect, seed_range, seed_span, step
from harness.judge.decoding import DecoderUnavailable, describe, event_records
from harness.det.hunt import HuntOptions, HuntResult, hunt
from harness.det.nextsteps import next_steps
from harness.det.replay import ReplayError, ReplayResult, replay
from harness.report import print_run
from harness.judge.run import RunResult, make_run_dir, random_seed
from harness.scenario import load_named

EXIT_NOT_REPRODUCED = 3
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")


def parse_duration(text: str) -> float:
    """'90', '90s', '10m', '1.5h' -> seconds."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(
            f"expected a duration > 0 like 90s, 10m or 1h, got {text!r}")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]


def add_parsers(sub: argparse._SubParsersAction, common) -> None:  # type: ignore[type-arg]
    hp = sub.add_parser("hunt", help="run seeds until one fails, then confirm it reproduces")
    hp.add_argument("scenario")
    hp.add_argument("--budget", type=parse_duration, default=parse_duration("10m"),
                    help="wall-clock budget (90s, 10m, 1h; default 10m)")
    hp.add_argument("--jobs", type=int_in(1, 256), default=os.cpu_count() or 1,
                    help="parallel QEMUs (default: the core count)")
    hp.add_argument("--seed", type=SEED, help="first seed (default: random, printed)")
    hp.add_argument("--confirm", type=int_in(0, 1000), default=1, help="replays of the failing seed (default 1)")
    hp.add_argument("--max-seeds", type=int_in(1), help="stop after this many seeds")
    hp.add_argument("--keep-going", action="store_true",
                    help="do not stop at the first failure: run until --max-seeds or the budget and "
                         "list every failing seed (a failure rate; two builds' lists show whether "
                         "failing seeds carry over)")
    hp.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=True,
                    help="--no-deterministic hunts XMHF64's way (multi-threaded TCG, QMP NMIs)")
    hp.add_argument("--stop-at-violation", action=argparse.BooleanOptionalAction, default=True,
                    help="stop each run at its first broken checker rule (default: on)")
    hp.add_argument("--smp", type=int_in(1, 8))
    hp.add_argument("--json", type=Path, help="also write the hunt summary here")
    common(hp)

    rp = sub.add_parser("replay", help="re-run a deterministic run and compare serial.bin")
    rp.add_argument("run_dir", type=Path)
    rp.add_argument("--gdb-at-event", type=int_in(1), metavar="K",
                    help="stop at the K-th trace record (1-based, trace order) under gdb")
    rp.add_argument("--gdb-script", type=Path, help="with --gdb-at-event: run this gdb script (batch)")
    rp.add_argument("--results", type=Path, help="where the replay's run dir goes "
                    "(default: RUN_DIR/replays/)")

    bp = sub.add_parser("bisect", help="git bisect a deterministic scenario failure to its commit")
    bp.add_argument("scenario")
    bp.add_argument("--good", required=True, help="a revision where the scenario passes")
    bp.add_argument("--bad", required=True, help="a later revision where it fails")
    bp.add_argument("--seed", type=SEED, required=True, help="the seed that fails at --bad")
    bp.add_argument("--seeds", type=int_in(1, 1000), default=DEFAULT_SEEDS, metavar="K",
                    help=f"run seeds SEED..SEED+K-1 at each step, bad if any fails (default "
                         f"{DEFAULT_SEEDS}; a seed's schedule moves with the build)")
    bp.add_argument("--bugs", type=bug_names, help="build every revision with BUGS=NAME")
    bp.add_argument("--repo", type=Path, help="git repository (default: this checkout)")
    bp.add_argument("--results", type=Path, default=Path("results"), help="results root")

    sp = sub.add_parser("bisect-step", help=argparse.SUPPRESS)
    sp.add_argument("--worktree", type=Path, required=True)
    sp.add_argument("--scenario", type=Path, required=True)
    sp.add_argument("--seed", type=int, required=True)
    sp.add_argument("--seeds", type=int, default=1)
    sp.add_argument("--bisect-dir", type=Path, required=True)
    sp.add_argument("--bugs", type=bug_names)


def _print_hunt(out: HuntResult, console: Console, bisectable: bool = False) -> None:
    mode = "deterministic" if out.deterministic else "XMHF64's method (multi-threaded TCG, QMP NMIs)"
    console.print(f"[bold]hunt {out.scenario}[/] ({mode}): {out.seeds_run} seeds in "
                  f"{out.elapsed_s:.1f}s, {out.passed} passed; outcomes {out.outcomes}",
                  highlight=False)
    if out.failing_seeds:
        console.print(f"  failing seeds ({len(out.failing_seeds)} of {out.seeds_run}): "
                      f"{' '.join(map(str, sorted(out.failing_seeds)))}", highlight=False)
    if out.failure is None:
        console.print("  no failure within the budget")
        return
    f = out.failure
    console.print(f"  [bold red]first failure[/]: seed {f.seed} -> {f.outcome} "
                  f"after {out.time_to_failure_s:.1f}s: {f.reason}", highlight=False)
    console.print(f"  run dir: {f.run_dir}", highlight=False)
    for c in out.confirmations:
        same = {True: "byte-identical", False: f"DIFFERS at byte {c.first_diff}",
                None: "rerun (not deterministic)"}[c.identical]
        console.print(f"  replay: {c.outcome}, {same}  {c.run_dir}", highlight=False)
    console.print(f"  reproduced {out.reproduced}/{len(out.confirmations)}")
    if out.deterministic:
        console.print("  next:", highlight=False)
        for line in next_steps(f.run_dir, f.verdict, bisectable):
            console.print(f"    {line}", highlight=False, markup=False)


def cmd_hunt(args: argparse.Namespace, console: Console, build_dir: Path) -> int:
    sc = load_named(args.scenario).with_overrides(smp=args.smp, iterations=args.iterations)
    base = args.seed if args.seed is not None else random_seed()
    hunt_dir = make_run_dir(args.results, f"hunt-{sc.name}", base)
    opts = HuntOptions(budget_s=args.budget, jobs=args.jobs, base_seed=base, build_dir=build_dir,
                       results_dir=hunt_dir, deterministic=args.deterministic, bugs=args.bugs,
                       confirm=args.confirm, max_seeds=args.max_seeds,
                       stop_on_failure=not args.keep_going,
                       stop_at_violation=args.stop_at_violation)
    console.print(f"hunting {sc.name}: seeds from {base}, {args.jobs} jobs, budget "
                  f"{args.budget:g}s -> {hunt_dir}", highlight=False)
    with console.status("hunting") as status:
        def tick(result: RunResult, so_far: HuntResult) -> None:
            status.update(f"{so_far.seeds_run} seeds, {so_far.seeds_run - so_far.passed} failed; "
                          f"last: seed {result.seed} {result.outcome}")
        out = hunt(sc, opts, on_result=tick)
    summary = {**out.as_dict(), "base_seed": base, "budget_s": args.budget, "jobs": args.jobs,
               "bugs": args.bugs}
    (hunt_dir / "hunt.json").write_text(json.dumps(summary, indent=2) + "\n")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    _print_hunt(out, console, bisectable=args.smp is None and args.iterations is None
                and args.build is None)
    if out.failure is None:
        return 0
    return 1 if out.reproduced == len(out.confirmations) else EXIT_NOT_REPRODUCED


def explain_difference(rep: ReplayResult, console: Console) -> None:
    """Where two serial captures part, in bytes and in decoded records."""
    console.print(f"  first differing byte: {rep.first_diff}", highlight=False)
    try:
        a = event_records(rep.original.run_dir / "serial.bin")
        b = event_records(rep.result.run_dir / "serial.bin")
    except DecoderUnavailable as exc:
        console.print(f"  (records not compared: {exc})", highlight=False)
        return
    for k, (x, y) in enumerate(zip(a, b), start=1):
        if tuple(x)[:4] != tuple(y)[:4]:
            console.print(f"  first differing record: #{k}\n    recorded: {describe(x)}\n"
                          f"    replay:   {describe(y)}", highlight=False)
            return
    console.print(f"  records agree for {min(len(a), len(b))}; counts {len(a)} vs {len(b)}",
                  highlight=False)


def cmd_replay(args: argparse.Namespace, console: Console) -> int:
    if args.gdb_at_event is not None:
        from harness.det.gdbat import gdb_at_event
        return gdb_at_event(args.run_dir, args.gdb_at_event, args.gdb_script, console)
    if args.gdb_script is not None:
        raise ReplayError("--gdb-script needs --gdb-at-event K")
    started = time.monotonic()
    rep = replay(args.run_dir, args.results)
    print_run(rep.result, console)
    took = time.monotonic() - started
    if rep.identical:
        console.print(f"[bold green]replay identical[/]: {rep.result.verdict['serial_bytes']} bytes "
                      f"of serial.bin match {rep.original.run_dir} ({took:.1f}s)", highlight=False)
        return 0
    console.print(f"[bold red]replay DIFFERS[/] from {rep.original.run_dir}", highlight=False)
    explain_difference(rep, console)
    return 1



def cmd_bisect(args: argparse.Namespace, console: Console) -> int:
    from harness.launch.build import REPO
    from harness.scenario import resolve
    console.print(f"bisecting {args.scenario}, {seed_span(seed_range(args.seed, args.seeds))} "
                  f"at each step: good {args.good}, bad {args.bad}", highlight=False)
    out = bisect(args.good, args.bad, resolve(args.scenario), args.seed, args.results,
                 repo=args.repo or REPO, bugs=args.bugs, seeds=args.seeds)
    for st in out.steps:
        failed = f"seed {st['seed']}" if st["result"] == "bad" else ""
        console.print(f"  {st.get('end', ''):6} {st['commit'][:12]} {st['result']:5} "
                      f"{st.get('outcome', '')!s:8} {failed:10} {st['subject'][:44]}  "
                      f"{st.get('run_dir', st.get('reason', ''))}", highlight=False)
    if out.first_bad is None:
        console.print(f"[bold red]bisect could not decide[/]; see {out.bisect_dir}/bisect-run.log",
                      highlight=False)
        return 1
    console.print(f"[bold]first bad commit: {out.first_bad}[/] {out.subject}\n"
                  f"  bisect dir: {out.bisect_dir}", highlight=False)
    return 0


def cmd_bisect_step(args: argparse.Namespace) -> int:
    return step(args.worktree, args.scenario, seed_range(args.seed, args.seeds),
                args.bisect_dir, args.bugs)
