"""Multiboot (v1) guests: the harness's reading of a kernel's header, and the verdict
from the kernel's own isa-debug-exit code (docs/multiboot-guest.md).

The hypervisor decides a guest's kind by module 0's contents (hv/core/guest_loader.c):
a kernel without a valid multiboot header would be taken for one of guest/'s own ELF
kernels and started under their contract, so `--multiboot FILE` refuses such a file
before anything runs.  `find_header` reads the header as hv/core/multiboot_guest.c's
mb_find_header does (tests/test_multiboot_loader.py compares the two).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAGIC = 0x1BADB002
SEARCH_BYTES = 8192
AOUT_KLUDGE = 1 << 16
# Required-feature bits the hypervisor's loader knows: 0 page-aligned modules,
# 1 memory information, 2 a graphics mode (noted, not honoured: no display).
KNOWN_REQUIRED = 0x7
from decoder.defs import DEBUG_EXIT  # noqa: E402
from harness.judge.verdict import status_of_code  # noqa: E402
DEFAULT_EXIT_CODE = DEBUG_EXIT["PASS"]    # what a kernel writes when it passed, unless told otherwise


class MultibootError(ValueError):
    pass


@dataclass(frozen=True)
class Header:
    offset: int
    flags: int
    aout: tuple[int, int, int, int, int] | None = None   # header, load, load_end, bss_end, entry


def find_header(data: bytes) -> Header | None:
    """The first valid multiboot header: magic at a 4-aligned offset with all 12 bytes in
    the first 8 KiB, magic + flags + checksum == 0 mod 2**32; with flag 16 its five
    address fields must lie in the file."""
    end = min(len(data), SEARCH_BYTES)
    for off in range(0, end - 11, 4):
        magic, flags, checksum = struct.unpack_from("<III", data, off)
        if magic != MAGIC or (magic + flags + checksum) & 0xFFFFFFFF:
            continue
        if flags & AOUT_KLUDGE:
            if off + 32 > len(data):
                return None
            return Header(off, flags, struct.unpack_from("<5I", data, off + 12))
        return Header(off, flags)
    return None


def check_kernel(path: Path) -> Header:
    """The header of a kernel the user brings (`--multiboot`), or why it cannot be one."""
    try:
        with open(path, "rb") as f:
            head = f.read(SEARCH_BYTES + 32)
    except OSError as exc:
        raise MultibootError(f"--multiboot {path}: {exc.strerror or exc}") from None
    header = find_header(head)
    if header is None:
        raise MultibootError(f"--multiboot {path}: no multiboot header (magic 0x1BADB002 with a valid "
                             f"checksum, 4-aligned, in the first 8 KiB)")
    unknown = header.flags & 0xFFFF & ~KNOWN_REQUIRED
    if unknown:
        raise MultibootError(f"--multiboot {path}: its header requires features the loader lacks "
                             f"(flags {header.flags:#x}, unknown required bits {unknown:#x})")
    return header


def judge_guest_exit(status: int | None, exits: list[dict[str, Any]], expected: int,
                     outcome: str, reason: str) -> tuple[str, str, dict[str, Any]]:
    """(outcome, reason, record) of a multiboot run from QEMU's exit status and the trace's
    GUEST_EXIT records (the hypervisor records the guest's write before it ends the machine).

    The guest's code is taken only from the trace, never from the exit status alone: a
    status is the same whether the guest or the hypervisor wrote the code.  A run the
    harness stopped (hang, timeout, interrupt) or QEMU died in keeps its outcome."""
    record: dict[str, Any] = {"expected": expected, "code": None, "qemu_status": status}
    if not exits:
        if outcome in ("pass", "fail"):
            # The hypervisor's own verdict ended the run (its per-CPU REPORT rules): not
            # what a multiboot scenario is judged by.
            return "fail", (f"the run ended without the kernel's own isa-debug-exit code (no GUEST_EXIT "
                            f"in the trace): QEMU's status is the hypervisor's, {reason}"), record
        return outcome, reason, record
    first = exits[0]
    record.update(code=first["code"], cpu=first["cpu"], port=first["port"], size=first["size"])
    if len(exits) > 1:
        record["more"] = len(exits) - 1
    if status is None or status != status_of_code(first["code"]):
        return "error", (f"the trace says the guest wrote {first['code']:#x} to isa-debug-exit, but QEMU "
                         f"exited with status {status} (expected {status_of_code(first['code'])})"), record
    if first["code"] == expected:
        return "pass", (f"the guest wrote its pass code {first['code']:#x} to isa-debug-exit "
                        f"(CPU {first['cpu']})"), record
    return "fail", (f"the guest wrote {first['code']:#x} to isa-debug-exit (CPU {first['cpu']}), "
                    f"the scenario expects {expected:#x}"), record
