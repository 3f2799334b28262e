"""Wire format primitives (docs/trace-format.md): COBS, varints, CRC, frames.

The hot path avoids per-byte Python loops: a compiled regex splits a frame's
body into varint tokens in C, a memo dict maps each token to its value (most
tokens repeat: small deltas, exit reasons, zeros), and the record walk only
touches whole values.
"""
from __future__ import annotations

import re
import zlib

from decoder.defs import EVENTS
from decoder.records import LOST_ID, TEXT_ID, Item, Loss, Record

VERSION = 2
U64 = (1 << 64) - 1
HEADER_MIN = 3 + 1 + 1 + 4  # version, cpu, tsc_shift, seq, tsc_base, crc
# One varint: any continuation bytes, then one terminating byte.
_VARINT = re.compile(rb"[\x80-\xff]*[\x00-\x7f]", re.S)
_CACHE_LIMIT = 1 << 17


class FrameError(Exception):
    """A frame that cannot be used; kind is a decoder.records.LOSS_KINDS key."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class PartialFrame(Exception):
    """Records decoded before a point the rest of the frame cannot pass."""

    def __init__(self, kind: str, detail: str, cpu: int, seq: int, records: list, tsc: int) -> None:
        super().__init__(detail)
        self.monotonic = tsc <= U64
        if not self.monotonic:
            records, tsc = [r._replace(tsc=r[0] & U64) for r in records], tsc & U64
        self.kind, self.detail, self.cpu, self.seq, self.records, self.tsc = kind, detail, cpu, seq, records, tsc


# ---- varint / zigzag -------------------------------------------------------

def encode_uvarint(value: int) -> bytes:
    if value < 0 or value > U64:
        raise ValueError(f"uvarint out of range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def varint_value(tok: bytes) -> int:
    """Value of one complete LEB128 token (last byte < 0x80)."""
    if len(tok) > 10:
        raise FrameError("malformed", f"varint of {len(tok)} bytes exceeds 64 bits")
    value = 0
    for shift, b in enumerate(tok):
        value |= (b & 0x7F) << (7 * shift)
    if value > U64:
        raise FrameError("malformed", "varint exceeds 64 bits")
    return value


def decode_uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    """(value, next position); FrameError if the varint runs off the end."""
    m = _VARINT.match(buf, pos)
    if m is None:
        raise FrameError("malformed", f"varint at offset {pos} runs past the end")
    return varint_value(m.group()), m.end()


def zigzag_encode(value: int) -> int:
    return (value << 1) ^ (value >> 63) if value < 0 else value << 1


def zigzag_decode(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


class _VarintMemo(dict):
    """token -> value; values repeat (deltas, reasons, RIPs of a loop), so most
    lookups stay in C.  When full it starts over from the 1-2 byte tokens,
    keeping memory bounded whatever the trace holds."""

    def __missing__(self, tok: bytes) -> int:
        n = len(tok)
        if n > 10:
            raise FrameError("malformed", f"varint of {n} bytes exceeds 64 bits")
        value = shift = 0
        for b in tok:
            value |= (b & 0x7F) << shift
            shift += 7
        if value > U64:
            raise FrameError("malformed", "varint exceeds 64 bits")
        if len(self) >= _CACHE_LIMIT:
            self.clear()
            self.update(_SHORT)
        self[tok] = value
        return value


_SHORT: dict[bytes, int] = {}
for _b in range(0x80):
    _SHORT[bytes((_b,))] = _b
    for _h in range(0x80, 0x100):
        _SHORT[bytes((_h, _b))] = (_h & 0x7F) | (_b << 7)
_memo = _VarintMemo(_SHORT)
_value_of = _memo.__getitem__


def _values(toks: list[bytes]) -> list[int]:
    """The tokens' values up to the first that is no 64-bit varint (over 10 bytes, or
    above 2^64-1).  The tokens run over the whole rest of the frame, TEXT bytes
    included, so a bad one may sit where no varint is read: only a walk that reaches
    it finds the frame cut short there.  (Failing the frame at once dropped a valid
    frame whose TEXT held ten high bytes in a row: tests/decoder, trace/tests/test_frame.c.)"""
    try:
        return list(map(_value_of, toks))
    except FrameError:
        out: list[int] = []
        for tok in toks:
            try:
                out.append(_value_of(tok))
            except FrameError:
                break
        return out

# ---- COBS -------------------------------------------------------------------

def cobs_encode(data: bytes) -> bytes:
    out = bytearray()
    for chunk in _cobs_chunks(data):
        out.append(len(chunk) + 1)
        out += chunk
    return bytes(out)


def _cobs_chunks(data: bytes) -> list[bytes]:
    # Split at zeros, then cut runs longer than 254 (code 0xFF = 254 bytes, no implied zero).
    chunks: list[bytes] = []
    parts = data.split(b"\0")
    for k, part in enumerate(parts):
        while len(part) >= 254:
            chunks.append(part[:254])
            part = part[254:]
            if not part and k == len(parts) - 1:
                return chunks
        chunks.append(part)
    return chunks


def cobs_decode(enc: bytes) -> bytes:
    """Inverse of cobs_encode for one frame without its 0x00 delimiter."""
    out = bytearray()
    i, n = 0, len(enc)
    while i < n:
        code = enc[i]
        if code == 0:
            raise FrameError("garbage", f"zero code byte at offset {i}")
        j = i + code
        if j > n:
            # Mid-stream this is not a frame at all; the reader calls it
            # truncated when the piece is the first or last of the input.
            raise FrameError("garbage", f"COBS block at offset {i} wants {code - 1} bytes, {n - i - 1} left")
        out += enc[i + 1:j]
        if code != 0xFF and j < n:
            out.append(0)
        i = j
    return bytes(out)


# ---- frames -----------------------------------------------------------------

def crc_of(body: bytes) -> bytes:
    return zlib.crc32(body).to_bytes(4, "little")


# Event id -> shape code for the record walk: 1..3 plain u fields, 4 = (d, rip)
# as in INTERCEPT_ENTER (the commonest record), 8 = (d,) as in INTERCEPT_LEAVE
# and the quiesce epochs, then generic, LOST and TEXT.
def _shape(fields: tuple[tuple[str, str], ...]) -> int:
    encs = tuple(enc for _, enc in fields)
    if encs and all(e == "u" for e in encs):
        return len(encs)
    return {("d", "rip"): 4, ("d",): _S_D1}.get(encs, 0)


_S_GENERIC, _S_LOST, _S_TEXT, _S_D1 = 5, 6, 7, 8
_SHAPES: list[int] = [0] * 128  # event id -> shape; 0 = not an event
for _ev in EVENTS.values():
    _SHAPES[_ev.id] = (_S_TEXT if _ev.id == TEXT_ID else _S_LOST if _ev.id == LOST_ID
                       else _shape(_ev.fields) or _S_GENERIC)
# Generic events: (field count, rip field indexes, d field indexes).
_GENERIC: dict[int, tuple[int, tuple[int, ...], tuple[int, ...]]] = {
    ev.id: (len(ev.fields),
            tuple(k for k, (_, enc) in enumerate(ev.fields) if enc == "rip"),
            tuple(k for k, (_, enc) in enumerate(ev.fields) if enc == "d"))
    for ev in EVENTS.values() if ev.id not in (TEXT_ID, LOST_ID)
}
_NO_PREV = [0] * (3 * len(_SHAPES))  # per frame: a `d` field's previous value, at 3 * id + k
_new = tuple.__new__


def _unwrap(items: list[Item]) -> list[Item]:
    """TSCs modulo 2^64 (dt is a wrapping difference: a TSC that went backwards)."""
    return [it._replace(tsc=it[0] & U64) for it in items]


def parse_payload(p: bytes, offset: int = -1) -> tuple[int, int, list[Item], bool]:
    """(cpu, seq, items, monotonic) of one COBS-decoded frame payload.

    monotonic is False when a TSC went backwards inside the frame (the dt
    wrapped modulo 2^64): the merge must then keep the frame's order as is.

    LOST records come out as Loss items (offset = where the frame starts in
    the input).  Raises FrameError when nothing in the frame can be trusted
    (CRC, version, header) and PartialFrame when items decoded before an
    unknown event id or a malformed record are still good (the CRC vouched
    for the bytes).
    """
    n = len(p)
    if n < HEADER_MIN:
        raise FrameError("truncated", f"frame of {n} bytes is shorter than the {HEADER_MIN}-byte minimum")
    end = n - 4
    if zlib.crc32(p[:end]) != int.from_bytes(p[end:], "little"):
        raise FrameError("crc", f"CRC mismatch over {end} bytes")
    if p[0] != VERSION:
        raise FrameError("malformed", f"frame version {p[0]}, expected {VERSION}")
    cpu, sh = p[1], p[2]
    if sh > 63:
        raise FrameError("malformed", f"timestamp unit 2^{sh} cycles")
    toks = _VARINT.findall(p, 3, end)
    vals = _values(toks)
    if len(vals) < 2:
        raise FrameError("malformed", "frame header lacks seq/tsc_base")
    seq, tsc = vals[0], vals[1]  # tsc in units of 2^sh cycles until it goes into a record
    recs: list[Item] = []
    append = recs.append
    shapes = _SHAPES
    prev = _NO_PREV.copy()
    i, m, rip, base, t = 2, len(vals), 0, 3, 0
    # Bounds are checked by IndexError: a record cut short ends the loop there.
    try:
        while i < m:
            t = vals[i]
            shape = shapes[t]
            if shape == 4:
                tsc += vals[i + 1]
                d = vals[i + 2]
                r = prev[3 * t] = (prev[3 * t] + ((d >> 1) ^ -(d & 1))) & U64
                d = vals[i + 3]
                rip = (rip + ((d >> 1) ^ -(d & 1))) & U64
                append(_new(Record, (tsc << sh, cpu, t, (r, rip), seq)))
                i += 4
            elif shape == _S_D1:
                tsc += vals[i + 1]
                d = vals[i + 2]
                r = prev[3 * t] = (prev[3 * t] + ((d >> 1) ^ -(d & 1))) & U64
                append(_new(Record, (tsc << sh, cpu, t, (r,), seq)))
                i += 3
            elif shape == 1:
                tsc += vals[i + 1]
                append(_new(Record, (tsc << sh, cpu, t, (vals[i + 2],), seq)))
                i += 3
            elif shape == 3:
                tsc += vals[i + 1]
                append(_new(Record, (tsc << sh, cpu, t, (vals[i + 2], vals[i + 3], vals[i + 4]), seq)))
                i += 5
            elif shape == 2:
                tsc += vals[i + 1]
                append(_new(Record, (tsc << sh, cpu, t, (vals[i + 2], vals[i + 3]), seq)))
                i += 4
            elif shape == _S_GENERIC:
                nf, rips, deltas = _GENERIC[t]
                j = i + 2 + nf
                if j > m:
                    raise IndexError(j)
                tsc += vals[i + 1]
                a = vals[i + 2:j]
                for k in rips:
                    d = a[k]
                    rip = (rip + ((d >> 1) ^ -(d & 1))) & U64
                    a[k] = rip
                for k in deltas:
                    d = a[k]
                    a[k] = prev[3 * t + k] = (prev[3 * t + k] + ((d >> 1) ^ -(d & 1))) & U64
                append(_new(Record, (tsc << sh, cpu, t, tuple(a), seq)))
                i = j
            elif shape == _S_LOST:
                tsc += vals[i + 1]
                append(Loss(tsc << sh, cpu, "lost", vals[i + 2], "records", offset, f"ring full (frame {seq})"))
                i += 3
            elif shape == _S_TEXT:
                tsc += vals[i + 1]
                off = base + sum(map(len, toks[:i + 2]))
                ln = p[off] if off < end else 0
                if off >= end or off + 1 + ln > end:
                    raise PartialFrame("malformed", f"TEXT of {ln} bytes runs past the frame", cpu, seq, recs,
                                       tsc << sh)
                append(_new(Record, (tsc << sh, cpu, t, (p[off + 1:off + 1 + ln],), seq)))
                base = off + 1 + ln
                toks = _VARINT.findall(p, base, end)
                vals = _values(toks)
                i, m = 0, len(vals)
            else:
                raise IndexError(t)
    except IndexError:
        if t >= len(shapes) or not shapes[t]:
            raise PartialFrame("unknown_event", f"event id {t} at record {len(recs)}", cpu, seq, recs,
                               tsc << sh) from None
        raise PartialFrame("malformed", f"record {len(recs)} (event {t}) cut short", cpu, seq, recs,
                           tsc << sh) from None
    tsc <<= sh
    if tsc > U64:
        return cpu, seq, _unwrap(recs), False
    return cpu, seq, recs, True
