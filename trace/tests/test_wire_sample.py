"""Cross-check of the C encoder against an independent Python reader of the wire format.

build/trace-sample (trace/tests/sample.c) writes frames made by the real ring, frame and
drain code, and with --expect the records they must decode to, read straight from the
rings.  This reader is written from docs/trace-format.md with zlib.crc32 and the
generated decoder/defs.py tables only; it shares no code with the C side.
"""
from __future__ import annotations

import json
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from decoder.defs import EVENTS, EVENT_IDS

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "build/trace-sample"
MASK64 = (1 << 64) - 1


class WireError(Exception):
    """A frame that does not decode: reported, never turned into records."""


@dataclass
class Record:
    cpu: int
    type: int
    tsc: int
    a: list[int] = field(default_factory=list)
    text: bytes = b""


@dataclass
class Frame:
    cpu: int
    seq: int
    tsc_shift: int
    records: list[Record]


def cobs_decode(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        code = data[i]
        i += 1
        if code == 0 or i + code - 1 > len(data):
            raise WireError(f"COBS code {code} at offset {i - 1} runs past the frame ({len(data)} bytes)")
        out += data[i:i + code - 1]
        i += code - 1
        if code != 0xFF and i < len(data):
            out.append(0)
    return bytes(out)


def uvarint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise WireError(f"varint at offset {pos} runs past the records")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value & MASK64, pos


def unzigzag(v: int) -> int:
    return (v >> 1) ^ -(v & 1)


def decode_frame(encoded: bytes) -> Frame:
    payload = cobs_decode(encoded)
    if len(payload) < 9:
        raise WireError(f"payload of {len(payload)} bytes is too short")
    body, crc = payload[:-4], int.from_bytes(payload[-4:], "little")
    if zlib.crc32(body) != crc:
        raise WireError("CRC mismatch")
    if body[0] != 2:
        raise WireError(f"version {body[0]}, expected 2")
    cpu, shift = body[1], body[2]
    seq, pos = uvarint(body, 3, len(body))
    tsc, pos = uvarint(body, pos, len(body))  # in units of 2^shift cycles
    rip = 0
    prev: dict[tuple[int, int], int] = {}  # `d` fields: (event, field index) -> last value
    records = []
    while pos < len(body):
        etype = body[pos]
        pos += 1
        if etype not in EVENTS:
            raise WireError(f"unknown event type {etype} at payload offset {pos - 1}")
        dt, pos = uvarint(body, pos, len(body))
        tsc = (tsc + dt) & MASK64
        rec = Record(cpu, etype, tsc << shift)
        for k, (_name, enc) in enumerate(EVENTS[etype].fields):
            if enc == "text":
                n = body[pos]
                if n > 24 or pos + 1 + n > len(body):
                    raise WireError(f"text of {n} bytes at payload offset {pos} runs past the records")
                rec.text = body[pos + 1:pos + 1 + n]
                pos += 1 + n
                continue
            v, pos = uvarint(body, pos, len(body))
            if enc == "d":
                v = prev[(etype, k)] = (prev.get((etype, k), 0) + unzigzag(v)) & MASK64
            elif enc == "rip":
                rip = (rip + unzigzag(v)) & MASK64
                v = rip
            rec.a.append(v)
        records.append(rec)
    return Frame(cpu, seq, shift, records)


def read_stream(stream: bytes) -> tuple[list[Frame], int]:
    """Frames that decode, and the number of non-empty pieces that did not."""
    frames, bad = [], 0
    pieces = stream.split(b"\x00")
    for piece in pieces[:-1]:  # the last piece has no delimiter yet
        if not piece:
            continue
        try:
            frames.append(decode_frame(piece))
        except WireError:
            bad += 1
    return frames, bad


def run_sample(*args: str) -> bytes:
    if not SAMPLE.exists():
        pytest.fail(f"{SAMPLE} is missing: run `make trace-sample` (make test-host builds it)")
    return subprocess.run([str(SAMPLE), *args], check=True, capture_output=True).stdout


@pytest.fixture(scope="module")
def sample() -> tuple[bytes, list[dict]]:
    expect = [json.loads(line) for line in run_sample("--expect").decode().splitlines()]
    return run_sample(), expect


def test_sample_decodes_to_the_ring_records(sample: tuple[bytes, list[dict]]) -> None:
    stream, expect = sample
    frames, bad = read_stream(stream)
    assert bad == 0
    got = [r for f in frames for r in f.records]
    assert len(got) == len(expect)
    shift = frames[0].tsc_shift
    assert shift > 0 and all(f.tsc_shift == shift for f in frames)  # the drain's unit, trace/frame.h
    for i, (r, e) in enumerate(zip(got, expect)):
        want = Record(e["cpu"], e["type"], e["tsc"] >> shift << shift, e.get("a", []), bytes.fromhex(e.get("text_hex", "")))
        assert r == want, f"record {i}: {r} != {want}"


def test_sample_frames_are_numbered_per_cpu(sample: tuple[bytes, list[dict]]) -> None:
    frames, _ = read_stream(sample[0])
    seqs: dict[int, list[int]] = {}
    for f in frames:
        seqs.setdefault(f.cpu, []).append(f.seq)
    assert sorted(seqs) == [0, 1, 2]
    for cpu, s in seqs.items():
        assert s == list(range(len(s))), f"cpu {cpu}: frame seqs {s}"
    assert max(len(f.records) for f in frames) == 64  # CPU 0's backlog was split


def test_sample_covers_the_format(sample: tuple[bytes, list[dict]]) -> None:
    frames, _ = read_stream(sample[0])
    records = [r for f in frames for r in f.records]
    assert {r.type for r in records} == set(EVENTS)
    lost = [r.a[0] for r in records if r.type == EVENT_IDS["LOST"]]
    assert lost == [24]  # CPU 2's 16-slot ring took 40 records
    text = b"".join(r.text for r in records if r.type == EVENT_IDS["TEXT"] and r.cpu == 2)
    assert b"a\x00b\x00c\n" in text
    assert (b"fmt: [  -42] [42   ] [-0042] [beef] [123456789abc] [ffffffffffffffff] [0x1000] [Z] [str] [%] [7]\n"
            in text)
    # The TSC step back on CPU 1 (dt wraps modulo 2^64) decodes to the exact value.
    cpu1 = [r.tsc for r in records if r.cpu == 1]
    assert any(b < a for a, b in zip(cpu1, cpu1[1:]))


def test_damaged_stream_never_decodes_wrong_records(sample: tuple[bytes, list[dict]]) -> None:
    stream = sample[0]
    good, _ = read_stream(stream)
    by_key = {(f.cpu, f.seq): f for f in good}
    import random
    rng = random.Random(4)
    for _ in range(300):
        damaged = bytearray(stream[rng.randrange(len(stream)):])  # start anywhere
        for _ in range(rng.randrange(1, 4)):
            if not damaged:
                break  # a one-byte tail, deleted: nothing left to damage
            pos = rng.randrange(len(damaged))
            action = rng.randrange(3)
            if action == 0:
                damaged[pos] ^= 1 << rng.randrange(8)
            elif action == 1:
                del damaged[pos]
            else:
                damaged.insert(pos, rng.randrange(256))
        frames, bad = read_stream(bytes(damaged))
        for f in frames:
            assert by_key[(f.cpu, f.seq)] == f
        assert bad >= 1 or len(frames) <= len(good)


def test_reader_rejects_corrupt_frames() -> None:
    with pytest.raises(WireError, match="COBS code"):
        decode_frame(b"\x05ab")
    with pytest.raises(WireError, match="CRC"):
        decode_frame(b"\x0a\x02\x00\x00\x00\x00\x01\x02\x03\x04")
