"""perfetto --format proto: the protobuf trace, read back with a schema-less reader
and compared event by event with the JSON view."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from decoder.api import read_records, render
from decoder.protobuf import varint
from decoder.views import pftrace as pf
from tests.decoder.protobuf_reader import LEN, fields, message
from tests.decoder.traces import good_run

ROOT = Path(__file__).resolve().parents[2]


def _damaged_items() -> list:
    """Two CPUs, quiesce epochs, a dropped frame (seq_gap) and noise (loss of no CPU)."""
    b = good_run(ncpus=2, rounds=3)
    frames = [f for _, f in b.frames(per_frame=4)]
    data = b"".join(frames[:2] + frames[3:])
    return list(read_records(data[:40] + b"\xff\xfe" + data[40:]))


def _proto(items: list) -> bytes:
    out = io.BytesIO()
    render("perfetto", items, out, format="proto")
    return out.getvalue()


def _packets(data: bytes) -> list[dict]:
    top = fields(data)
    assert top and all(f == pf.TRACE_PACKET and wt == LEN for f, wt, _ in top)
    return [message(v) for _, _, v in top]  # type: ignore[arg-type]


def _s(v: object) -> str:
    assert isinstance(v, bytes)
    return v.decode()


def _tracks(packets: list[dict]) -> dict[int, dict]:
    tracks = {}
    for p in packets:
        if pf.TRACK_DESCRIPTOR in p:
            d = message(p[pf.TRACK_DESCRIPTOR][0])  # type: ignore[arg-type]
            uuid = d[pf.TD_UUID][0]
            assert uuid not in tracks, "a track described twice"
            tracks[uuid] = d
    return tracks


def test_varint_encoding_of_the_spec_examples() -> None:
    assert varint(1) == b"\x01" and varint(150) == b"\x96\x01" and varint(300) == b"\xac\x02"
    assert varint(-1) == b"\xff" * 9 + b"\x01"


def test_one_sequence_root_and_a_track_per_cpu() -> None:
    items = _damaged_items()
    packets = _packets(_proto(items))
    assert all(p[pf.SEQUENCE_ID] == [pf.SEQUENCE] for p in packets)
    assert packets[0][pf.SEQUENCE_FLAGS] == [pf.SEQ_INCREMENTAL_STATE_CLEARED]
    tracks = _tracks(packets)
    root = message(packets[0][pf.TRACK_DESCRIPTOR][0])  # type: ignore[arg-type]
    assert root[pf.TD_UUID] == [pf.ROOT_UUID] and _s(root[pf.TD_NAME][0]) == "Heisenvisor"
    names = {_s(d[pf.TD_NAME][0]): uuid for uuid, d in tracks.items() if uuid != pf.ROOT_UUID}
    assert names == {"CPU 0": pf.cpu_track(0), "CPU 1": pf.cpu_track(1), "wire": pf.cpu_track(pf.WIRE),
                     "CPU 0 quiesce": pf.quiesce_track(0), "CPU 1 quiesce": pf.quiesce_track(1)}
    assert all(d[pf.TD_PARENT] == [pf.ROOT_UUID] for u, d in tracks.items() if u != pf.ROOT_UUID)
    ranks = [tracks[names[n]][pf.TD_RANK][0] for n in ("CPU 0", "CPU 0 quiesce", "CPU 1", "CPU 1 quiesce", "wire")]
    assert ranks == sorted(ranks)


def _proto_events(packets: list[dict]) -> list[tuple]:
    """(type, track, name, ns, annotations) per TrackEvent, each checked to use a track described before it."""
    known: set[int] = set()
    out = []
    for p in packets:
        if pf.TRACK_DESCRIPTOR in p:
            known.add(message(p[pf.TRACK_DESCRIPTOR][0])[pf.TD_UUID][0])  # type: ignore[arg-type, index]
        if pf.TRACK_EVENT in p:
            te = message(p[pf.TRACK_EVENT][0])  # type: ignore[arg-type]
            track = te[pf.TE_TRACK][0]
            assert track in known, f"event on track {track} before its descriptor"
            notes = {}
            for a in te.get(pf.TE_ANNOTATIONS, []):
                am = message(a)  # type: ignore[arg-type]
                notes[_s(am[pf.DA_NAME][0])] = am[pf.DA_INT][0] if pf.DA_INT in am else _s(am[pf.DA_STRING][0])
            name = _s(te[pf.TE_NAME][0]) if pf.TE_NAME in te else ""
            out.append((te[pf.TE_TYPE][0], track, name, p[pf.TIMESTAMP][0], notes))
    return out


def _json_events(items: list) -> list[tuple]:
    out = io.StringIO()
    render("perfetto", items, out)
    evs = [e for e in json.loads(out.getvalue())["traceEvents"] if e["ph"] != "M"]
    kind = {"B": pf.SLICE_BEGIN, "b": pf.SLICE_BEGIN, "E": pf.SLICE_END, "e": pf.SLICE_END, "i": pf.INSTANT}
    return [(kind[e["ph"]], (pf.quiesce_track if e["ph"] in "be" else pf.cpu_track)(e["tid"]),
             "" if e["ph"] in "Ee" else e["name"], round(e["ts"] * 1000), e.get("args", {})) for e in evs]


def test_every_json_event_is_in_the_protobuf_in_order() -> None:
    items = _damaged_items()
    proto = _proto_events(_packets(_proto(items)))
    assert proto == _json_events(items)
    kinds = Counter(t for t, *_ in proto)
    assert kinds[pf.SLICE_BEGIN] == kinds[pf.SLICE_END] > 0 and kinds[pf.INSTANT] > 0
    assert any(n == "LOSS seq_gap" for _, _, n, _, _ in proto)
    assert any(n == "LOSS garbage" and tr == pf.cpu_track(pf.WIRE) for _, tr, n, _, _ in proto)


def test_slices_balance_per_track() -> None:
    depth: Counter = Counter()
    for typ, track, *_ in _proto_events(_packets(_proto(_damaged_items()))):
        if typ == pf.SLICE_BEGIN:
            depth[track] += 1
        elif typ == pf.SLICE_END:
            depth[track] -= 1
            assert depth[track] >= 0
    assert all(v == 0 for v in depth.values()) and len(depth) == 4


def test_cli_writes_the_same_bytes_to_a_file_and_stdout(tmp_path: Path) -> None:
    cap = tmp_path / "serial.bin"
    cap.write_bytes(good_run(ncpus=2, rounds=2).serial())
    out = tmp_path / "trace.pftrace"
    cmd = [sys.executable, "-m", "decoder", "perfetto", str(cap), "--format", "proto"]
    r = subprocess.run(cmd + ["-o", str(out)], capture_output=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    piped = subprocess.run(cmd, capture_output=True, cwd=ROOT)
    assert piped.returncode == 0 and piped.stdout == out.read_bytes() == _proto(list(read_records(cap.read_bytes())))


def test_a_text_only_stream_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="writes bytes"):
        render("perfetto", [], io.StringIO(), format="proto")
