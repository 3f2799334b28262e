"""Scenarios as data: scenarios/NAME.toml -> a validated `Scenario`.

Validation is strict (unknown keys are errors) because a typo such as
`hang_timout` would otherwise silently run with the default and the run would
mean something other than what its author wrote.  Every error names the
file, the key and what was expected, and is raised before anything runs.
"""
from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.hv_options import VALUE_MAX, HvOptions
from harness.judge.linux import DEFAULT_APPEND, AppendError, check_append, check_program_list, programs_cmdline
from harness.launch.nmi import PATTERNS, NmiPattern

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
OUTCOMES = ("pass", "fail", "panic", "hang", "reset")
MAX_SMP = 8
# Upper bounds for durations: finite, and short enough that a run cannot be made
# to wait forever by a typo (a day of wall time; an hour between NMIs).
MAX_RUN_SECONDS = 86400.0
MAX_NMI_SECONDS = 3600.0

# Workload names the guests understand, and their ARG: none, count (required;
# may come from `iterations`), or number? (optional) -- defs/workloads.toml.
from decoder.defs import WORKLOADS  # noqa: E402

TOP_KEYS = {"name", "description", "guest", "smp", "memory", "iterations", "timeout",
            "hang_timeout", "hang_timeout_virtual", "workloads", "nmi", "expect", "append", "programs"}
# 32 and 64: guest/'s own kernels; "linux": a bzImage and initramfs (docs/linux-guest.md);
# "multiboot": a multiboot (v1) kernel, build/multiboot.elf or the user's (docs/multiboot-guest.md).
GUESTS: tuple[int | str, ...] = (32, 64, "linux", "multiboot")
OS_GUESTS = ("linux", "multiboot")   # start their own APs; `append` is their command line
NMI_KEYS = {"pattern", "interval", "burst", "gap", "count", "start_after"}
EXPECT_KEYS = {"outcome", "rules", "guest_exit_code"}
# What a multiboot kernel writes to isa-debug-exit when it passed, unless the scenario
# says otherwise (expect.guest_exit_code).
from decoder.defs import DEBUG_EXIT  # noqa: E402
DEFAULT_GUEST_EXIT_CODE = DEBUG_EXIT["PASS"]


class ScenarioError(Exception):
    """A scenario file is malformed; the message names file, key and expectation."""

    def __init__(self, path: Path | str, key: str, expected: str, got: Any = None,
                 has_got: bool = True) -> None:
        self.path, self.key, self.expected = str(path), key, expected
        detail = f", got {got!r}" if has_got else ""
        super().__init__(f"{path}: key '{key}': expected {expected}{detail}")


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    guest: int | str = 64
    smp: int = 2
    memory: int = 256
    iterations: int | None = None
    timeout: float = 120.0
    hang_timeout: float = 10.0
    # The silence that means hung in a run in virtual time (deterministic, record/
    # replay), when it should differ from hang_timeout: a host-timed run's quiet
    # stretches follow the host's load, a virtual-time run's only the guest's work
    # (verdict.json hang_watch.longest_silence_s measures them).  None = hang_timeout.
    hang_timeout_virtual: float | None = None
    default_workload: str = "hello"
    cpu_workloads: dict[int, str] = field(default_factory=dict)
    nmi: NmiPattern = NmiPattern()
    expect_outcome: str = "pass"
    rules: Path | None = None
    description: str = ""
    append: str = ""              # an OS guest's kernel command line
    # A Linux guest's test programs ([programs]: default, cpuN, any -> NAME[:ARG]+...).
    programs: dict[str, str] = field(default_factory=dict)
    # A multiboot guest: the code its own isa-debug-exit write must carry for a pass.
    guest_exit_code: int | None = None

    @property
    def is_linux(self) -> bool:
        return self.guest == "linux"

    @property
    def is_multiboot(self) -> bool:
        return self.guest == "multiboot"

    @property
    def is_os(self) -> bool:
        """An unmodified OS (Linux, a multiboot kernel): its own command line and
        console, no workloads of guest/'s kernels."""
        return self.guest in OS_GUESTS

    @property
    def virtual_hang_timeout(self) -> float:
        """Seconds of serial silence that mean hung in a run in virtual time."""
        return self.hang_timeout if self.hang_timeout_virtual is None else self.hang_timeout_virtual

    def kernel_cmdline(self) -> str:
        """An OS guest's command line as it boots: `append` and, for Linux, the
        words that name init's test programs."""
        words = programs_cmdline(self.programs) if self.programs else ""
        return f"{self.append} {words}".strip()

    def workload(self, cpu: int) -> str:
        return self.cpu_workloads.get(cpu, self.default_workload)

    def hv_options(self) -> HvOptions:
        """The hypervisor's options for this scenario: its workloads (none for an
        OS guest: workloads are guest/'s kernels' and an OS runs its own)."""
        if self.is_os:
            return HvOptions()
        return HvOptions(wl=_with_arg(self.default_workload, self.iterations),
                         cpu_wl=tuple((cpu, _with_arg(self.cpu_workloads[cpu], self.iterations))
                                      for cpu in sorted(self.cpu_workloads)))

    def hv_cmdline(self) -> str:
        """hv_options() as the hypervisor's command line."""
        return self.hv_options().render()

    def with_overrides(self, *, smp: int | None = None, guest: int | str | None = None,
                       iterations: int | None = None, append: str | None = None) -> "Scenario":
        """The same scenario with command-line overrides, validated like the file."""
        where = f"{self.path} (command line)"
        changes: dict[str, Any] = {}
        if smp is not None:
            changes["smp"] = _check_int(where, "smp", smp, 1, MAX_SMP)
            for cpu in [*self.cpu_workloads, *(int(k[3:]) for k in self.programs if k.startswith("cpu"))]:
                if cpu >= smp:
                    raise ScenarioError(where, f"workloads.cpu{cpu}",
                                        f"a CPU below smp={smp} (the scenario gives CPU {cpu} a workload)",
                                        has_got=False)
        if guest is not None:
            if guest not in GUESTS or isinstance(guest, bool):
                raise ScenarioError(where, "guest", GUESTS_TEXT, guest)
            if (guest if guest in OS_GUESTS else None) != (self.guest if self.is_os else None):
                raise ScenarioError(where, "guest", "a guest of the scenario's kind (a Linux scenario "
                                    "runs Linux, a multiboot one a multiboot kernel; guest/'s workloads "
                                    "need guest/'s kernels)", guest)
            changes["guest"] = guest
        if append is not None:
            if not self.is_os:
                raise ScenarioError(where, "append", "a Linux or multiboot scenario (guest = \"linux\" "
                                    "or \"multiboot\")", append)
            changes["append"] = _check_append(where, append)
        if iterations is not None:
            changes["iterations"] = _check_int(where, "iterations", iterations, 1, 10**9)
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "guest": self.guest, "smp": self.smp,
                "memory": self.memory, "iterations": self.iterations, "timeout": self.timeout,
                "hang_timeout": self.hang_timeout, "hv_cmdline": self.hv_cmdline(),
                **({"hang_timeout_virtual": self.hang_timeout_virtual}
                   if self.hang_timeout_virtual is not None else {}),
                "nmi": self.nmi.as_dict(), "expect_outcome": self.expect_outcome,
                "rules": str(self.rules) if self.rules else None,
                **({"append": self.append} if self.is_os else {}),
                **({"programs": dict(self.programs)} if self.programs else {}),
                **({"guest_exit_code": self.guest_exit_code} if self.is_multiboot else {})}


GUESTS_TEXT = "32, 64, \"linux\" or \"multiboot\""


def _with_arg(workload: str, iterations: int | None) -> str:
    """`pal_demo` + iterations 100 -> `pal_demo:100`; an explicit ARG wins."""
    name, _, arg = workload.partition(":")
    if arg or WORKLOADS.get(name) != "count" or iterations is None:
        return workload
    return f"{name}:{iterations}"


def _check_int(path: Path | str, key: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ScenarioError(path, key, f"an integer from {lo} to {hi}", value)
    return value


def _check_seconds(path: Path, key: str, value: Any, allow_zero: bool = False,
                   most: float = MAX_RUN_SECONDS) -> float:
    """A finite number of seconds in range (nan and inf are refused: a nan timeout
    never expires, so a stopped machine would be watched forever)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero) or value > most:
        rule = ">= 0" if allow_zero else "> 0"
        raise ScenarioError(path, key, f"a finite number of seconds {rule} and <= {most:g}", value)
    return float(value)


def _check_workload(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]+(:[A-Za-z0-9_x]+)?", value):
        raise ScenarioError(path, key, "a workload string NAME[:ARG], e.g. \"test:1000\"", value)
    if len(value) > VALUE_MAX:
        raise ScenarioError(path, key, f"at most {VALUE_MAX} characters (a vCPU's workload buffer)", value)
    name, _, arg = value.partition(":")
    if name not in WORKLOADS:
        raise ScenarioError(path, key, f"a workload name among {', '.join(WORKLOADS)}", name)
    kind = WORKLOADS[name]
    if kind == "none" and arg:
        raise ScenarioError(path, key, f"no argument for workload '{name}'", value)
    if kind == "count" and arg and not arg.isdigit():
        raise ScenarioError(path, key, f"a decimal count after '{name}:'", value)
    if kind == "number?" and arg and not re.fullmatch(r"0x[0-9a-fA-F]+|[0-9]+", arg):
        raise ScenarioError(path, key, f"a number after '{name}:' (e.g. {name}:0x100000)", value)
    return value


def _check_has_count(path: Path, key: str, workload: str, iterations: int | None) -> None:
    name, _, arg = workload.partition(":")
    if WORKLOADS[name] == "count" and not arg and iterations is None:
        raise ScenarioError(path, key, f"a count ('{name}:N') or a top-level 'iterations'",
                            workload)


def _programs(path: Path, data: dict[str, Any], guest: Any, smp: int) -> dict[str, str]:
    """[programs] of a Linux scenario: key default, cpuN (N < smp) or any, value
    NAME[:ARG]+... (harness/judge/linux.py)."""
    if "programs" not in data:
        return {}
    if guest != "linux":
        raise ScenarioError(path, "programs", "only with guest = \"linux\" (test programs its init runs)",
                            has_got=False)
    table = _table(path, data, "programs")
    out: dict[str, str] = {}
    for key, value in table.items():
        match = re.fullmatch(r"cpu([0-9]+)", key)
        if key not in ("default", "any") and not match:
            raise ScenarioError(path, f"programs.{key}", "'default', 'any' or 'cpuN' (N a CPU index)",
                                has_got=False)
        if match and int(match.group(1)) >= smp:
            raise ScenarioError(path, f"programs.{key}", f"a CPU index below smp = {smp}",
                                int(match.group(1)))
        try:
            out[key] = check_program_list(value)
        except AppendError as e:
            raise ScenarioError(path, f"programs.{key}", str(e), value) from None
    if not out:
        raise ScenarioError(path, "programs", "at least one of default, cpuN, any", has_got=False)
    return out


def _reject_unknown(path: Path, table: dict[str, Any], allowed: set[str], prefix: str) -> None:
    for key in table:
        if key not in allowed:
            raise ScenarioError(path, prefix + key, f"one of {', '.join(sorted(allowed))}",
                                has_got=False)


def _table(path: Path, data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ScenarioError(path, key, "a table", value)
    return value


def parse(path: Path, data: dict[str, Any]) -> Scenario:
    _reject_unknown(path, data, TOP_KEYS, "")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ScenarioError(path, "name", "a name of letters, digits, '.', '_' or '-'", name)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ScenarioError(path, "description", "a string", description)
    guest = data.get("guest", 64)
    if guest not in GUESTS or isinstance(guest, bool):
        raise ScenarioError(path, "guest", GUESTS_TEXT, guest)
    if "append" in data and guest not in OS_GUESTS:
        raise ScenarioError(path, "append", "only with guest = \"linux\" or \"multiboot\" (the kernel's "
                            "command line)", has_got=False)
    append = _check_append(path, data.get("append", DEFAULT_APPEND if guest == "linux" else "")) \
        if guest in OS_GUESTS else ""
    if guest in OS_GUESTS and ("workloads" in data or "iterations" in data):
        raise ScenarioError(path, "workloads", f"no workloads for a {guest} guest (it runs its own work)",
                            has_got=False)
    smp = _check_int(path, "smp", data.get("smp", 2), 1, MAX_SMP)
    programs = _programs(path, data, guest, smp)
    memory = _check_int(path, "memory", data.get("memory", 256), 64, 4096)
    iterations = data.get("iterations")
    if iterations is not None:
        iterations = _check_int(path, "iterations", iterations, 1, 10**9)
    timeout = _check_seconds(path, "timeout", data.get("timeout", 120))
    hang_timeout = _check_seconds(path, "hang_timeout", data.get("hang_timeout", 10))
    hang_timeout_virtual = (_check_seconds(path, "hang_timeout_virtual", data["hang_timeout_virtual"])
                            if "hang_timeout_virtual" in data else None)

    wl = _table(path, data, "workloads")
    default = _check_workload(path, "workloads.default", wl.get("default", "hello"))
    per_cpu: dict[int, str] = {}
    for key, value in wl.items():
        if key == "default":
            continue
        match = re.fullmatch(r"cpu([0-9]+)", key)
        if not match:
            raise ScenarioError(path, f"workloads.{key}", "'default' or 'cpuN' (N a CPU index)",
                                has_got=False)
        cpu = int(match.group(1))
        if cpu >= smp:
            raise ScenarioError(path, f"workloads.{key}", f"a CPU index below smp = {smp}", cpu)
        per_cpu[cpu] = _check_workload(path, f"workloads.{key}", value)
    _check_has_count(path, "workloads.default", default, iterations)
    for cpu, workload in per_cpu.items():
        _check_has_count(path, f"workloads.cpu{cpu}", workload, iterations)

    nmi_table = _table(path, data, "nmi")
    _reject_unknown(path, nmi_table, NMI_KEYS, "nmi.")
    kind = nmi_table.get("pattern", "none")
    if kind not in PATTERNS:
        raise ScenarioError(path, "nmi.pattern", f"one of {', '.join(PATTERNS)}", kind)
    count = nmi_table.get("count")
    if count is not None:
        count = _check_int(path, "nmi.count", count, 0, 10**9)
    nmi = NmiPattern(
        kind=kind,
        interval=_check_seconds(path, "nmi.interval", nmi_table.get("interval", 0.1),
                                allow_zero=kind != "poisson", most=MAX_NMI_SECONDS),
        burst=_check_int(path, "nmi.burst", nmi_table.get("burst", 10), 1, 10**6),
        gap=_check_seconds(path, "nmi.gap", nmi_table.get("gap", 1.0), allow_zero=True,
                           most=MAX_NMI_SECONDS),
        count=count,
        start_after=_check_seconds(path, "nmi.start_after", nmi_table.get("start_after", 0.0),
                                   allow_zero=True))

    expect = _table(path, data, "expect")
    _reject_unknown(path, expect, EXPECT_KEYS, "expect.")
    outcome = expect.get("outcome", "pass")
    if outcome not in OUTCOMES:
        raise ScenarioError(path, "expect.outcome", f"one of {', '.join(OUTCOMES)}", outcome)
    exit_code = expect.get("guest_exit_code")
    if exit_code is not None and guest != "multiboot":
        raise ScenarioError(path, "expect.guest_exit_code", "only with guest = \"multiboot\" (the code "
                            "the kernel writes to isa-debug-exit)", has_got=False)
    if guest == "multiboot":
        exit_code = _check_int(path, "expect.guest_exit_code",
                               DEFAULT_GUEST_EXIT_CODE if exit_code is None else exit_code, 0, 0xffffffff)
    rules = expect.get("rules")
    rules_path = None
    if rules is not None:
        if not isinstance(rules, str):
            raise ScenarioError(path, "expect.rules", "a path to a rules file", rules)
        rules_path = (path.parent / rules).resolve()
        if not rules_path.is_file():
            raise ScenarioError(path, "expect.rules", "an existing rules file (relative to the scenario)",
                                rules)
        _check_rules(path, rules_path)

    return Scenario(name=name, path=path, guest=guest, smp=smp, memory=memory,
                    iterations=iterations, timeout=timeout, hang_timeout=hang_timeout,
                    hang_timeout_virtual=hang_timeout_virtual, default_workload=default, cpu_workloads=per_cpu, nmi=nmi,
                    expect_outcome=outcome, rules=rules_path, description=description, append=append,
                    programs=programs, guest_exit_code=exit_code)


def _check_append(path: Path | str, value: Any) -> str:
    try:
        return check_append(value)
    except AppendError as exc:
        raise ScenarioError(path, "append", str(exc), value) from None


def _check_rules(path: Path, rules_path: Path) -> None:
    """The rules file loads as the checker will load it: a bad one is a scenario error
    now, not a run whose checker silently did not run."""
    from decoder.check import load_rules
    from decoder.expr import RuleError
    from decoder.rule_kinds import Context
    try:
        load_rules(rules_path, Context())
    except RuleError as exc:
        raise ScenarioError(path, "expect.rules", "a loadable rules file", str(exc)) from None


def load(path: Path | str) -> Scenario:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ScenarioError(path, "(file)", "a readable scenario file", exc.strerror or str(exc)) from None
    except UnicodeDecodeError:
        raise ScenarioError(path, "(file)", "a scenario file in UTF-8 text", "binary data") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "(syntax)", "valid TOML", str(exc)) from None
    return parse(path, data)


def resolve(name_or_path: str, scenario_dir: Path = SCENARIO_DIR) -> Path:
    """`test1` -> scenarios/test1.toml; a path is taken as is."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or "/" in name_or_path:
        if not candidate.is_file():
            raise ScenarioError(candidate, "(file)", "an existing scenario file", has_got=False)
        return candidate
    path = scenario_dir / f"{name_or_path}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in scenario_dir.glob("*.toml")))
        raise ScenarioError(path, "(file)", f"a scenario name among: {known}", name_or_path)
    return path


def load_named(name_or_path: str) -> Scenario:
    return load(resolve(name_or_path))


def all_scenarios(scenario_dir: Path = SCENARIO_DIR) -> list[Scenario]:
    return [load(p) for p in sorted(scenario_dir.glob("*.toml"))]
