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
# frames and COM2 is rr's NMI line (harness/machine.py).
DEFAULT_APPEND = "console=ttyS2 panic=-1"
MAX_APPEND = 2047   # the setup header's cmdline_size of the Debian kernel (docs/linux-guest.md)
PASS_MARKER = "HEISEN-LINUX: PASS"

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


def check_append(text: str) -> str:
    """A kernel command line QEMU can carry in a multiboot module string: printable
    ASCII on one line (commas are escaped later, harness/machine.py)."""
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
    return ConsoleVerdict(len(data), any(line.strip() == PASS_MARKER for line in text.splitlines()),
                          failures, unclaimed)
