"""The hypervisor's command line (QEMU `-append`) as one typed value.

This module is the only Python code that knows the `key=value` syntax: the
schedule builds an `HvOptions`, run.py adds the transport's and record/replay's
options to it, replay parses the recorded line back into one, and after a run
the harness holds the hypervisor's own echo of what it parsed (the OPTIONS trace
record) against it (`mismatch`).  The rules are the hypervisor's
(hv/core/cmdline.c cmdline_check): only known keys, each at most once, numbers
that are decimal or 0x-hex u64s, 0 or 1 for switches, values of at most 63
characters.  The CPU count and the workload names are the hypervisor's and the
scenario's to check (it refuses a `wlN=` for a CPU it does not have).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from decoder.defs import NMI_EDU_MAX_US   # defs/machine.toml

U64_MAX = (1 << 64) - 1
VALUE_MAX = 63            # hv/core/cmdline.h CMDLINE_VALUE_MAX: a vCPU's workload buffer
TRACE_MODES = ("record", "mem", "e9")   # absent: frames stream over the UART; e9: to I/O port 0xE9
_NUMBER = re.compile(r"(?:0[xX][0-9a-fA-F]+|[0-9]+)\Z")
_WL_CPU = re.compile(r"wl([1-9][0-9]?|0)\Z")   # wlN, N decimal without a leading zero (< 100)
# Render order: the order the harness has always written the words in, so a line
# it renders today is the line it rendered before (replays compare QEMU argv).
KEYS = ("wl", "seed", "nmi_every", "nmi_com2", "testhc", "trace", "rdtsc_exit", "nmi_edu")
SWITCHES = ("nmi_com2", "testhc", "rdtsc_exit")   # 0 or 1 on the line, bools here


class HvOptionsError(ValueError):
    """A command line the hypervisor would refuse; the message names the word and why."""


def _number(word: str, value: str) -> int:
    n = (int(value, 16) if value[:2].lower() == "0x" else int(value, 10)) if _NUMBER.match(value) else None
    if n is None or n > U64_MAX:
        raise HvOptionsError(f"{word!r}: not a number (decimal or 0x-hex, at most 2**64-1)")
    return n


def _switch(word: str, value: str) -> bool:
    if value not in ("0", "1"):
        raise HvOptionsError(f"{word!r}: expected 0 or 1")
    return value == "1"


def _workload(word: str, value: str) -> str:
    if not value or any(c.isspace() for c in value):
        raise HvOptionsError(f"{word!r}: a workload is NAME or NAME:ARG, no spaces")
    return value


@dataclass(frozen=True)
class HvOptions:
    """What the hypervisor is told.  None = the key is not on the line (the
    hypervisor's default: no seed, no in-machine NMIs, switches off, streamed trace)."""
    wl: str | None = None                         # every CPU's workload
    cpu_wl: tuple[tuple[int, str], ...] = ()      # (cpu, workload) for wlN=, sorted by cpu
    seed: int | None = None
    nmi_every: int | None = None
    nmi_com2: bool | None = None
    testhc: bool | None = None
    trace: str | None = None                      # "record" | "mem" | "e9" | None
    rdtsc_exit: bool | None = None                 # guest RDTSC exits and yields (deterministic SMP OS guests)
    nmi_edu: int | None = None                     # mean us of the gap between device NMIs (hv/core/nmi_edu.c)

    def __post_init__(self) -> None:
        for name in ("seed", "nmi_every"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= U64_MAX):
                raise HvOptionsError(f"{name}: {v!r} is not an integer from 0 to 2**64-1")
        w = self.nmi_edu
        if w is not None and (isinstance(w, bool) or not isinstance(w, int) or not 0 <= w <= NMI_EDU_MAX_US):
            raise HvOptionsError(f"nmi_edu: {w!r} is not an integer from 0 to {NMI_EDU_MAX_US} (us)")
        for name in SWITCHES:
            if not (getattr(self, name) is None or isinstance(getattr(self, name), bool)):
                raise HvOptionsError(f"{name}: {getattr(self, name)!r} is not a bool")
        if self.trace not in (None, *TRACE_MODES):
            raise HvOptionsError(f"trace: {self.trace!r} is not one of {TRACE_MODES}")
        cpus = [cpu for cpu, _ in self.cpu_wl]
        if cpus != sorted(set(cpus)) or any(not 0 <= cpu < 100 for cpu in cpus):
            raise HvOptionsError(f"cpu_wl: CPUs {cpus} must be distinct, sorted, below 100")
        for key, value in [("wl", self.wl), *((f"wl{c}", w) for c, w in self.cpu_wl)]:
            if value is not None:
                _workload(f"{key}={value}", value)
                if len(value) > VALUE_MAX:
                    raise HvOptionsError(f"{key}={value[:20]}...: value longer than {VALUE_MAX} characters")

    @classmethod
    def parse(cls, text: str) -> "HvOptions":
        """The line as the hypervisor reads it: space-separated words, strictly."""
        fields: dict[str, Any] = {}
        cpu_wl: dict[int, str] = {}
        seen: set[str] = set()
        for word in text.split(" "):
            if not word:
                continue
            key, eq, value = word.partition("=")
            if not eq or not key:
                raise HvOptionsError(f"{word!r}: expected key=value")
            if key in seen:
                raise HvOptionsError(f"{word!r}: option given twice")
            seen.add(key)
            if len(value) > VALUE_MAX:
                raise HvOptionsError(f"{word[:20]!r}...: value longer than {VALUE_MAX} characters")
            cpu = _WL_CPU.match(key)
            if key in ("seed", "nmi_every"):
                fields[key] = _number(word, value)
            elif key == "nmi_edu":
                fields[key] = _number(word, value)
                if fields[key] > NMI_EDU_MAX_US:
                    raise HvOptionsError(f"{word!r}: at most {NMI_EDU_MAX_US} (us)")
            elif key in SWITCHES:
                fields[key] = _switch(word, value)
            elif key == "trace":
                if value not in TRACE_MODES:
                    raise HvOptionsError(f"{word!r}: expected trace=record, trace=mem or trace=e9")
                fields[key] = value
            elif key == "wl":
                fields[key] = _workload(word, value)
            elif cpu:
                cpu_wl[int(cpu.group(1))] = _workload(word, value)
            else:
                raise HvOptionsError(f"{word!r}: unknown option (wl, wlN, seed, nmi_every, nmi_com2, "
                                     "trace, testhc, rdtsc_exit, nmi_edu)")
        return cls(cpu_wl=tuple(sorted(cpu_wl.items())), **fields)

    def render(self) -> str:
        """The `-append` text; parse(render()) == self."""
        words = []
        if self.wl is not None:
            words.append(f"wl={self.wl}")
        words += [f"wl{cpu}={w}" for cpu, w in self.cpu_wl]
        if self.seed is not None:
            words.append(f"seed={self.seed}")
        if self.nmi_every is not None:
            words.append(f"nmi_every={self.nmi_every}")
        for name in ("nmi_com2", "testhc"):
            if getattr(self, name) is not None:
                words.append(f"{name}={int(getattr(self, name))}")
        if self.trace is not None:
            words.append(f"trace={self.trace}")
        if self.rdtsc_exit is not None:
            words.append(f"rdtsc_exit={int(self.rdtsc_exit)}")
        if self.nmi_edu is not None:
            words.append(f"nmi_edu={self.nmi_edu}")
        return " ".join(words)

    def with_(self, **changes: Any) -> "HvOptions":
        """A copy with some options set (None removes one), validated like parse()."""
        if "cpu_wl" in changes:
            changes["cpu_wl"] = tuple(sorted(dict(changes["cpu_wl"]).items()))
        return dataclasses.replace(self, **changes)

    def echo(self) -> dict[str, Any]:
        """What the hypervisor echoes of these options in its OPTIONS record (the keys
        `parsed_from_record` returns): what it acts on, defaults filled in."""
        return {"seed": self.seed or 0, "seed_given": self.seed is not None,
                "nmi_every": self.nmi_every or 0, "nmi_com2": bool(self.nmi_com2),
                "testhc": bool(self.testhc), "trace": self.trace or "stream", "rdtsc_exit": bool(self.rdtsc_exit),
                "nmi_edu": bool(self.nmi_edu)}


def parsed_from_record(seed: int, nmi_every: int, flags: int) -> dict[str, Any]:
    """An OPTIONS record's fields (trace/events.toml) in echo() form.  A flag bit the
    table does not name is kept as `unknown_flags`, so it cannot compare equal."""
    from decoder.defs import FIELD_NAMES
    bits = FIELD_NAMES[("OPTIONS", "flags")][1]
    modes = [m for m in TRACE_MODES if flags & bits[f"trace_{m}"]]
    out: dict[str, Any] = {"seed": seed, "seed_given": bool(flags & bits["seed_given"]), "nmi_every": nmi_every,
                           "nmi_com2": bool(flags & bits["nmi_com2"]), "testhc": bool(flags & bits["testhc"]),
                           "rdtsc_exit": bool(flags & bits["rdtsc_exit"]),
                           "nmi_edu": bool(flags & bits["nmi_edu"]),
                           "trace": "+".join(modes) or "stream"}
    unknown = flags & ~sum(bits.values())
    if unknown:
        out["unknown_flags"] = unknown
    return out


def _shown(name: str, echo: dict[str, Any]) -> str:
    """One option as a person would write it on the command line."""
    if name == "seed":
        return f"seed={echo['seed']}" if echo["seed_given"] else "no seed"
    if name == "trace":
        return "no trace=" if echo["trace"] == "stream" else f"trace={echo['trace']}"
    if name in SWITCHES:
        return f"{name}={int(echo[name])}"
    if name == "nmi_edu":
        return "nmi_edu on" if echo[name] else "no nmi_edu"
    return f"{name}={echo[name]}"


def mismatch(sent: dict[str, Any], parsed: dict[str, Any]) -> str | None:
    """Why the hypervisor's echo differs from what was sent (echo() forms), or None."""
    diffs = []
    for name in ("seed", "nmi_every", *SWITCHES, "trace", "nmi_edu"):
        differs = sent[name] != parsed.get(name) or (name == "seed" and sent["seed_given"] != parsed.get("seed_given"))
        if differs:
            diffs.append(f"the hypervisor parsed {_shown(name, parsed)}, the harness sent {_shown(name, sent)}")
    if parsed.get("unknown_flags"):
        diffs.append(f"the hypervisor set OPTIONS flag bits {parsed['unknown_flags']:#x} that trace/events.toml "
                     "does not name")
    return "; ".join(diffs) or None


def check_echo(sent_text: str, items: list[Any] | None) -> tuple[dict[str, Any], str | None]:
    """The run's `hv_options` verdict entry and, when the hypervisor did not run with
    what it was sent, why (the run is then an `error`: its schedule is not the one
    asked for, so neither a pass nor a failure means anything).

    `sent_text` is the -append QEMU really ran (run.py hv_cmdline_ran).  The OPTIONS
    record follows BOOT (hv/core/main.c), so a trace with BOOT must have one.  A line
    the hypervisor refuses stops it before BOOT (bad command line panic): no record,
    nothing to compare, the run is judged as before.  So is a trace with no BOOT (a
    build that traces nothing, a machine that never got there) or a PANIC."""
    from decoder.defs import EVENT_IDS
    try:
        sent: dict[str, Any] | None = HvOptions.parse(sent_text).echo()
    except HvOptionsError:
        sent = None
    records = [it for it in items or () if getattr(it, "type", None) == EVENT_IDS["OPTIONS"]]
    parsed = parsed_from_record(*records[0].args[:3]) if records else None
    entry = {"sent": sent, "parsed": parsed}
    if len(records) > 1:
        return entry, f"the hypervisor emitted {len(records)} OPTIONS records, not one"
    if parsed is None:
        types = {getattr(it, "type", None) for it in items or ()}
        if EVENT_IDS["BOOT"] in types and EVENT_IDS["PANIC"] not in types:
            return entry, "the hypervisor booted (BOOT record) but did not say which options it parsed " \
                          "(no OPTIONS record)"
        return entry, None
    if sent is None:
        return entry, f"the hypervisor ran with options from a command line the harness finds invalid: {sent_text!r}"
    return entry, mismatch(sent, parsed)
