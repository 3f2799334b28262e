"""A Python encoder of the trace formats, for synthetic traces.

Tests build event sequences with TraceBuilder and turn them into serial bytes
(frames) or ring memory dumps exactly as docs/trace-format.md lays them out;
the benchmark uses frame_from_body() to stamp out millions of records fast.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from decoder.defs import EVENT_IDS, EVENTS
from decoder.records import TEXT_ID, Record
from decoder.wire import U64, VERSION, cobs_encode, crc_of, encode_uvarint, zigzag_encode

RING_MAGIC = b"HVRING01"
RING_HEADER = struct.Struct("<8sIIQQQQQQ")
SLOT = struct.Struct("<BBHIQQQQ")


def _signed64(v: int) -> int:
    v &= U64
    return v - (1 << 64) if v >> 63 else v


def encode_records(records: Sequence[Record], tsc_base: int, tsc_shift: int = 0) -> bytes:
    """The records part of a frame payload (one CPU, ring order); tsc_base in units."""
    out = bytearray()
    prev_tsc, prev_rip = tsc_base, 0
    prev: dict[tuple[int, int], int] = {}  # (event id, field index) -> last `d` value
    for r in records:
        ev = EVENTS[r.type]
        out.append(r.type)
        units = (r.tsc & U64) >> tsc_shift
        out += encode_uvarint((units - prev_tsc) & U64)  # wraps when the TSC went backwards
        prev_tsc = units
        for k, ((fname, enc), value) in enumerate(zip(ev.fields, r.args, strict=True)):
            if enc == "text":
                raw = bytes(value)
                if len(raw) > 255:
                    raise ValueError(f"TEXT chunk of {len(raw)} bytes")
                out.append(len(raw))
                out += raw
            elif enc == "u":
                out += encode_uvarint(value)
            elif enc == "d":  # wrapping delta from this field's previous value, as in C
                out += encode_uvarint(zigzag_encode(_signed64(value - prev.get((r.type, k), 0))))
                prev[(r.type, k)] = value & U64
            else:  # rip: wrapping 64-bit delta, as the C encoder computes it
                out += encode_uvarint(zigzag_encode(_signed64(value - prev_rip)))
                prev_rip = value & U64
    return bytes(out)


def frame_from_body(cpu: int, seq: int, tsc_base: int, body: bytes, tsc_shift: int = 0) -> bytes:
    head = bytes((VERSION, cpu, tsc_shift)) + encode_uvarint(seq) + encode_uvarint(tsc_base)
    payload = head + body
    return cobs_encode(payload + crc_of(payload)) + b"\0"


def encode_frame(cpu: int, seq: int, records: Sequence[Record], tsc_shift: int = 0) -> bytes:
    """One wire frame (COBS + trailing 0x00) holding records of one CPU.  Timestamps go
    out in units of 2^tsc_shift cycles; the default 0 keeps them exact (the hypervisor
    sends TRACE_WIRE_TSC_SHIFT, trace/frame.h)."""
    tsc_base = (records[0].tsc & U64) >> tsc_shift if records else 0
    return frame_from_body(cpu, seq, tsc_base, encode_records(records, tsc_base, tsc_shift), tsc_shift)


@dataclass
class TraceBuilder:
    """Per-CPU event sequences with per-CPU clocks, for tests.

    ev() appends an event on a CPU `dt` ticks after the later of that CPU's
    clock and the global clock, so successive calls read as a timeline in call
    order across CPUs (what a test usually means).
    """
    ncpus: int
    tsc_khz: int = 1_000_000
    per_cpu: dict[int, list[Record]] = field(default_factory=dict)
    now: int = 1000
    boot: bool = True

    def __post_init__(self) -> None:
        if self.boot:
            self.ev(0, "BOOT", self.ncpus, self.tsc_khz, 1)
            for c in range(self.ncpus):
                self.ev(c, "CPU_UP", c, c)

    def ev(self, cpu: int, name: str, *args: object, dt: int = 10) -> Record:
        eid = EVENT_IDS[name]
        nfields = len(EVENTS[eid].fields)
        if eid == TEXT_ID:
            args = (args[0].encode() if isinstance(args[0], str) else bytes(args[0]),)  # type: ignore[arg-type]
        vals = tuple(args) + (0,) * (nfields - len(args))
        if len(vals) != nfields:
            raise ValueError(f"{name} takes {nfields} fields, got {len(args)}")
        self.now += dt
        rec = Record(self.now, cpu, eid, vals, -1)
        self.per_cpu.setdefault(cpu, []).append(rec)
        return rec

    def records(self) -> list[Record]:
        """All records merged by TSC (the order the reader should produce)."""
        return sorted((r for rs in self.per_cpu.values() for r in rs), key=lambda r: r.tsc)

    def frames(self, per_frame: int = 8) -> list[tuple[int, bytes]]:
        """(cpu, frame bytes) per frame, each CPU's frames in seq order."""
        out = []
        for cpu in sorted(self.per_cpu):
            recs = self.per_cpu[cpu]
            for seq, k in enumerate(range(0, len(recs), per_frame)):
                out.append((cpu, encode_frame(cpu, seq, recs[k:k + per_frame])))
        return out

    def serial(self, per_frame: int = 8, interleave: str = "tsc") -> bytes:
        """The bytes a serial capture would hold.

        interleave="tsc": frames ordered by their first record's TSC (a drain
        that keeps up); "cpu": all of CPU 0's frames, then CPU 1's (a drain
        that empties one ring at a time: the merge must look ahead).
        """
        frames = []
        for cpu in sorted(self.per_cpu):
            recs = self.per_cpu[cpu]
            for seq, k in enumerate(range(0, len(recs), per_frame)):
                chunk = recs[k:k + per_frame]
                frames.append((chunk[0].tsc if interleave == "tsc" else cpu, cpu, seq, encode_frame(cpu, seq, chunk)))
        frames.sort(key=lambda f: (f[0], f[1], f[2]))
        return b"".join(f[3] for f in frames)

    def ring_dump(self, nslots: int = 64, consumed: dict[int, int] | None = None,
                  torn: dict[int, int] | None = None, dropped: dict[int, int] | None = None) -> bytes:
        """trace_rings as a pmemsave would show it: one ring per CPU.

        consumed[cpu]: records already drained (tail); torn[cpu]: reserved
        slots past the committed ones whose type is still 0; dropped[cpu]:
        the ring's dropped counter.
        """
        consumed, torn, dropped = consumed or {}, torn or {}, dropped or {}
        out = bytearray()
        for cpu in range(self.ncpus):
            recs = self.per_cpu.get(cpu, [])
            tail = consumed.get(cpu, 0)
            live = recs[tail:]
            if len(live) + torn.get(cpu, 0) > nslots:
                raise ValueError(f"cpu {cpu}: {len(live)} live records do not fit {nslots} slots")
            commit = len(recs)
            reserve = commit + torn.get(cpu, 0)
            slots = [bytes(SLOT.size)] * nslots
            for idx, r in enumerate(recs):
                if idx >= tail:
                    slots[idx & (nslots - 1)] = ring_slot(r)
            out += RING_HEADER.pack(RING_MAGIC, cpu, nslots, reserve, commit, tail,
                                    dropped.get(cpu, 0), 0, 0)
            out += b"".join(slots)
        return bytes(out)


def ring_slot(r: Record) -> bytes:
    """A 40-byte ring record (docs/trace-format.md, 'Ring record')."""
    if r.type == TEXT_ID:
        raw = bytes(r.args[0])[:24]
        return SLOT.pack(r.type, len(raw), 0, 0, r.tsc, 0, 0, 0)[:16] + raw.ljust(24, b"\0")
    a = [v & U64 for v in r.args] + [0] * (3 - len(r.args))
    return SLOT.pack(r.type, 0, 0, 0, r.tsc, *a)


def concat_frames(frames: Iterable[bytes]) -> bytes:
    return b"".join(frames)
