"""Decode a memory dump of `trace_rings` (docs/trace-format.md, per-CPU ring).

The harness saves the rings of a hung machine with QMP pmemsave; records that
never reached the serial port are still there.  Slots tail..reserve-1 are read:
a non-zero type is a complete record (writers store the type last), type 0
past commit is a torn record, type 0 before commit one the drain already sent.
"""
from __future__ import annotations

import struct

from decoder.defs import EVENTS
from decoder.records import LOST_ID, TEXT_ID, Item, Loss, Record

RING_MAGIC = b"HVRING01"
HEADER = struct.Struct("<8sIIQQQQQQ")
SLOT = struct.Struct("<BBHIQ")  # type, len, reserved, reserved2, tsc; then a[3]
SLOT_SIZE = 40
MAX_SLOTS = 1 << 24


class DumpError(ValueError):
    """The dump is not an array of rings; message names the offset and field."""


def _hint(data: bytes, offset: int) -> str:
    """Why a ring is not where expected: what the rest of the dump says."""
    if not data.strip(b"\0"):
        return (f" (all {len(data)} bytes are zero: the rings were never set up, or the dump's "
                "address came from another build's ELF)")
    found = data.find(RING_MAGIC, offset + 1)
    if found >= 0:
        return f" (a ring magic is at offset {found}: the dump does not start at trace_rings?)"
    return ""


def _slot_record(cpu: int, raw: bytes) -> Record | None:
    typ, ln, _, _, tsc = SLOT.unpack_from(raw)
    ev = EVENTS.get(typ)
    if ev is None:
        return None
    if typ == TEXT_ID:
        return Record(tsc, cpu, typ, (raw[16:16 + min(ln, 24)],), -1)
    a = struct.unpack_from("<QQQ", raw, 16)
    return Record(tsc, cpu, typ, a[:len(ev.fields)], -1)


def decode_ring(data: bytes, offset: int) -> tuple[list[Item], int]:
    """(items of the ring at offset, size of that ring in bytes)."""
    if len(data) - offset < HEADER.size:
        raise DumpError(f"ring dump: offset {offset}: {len(data) - offset} bytes left, a ring header needs {HEADER.size}")
    magic, cpu, nslots, reserve, commit, tail, dropped, _seq, _nest = HEADER.unpack_from(data, offset)
    if magic != RING_MAGIC:
        raise DumpError(f"ring dump: offset {offset}: magic {magic!r}, expected {RING_MAGIC!r}{_hint(data, offset)}")
    if nslots == 0 or nslots & (nslots - 1) or nslots > MAX_SLOTS:
        raise DumpError(f"ring dump: offset {offset + 12}: nslots {nslots} is not a power of two <= {MAX_SLOTS}")
    size = HEADER.size + SLOT_SIZE * nslots
    if len(data) - offset < size:
        raise DumpError(f"ring dump: offset {offset}: cpu {cpu} ring needs {size} bytes, {len(data) - offset} present")
    if not tail <= commit <= reserve:
        raise DumpError(f"ring dump: offset {offset + 16}: cpu {cpu}: expected tail <= commit <= reserve, "
                        f"got tail={tail} commit={commit} reserve={reserve}")
    items: list[Item] = []
    first = tail
    if reserve - tail > nslots:
        first = reserve - nslots
        items.append(Loss(0, cpu, "lost", first - tail, "records", offset,
                          f"reserve-tail {reserve - tail} exceeds {nslots} slots: oldest overwritten"))
    base = offset + HEADER.size
    mask = nslots - 1
    last_tsc = 0
    for idx in range(first, reserve):
        at = base + SLOT_SIZE * (idx & mask)
        raw = data[at:at + SLOT_SIZE]
        rec = _slot_record(cpu, raw)
        if rec is None:
            if raw[0] == 0 and idx < commit:
                # The drain zeroes each slot it has sent before it moves tail
                # (trace-format.md): a drain caught mid-way, nothing missing.
                continue
            kind = "torn" if idx >= commit and raw[0] == 0 else "unknown_event"
            items.append(Loss(last_tsc, cpu, kind, 1, "records", at,
                              f"slot {idx & mask} (index {idx}) type {raw[0]}"
                              + (" past commit" if idx >= commit else "")))
            continue
        last_tsc = rec.tsc
        if rec.type == LOST_ID:
            items.append(Loss(rec.tsc, cpu, "lost", rec.args[0], "records", at, "ring full"))
        else:
            items.append(rec)
    if dropped:
        items.append(Loss(last_tsc, cpu, "lost", dropped, "records", offset + 40,
                          "ring's dropped counter (no LOST record written yet)"))
    return items, size


def records_from_ring_dump(data: bytes, ncpus: int | None = None) -> list[Item]:
    """Items of every ring in a `trace_rings` dump, merged by TSC.

    ncpus=None reads rings until the data ends or the next magic is missing.
    """
    items: list[Item] = []
    offset = 0
    n = 0
    size = 0
    while (ncpus is None or n < ncpus) and offset < len(data):
        if data[offset:offset + 8] != RING_MAGIC:
            if ncpus is None:
                break
            if n and len(data) - offset >= size:
                # trace_rings is an array of equal rings: a CPU that never set
                # its ring up (one that failed to boot) is skipped, and said so.
                items.append(Loss(0, n, "garbage", size, "bytes", offset,
                                  f"ring {n} has no magic: never initialised?"))
                offset += size
                n += 1
                continue
        ring, size = decode_ring(data, offset)
        items += ring
        offset += size
        n += 1
    if n == 0:
        raise DumpError(f"ring dump: offset 0: no ring found (expected magic {RING_MAGIC!r})")
    items.sort(key=lambda it: it[0])
    return items
