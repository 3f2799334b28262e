"""Streaming reader: round trips, merge order, and every kind of loss."""
from __future__ import annotations

import io

import pytest

from decoder.api import read_records
from decoder.defs import EVENT_IDS
from decoder.reader import iter_pieces, read_items
from decoder.records import Loss, Record
from tests.support.synth import TraceBuilder, encode_frame
from tests.decoder.traces import good_run


def key(it: object) -> tuple:
    return tuple(it[:4])  # type: ignore[index]


def records(items: list) -> list:
    return [key(r) for r in items if type(r) is Record]


@pytest.mark.parametrize("interleave", ["tsc", "cpu"])
@pytest.mark.parametrize("per_frame", [1, 5, 64])
def test_round_trip_in_tsc_order(interleave: str, per_frame: int) -> None:
    b = good_run(ncpus=3, rounds=4)
    items = list(read_records(b.serial(per_frame=per_frame, interleave=interleave)))
    assert [key(r) for r in items] == [key(r) for r in b.records()]
    assert not [i for i in items if type(i) is Loss]


def test_reads_files_streams_and_small_chunks(tmp_path) -> None:  # type: ignore[no-untyped-def]
    b = good_run()
    data = b.serial()
    path = tmp_path / "serial.bin"
    path.write_bytes(data)
    want = [key(r) for r in b.records()]
    assert [key(r) for r in read_records(path)] == want
    assert [key(r) for r in read_records(io.BytesIO(data))] == want
    pieces = list(iter_pieces(io.BytesIO(data), chunk=3))
    assert b"".join(p + b"\0" for _, p, _, _ in pieces) == data


def test_cross_cpu_order_needs_lookahead() -> None:
    # CPU 1's frames all arrive after CPU 0's: with a tiny window the merge
    # must give up ordering and say so, never drop anything.
    b = good_run(ncpus=2, rounds=6)
    data = b.serial(per_frame=2, interleave="cpu")
    small = list(read_items(data, lookahead=4))
    late = [i for i in small if type(i) is Loss and i.kind == "late"]
    assert late and sum(i.count for i in late) > 0
    assert sorted(records(small)) == sorted(key(r) for r in b.records())
    assert records(list(read_items(data))) == [key(r) for r in b.records()]


def test_seq_gap_reported_with_frame_count() -> None:
    b = good_run(ncpus=1, rounds=3)
    frames = [f for _, f in b.frames(per_frame=2)]
    data = b"".join(frames[:2] + frames[5:])
    gaps = [i for i in read_records(data) if type(i) is Loss]
    assert [(g.kind, g.cpu, g.count) for g in gaps] == [("seq_gap", 0, 3)]


def test_garbage_between_frames_resyncs_at_next_delimiter() -> None:
    b = good_run(ncpus=2)
    frames = [f for _, f in b.frames(per_frame=4)]
    junk = b"SeaBIOS says hello\r\n"
    data = frames[0] + junk + b"\0" + b"".join(frames[1:])
    items = list(read_records(data))
    losses = [i for i in items if type(i) is Loss]
    assert [(l.kind, l.cpu, l.count) for l in losses] == [("garbage", None, len(junk))]
    assert "SeaBIOS" in losses[0].detail
    assert sorted(records(items)) == sorted(key(r) for r in b.records())


def test_truncated_start_and_end() -> None:
    b = good_run(ncpus=1)
    data = b.serial(per_frame=4)
    items = list(read_records(data[7:-9]))
    kinds = [(i.kind, i.offset) for i in items if type(i) is Loss]
    # The cut-off first frame is also a gap in CPU 0's frame sequence.
    assert [k for k, _ in kinds] == ["truncated", "seq_gap", "truncated"]
    assert kinds[0][1] == 0
    got = records(items)
    assert got and set(got) < {key(r) for r in b.records()}


def test_lost_records_and_duplicate_frames() -> None:
    E = EVENT_IDS
    f0 = encode_frame(0, 0, [Record(10, 0, E["CPU_UP"], (0, 0)), Record(20, 0, E["LOST"], (17,))])
    f1 = encode_frame(0, 1, [Record(30, 0, E["INTERCEPT_LEAVE"], (0x81,))])
    items = list(read_records(f0 + f1 + f1))
    assert [(i.kind, i.count) for i in items if type(i) is Loss] == [("lost", 17), ("duplicate", 1)]
    assert len(records(items)) == 2


def test_late_frame_after_gap_is_kept() -> None:
    E = EVENT_IDS
    fr = [encode_frame(0, s, [Record(10 * (s + 1), 0, E["INTERCEPT_LEAVE"], (s,))]) for s in range(3)]
    items = list(read_records(fr[0] + fr[2] + fr[1]))
    assert sorted(r[3][0] for r in items if type(r) is Record) == [0, 1, 2]
    # Its gap was already reported, and its records come after a later TSC.
    assert [i.kind for i in items if type(i) is Loss] == ["seq_gap", "late"]


def test_unknown_event_is_reported_not_fatal() -> None:
    from tests.support.synth import encode_records, frame_from_body
    body = encode_records([Record(10, 0, EVENT_IDS["CPU_UP"], (0, 0))], 10) + bytes([111, 0])
    data = frame_from_body(0, 0, 10, body) + encode_frame(0, 1, [Record(50, 0, EVENT_IDS["CPU_UP"], (1, 1))])
    items = list(read_records(data))
    assert [type(i).__name__ for i in items] == ["Record", "Loss", "Record"]
    assert items[1].kind == "unknown_event" and "111" in items[1].detail


def test_boot_record_makes_the_merge_wait_for_every_cpu() -> None:
    b = TraceBuilder(2, boot=True)
    for k in range(50):
        b.ev(k % 2, "INTERCEPT_LEAVE", 0x81)
    data = b.serial(per_frame=3, interleave="cpu")
    items = list(read_records(data, lookahead=1000))
    assert not [i for i in items if type(i) is Loss]
    assert [i[0] for i in items] == sorted(i[0] for i in items)


def test_panic_retransmission_keeps_only_the_new_records() -> None:
    # docs/trace-format.md: the panic flush resends a frame under the same seq,
    # the earlier records first, byte for byte, then the ones it had not sent.
    E = EVENT_IDS
    recs = [Record(10 * (k + 1), 0, E["INTERCEPT_LEAVE"], (k,)) for k in range(5)]
    first = encode_frame(0, 0, recs[:3])
    again = encode_frame(0, 0, recs)
    items = list(read_records(first + again + b"\0"))
    assert [r.args[0] for r in items if type(r) is Record] == [0, 1, 2, 3, 4]
    notes = [i for i in items if type(i) is Loss]
    assert [(n.kind, n.count) for n in notes] == [("duplicate", 1)] and "2 new kept" in notes[0].detail
    # The usual case: the first copy was cut off (CRC fails), the resend is the only valid one.
    items = list(read_records(first[:-9] + b"\0" + again))
    assert [r.args[0] for r in items if type(r) is Record] == [0, 1, 2, 3, 4]


def test_a_boot_record_claiming_2_64_cpus_does_not_fill_memory() -> None:
    # A CRC-valid BOOT whose ncpus is garbage (a hypervisor bug) must still decode:
    # the merge waits for CPUs that cannot speak and releases by lookahead instead.
    # In a child under a 1 GiB address-space limit: a reader that tries to list 2^64
    # CPUs fails there at once instead of taking the machine's memory.
    import resource
    import subprocess
    import sys
    from pathlib import Path
    code = """
import sys
from decoder.defs import EVENT_IDS
from decoder.reader import read_items
from decoder.records import Record
from tests.support.synth import encode_frame
leave = EVENT_IDS["INTERCEPT_LEAVE"]
data = encode_frame(0, 0, [Record(100, 0, EVENT_IDS["BOOT"], ((1 << 64) - 1, 1_000_000, 1))])
for k in range(20):
    data += encode_frame(k % 2, 1 + k // 2 if k % 2 == 0 else k // 2, [Record(200 + 10 * k, k % 2, leave, (k,))])
items = list(read_items(data, lookahead=4))
print([it.args[0] for it in items if type(it) is Record and it.type == EVENT_IDS["INTERCEPT_LEAVE"]])
"""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, preexec_fn=limit,
                       cwd=Path(__file__).resolve().parents[2])
    assert r.returncode == 0, r.stderr[-500:]
    assert r.stdout.strip() == str(list(range(20)))
