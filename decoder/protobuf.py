"""Protocol Buffers wire encoding, the little of it a Perfetto trace needs
(https://protobuf.dev/programming-guides/encoding/): varint and length-delimited
fields.  By hand because Debian's python3-protobuf would be a dependency for
forty lines, and a trace writer needs no schema at run time."""
from __future__ import annotations

VARINT, LEN = 0, 2


def _encode(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# Field keys, lengths, enum values and small counts are nearly every varint a trace
# writes: looking them up is several times faster than encoding them.
_SMALL = [_encode(v) for v in range(1 << 14)]


def varint(value: int) -> bytes:
    """Base-128, low group first.  Negative values as their 64-bit two's complement
    (protobuf's int32/int64), which is ten bytes: callers here only pass >= 0."""
    if 0 <= value < 1 << 14:
        return _SMALL[value]
    return _encode(value & ((1 << 64) - 1))


def key(field: int, wire_type: int) -> bytes:
    return varint(field << 3 | wire_type)


def uint(field: int, value: int) -> bytes:
    return key(field, VARINT) + varint(value)


def blob(field: int, data: bytes) -> bytes:
    """A length-delimited field: bytes, a string's UTF-8, or an embedded message."""
    return key(field, LEN) + varint(len(data)) + data


def string(field: int, text: str) -> bytes:
    return blob(field, text.encode("utf-8", "backslashreplace"))
