"""The C wire decoder (decoder/native/, through _cwire) gives the Python reader's
items exactly: on every serial capture the tests build, on damaged ones of every
kind tests/support/cwire_diff.py makes, in any chunking.  `make fuzz-decoder` runs the
same comparison over >= 1 M inputs."""
from __future__ import annotations

import random
import subprocess
import zlib
from pathlib import Path
from typing import Iterator

import pytest

from decoder import cwire, reader
from tests.support.cwire_diff import FAMILIES, c_items, compare, python_items, run
from tests.support.fuzz import base_capture
from decoder.defs import EVENT_IDS
from decoder.records import Loss, Record
from tests.support.synth import TraceBuilder, encode_frame
from decoder.wire import VERSION, cobs_encode, encode_uvarint
from tests.decoder.traces import good_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def built() -> Iterator[None]:
    # make knows when the C sources changed; building here keeps `pytest` alone honest.
    subprocess.run(["make", "-s", "-C", str(ROOT), "decoder", "build/trace-sample"], check=True,
                   capture_output=True)
    # Comparing needs both readers, whatever the environment chose for the rest.
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(cwire.ENV, raising=False)
        yield


FIXTURES = (["trace-sample", "unfinished_run"]
            + [f"good_run-{n}cpu-{per_frame}" for n in (1, 2, 4) for per_frame in (1, 3, 8)]
            + [f"fuzz-base-{seed}" for seed in range(20)])


def _fixture(name: str) -> bytes:
    """A serial capture the decoder tests decode, by name (FIXTURES)."""
    if name == "trace-sample":
        return subprocess.run([str(ROOT / "build/trace-sample")], check=True, capture_output=True,
                              timeout=60).stdout
    if name == "unfinished_run":
        return good_run(finish=False).serial()
    if name.startswith("good_run-"):
        ncpus, per_frame = name.removeprefix("good_run-").split("cpu-")
        return good_run(ncpus=int(ncpus)).serial(per_frame=int(per_frame))
    seed = int(name.removeprefix("fuzz-base-"))
    return base_capture(seed, ncpus=1 + seed % 3, nrec=40, per_frame=1 + seed % 5)[0]


def test_the_extension_is_what_the_reader_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cwire.ENV, raising=False)
    assert cwire.load() is not None
    calls = []
    monkeypatch.setattr(reader, "parse_payload", lambda *a: calls.append(a))
    assert list(reader.read_items(good_run().serial()))
    assert calls == []  # no frame went through the Python parser


def test_forcing_python_uses_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cwire.ENV, "python")
    assert cwire.load() is None
    real = reader.parse_payload
    calls = []
    monkeypatch.setattr(reader, "parse_payload", lambda *a: calls.append(1) or real(*a))
    assert list(reader.read_items(good_run().serial()))
    assert calls


def test_a_missing_extension_asked_for_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(cwire.ENV, "c")
    monkeypatch.setattr(cwire, "BUILD_DIR", tmp_path)
    monkeypatch.setattr(cwire, "_loaded", False)
    monkeypatch.setattr(cwire, "_module", None)
    with pytest.raises(cwire.ExtensionMissing, match="make decoder"):
        cwire.load()


def test_decoder_cli_says_the_extension_is_missing(tmp_path: Path) -> None:
    import os
    trace = tmp_path / "t.bin"
    trace.write_bytes(good_run().serial())
    env = {**os.environ, "PYTHONPATH": str(ROOT), cwire.ENV: "c"}
    r = subprocess.run(["/usr/bin/python3", "-c", "import sys; from decoder import cwire, __main__ as m; "
                        "cwire.BUILD_DIR = cwire.Path(sys.argv[1]); sys.exit(m.main(['text', sys.argv[2]]))",
                        str(tmp_path), str(trace)], capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "make decoder" in r.stderr


@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_decodes_identically(name: str) -> None:
    data = _fixture(name)
    items = python_items(data, merge=True)
    assert any(type(it) is Record for it in items)  # a comparison over nothing proves nothing
    assert compare(data, random.Random(name)) is None


@pytest.mark.parametrize("family", FAMILIES)
def test_damaged_inputs_decode_identically(family: str) -> None:
    failures = run(seed=FAMILIES.index(family) + 1, count=400, families=(family,))
    assert failures == []


def test_the_damage_reaches_every_loss_kind_the_wire_has() -> None:
    """The generated inputs are worth comparing on only if they reach the decoder's branches."""
    from tests.support.cwire_diff import make_input
    rng = random.Random(3)
    kinds = set()
    for i in range(1500):
        for it in python_items(make_input(rng, FAMILIES[i % len(FAMILIES)]), merge=False):
            if type(it) is Loss:
                kinds.add(it.kind)
    assert kinds >= {"lost", "seq_gap", "crc", "garbage", "truncated", "malformed", "unknown_event", "duplicate"}


def test_one_byte_chunks_give_the_same_items() -> None:
    data = good_run(ncpus=3).serial(per_frame=5)
    data = data[:40] + b"\x07junk" + data[40:]
    assert c_items(data, merge=False, cuts=list(range(1, len(data)))) == python_items(data, merge=False)


def test_a_retransmission_keeps_only_the_new_records() -> None:
    b = TraceBuilder(1)
    for k in range(6):
        b.ev(0, "INTERCEPT_LEAVE", k)
    frames = [f for _, f in b.frames(per_frame=6)]
    short = encode_frame(0, 0, b.per_cpu[0][:4])
    data = short + frames[0]
    items = c_items(data, merge=False)
    assert items == python_items(data, merge=False)
    assert [type(i).__name__ for i in items].count("Record") == 6
    assert any(type(i) is Loss and "sent again" in i.detail for i in items)


def test_an_oversize_piece_is_reported_not_held() -> None:
    blob = b"\x01" * (reader.MAX_PIECE + 10)
    data = good_run().serial() + blob + b"\0" + good_run().serial()
    items = c_items(data, merge=False)
    assert items == python_items(data, merge=False)
    big = [i for i in items if type(i) is Loss and i.count == len(blob)]
    assert len(big) == 1 and big[0].kind == "garbage"


def _frame(cpu: int, seq: int, shift: int, base: int, body: bytes) -> bytes:
    """A frame with any body and a valid CRC."""
    payload = bytes((VERSION, cpu, shift)) + encode_uvarint(seq) + encode_uvarint(base) + body
    return cobs_encode(payload + zlib.crc32(payload).to_bytes(4, "little")) + b"\0"


# The reference adds a record's dt as soon as it reads it for the events it decodes by a
# specialised shape (all `u`, (d, rip), (d,), LOST), only once the record is whole for
# the rest; the loss of a frame cut in its first record carries that TSC.
@pytest.mark.parametrize("event,dt_counted", [("INTERCEPT_LEAVE", True), ("INTERCEPT_ENTER", True),
                                              ("CPU_UP", True), ("LOST", True), ("TEXT", True),
                                              ("EXCEPTION_ENTER", False), ("NMI_UNBLOCK", False)])
def test_a_frame_cut_in_its_first_record_reports_the_same_tsc(event: str, dt_counted: bool) -> None:
    data = _frame(0, 0, 6, 1000, bytes((EVENT_IDS[event],)) + encode_uvarint(77))
    want = python_items(data, merge=False)
    assert c_items(data, merge=False) == want
    assert [(type(i), i.kind, i.tsc) for i in want] == [(Loss, "malformed", (1077 if dt_counted else 1000) << 6)]


def test_a_frame_whose_tsc_goes_backwards_keeps_ring_order_in_the_merge() -> None:
    leave = EVENT_IDS["INTERCEPT_LEAVE"]
    data = (encode_frame(1, 0, [Record(100, 1, leave, (1,))])
            + encode_frame(0, 0, [Record(500, 0, leave, (2,)), Record(50, 0, leave, (3,))])
            + encode_frame(1, 1, [Record(600, 1, leave, (4,))]))
    want = python_items(data, merge=True)
    assert c_items(data, merge=True) == want
    assert [i.args[0] for i in want if type(i) is Record] == [1, 2, 3, 4]


def test_a_text_of_high_bytes_is_no_bad_varint() -> None:
    # TEXT bytes are tokenised with the rest of the frame; twelve bytes >= 0x80 in a
    # row are no 64-bit varint, but no varint is read there: the frame decodes whole,
    # in both readers (they once failed it as malformed).
    import os
    from decoder.reader import read_items
    from decoder.records import Record
    from tests.support.synth import TraceBuilder
    b = TraceBuilder(1)
    b.ev(0, "TEXT", "cmdline 'é€éééé'".encode())
    b.ev(0, "HYPERCALL", 1, 2, 3)
    data = b.serial()
    for reader in ("python", "c"):
        os.environ["HEISEN_DECODER"] = reader
        try:
            items = list(read_items(data))
        finally:
            del os.environ["HEISEN_DECODER"]
        assert all(type(i) is Record for i in items), (reader, items)
        assert [i.args for i in items][-2:] == [("cmdline 'é€éééé'".encode(),), (1, 2, 3)], reader


def test_the_lossy_family_gives_lossy_passes_the_c_checker_judges() -> None:
    """The lossy family is worth comparing on only if the checker passes its captures
    through loss of every kind it tells apart, and the C checker judges them."""
    from decoder.check import Checker, run_check
    from decoder.fast_check import c_check
    from tests.support.cwire_diff import make_input
    rng = random.Random(11)
    judged = 0
    kinds: set[str] = set()
    for _ in range(200):
        data = make_input(rng, "lossy")
        merged = python_items(data, merge=True)
        losses = {it.kind for it in merged if type(it) is Loss}
        if losses and run_check(merged).passed and c_check(data, Checker(), 64) is not None:
            judged += 1
            kinds |= losses
    assert judged >= 150, judged
    assert kinds >= {"lost", "seq_gap", "garbage", "truncated", "duplicate", "late"}, kinds


def test_a_capture_read_from_a_file_in_several_chunks_decodes_identically(tmp_path: Path) -> None:
    """The C path reads a file into one buffer, reused (reader.C_CHUNK): each read's
    bytes, and only those, reach the decoder, the last read's shorter than the buffer
    (a stale tail of the one before would decode again), in the reader and in the C
    checker alike."""
    from bench.bench_decoder import generate
    from decoder.check import Checker
    from decoder.fast_check import c_check
    path = tmp_path / "big.bin"
    generate(path, 2 * reader.C_CHUNK // 6, fresh=True)     # ~7 bytes a record
    data = path.read_bytes()
    assert len(data) > 2 * reader.C_CHUNK and len(data) % reader.C_CHUNK
    got = [it for batch in reader.read_batches(str(path), merge=False) for it in batch]
    assert got == python_items(data, merge=False)
    assert sum(len(b) for b in reader.read_wire_batches(str(path))) == len(got)
    from_file, from_bytes = c_check(str(path), Checker()), c_check(data, Checker())
    assert from_file is not None and from_bytes is not None and from_file.passed
    assert from_file.counts == from_bytes.counts and from_file.counts["items"] == len(got)
