"""Streaming reader: serial bytes -> frames -> records and loss, merged by TSC.

Memory is bounded by the chunk size plus the merge lookahead, never by the
length of the input.
"""
from __future__ import annotations

import io
from itertools import chain
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, BinaryIO, Iterator, Sized

from decoder import cwire
from decoder.defs import EVENT_IDS
from decoder.frame_loss import (MAX_PIECE, PREVIEW, SEQ_WINDOW, duplicate_loss, gap_loss, oversize_detail,
                                partial_loss, piece_loss, retransmit_loss)
from decoder.merge import DEFAULT_LOOKAHEAD, Merger
from decoder.records import Item, Record
from decoder.wire import FrameError, PartialFrame, cobs_decode, parse_payload

CHUNK = 1 << 20
# The C decoder's and checker's reads (reused_reads): into one buffer, reused; a
# quarter of CHUNK is as fast to decode and a quarter of the pages to fault in.
C_CHUNK = 256 << 10
BOOT_ID = EVENT_IDS["BOOT"]


def iter_pieces(stream: BinaryIO, chunk: int = CHUNK) -> Iterator[tuple[int, bytes, bool, bool]]:
    """(offset, bytes between delimiters, is_first, is_terminated) for the whole stream."""
    carry = b""
    offset = 0
    first = True
    while True:
        data = stream.read(chunk)
        if not data:
            break
        pieces = (carry + data).split(b"\0") if carry else data.split(b"\0")
        carry = pieces.pop()
        for piece in pieces:
            yield offset, piece, first, True
            offset += len(piece) + 1
            first = False
    if carry:
        yield offset, carry, first, False


@dataclass
class ReaderStats:
    frames: int = 0
    bytes: int = 0
    records: int = 0
    losses: dict[str, int] = field(default_factory=dict)


class FrameReader:
    """Turns delimiter-separated pieces into per-CPU item runs (no merging)."""

    def __init__(self) -> None:
        self.next_seq: dict[int, int] = {}
        self.seen: dict[int, dict[int, int]] = {}  # cpu -> seq -> records in the frame
        self.last_monotonic = True
        self.stats = ReaderStats()

    def decode(self, offset: int, piece: bytes, first: bool, terminated: bool) -> tuple[int | None, list[Item]]:
        """(cpu or None when unattributable, items in ring order)."""
        self.stats.bytes += len(piece) + terminated
        if not piece:
            return None, []
        if len(piece) > MAX_PIECE:
            return None, [piece_loss(offset, piece[:PREVIEW], len(piece), first, terminated, "garbage",
                                     oversize_detail(len(piece)))]
        try:
            cpu, seq, items, monotonic = parse_payload(cobs_decode(piece), offset)
            bad: PartialFrame | None = None
        except PartialFrame as e:
            cpu, seq, items, monotonic, bad = e.cpu, e.seq, e.records, e.monotonic, e
        except FrameError as e:
            return None, [piece_loss(offset, piece[:PREVIEW], len(piece), first, terminated, e.kind, e.detail)]
        self.stats.frames += 1
        self.last_monotonic = monotonic
        expect = self.next_seq.get(cpu, 0)
        seen = self.seen.setdefault(cpu, {})
        if seq in seen or seq < expect - SEQ_WINDOW:
            return cpu, self._duplicate(cpu, seq, expect, items, offset, seen.get(seq))
        seen[seq] = len(items)
        if len(seen) > 2 * SEQ_WINDOW:
            self.seen[cpu] = {q: n for q, n in seen.items() if q >= expect - SEQ_WINDOW}
        if seq < expect:
            # An older frame arriving late (its gap was already reported): its
            # records are genuine (CRC), so keep them.
            self.stats.records += len(items)
            return cpu, items
        self.next_seq[cpu] = seq + 1
        self.stats.records += len(items)
        if seq > expect:
            tsc = items[0][0] if items else (bad.tsc if bad else 0)
            items.insert(0, gap_loss(tsc, cpu, expect, seq, offset))
        if bad is not None:
            items.append(partial_loss(items[-1][0] if items else bad.tsc, cpu, bad.kind, bad.detail, seq, offset))
        return cpu, items

    def _duplicate(self, cpu: int, seq: int, expect: int, items: list[Item], offset: int,
                   had: int | None) -> list[Item]:
        """A frame whose seq was seen: a duplicate, or a panic flush's retransmission.

        docs/trace-format.md: a retransmission repeats the earlier frame's
        records first and may carry more; those past the earlier count are new.
        """
        tsc = items[0][0] if items else 0
        if had is not None and len(items) > had:
            self.seen[cpu][seq] = len(items)
            self.stats.records += len(items) - had
            return [retransmit_loss(items[had][0], cpu, seq, had, len(items), offset)] + items[had:]
        return [duplicate_loss(tsc, cpu, seq, expect, offset)]


def _open(source: str | bytes | bytearray | memoryview | BinaryIO) -> BinaryIO:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    if isinstance(source, str):
        return open(source, "rb")
    return source


class StreamDecoder:
    """Pieces in, TSC-merged items out, one piece at a time: what read_batches does to
    a whole capture, for a caller that gets the bytes while the machine still runs
    (harness/judge/livecheck.py).  The same pieces in the same order give the same items,
    however the bytes were chunked."""

    def __init__(self, lookahead: int = DEFAULT_LOOKAHEAD, ncpus: int | None = None, merge: bool = True) -> None:
        self.frames = FrameReader()
        self.merger = Merger(lookahead)
        self.merge = merge
        if ncpus:
            self.merger.expect_cpus(ncpus)
        self.booted = bool(ncpus)

    def feed(self, offset: int, piece: bytes, first: bool, terminated: bool) -> list[Item]:
        cpu, items = self.frames.decode(offset, piece, first, terminated)
        return self.route(cpu, self.frames.last_monotonic, items)

    def route(self, cpu: int | None, monotonic: bool, items: list[Item]) -> list[Item]:
        """One piece's items (cpu None: one unattributable loss) into the merge."""
        if not items or not self.merge:
            return items
        if not self.booted:
            for it in items:
                if type(it) is Record and it.type == BOOT_ID:
                    self.merger.expect_cpus(int(it.args[0]))
                    self.booted = True
                    break
        if cpu is None:
            return self.merger.push_unattributed(items[0])  # type: ignore[arg-type]
        if not monotonic:
            return self.merger.push_in_order(cpu, items)
        return self.merger.push(cpu, items)

    def flush(self) -> list[Item]:
        return self.merger.flush() if self.merge else []


def read_batches(source: str | bytes | BinaryIO, lookahead: int = DEFAULT_LOOKAHEAD,
                 ncpus: int | None = None, merge: bool = True) -> Iterator[list[Item]]:
    """Lists of items, concatenating to the TSC-ordered stream (see read_items).

    The C wire decoder does the decoding when it is built (decoder/cwire.py); its
    items are the Python reader's, item for item (tests/decoder/test_cwire_diff.py).
    """
    stream = _open(source)
    owned = isinstance(source, str)
    try:
        cw = cwire.load()
        if cw is not None:
            yield from c_batches(cw, stream, lookahead, ncpus, merge)
        else:
            yield from python_batches(stream, lookahead, ncpus, merge)
    finally:
        if owned:
            stream.close()


def python_batches(stream: BinaryIO, lookahead: int = DEFAULT_LOOKAHEAD, ncpus: int | None = None,
                   merge: bool = True) -> Iterator[list[Item]]:
    """read_batches with the Python reader (the reference)."""
    dec = StreamDecoder(lookahead, ncpus, merge)
    for offset, piece, first, terminated in iter_pieces(stream):
        out = dec.feed(offset, piece, first, terminated)
        if out:
            yield out
    if merge:
        yield dec.flush()


def c_batches(cw: ModuleType, stream: BinaryIO, lookahead: int = DEFAULT_LOOKAHEAD, ncpus: int | None = None,
              merge: bool = True) -> Iterator[list[Item]]:
    """read_batches with the C reader (cw: cwire.load()); the merge is the Python one."""
    dec = StreamDecoder(lookahead, ncpus, merge)  # its merge only: C did the frames
    cdec = cw.Decoder(Record, cwire.make_loss)
    for batch in _c_feed(cdec, stream):
        if not merge:
            yield batch.items()
            continue
        out: list[Item] = []
        for cpu, monotonic, items in batch.runs():
            out += dec.route(cpu, monotonic, items)
        if out:
            yield out
    if merge:
        yield dec.flush()


# Bytes per C batch.  A batch's items live together until the caller drops them: at
# 8 KiB (~1200 records) they fit in the allocator's warm arenas; at 1 MiB each batch
# faulted in ~40 MB of fresh pages and records/s fell from ~5.4 M to ~0.6 M
# (bench/bench_decoder.py, fresh 1 M trace).  Counting needs no objects: larger slices.
FEED_ITEMS = 8 << 10
FEED_COUNTS = 64 << 10


def reused_reads(stream: BinaryIO) -> Iterator[memoryview]:
    """The stream's bytes for the C decoder and checker, C_CHUNK at a time, each a view
    valid until the next one is asked for.

    One buffer is read into again and again where the stream can (the C side copies what
    it keeps): a fresh 1 MiB bytes object per chunk is 256 new pages, whose faults weigh
    on a capture of a few MiB as much as decoding it."""
    # the io classes whose readinto is their own (a RawIOBase subclass may define only read)
    buf = bytearray(C_CHUNK) if isinstance(stream, (io.BufferedReader, io.FileIO, io.BytesIO)) else None
    while True:
        if buf is not None:
            n = stream.readinto(buf)
            view = memoryview(buf)[:n or 0]
        else:
            view = memoryview(stream.read(C_CHUNK))
        if not view:
            return
        yield view


def _c_feed(cdec: Any, stream: BinaryIO, feed: int = FEED_ITEMS) -> Iterator[Any]:
    """The C decoder's non-empty batches for the whole stream."""
    for view in reused_reads(stream):
        for at in range(0, len(view), feed):
            batch = cdec.feed(view[at:at + feed])
            if len(batch):
                yield batch
    batch = cdec.finish()
    if len(batch):
        yield batch


def read_wire_batches(source: str | bytes | BinaryIO) -> Iterator[Sized]:
    """Arrival-order batches whose len() is their item count, for a caller that wants
    counts, not items (the wire benchmark): with the C decoder no item becomes a
    Python object; without it, the lists read_batches(merge=False) gives."""
    cw = cwire.load()
    if cw is None:
        yield from read_batches(source, merge=False)
        return
    stream = _open(source)
    try:
        yield from _c_feed(cw.Decoder(Record, cwire.make_loss), stream, FEED_COUNTS)
    finally:
        if isinstance(source, str):
            stream.close()


class ItemStream:
    """The items of read_batches, one at a time (an iterator), or, for a consumer
    that works a list at a time (the text view's C formatter), batches().  Use one
    or the other: both draw on the same batches."""

    def __init__(self, batches: Iterator[list[Item]], source: str | bytes | None = None,
                 lookahead: int = DEFAULT_LOOKAHEAD, ncpus: int | None = None) -> None:
        self._batches = batches
        self._items = chain.from_iterable(batches)
        # A capture that can be read again from its start (a path, or bytes), for a
        # consumer that decodes it in C itself (the text view: decoder/views/fast_text.py)
        self.source, self.lookahead, self.ncpus = source, lookahead, ncpus

    def __iter__(self) -> Iterator[Item]:
        self.source = None      # read from here on: no longer to be read again from its start
        self._drawn = True
        return self._items

    def __next__(self) -> Item:
        self.source = None
        self._drawn = True
        return next(self._items)

    def batches(self) -> Iterator[list[Item]]:
        self.source = None
        if getattr(self, "_drawn", False):
            # the chain may hold the rest of a batch: the items one by one, none lost
            return ([it] for it in self._items)
        return self._batches


def read_items(source: str | bytes | BinaryIO, lookahead: int = DEFAULT_LOOKAHEAD,
               ncpus: int | None = None, merge: bool = True) -> ItemStream:
    """Every record and loss item of a serial capture, ordered by TSC.

    merge=False yields items in arrival order (per CPU still in ring order).
    """
    again = source if merge and isinstance(source, (str, bytes)) else None
    return ItemStream(read_batches(source, lookahead, ncpus, merge), again, lookahead, ncpus)
