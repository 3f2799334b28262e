"""What the reader says about frames it cannot use: one function per loss report.

Both readers build their losses here -- the Python one (decoder/reader.py) and the C
one (decoder/cwire.py, for decoder/native/) -- so both say the same thing in the
same words, and the limits below are the ones the C code is checked against.
"""
from __future__ import annotations

from decoder.records import Loss

PREVIEW = 48  # bytes of a bad piece quoted in its loss
# Frames this far behind their CPU's newest are taken for duplicates unseen.
SEQ_WINDOW = 1024
# A piece longer than this (a frame is at most ~1031 bytes encoded) is reported as
# garbage undecoded, so a reader need not hold an unbounded piece (the C reader
# keeps only its head: decoder/native/wire.h HW_MAX_PIECE).
MAX_PIECE = 1 << 16


def piece_loss(offset: int, head: bytes, size: int, first: bool, terminated: bool, kind: str,
               detail: str) -> Loss:
    """A piece that is not a frame; head = its first PREVIEW bytes."""
    if not terminated or first:
        kind = "truncated"
    where = "start of input" if first else "end of input" if not terminated else ""
    preview = f"starts {head!r}" + ("..." if size > PREVIEW else "")
    detail = f"{detail}; {where}; {preview}" if where else f"{detail}; {preview}"
    return Loss(0, None, kind, size, "bytes", offset, detail)


def oversize_detail(size: int) -> str:
    return f"{size} bytes without a delimiter, longer than any frame (at most {MAX_PIECE} decoded)"


def gap_loss(tsc: int, cpu: int, expect: int, seq: int, offset: int) -> Loss:
    return Loss(tsc, cpu, "seq_gap", seq - expect, "frames", offset,
                f"frames {expect}..{seq - 1} of cpu {cpu} missing")


def partial_loss(tsc: int, cpu: int, kind: str, detail: str, seq: int, offset: int) -> Loss:
    return Loss(tsc, cpu, kind, 1, "frames", offset, f"{detail}; rest of frame {seq} skipped")


def retransmit_loss(tsc: int, cpu: int, seq: int, had: int, n: int, offset: int) -> Loss:
    return Loss(tsc, cpu, "duplicate", 1, "frames", offset,
                f"frame seq {seq} of cpu {cpu} sent again (panic flush): {had} records repeated, "
                f"{n - had} new kept")


def duplicate_loss(tsc: int, cpu: int, seq: int, expect: int, offset: int) -> Loss:
    return Loss(tsc, cpu, "duplicate", 1, "frames", offset,
                f"frame seq {seq} of cpu {cpu} already seen (next expected {expect}); skipped")
