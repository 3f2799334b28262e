"""Wire primitives: varints, zigzag, COBS, frame parsing and its errors."""
from __future__ import annotations

import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decoder.defs import EVENT_IDS
from decoder.records import Loss, Record
from tests.support.synth import encode_frame, encode_records, frame_from_body
from decoder.wire import (FrameError, PartialFrame, cobs_decode, cobs_encode, decode_uvarint, encode_uvarint,
                          parse_payload, zigzag_decode, zigzag_encode)

U64 = (1 << 64) - 1


@settings(max_examples=200)
@given(st.integers(0, U64))
def test_uvarint_round_trip(v: int) -> None:
    enc = encode_uvarint(v)
    assert decode_uvarint(enc + b"\x05", 0) == (v, len(enc))


@settings(max_examples=200)
@given(st.integers(-(1 << 63), (1 << 63) - 1))
def test_zigzag_round_trip(v: int) -> None:
    z = zigzag_encode(v)
    assert z >= 0 and zigzag_decode(z) == v


def test_varint_errors_name_the_problem() -> None:
    with pytest.raises(FrameError, match="runs past the end"):
        decode_uvarint(b"\x80\x80", 0)
    with pytest.raises(FrameError, match="exceeds 64 bits"):
        decode_uvarint(b"\xff" * 10 + b"\x01", 0)


@settings(max_examples=300)
@given(st.binary(max_size=700))
def test_cobs_round_trip_and_no_zero(data: bytes) -> None:
    enc = cobs_encode(data)
    assert b"\0" not in enc
    assert cobs_decode(enc) == data


@pytest.mark.parametrize("data", [b"\0" * 3, b"x" * 254, b"x" * 254 + b"\0", b"x" * 508, b"\0" + b"y" * 300])
def test_cobs_edge_lengths(data: bytes) -> None:
    assert cobs_decode(cobs_encode(data)) == data


def test_cobs_truncated_block_is_reported() -> None:
    with pytest.raises(FrameError) as e:
        cobs_decode(b"\x05ab")
    assert e.value.kind == "garbage"


def _payload(frame: bytes) -> bytes:
    assert frame.endswith(b"\0")
    return cobs_decode(frame[:-1])


def test_frame_layout_matches_the_spec_by_hand() -> None:
    # docs/trace-format.md: version, cpu, tsc_shift, uvarint seq, uvarint tsc_base, records, crc32;
    # the reason is a `d` field (zigzag delta from 0 in a new frame), the rip a zigzag delta.
    rec = Record(1000, 3, EVENT_IDS["INTERCEPT_ENTER"], (0x81, 0x105))
    p = _payload(encode_frame(3, 2, [rec]))
    body = bytes([2, 3, 0, 2]) + encode_uvarint(1000) + bytes([6, 0]) + encode_uvarint(0x81 * 2) + encode_uvarint(0x105 * 2)
    assert p == body + zlib.crc32(body).to_bytes(4, "little")


def test_timestamps_in_units_and_repeated_fields_cost_one_byte() -> None:
    # At 2^6-cycle units a TSC decodes cut to its unit (never later than it was), and a
    # repeated exit reason (`d`) and RIP cost a byte each: ENTER 4 bytes, LEAVE 3.
    E = EVENT_IDS
    recs = [Record(0x10000 + 100 * i + i % 7, 2, E["INTERCEPT_LEAVE" if i % 2 else "INTERCEPT_ENTER"],
                   (0x81,) if i % 2 else (0x81, 0xFFFFFFFF81000010)) for i in range(8)]
    p = _payload(encode_frame(2, 0, recs, tsc_shift=6))
    assert p[2] == 6
    _, _, items, mono = parse_payload(p)
    assert mono and [tuple(r[1:4]) for r in items] == [tuple(r[1:4]) for r in recs]
    assert [r.tsc for r in items] == [r.tsc >> 6 << 6 for r in recs]
    once = len(_payload(encode_frame(2, 0, recs[:2], tsc_shift=6)))
    assert len(p) - once == 3 * (4 + 3)


def test_d_fields_track_each_event_and_field_apart() -> None:
    # PAL_ENTER's region and param and PAL_EXIT's region each keep their own previous value;
    # values going down and wrapping past 2^64 come back exact.
    E = EVENT_IDS
    recs = [Record(10, 0, E["PAL_ENTER"], (0x2400000, 5, 0x200190F)),
            Record(11, 0, E["PAL_EXIT"], (0x2400000, 4101, 0)),
            Record(12, 0, E["PAL_ENTER"], (0x2400000, 4, 0x200190F)),
            Record(13, 0, E["PAL_EXIT"], (0x2405000, U64, 0)),
            Record(14, 0, E["PAL_ENTER"], (0, 0, 0x200190F))]
    _, _, items, _ = parse_payload(_payload(encode_frame(0, 0, recs)))
    assert [tuple(r[:4]) for r in items] == [tuple(r[:4]) for r in recs]


def test_parse_frame_round_trip_all_encodings() -> None:
    E = EVENT_IDS
    recs = [Record(10, 1, E["INTERCEPT_ENTER"], (0x81, 0xFFFFFFFF81000000)),
            Record(15, 1, E["TEXT"], (b"hello|world\n",)),
            Record(15, 1, E["NPF"], (0xFEE00000, 7, 0x1000)),  # rip goes down: negative delta
            Record(99, 1, E["HOST_NMI"], (3, 1, 2)),
            Record(99, 1, E["TEXT"], (b"",)),
            Record(200, 1, E["PANIC"], (1, U64, 0xFFFFFFFFFFFFFFF0))]
    cpu, seq, items, mono = parse_payload(_payload(encode_frame(1, 7, recs)))
    assert (cpu, seq, mono) == (1, 7, True)
    assert [tuple(r[:4]) for r in items] == [tuple(r[:4]) for r in recs]


def test_lost_record_becomes_loss_item() -> None:
    recs = [Record(10, 0, EVENT_IDS["LOST"], (42,)), Record(11, 0, EVENT_IDS["INTERCEPT_LEAVE"], (0x81,))]
    _, _, items, _ = parse_payload(_payload(encode_frame(0, 0, recs)), 123)
    assert type(items[0]) is Loss and items[0].kind == "lost" and items[0].count == 42 and items[0].offset == 123
    assert type(items[1]) is Record


def test_crc_mismatch_is_a_frame_error() -> None:
    p = bytearray(_payload(encode_frame(0, 0, [Record(5, 0, EVENT_IDS["CPU_UP"], (0, 0))])))
    p[4] ^= 0x40
    with pytest.raises(FrameError) as e:
        parse_payload(bytes(p))
    assert e.value.kind == "crc"


def test_short_and_bad_version_frames() -> None:
    with pytest.raises(FrameError) as e:
        parse_payload(b"\x01\x00\x00")
    assert e.value.kind == "truncated"
    body = bytes([9, 0, 0, 0, 0])
    with pytest.raises(FrameError, match="version 9"):
        parse_payload(body + zlib.crc32(body).to_bytes(4, "little"))


def test_unknown_event_keeps_records_before_it() -> None:
    good = encode_records([Record(10, 0, EVENT_IDS["INTERCEPT_LEAVE"], (0x81,))], 10)
    frame = frame_from_body(0, 0, 10, good + bytes([99, 0, 1, 2]))
    with pytest.raises(PartialFrame) as e:
        parse_payload(_payload(frame))
    assert e.value.kind == "unknown_event" and len(e.value.records) == 1 and "event id 99" in e.value.detail


def test_record_cut_short_is_malformed_partial() -> None:
    body = encode_records([Record(10, 0, EVENT_IDS["CPU_UP"], (0, 0))], 10)
    frame = frame_from_body(0, 0, 10, body + bytes([EVENT_IDS["HOST_NMI"], 0, 1]))
    with pytest.raises(PartialFrame) as e:
        parse_payload(_payload(frame))
    assert e.value.kind == "malformed" and len(e.value.records) == 1


def test_text_length_past_end_is_malformed() -> None:
    frame = frame_from_body(0, 0, 10, bytes([EVENT_IDS["TEXT"], 0, 30]) + b"abc")
    with pytest.raises(PartialFrame, match="TEXT of 30 bytes"):
        parse_payload(_payload(frame))


def test_tsc_going_backwards_wraps_and_is_flagged() -> None:
    E = EVENT_IDS
    recs = [Record(1000, 0, E["CPU_UP"], (0, 0)), Record(400, 0, E["CPU_UP"], (1, 1)), Record(500, 0, E["LOST"], (2,))]
    _, _, items, mono = parse_payload(_payload(encode_frame(0, 0, recs)))
    assert not mono and [i[0] for i in items] == [1000, 400, 500]


def test_text_ending_in_a_high_byte_can_end_a_frame() -> None:
    # A frame's last bytes are TEXT's, not a varint: UTF-8 ends in bytes >= 0x80.
    E = EVENT_IDS
    recs = [Record(10, 0, E["INTERCEPT_LEAVE"], (0x81,)), Record(11, 0, E["TEXT"], ("café".encode(),))]
    _, _, items, _ = parse_payload(_payload(encode_frame(0, 0, recs)))
    assert [tuple(r[:4]) for r in items] == [tuple(r[:4]) for r in recs]


def test_a_record_cut_inside_its_last_varint_is_malformed() -> None:
    good = encode_records([Record(10, 0, EVENT_IDS["INTERCEPT_LEAVE"], (0x81,))], 10)
    frame = frame_from_body(0, 0, 10, good + bytes([EVENT_IDS["CPU_UP"], 0, 1, 0x85]))
    with pytest.raises(PartialFrame) as e:
        parse_payload(_payload(frame))
    assert e.value.kind == "malformed" and len(e.value.records) == 1
