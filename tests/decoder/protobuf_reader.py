"""A protobuf wire-format reader for the tests: (field, wire type, value) triples,
with no schema, so a test checks the writer against the format itself."""
from __future__ import annotations

VARINT, I64, LEN, I32 = 0, 1, 2, 5


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data):
            raise ValueError("varint runs past the end")
        b = data[i]
        value |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return value, i
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    out: list[tuple[int, int, int | bytes]] = []
    i = 0
    while i < len(data):
        k, i = _varint(data, i)
        field, wt = k >> 3, k & 7
        if field == 0:
            raise ValueError(f"field number 0 at byte {i}")
        if wt == VARINT:
            v, i = _varint(data, i)
            out.append((field, wt, v))
        elif wt == LEN:
            n, i = _varint(data, i)
            if i + n > len(data):
                raise ValueError(f"field {field}: {n} bytes run past the end")
            out.append((field, wt, data[i:i + n]))
            i += n
        elif wt in (I64, I32):
            n = 8 if wt == I64 else 4
            out.append((field, wt, int.from_bytes(data[i:i + n], "little")))
            i += n
        else:
            raise ValueError(f"wire type {wt} (groups) at byte {i}")
    return out


def message(data: bytes) -> dict[int, list[int | bytes]]:
    """field number -> its values in order (repeated or not)."""
    m: dict[int, list[int | bytes]] = {}
    for f, _, v in fields(data):
        m.setdefault(f, []).append(v)
    return m
