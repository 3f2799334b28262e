"""From QEMU's exit status (and the checker) to an outcome word.

isa-debug-exit makes QEMU exit with (code << 1) | 1, the codes coming from
defs/machine.toml through the generated decoder/defs.py, so the numbers
below are never written twice.  Under -no-reboot a reset (e.g. a triple
fault) makes QEMU exit 0, which is why 0 is not success here.
"""
from __future__ import annotations

import signal

from decoder.defs import DEBUG_EXIT

OUTCOMES = ("pass", "fail", "panic", "reset", "hang", "timeout", "qemu died", "interrupted",
            "error")


def status_of_code(code: int) -> int:
    """QEMU's exit status for a write of `code` to isa-debug-exit (8 bits, as the OS keeps it)."""
    return ((code << 1) | 1) & 0xFF


def debug_exit_status(name: str) -> int:
    return status_of_code(DEBUG_EXIT[name])


def classify_exit(status: int) -> tuple[str, str]:
    """(outcome, reason) for a QEMU that exited on its own with `status`."""
    if status == debug_exit_status("PASS"):
        return "pass", "every CPU's workload reported pass (debug-exit PASS)"
    if status == debug_exit_status("FAIL"):
        return "fail", "a workload reported failure (debug-exit FAIL)"
    if status == debug_exit_status("PANIC"):
        return "panic", "the hypervisor panicked (debug-exit PANIC)"
    if status == 0:
        return "reset", "QEMU exited 0 under -no-reboot: the machine reset (triple fault?)"
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return "qemu died", f"QEMU was killed by {name}"
    return "qemu died", f"QEMU exited with status {status} (not a debug-exit code)"
