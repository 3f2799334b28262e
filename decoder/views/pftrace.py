"""perfetto --format proto: Perfetto's native protobuf trace (.pftrace), which
ui.perfetto.dev and trace_processor load without the JSON importer's limits
(the JSON must be parsed whole; this is a stream of small packets).

The events are decoder/views/trace_events.py's, the same the JSON holds.  Tracks:
one root ("Heisenvisor"), under it one track per CPU (slices: intercepts and host
exceptions; instants: everything else and loss) and, from its first quiesce, a
"CPU n quiesce" track beside it; "wire" holds loss no CPU can be named for.
Timestamps are nanoseconds since BOOT (from its tsc_khz; 1 GHz assumed without
one), clamped at 0 for the rare item stamped before BOOT: the format has no
negative times.

Field numbers are from Perfetto's protos/perfetto/trace/ (trace.proto,
trace_packet.proto, track_event/track_event.proto, track_descriptor.proto,
debug_annotation.proto); the numbers of a published proto never change.
"""
from __future__ import annotations

import io
from functools import lru_cache
from typing import BinaryIO, Iterable, TextIO

from decoder.protobuf import blob, string, uint
from decoder.records import Item
from decoder.views.timebase import timebase_for
from decoder.views.trace_events import WIRE, Event, events, observed

# Trace
TRACE_PACKET = 1
# TracePacket
TIMESTAMP, SEQUENCE_ID, TRACK_EVENT, SEQUENCE_FLAGS, TRACK_DESCRIPTOR = 8, 10, 11, 13, 60
SEQ_INCREMENTAL_STATE_CLEARED = 1
# TrackDescriptor
TD_UUID, TD_NAME, TD_PARENT, TD_CHILD_ORDERING, TD_RANK = 1, 2, 5, 11, 12
CHILD_ORDERING_EXPLICIT = 3
# TrackEvent
TE_ANNOTATIONS, TE_TYPE, TE_TRACK, TE_CATEGORIES, TE_NAME = 4, 9, 11, 22, 23
SLICE_BEGIN, SLICE_END, INSTANT = 1, 2, 3
# DebugAnnotation
DA_INT, DA_STRING, DA_NAME = 4, 6, 10

SEQUENCE = 1
ROOT_UUID = 1
_TYPE = {"B": SLICE_BEGIN, "b": SLICE_BEGIN, "E": SLICE_END, "e": SLICE_END, "i": INSTANT}


def cpu_track(tid: int) -> int:
    return 0x100 + tid


def quiesce_track(tid: int) -> int:
    return 0x10000 + tid


def _rank(tid: int, quiesce: bool) -> int:
    return 2 * (tid if tid != WIRE else 1 << 20) + quiesce


_SEQ = uint(SEQUENCE_ID, SEQUENCE)


def _packet(body: bytes) -> bytes:
    return blob(TRACE_PACKET, body + _SEQ)


# Event names, categories and annotation names repeat from event to event; their
# encodings are kept (bounded) rather than redone.
_name = lru_cache(maxsize=8192)(lambda text: string(TE_NAME, text))
_category = lru_cache(maxsize=1024)(lambda text: string(TE_CATEGORIES, text))
_note_name = lru_cache(maxsize=256)(lambda text: string(DA_NAME, text))
_head = lru_cache(maxsize=4096)(lambda typ, track: uint(TE_TYPE, typ) + uint(TE_TRACK, track))


def _track(uuid: int, name: str, rank: int) -> bytes:
    return _packet(blob(TRACK_DESCRIPTOR, uint(TD_UUID, uuid) + string(TD_NAME, name) +
                        uint(TD_PARENT, ROOT_UUID) + uint(TD_RANK, rank)))


def _annotation(name: str, value: object) -> bytes:
    v = uint(DA_INT, value) if isinstance(value, int) and value >= 0 else string(DA_STRING, str(value))
    return blob(TE_ANNOTATIONS, _note_name(name) + v)


def _event(e: Event, ns: int, track: int) -> bytes:
    body = _head(_TYPE[e.ph], track)
    if e.cat:
        body += _category(e.cat)
    if e.name and e.ph not in "Ee":
        body += _name(e.name)
    for k, v in (e.args or {}).items():
        body += _annotation(k, v)
    return _packet(uint(TIMESTAMP, ns) + blob(TRACK_EVENT, body))


def binary_stream(out: TextIO | BinaryIO) -> BinaryIO:
    """The byte stream under out (a text file's buffer, or out itself if it takes bytes)."""
    if isinstance(out, (io.RawIOBase, io.BufferedIOBase)):
        return out  # type: ignore[return-value]
    raw = getattr(out, "buffer", None)
    if raw is None:
        raise ValueError("perfetto --format proto writes bytes: give it a file (-o trace.pftrace) or a binary stream")
    out.flush()
    return raw  # type: ignore[no-any-return]


def render_pftrace(items: Iterable[Item], out: TextIO | BinaryIO, **_: object) -> None:
    raw = binary_stream(out)
    tb = timebase_for(items)
    write = raw.write
    write(_packet(uint(SEQUENCE_FLAGS, SEQ_INCREMENTAL_STATE_CLEARED) +
                  blob(TRACK_DESCRIPTOR, uint(TD_UUID, ROOT_UUID) + string(TD_NAME, "Heisenvisor") +
                       uint(TD_CHILD_ORDERING, CHILD_ORDERING_EXPLICIT))))
    quiesce_tracks: set[int] = set()
    batch: list[bytes] = []
    for e in events(observed(items, tb)):
        if e.ph == "T":
            batch.append(_track(cpu_track(e.tid), e.name, _rank(e.tid, False)))
            continue
        if e.ph in "be":
            if e.tid not in quiesce_tracks:
                quiesce_tracks.add(e.tid)
                batch.append(_track(quiesce_track(e.tid), f"CPU {e.tid} quiesce", _rank(e.tid, True)))
            track = quiesce_track(e.tid)
        else:
            track = cpu_track(e.tid)
        batch.append(_event(e, max(0, round(tb.micros(e.tsc) * 1000)), track))
        if len(batch) >= 4096:
            write(b"".join(batch))
            batch.clear()
    write(b"".join(batch))
    raw.flush()
