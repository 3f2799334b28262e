"""Linux guests: the kernel command line, and reading a Linux console for a verdict.

A Linux run passes when the hypervisor's own verdict passes (the initramfs's init
reports each CPU by hypercall, guest/linux/init) *and* the console shows init's
pass marker and none of the kernel's failure messages below: an oops that the
kernel survives still ends its init normally, so the exit status alone would let
it through.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The guest's console is the third UART (COM3, ttyS2): COM1 carries the trace
# frames and COM2 is rr's NMI line (harness/launch/machine.py).
DEFAULT_APPEND = "console=ttyS2 panic=-1"
MAX_APPEND = 2047   # the setup header's cmdline_size of the Debian kernel (docs/linux-guest.md)
PASS_MARKER = "HEISEN-LINUX: PASS"
# Init's verdict line, pass or fail: the harness stops sending NMIs when it appears
# (the programs are done; the counts' exactness is the hypervisor's: it holds a CPU's
# NMIs from its REPORT to its NMI_COUNTS).
VERDICT_MARKERS = (b"HEISEN-LINUX: PASS", b"HEISEN-LINUX: FAIL")

# (name, pattern): what the kernel prints when it went wrong, whether or not it
# carried on.
FAILURES: tuple[tuple[str, str], ...] = (
    ("oops", r"\bOops\b"),
    ("bug", r"\bBUG: "),
    ("panic", r"Kernel panic"),
    ("general-protection", r"general protection fault"),
    ("unknown-nmi", r"Uhhuh\. NMI received for unknown reason"),
    ("dazed-nmi", r"Dazed and confused"),
    ("soft-lockup", r"soft lockup"),
    ("rcu-stall", r"rcu: INFO: .* detected stalls|self-detected stall"),
    ("hung-task", r"blocked for more than \d+ seconds"),
    ("init-fail", r"HEISEN-LINUX: FAIL"),
)


# Linux's answer to an NMI nobody claims -- what an NMI from QMP or the hypervisor's
# seeded NMIs is to it: expected when the scenario sends NMIs (counted, and the
# hypervisor checks the guest's NMI count against what it injected), a failure when not.
UNCLAIMED_NMI = ("unknown-nmi", "dazed-nmi")


class AppendError(ValueError):
    pass


# The test programs a Linux scenario can run ([programs]): every guest/linux/*.c
# but the helper, heisen.c -- guest/linux/linux.mk builds the same set into the
# initramfs, and init runs only regular files of /bin other than busybox's and
# the helper.  Each takes at most one argument.
PROGRAMS_DIR = Path(__file__).resolve().parents[2] / "guest" / "linux"
HELPER = "heisen"
PROGRAM_ITEM = re.compile(r"([a-z][a-z0-9_]*)(?::([A-Za-z0-9_-]+))?")


def linux_programs() -> frozenset[str]:
    return frozenset(p.stem for p in PROGRAMS_DIR.glob("*.c")) - {HELPER}


def check_program_list(text: str) -> str:
    """'hvtest:200+hvtest:200': programs init starts at once, '+'-separated NAME[:ARG]."""
    if not isinstance(text, str) or not text:
        raise AppendError("a '+'-separated list of NAME[:ARG], e.g. \"hvtest:200+hvtest:200\"")
    known = linux_programs()
    for item in text.split("+"):
        m = PROGRAM_ITEM.fullmatch(item)
        if not m:
            raise AppendError("NAME[:ARG] items (letters, digits, '_', '-') joined by '+'")
        if m.group(1) not in known:
            raise AppendError(f"programs among {', '.join(sorted(known))}")
    return text


# hvtest's argument 1000008 (XMHF64's `./test 1000008`) and nmi-N have the
# hypervisor send its CPU an NMI: Linux then reports an NMI for an unknown reason,
# as for QMP's.
SELF_NMI_PROGRAM = "hvtest:1000008"
SELF_NMI_REPEATED = re.compile(r"hvtest:nmi-[0-9]+")


def programs_send_nmis(programs: dict[str, str]) -> bool:
    return any(item == SELF_NMI_PROGRAM or SELF_NMI_REPEATED.fullmatch(item)
               for v in programs.values() for item in v.split("+"))


def programs_cmdline(programs: dict[str, str]) -> str:
    """The kernel command line words that tell init what to run (guest/linux/init):
    key 'default' -> heisen.run=, 'cpuN' -> heisen.runN=, 'any' -> heisen.run_any=."""
    words = []
    for key in sorted(programs):
        suffix = "" if key == "default" else "_any" if key == "any" else key[3:]
        words.append(f"heisen.run{suffix}={programs[key]}")
    return " ".join(words)


def check_append(text: str) -> str:
    """A kernel command line QEMU can carry in a multiboot module string: printable
    ASCII on one line (commas are escaped later, harness/launch/machine.py)."""
    if not isinstance(text, str) or len(text) > MAX_APPEND:
        raise AppendError(f"a kernel command line of at most {MAX_APPEND} characters")
    if any(not (0x20 <= ord(ch) < 0x7f) for ch in text):
        raise AppendError("a kernel command line of printable ASCII on one line")
    return text


@dataclass
class ConsoleVerdict:
    bytes: int
    marker: bool
    failures: list[dict[str, Any]] = field(default_factory=list)
    unclaimed_nmis: int = 0       # "Uhhuh. NMI received for unknown reason" lines, when NMIs were sent

    @property
    def ok(self) -> bool:
        return self.bytes > 0 and self.marker and not self.failures

    def reason(self) -> str:
        if self.bytes == 0:
            return "the Linux console is empty"
        if self.failures:
            first = self.failures[0]
            return f"the Linux console shows {first['name']} at line {first['line']}: {first['text']}"
        return f"the Linux console never showed {PASS_MARKER!r}"

    def as_dict(self) -> dict[str, Any]:
        return {"bytes": self.bytes, "marker": self.marker, "failures": self.failures,
                "unclaimed_nmis": self.unclaimed_nmis}


def judge_console(path: Path, nmis_sent: bool = False) -> ConsoleVerdict:
    data = path.read_bytes() if path.exists() else b""
    text = data.decode("utf-8", errors="replace")
    failures, unclaimed = [], 0
    for lineno, line in enumerate(text.splitlines(), 1):
        for name, pattern in FAILURES:
            if not re.search(pattern, line):
                continue
            if nmis_sent and name in UNCLAIMED_NMI:
                unclaimed += name == "unknown-nmi"
            else:
                failures.append({"name": name, "line": lineno, "text": line.strip()[:200]})
    return ConsoleVerdict(len(data), has_pass_marker(text), failures, unclaimed)


# One whole kernel log line, "[    4.722682] text\n".  The kernel prints its own
# lines (an unclaimed QMP NMI's "Uhhuh", from NMI context) in the middle of
# init's write: "HEISEN-LINUX: PA[ 4.72] Uhhuh...\n[ 4.72] Dazed...\nSS" was a
# correct linux-test4 run under a QMP flood, judged failed (Linux soak).
KERNEL_LINE = re.compile(r"\[\s*\d+\.\d+\] [^\n]*\n")


def has_pass_marker(text: str) -> bool:
    """init's PASS line, also when whole kernel log lines landed inside it (a PASS
    line with none inside holds no "[t] ", so removing them leaves it as it was)."""
    return any(line.strip() == PASS_MARKER for line in KERNEL_LINE.sub("", text).splitlines())


def expected_programs(programs: dict[str, str], smp: int) -> list[tuple[int | None, str]]:
    """(CPU or None for unpinned, NAME[:ARG]) of every program init should start:
    a CPU's own list, else the default, on each CPU; then the unpinned ones."""
    out: list[tuple[int | None, str]] = []
    for cpu in range(smp):
        for item in programs.get(f"cpu{cpu}", programs.get("default", "")).split("+"):
            if item:
                out.append((cpu, item))
    out += [(None, item) for item in programs.get("any", "").split("+") if item]
    return out


@dataclass
class ProgramsVerdict:
    """What the trace says of the scenario's test programs: one GUEST_EVENT
    PROGRAM_EXIT per program, each with exit status 0."""
    expected: list[tuple[int | None, str]]
    exits: list[dict[str, Any]]

    def reason(self) -> str | None:
        for cpu in sorted({c for c, _ in self.expected}, key=lambda c: -1 if c is None else c):
            want = sum(1 for c, _ in self.expected if c == cpu)
            got = [e for e in self.exits if e["cpu"] == cpu]
            where = "unpinned" if cpu is None else f"on CPU {cpu}"
            if len(got) != want:
                return f"the trace shows {len(got)} exit(s) of the {want} test program(s) {where}"
            bad = [e for e in got if e["status"] != 0]
            if bad:
                return f"a test program {where} exited with status {bad[0]['status']}"
        extra = [e for e in self.exits if e["cpu"] not in {c for c, _ in self.expected}]
        if extra:
            return f"the trace shows a program exit on CPU {extra[0]['cpu']}, where none was started"
        return None

    def as_dict(self) -> dict[str, Any]:
        return {"expected": [{"cpu": c, "program": p} for c, p in self.expected],
                "exits": self.exits, "ok": self.reason() is None}


def judge_programs(programs: dict[str, str], smp: int, guest_events: list[tuple[int, int, int]]
                   ) -> ProgramsVerdict:
    """guest_events: the trace's GUEST_EVENT records as (kind, a, b)."""
    from decoder.defs import GUEST_EVENTS, PROGRAM
    exits = [{"cpu": None if a == PROGRAM["ANY_CPU"] else a, "status": b}
             for kind, a, b in guest_events if kind == GUEST_EVENTS["PROGRAM_EXIT"]]
    return ProgramsVerdict(expected_programs(programs, smp), exits)


class VerdictWatch:
    """Reads a growing console file incrementally and says when init's verdict line
    has appeared (a marker split across two reads is still found)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.tail = b""
        self.seen = False

    def poll(self) -> bool:
        if self.seen:
            return True
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return False
        self.offset += len(data)
        window = self.tail + data
        self.seen = any(m in window for m in VERDICT_MARKERS)
        self.tail = window[-(max(map(len, VERDICT_MARKERS)) - 1):]
        return self.seen
