"""Re-run a recorded deterministic run and check that it did the same thing.

The run dir holds everything: the ELFs QEMU ran (build/), the scenario as run,
and verdict.json with the exact hypervisor command line and QEMU argv.  The
replay runs those copies with that command line -- not what today's harness
would derive from (scenario, seed), which may have changed since -- and
refuses to start if its QEMU argv differs from the recorded one in anything
but file and socket paths.  Identity is judged on serial.bin, byte for byte.
"""
from __future__ import annotations

import dataclasses
import difflib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from harness.launch import memlog
from harness.launch.build import BuildError, locate, recorded_guest_files
from harness.hv_options import HvOptions, HvOptionsError
from harness.launch.machine import MachineError, qemu_argv
from harness.judge.run import RunOptions, RunResult, machine_config, run_scenario
from harness.scenario import Scenario, ScenarioError, parse
from harness.judge.verdict_record import VerdictError, read_verdict

# QEMU options whose value is a path that legitimately differs between runs.
PATH_OPTIONS = ("-kernel", "-initrd", "-serial", "-qmp", "-gdb")


class ReplayError(Exception):
    """The run dir cannot be replayed (not deterministic, incomplete, tampered with)."""


@dataclass(frozen=True)
class Recorded:
    run_dir: Path
    verdict: dict[str, Any]
    scenario: Scenario
    seed: int
    hv_cmdline: str           # the harness's -append, as recorded
    hv_options: HvOptions     # ... parsed
    argv: list[str]
    extra_args: list[str]
    rr_file: Path | None      # set when the run was an rr=record run

    @property
    def serial(self) -> bytes:
        return (self.run_dir / "serial.bin").read_bytes()


def load_recorded_scenario(run_dir: Path, verdict: dict[str, Any]) -> Scenario:
    """The scenario exactly as that run ran it (its copy + the recorded overrides)."""
    config = verdict.get("scenario_config") or {}
    try:
        data = tomllib.loads((run_dir / "scenario.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ReplayError(f"{run_dir}: scenario.toml unreadable ({exc})") from exc
    if config.get("rules"):
        # The copy sits beside no rules file; the absolute path was recorded.
        data.setdefault("expect", {})["rules"] = config["rules"]
    try:
        sc = parse(run_dir / "scenario.toml", data).with_overrides(
            smp=config.get("smp"), guest=config.get("guest"), iterations=config.get("iterations"))
    except ScenarioError as exc:
        raise ReplayError(f"{run_dir}: recorded scenario no longer loads: {exc}") from exc
    return dataclasses.replace(sc, name=str(verdict.get("scenario", sc.name)))


def load_recorded(run_dir: Path) -> Recorded:
    run_dir = Path(run_dir)
    try:
        verdict = read_verdict(run_dir).as_dict()
    except VerdictError as exc:
        raise ReplayError(f"{run_dir}: no readable verdict.json ({exc})") from None
    argv = verdict.get("qemu", {}).get("command_line")
    if not isinstance(argv, list) or "-append" not in argv:
        raise ReplayError(f"{run_dir}: verdict.json has no QEMU command line (run never started?)")
    rr = verdict.get("rr") or {}
    if not verdict.get("deterministic") and rr.get("mode") != "record":
        raise ReplayError(f"{run_dir}: not a deterministic run (multi-threaded TCG, host-timed "
                          f"NMIs): a replay could not be expected to match; re-run it with --seed")
    if not (run_dir / "serial.bin").is_file():
        raise ReplayError(f"{run_dir}: serial.bin is missing")
    sc = load_recorded_scenario(run_dir, verdict)
    rr_file = Path(rr["file"]) if rr.get("mode") == "record" and rr.get("file") else None
    if rr_file is not None and not rr_file.is_file():
        rr_file = run_dir / rr_file.name
        if not rr_file.is_file():
            raise ReplayError(f"{run_dir}: the record/replay log {rr_file.name} is missing")
    hv_cmdline = argv[argv.index("-append") + 1]
    try:
        options = HvOptions.parse(hv_cmdline)
    except HvOptionsError as exc:
        raise ReplayError(f"{run_dir}: the recorded hypervisor command line does not parse: {exc}") from None
    if options.render() != hv_cmdline:
        # The replay renders its -append from the options: it must be the recorded text.
        raise ReplayError(f"{run_dir}: the recorded hypervisor command line {hv_cmdline!r} is not one the "
                          f"harness writes ({options.render()!r})")
    return Recorded(run_dir=run_dir, verdict=verdict, scenario=sc, seed=int(verdict["seed"]),
                    hv_cmdline=hv_cmdline, hv_options=options, argv=argv,
                    extra_args=list(verdict.get("qemu", {}).get("extra_args", [])),
                    rr_file=rr_file)


def normalized(argv: list[str]) -> list[str]:
    """argv with path-valued options blanked, for comparing two runs' command lines."""
    out = list(argv)
    for i, arg in enumerate(out[:-1]):
        if arg in PATH_OPTIONS:
            out[i + 1] = "<path>"
    for i, arg in enumerate(out):
        if arg.startswith("memory-backend-file,"):  # the trace=mem RAM file
            out[i] = ",".join("mem-path=<path>" if p.startswith("mem-path=") else p for p in arg.split(","))
        if arg.startswith("shift=") and "rrfile=" in arg:
            out[i] = arg.split("rr=")[0] + "rr=<mode>"
    return out


def first_difference(a: bytes, b: bytes) -> int | None:
    """Offset of the first differing byte (a length difference counts), or None."""
    n = min(len(a), len(b))
    for start in range(0, n, 4096):
        ca, cb = a[start:start + 4096], b[start:start + 4096]
        if ca != cb:
            return start + next((i for i in range(min(len(ca), len(cb))) if ca[i] != cb[i]),
                                min(len(ca), len(cb)))
    return None if len(a) == len(b) else n


@dataclass
class ReplayResult:
    original: Recorded
    result: RunResult
    identical: bool
    first_diff: int | None
    argv_mismatch: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"original": str(self.original.run_dir), "replay": str(self.result.run_dir),
                "identical": self.identical, "first_diff": self.first_diff,
                "outcome": self.result.outcome, "original_outcome": self.original.verdict.get("outcome")}


# Where a replay's sockets would be: qemu_argv needs a directory to name them in,
# and normalized() blanks every socket path, so none is made.
UNMADE_SOCKDIR = Path("/nonexistent/heisenvisor-replay")


def replay_argv(rec: Recorded, opts: RunOptions) -> list[str]:
    """The QEMU argv the replay's run will launch, computed as run_scenario computes it
    (run.machine_config, machine.qemu_argv) from the recorded run's own build copy:
    nothing is launched, no directory made."""
    sc = rec.scenario
    try:
        build = locate(opts.build_dir, sc.guest, opts.kernel, opts.initrd)
    except BuildError as exc:
        raise ReplayError(f"{rec.run_dir}: its build copy is incomplete: {exc}") from None
    ram_file = Path("replay.ram") if rec.hv_options.trace == memlog.HV_TRACE_MODE else None
    config = machine_config(sc, build, rec.run_dir / "replays" / "replay", rec.hv_cmdline,
                            deterministic=opts.deterministic and opts.rr is None, rr=opts.rr,
                            rr_file=opts.rr_file, nmi_com2=opts.rr is not None and bool(rec.hv_options.nmi_com2),
                            ram_file=ram_file, qemu_args=rec.extra_args)
    try:
        return qemu_argv(config, UNMADE_SOCKDIR)
    except MachineError as exc:
        raise ReplayError(f"{rec.run_dir}: {exc}") from None


def argv_difference(now: list[str], then: list[str]) -> str | None:
    """How `now` differs from the recorded `then`, both normalized, or None.  Aligned
    by a diff, not position by position: an argument only one side has (a Linux run's
    `-serial null` before its console) is named as such, and the rest still lines up."""
    if now == then:
        return None
    parts = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=now, b=then, autojunk=False).get_opcodes():
        if tag == "replace":
            parts.append(f"{' '.join(now[i1:i2])!r} vs recorded {' '.join(then[j1:j2])!r}")
        elif tag == "delete":
            parts.append(f"{' '.join(now[i1:i2])!r} not in the recorded one")
        elif tag == "insert":
            parts.append(f"recorded {' '.join(then[j1:j2])!r} missing")
    return "; ".join(parts)


def check_argv(rec: Recorded, opts: RunOptions) -> None:
    """Refuse to replay with a QEMU argv that differs from the recorded one."""
    diff = argv_difference(normalized(replay_argv(rec, opts)), normalized(rec.argv))
    if diff is not None:
        raise ReplayError(f"{rec.run_dir}: the replay's QEMU command line would differ from the "
                          f"recorded one: {diff}")


def replay_options(rec: Recorded, results_dir: Path | None = None,
                   should_stop: Callable[[], bool] | None = None) -> RunOptions:
    """How the replay of `rec` runs: its own build copy, its recorded options."""
    rr = "replay" if rec.rr_file is not None else None
    kernel, initrd = recorded_guest_files(rec.verdict, rec.run_dir / "build")
    return RunOptions(seed=rec.seed, build_dir=rec.run_dir / "build", kernel=kernel, initrd=initrd,
                      results_dir=results_dir or rec.run_dir / "replays",
                      deterministic=rr is None, bugs=rec.verdict.get("bugs"),
                      qemu_args=rec.extra_args, hv_options=rec.hv_options,
                      rr=rr, rr_file=rec.rr_file, should_stop=should_stop,
                      # only runs recorded before NMIs went over COM2 have these
                      rr_nmi_icounts=(rec.verdict.get("rr") or {}).get("inject_nmi_icounts"),
                      # A run the live check stopped ended at a wall-clock moment, so its
                      # serial.bin is a prefix of what the machine would have written: the
                      # replay stops at the violation too, and the two must agree byte for
                      # byte as far as both got, and on the rule.
                      stop_at_violation=bool(rec.verdict.get("stopped_at_violation")))


def replay(run_dir: Path, results_dir: Path | None = None,
           should_stop: Callable[[], bool] | None = None) -> ReplayResult:
    rec = load_recorded(run_dir)
    opts = replay_options(rec, results_dir, should_stop)
    stopped = rec.verdict.get("stopped_at_violation")
    check_argv(rec, opts)
    result = run_scenario(rec.scenario, opts)
    new = result.run_dir / "serial.bin"
    data = new.read_bytes() if new.exists() else b""
    if stopped:
        n = min(len(rec.serial), len(data))
        diff = first_difference(rec.serial[:n], data[:n])
        again = result.record.live_violation or {}
        if diff is None and (again.get("rule"), again.get("index")) != (stopped.get("rule"), stopped.get("index")):
            diff = n  # the same bytes, but not the same violation
    else:
        diff = first_difference(rec.serial, data)
    result.record.replay_of = {"run_dir": str(rec.run_dir), "identical": diff is None,
                               "first_diff": diff}
    result.record.write(result.run_dir)
    return ReplayResult(rec, result, identical=diff is None, first_diff=diff)
