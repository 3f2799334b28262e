"""Read the hypervisor's memory trace log (`trace=mem`, trace/memlog.h) out of QEMU's
shared RAM file.

With `MachineConfig.ram_file` set, QEMU backs guest RAM with that file (shared), so
the host sees guest-physical memory as file offsets (RAM starts at 0 on `-machine pc`
below the PCI hole) while the machine runs and after it is gone.  The hypervisor is
linked at its physical address, so the ELF symbol `trace_memlog_area` is the log's
offset in the file.  The bytes are the same frames the UART would carry.
"""
from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

from harness.launch.elfsyms import SymbolError, find_symbol

SYMBOL = "trace_memlog_area"
HV_TRACE_MODE = "mem"  # the hypervisor's `trace=` mode that selects this transport (HvOptions.trace)
MAGIC = b"HVLOG001"
HEADER = struct.Struct("<8sQQQ")  # magic, capacity, head, dropped


class MemlogError(Exception):
    """The RAM file or the log in it cannot be read; the message says why."""


@dataclass
class Memlog:
    data: bytes      # the frames, as the UART would have carried them
    head: int        # bytes appenders claimed (may pass capacity)
    capacity: int
    dropped: int     # bytes of frames that did not fit


def locate(hv_elf: Path) -> tuple[int, int]:
    """(offset in the RAM file, size) of the log area."""
    try:
        return find_symbol(hv_elf, SYMBOL)
    except SymbolError as exc:
        raise MemlogError(f"no memory trace log in this build: {exc}") from exc


def _open(ram_file: Path, offset: int, size: int) -> mmap.mmap:
    try:
        with open(ram_file, "rb") as f:
            if f.seek(0, 2) < offset + size:
                raise MemlogError(f"{ram_file}: RAM file ends before the log at {offset:#x}+{size:#x}")
            return mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    except OSError as exc:
        raise MemlogError(f"{ram_file}: {exc}") from exc


def _header(mem: mmap.mmap, offset: int, size: int, ram_file: Path) -> tuple[int, int, int]:
    magic, capacity, head, dropped = HEADER.unpack_from(mem, offset)
    if magic != MAGIC:
        raise MemlogError(f"{ram_file}: no log at {offset:#x} (magic {magic!r}): was the machine "
                          f"started with trace=mem, and did it get that far?")
    if capacity > size - HEADER.size:
        raise MemlogError(f"{ram_file}: log capacity {capacity} exceeds its area of {size} bytes")
    return capacity, head, dropped


def progress(ram_file: Path, offset: int, size: int) -> int:
    """Bytes written so far (0 before the hypervisor set the log up): the hang watch's
    sign of life, read while the machine runs."""
    mem = _open(ram_file, offset, size)
    try:
        magic, _, head, _ = HEADER.unpack_from(mem, offset)
        return head if magic == MAGIC else 0
    finally:
        mem.close()


def read(ram_file: Path, offset: int, size: int) -> Memlog:
    mem = _open(ram_file, offset, size)
    try:
        capacity, head, dropped = _header(mem, offset, size, ram_file)
        start = offset + HEADER.size
        return Memlog(bytes(mem[start:start + min(head, capacity)]), head, capacity, dropped)
    finally:
        mem.close()
