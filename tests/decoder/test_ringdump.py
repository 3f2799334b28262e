"""Ring memory dumps (trace_rings) decode into the same items as the wire."""
from __future__ import annotations

import struct

import pytest

from decoder.api import records_from_ring_dump
from decoder.records import Loss, Record
from decoder.ringdump import HEADER, DumpError
from tests.decoder.traces import good_run


def _keys(items: list) -> list:
    return [tuple(i[:4]) for i in items if type(i) is Record]


def test_dump_round_trip_matches_serial_records() -> None:
    b = good_run(ncpus=3, rounds=2)
    items = records_from_ring_dump(b.ring_dump(nslots=128), ncpus=3)
    assert _keys(items) == [tuple(r[:4]) for r in b.records()]
    assert records_from_ring_dump(b.ring_dump(nslots=128)) == items  # ncpus=None: read until magic ends


def test_only_unconsumed_slots_and_torn_and_dropped() -> None:
    b = good_run(ncpus=2, rounds=2)
    n0 = len(b.per_cpu[0])
    items = records_from_ring_dump(b.ring_dump(nslots=64, consumed={0: n0 - 2}, torn={1: 2}, dropped={1: 9}))
    cpu0 = [i for i in items if type(i) is Record and i.cpu == 0]
    assert [tuple(r[:4]) for r in cpu0] == [tuple(r[:4]) for r in b.per_cpu[0][-2:]]
    losses = [(l.cpu, l.kind, l.count) for l in items if type(l) is Loss]
    assert sorted(losses) == [(1, "lost", 9), (1, "torn", 1), (1, "torn", 1)]


def test_ring_wraparound_uses_index_modulo_nslots() -> None:
    b = good_run(ncpus=1, rounds=3)
    n = len(b.per_cpu[0])
    items = records_from_ring_dump(b.ring_dump(nslots=16, consumed={0: n - 10}))
    assert _keys(items) == [tuple(r[:4]) for r in b.per_cpu[0][-10:]]


def test_text_and_signed_slots() -> None:
    from tests.support.synth import TraceBuilder
    b = TraceBuilder(1, boot=False)
    b.ev(0, "TEXT", "hello world, twenty-four!")
    items = records_from_ring_dump(b.ring_dump(nslots=4))
    assert items[0].args == (b"hello world, twenty-four"[:24],)


def test_bad_dumps_name_offset_and_field() -> None:
    b = good_run(ncpus=2, rounds=1)
    good = b.ring_dump(nslots=32)
    with pytest.raises(DumpError, match="offset 0: magic"):
        records_from_ring_dump(b"XXXXXXXX" + good[8:], ncpus=2)
    with pytest.raises(DumpError, match="no ring found"):
        records_from_ring_dump(b"\0" * 100)
    bad = bytearray(good)
    struct.pack_into("<I", bad, 12, 24)
    with pytest.raises(DumpError, match="offset 12: nslots 24"):
        records_from_ring_dump(bytes(bad), ncpus=1)
    with pytest.raises(DumpError, match="cpu 1 ring needs"):
        records_from_ring_dump(good[:-10], ncpus=2)
    bad = bytearray(good)
    struct.pack_into("<Q", bad, 32, 10**6)  # tail past commit
    with pytest.raises(DumpError, match="tail <= commit <= reserve"):
        records_from_ring_dump(bytes(bad), ncpus=1)
    assert HEADER.size == 64


def test_uninitialised_ring_is_skipped_when_ncpus_is_given() -> None:
    b = good_run(ncpus=3, rounds=1)
    dump = bytearray(b.ring_dump(nslots=64))
    ring = len(dump) // 3
    dump[ring:2 * ring] = bytes(ring)  # CPU 1 never set up its ring
    items = records_from_ring_dump(bytes(dump), ncpus=3)
    assert {i.cpu for i in items if type(i) is Record} == {0, 2}
    assert [(l.cpu, l.kind) for l in items if type(l) is Loss] == [(1, "garbage")]
    assert {i.cpu for i in records_from_ring_dump(bytes(dump)) if type(i) is Record} == {0}


def test_slots_the_drain_already_zeroed_are_not_loss() -> None:
    from decoder.ringdump import HEADER, SLOT_SIZE
    b = good_run(ncpus=1, rounds=1)
    dump = bytearray(b.ring_dump(nslots=64))
    dump[HEADER.size:HEADER.size + 2 * SLOT_SIZE] = bytes(2 * SLOT_SIZE)  # sent, tail not yet moved
    items = records_from_ring_dump(bytes(dump))
    assert not [i for i in items if type(i) is Loss]
    assert [tuple(i[:4]) for i in items] == [tuple(r[:4]) for r in b.per_cpu[0][2:]]


def test_misplaced_or_empty_dumps_say_why() -> None:
    b = good_run(ncpus=1, rounds=1)
    good = b.ring_dump(nslots=32)
    with pytest.raises(DumpError, match="all 4096 bytes are zero"):
        records_from_ring_dump(bytes(4096), ncpus=2)
    with pytest.raises(DumpError, match="a ring magic is at offset 128"):
        records_from_ring_dump(bytes(128) + good, ncpus=1)
