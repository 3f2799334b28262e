"""Differential check: the C wire decoder against the Python reference, item for item,
and the text view's C lines (decoder/views/fast_text.py) against its Python lines.

Inputs are damaged versions of valid captures, in families that reach every branch
of the decoder (random corruption alone almost always fails the CRC and never gets
past it):
  corrupt   fuzz.py's mutations: bit flips, truncation, inserted garbage, duplicated slices
  frames    whole frames dropped, repeated, swapped, resent with more records (panic
            flush), cut, or given other sequence numbers
  payload   a frame's payload damaged and its CRC and COBS made valid again: unknown
            events, records cut short, TEXT overruns, bad varints, bad headers
  random    random bytes, some zeros among them
  oversize  pieces longer than MAX_PIECE (one input in OVERSIZE_EVERY)
  clean     the valid frames alone (no LOST record): no Loss unless the merge reports
            late records, so the C merge and checker (decoder/native/check.c) run
  passing   a run of TEST-hypercall exits with guest NMIs on a few CPUs (bench/bench_decoder.py's
            workload), its frames interleaved at random: a trace the checker passes
  lossy     a passing run with loss: records replaced by LOST records, frames dropped,
            repeated or sent late, garbage between frames, the capture cut short -- the
            C checker must judge the passes among them itself, as Python does
Frames carry random TSCs (some going backwards, so dt wraps), shifts 0..63, CPUs
0..255, every event of trace/events.toml with values of every size, and TEXT of
high bytes.  Each input is decoded in arrival order and merged (small lookahead),
and the C decoder is fed it in random chunks.

    python3 -m tests.support.cwire_diff --inputs N [--jobs J] [--seed S] [FILE ...]

FILEs (serial captures) are compared whole, as they are, besides the N inputs.
Exit 0 when every input decodes identically, 1 otherwise, 2 on bad usage.
"""
from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
import zlib
from itertools import chain
from pathlib import Path
from typing import BinaryIO, Callable

from decoder import cwire
from tests.support.batch_pool import run_batches
from decoder.defs import EVENT_IDS, EVENTS
from decoder.frame_loss import MAX_PIECE
from tests.support.fuzz import apply, duplicate, random_mutations
from decoder.reader import ItemStream, c_batches, python_batches, read_items
from decoder.check import CheckResult, Checker, run_check
from decoder.fast_check import c_check
from decoder.records import TEXT_ID, Item, Loss, Record
from decoder.views import fast_text
from decoder.views.text import render_text
from tests.support.synth import encode_frame, encode_records
from decoder.wire import U64, cobs_decode, cobs_encode

FAMILIES = ("corrupt", "frames", "payload", "random", "oversize", "clean", "passing", "lossy")
OVERSIZE_EVERY = 500
_EVENT_IDS = sorted(EVENTS)
_CLEAN_EVENTS = [e for e in _EVENT_IDS if EVENTS[e].name != "LOST"]


# ---- the two decoders ----------------------------------------------------------

def python_items(data: bytes, merge: bool, lookahead: int = 64) -> list[Item]:
    """The reference: the reader's pure-Python path, whatever HEISEN_DECODER says."""
    return list(chain.from_iterable(python_batches(io.BytesIO(data), lookahead, None, merge)))


class _Cut(io.RawIOBase):
    """data, read back in pieces that end at the cuts (sorted offsets)."""

    def __init__(self, data: bytes, cuts: list[int]) -> None:
        self.data, self.at = data, 0
        self.ends = [c for c in cuts if 0 < c < len(data)] + [len(data)]

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while self.ends and self.ends[0] <= self.at:
            self.ends.pop(0)
        end = self.ends[0] if self.ends else len(self.data)
        if size >= 0:
            end = min(end, self.at + size)
        out, self.at = self.data[self.at:end], end
        return out


def c_items(data: bytes, merge: bool, lookahead: int = 64, cuts: list[int] | None = None) -> list[Item]:
    """The reader's C path, its input read in pieces that end at cuts."""
    cw = cwire.load()
    if cw is None:
        raise cwire.ExtensionMissing("the C decoder is not built (make decoder) or HEISEN_DECODER=python")
    stream = _Cut(data, cuts or [])
    return list(chain.from_iterable(c_batches(cw, stream, lookahead, None, merge)))  # type: ignore[arg-type]


def python_text(items: list[Item]) -> str:
    """The text view of items, every line by the Python view (the reference)."""
    out = io.StringIO()
    render_text(iter(items), out)
    return out.getvalue()


def c_text(data: bytes, lookahead: int = 64, cuts: list[int] | None = None, whole: bool = False) -> str:
    """The text view with its lines written in C (decoder/views/fast_text.py): over the
    C reader's batches (fed in pieces that end at cuts), or (whole) the capture decoded,
    merged and written in C up to its first Loss, then by the batches."""
    cw = cwire.load()
    if cw is None or fast_text.formatter() is None:
        raise cwire.ExtensionMissing("the C decoder is not built (make decoder) or HEISEN_DECODER=python")
    out = io.StringIO()
    if whole:
        render_text(read_items(data, lookahead=lookahead), out)
    else:
        render_text(ItemStream(c_batches(cw, _Cut(data, cuts or []), lookahead, None, True)), out)  # type: ignore[arg-type]
    return out.getvalue()


def text_difference(want: str, got: str) -> str | None:
    if got == want:
        return None
    a, b = want.splitlines(keepends=True), got.splitlines(keepends=True)
    k = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return (f"text: {len(a)} python lines, {len(b)} C lines; first difference at line {k}: "
            f"python {a[k] if k < len(a) else None!r} C {b[k] if k < len(b) else None!r}")


def compare(data: bytes, rng: random.Random | None = None) -> str | None:
    """None when both decoders give the same items, and the text view the same text
    (C lines over the C reader, Python lines over the Python reader), else the first
    difference."""
    rng = rng or random.Random(len(data))
    cuts = sorted(rng.randrange(len(data) + 1) for _ in range(rng.randrange(0, 4))) if data else []
    for merge in (False, True):
        try:
            want = python_items(data, merge)
        except Exception as e:  # noqa: BLE001  (the reference crashing is a finding too)
            return f"python reader raised {type(e).__name__}: {e}"
        try:
            got = c_items(data, merge, cuts=cuts)
        except Exception as e:  # noqa: BLE001
            return f"C reader raised {type(e).__name__}: {e}"
        if got != want:
            k = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b), min(len(want), len(got)))
            return (f"merge={merge}: {len(want)} python items, {len(got)} C items; first difference at "
                    f"item {k}: python {want[k] if k < len(want) else None!r} C {got[k] if k < len(got) else None!r}")
    try:
        ref = python_text(want)
        err = text_difference(ref, c_text(data, cuts=cuts)) or text_difference(ref, c_text(data, whole=True))
    except Exception as e:  # noqa: BLE001
        return f"text view raised {type(e).__name__}: {e}"
    return err or check_difference(data, want)


def _plain(it: Record) -> tuple:
    """A record as check.c's merge hands it out (TEXT: its length)."""
    args = (len(it.args[0]),) if it.type == TEXT_ID else it.args
    return (it.tsc, it.cpu, it.type, args)


def python_only(ref: CheckResult) -> bool:
    """Whether the Python checker's verdict went through a suspect cross-CPU violation
    (check.Checker._hold) that a loss explained (its unjudged entry says where the loss
    was reported) or a TSC tie had judged again (counts["retied"]): the verdicts the C
    checker, which judges in merged order and gives up at any violation, leaves."""
    return bool(ref.counts.get("retied")) or any(
        " around then (reported at #" in u for us in ref.counts.get("unjudged", {}).values() for u in us)


def check_difference(data: bytes, merged: list[Item], lookahead: int = 64) -> str | None:
    """The C merge (decoder/native/check.c) and the C checker against the Python ones:
    None when they agree, else how they differ.  The C merge gives up exactly where the
    Python one reports a Loss; the C checker gives up only at violations: every pass,
    lossy or not (but one through a suspect a loss explained or a tie re-judged), and
    every evidence error over records it must give, equal to the Python checker's field
    for field."""
    cw = cwire.load()
    assert cw is not None
    got = cw.Check((), lookahead, 0).merged(data)
    clean = not any(type(it) is Loss for it in merged)
    if clean != (got is not None):
        return f"C merge {'gave up on' if clean else 'went past a Loss in'} a capture"
    if got is not None:
        want = [_plain(it) for it in merged]  # type: ignore[arg-type]
        if got != want:
            k = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b), min(len(want), len(got)))
            return (f"C merge: {len(want)} python records, {len(got)} C records; first difference at {k}: "
                    f"python {want[k] if k < len(want) else None!r} C {got[k] if k < len(got) else None!r}")
    ref = run_check(merged)
    fast = c_check(data, Checker(), lookahead)
    if fast is not None and (fast != ref or fast.summary() != ref.summary()):
        return f"C checker: {fast.summary()} {fast.counts}; python: {ref.summary()} {ref.counts}"
    must = ref.passed or (ref.error is not None and ref.counts["records"] > 0)
    if fast is None and must and not python_only(ref):
        return f"C checker gave up on a {'lossy ' if not clean else ''}verdict it must give: {ref.summary()}"
    return None


# ---- inputs ------------------------------------------------------------------------

def _value(rng: random.Random) -> int:
    return rng.choice((0, 1, 2, 0x81, rng.randrange(1 << 7), rng.randrange(1 << 14), rng.randrange(1 << 32),
                       rng.randrange(1 << 64), U64, U64 - rng.randrange(4)))


def _records(rng: random.Random, cpu: int, n: int, tsc: int, shift: int,
             events: list[int] = _EVENT_IDS) -> list[Record]:
    recs = []
    for _ in range(n):
        t = rng.choice(events)
        step = rng.choice((rng.randrange(1, 5000), rng.randrange(1 << 20), 0))
        if rng.random() < 0.03:
            step = -rng.randrange(1, 1 << 40)  # the TSC went backwards: dt wraps
        tsc = (tsc + step) & U64
        if t == TEXT_ID:
            alphabet = rng.choice((b"abc \n", bytes(range(0x80, 0x100)), bytes(range(256))))
            args: tuple = (bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 25))),)
        else:
            args = tuple(_value(rng) for _ in EVENTS[t].fields)
        recs.append(Record(tsc, cpu, t, args))
    return recs


def _frames(rng: random.Random, events: list[int] = _EVENT_IDS) -> list[bytes]:
    """Valid frames of a few CPUs, each CPU's seq counting from 0 (or near 2^64)."""
    frames: list[bytes] = []
    ncpus = rng.randrange(1, 4)
    cpus = rng.sample(range(256), ncpus) if rng.random() < 0.2 else list(range(ncpus))
    shift = rng.choice((0, 6, 6, rng.randrange(64)))
    seq0 = {c: (U64 - rng.randrange(3)) if rng.random() < 0.05 else 0 for c in cpus}
    made = {c: 0 for c in cpus}
    tsc = {c: rng.randrange(1 << 40) for c in cpus}
    for _ in range(rng.randrange(1, 10)):
        c = rng.choice(cpus)
        recs = _records(rng, c, rng.randrange(0, 8), tsc[c], shift, events)
        if recs:
            tsc[c] = recs[-1].tsc
        frames.append(encode_frame(c, (seq0[c] + made[c]) & U64, recs, shift))
        made[c] += 1
    return frames


def _payload_damage(rng: random.Random, frame: bytes) -> bytes:
    """The frame with its payload changed and its CRC recomputed: it passes the CRC."""
    p = bytearray(cobs_decode(frame[:-1])[:-4])
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(6)
        pos = rng.randrange(len(p) + 1)
        if op == 0 and p:
            p[min(pos, len(p) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            p[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 6)))
        elif op == 2:
            del p[pos:pos + rng.randrange(1, 6)]
        elif op == 3:
            del p[max(pos, 3):]
        elif op == 4:  # an overlong or too-large varint
            p[pos:pos] = b"\xff" * rng.randrange(9, 13) + bytes((rng.randrange(128),))
        elif op == 5 and len(p) > 3:  # an event id nobody defined, or a high type byte
            p[rng.randrange(3, len(p))] = rng.choice((0, 0x7F, rng.randrange(128), rng.randrange(128, 256)))
    body = bytes(p)
    return cobs_encode(body + zlib.crc32(body).to_bytes(4, "little")) + b"\0"


def _passing(rng: random.Random, lost: float = 0.0) -> bytes:
    """BOOT, then per CPU frames of whole TEST-hypercall exits (bench/bench_decoder.py), the
    CPUs' clocks apart by up to a few frames, the frames sent in a random CPU order.
    lost: the share of records replaced by LOST records (a ring that was full then)."""
    from bench.bench_decoder import _frame_records
    ncpus = rng.randrange(1, 5)
    tsc0 = rng.randrange(1 << 40)
    boot = Record(tsc0, 0, EVENT_IDS["BOOT"], (ncpus, rng.choice((1_000_000, 2_000_000)), 1))
    per_cpu: dict[int, list[bytes]] = {c: [] for c in range(ncpus)}
    per_cpu[0].append(encode_frame(0, 0, [boot]))
    k = 0
    for c in range(ncpus):
        tsc = tsc0 + rng.randrange(0, 200_000)
        for _ in range(rng.randrange(1, 6)):
            recs, k = _frame_records(rng, c, tsc, k, rng.randrange(3, 20))
            if lost:
                recs = [Record(r.tsc, c, EVENT_IDS["LOST"], (rng.randrange(1, 5),)) if rng.random() < lost else r
                        for r in recs]
            if recs:
                per_cpu[c].append(encode_frame(c, len(per_cpu[c]), recs))
                tsc = recs[-1].tsc
    out = []
    while any(per_cpu.values()):
        c = rng.choice([c for c, fs in per_cpu.items() if fs])
        out.append(per_cpu[c].pop(0))
    return b"".join(out)


def _lossy(rng: random.Random) -> bytes:
    """_passing's run with loss of every kind the checker tells apart (see FAMILIES)."""
    lost = rng.choice((0.0, 0.02, 0.1))
    frames = _passing(rng, lost).split(b"\0")[:-1]
    for _ in range(rng.randrange(0, 4)):
        op = rng.randrange(5)
        k = rng.randrange(len(frames))
        if op == 0 and len(frames) > 1:
            del frames[k]                                    # seq_gap
        elif op == 1:
            frames.insert(k, bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 40))))  # garbage
        elif op == 2:
            frames.insert(rng.randrange(k, len(frames) + 1), frames[k])                          # duplicate
        elif op == 3:
            frames.append(frames.pop(k))                     # sent late
        else:
            frames[k] = frames[k][:rng.randrange(len(frames[k]) + 1)]                          # cut
    data = b"".join(f + b"\0" for f in frames)
    return data[:rng.randrange(len(data) // 2, len(data) + 1)] if rng.random() < 0.2 else data


def make_input(rng: random.Random, family: str) -> bytes:
    if family == "passing":
        return _passing(rng)
    if family == "lossy":
        return _lossy(rng)
    frames = _frames(rng, _CLEAN_EVENTS if family == "clean" else _EVENT_IDS)
    if family == "clean":
        return b"".join(frames)
    data = b"".join(frames)
    if family == "corrupt":
        muts = random_mutations(rng, len(data))
        if rng.random() < 0.3:
            muts.append(duplicate(rng, data))
        return apply(data, muts)
    if family == "frames":
        fs = list(frames)
        for _ in range(rng.randrange(1, 5)):
            op = rng.randrange(5)
            k = rng.randrange(len(fs))
            if op == 0 and len(fs) > 1:
                del fs[k]
            elif op == 1:
                fs.insert(rng.randrange(len(fs) + 1), fs[k])
            elif op == 2:
                j = rng.randrange(len(fs))
                fs[k], fs[j] = fs[j], fs[k]
            elif op == 3 and fs[k]:  # cut: the frame's head only, with or without its delimiter
                fs[k] = fs[k][:rng.randrange(len(fs[k]))] + rng.choice((b"", b"\0"))
            else:
                fs.insert(k, b"\0" * rng.randrange(1, 3))
        if rng.random() < 0.3:  # a panic flush's resend: the same seq, more records
            fs.append(_resend(rng, frames))
        return b"".join(fs)
    if family == "payload":
        fs = list(frames)
        for _ in range(rng.randrange(1, 3)):
            k = rng.randrange(len(fs))
            fs[k] = _payload_damage(rng, fs[k])
        return b"".join(fs)
    if family == "random":
        return bytes(rng.choice((0, rng.randrange(256), rng.randrange(256))) for _ in range(rng.randrange(0, 300)))
    if family == "oversize":
        blob = bytes(rng.randrange(1, 256) for _ in range(64)) * (MAX_PIECE // 64 + rng.randrange(-1, 3))
        cut = rng.randrange(len(data) + 1)
        return data[:cut] + rng.choice((b"", b"\0")) + blob + rng.choice((b"", b"\0")) + data[cut:]
    raise ValueError(family)


def _resend(rng: random.Random, frames: list[bytes]) -> bytes:
    p = cobs_decode(rng.choice(frames)[:-1])
    cpu, shift = p[1], p[2]
    body = p[:-4] + encode_records(_records(rng, cpu, rng.randrange(1, 4), 1 << 41, shift), 0, shift)
    return cobs_encode(body + zlib.crc32(body).to_bytes(4, "little")) + b"\0"


# ---- running -------------------------------------------------------------------------

def run(seed: int, count: int, families: tuple[str, ...] = FAMILIES,
        report: Callable[[str], None] | None = None, corpus: BinaryIO | None = None) -> list[str]:
    """Compares count inputs; returns the failures (each reproducible from its seed).
    corpus: every input is also written there (u32 little-endian length, bytes), for
    tests/support/test_cwire.c under the sanitizers."""
    rng = random.Random(seed)
    failures = []
    # An oversize input is ~64 KiB (a corpus of 1 M inputs would be 13 GB at one in
    # five) and has one path to test: one input in OVERSIZE_EVERY, unless asked alone.
    common = [f for f in families if f != "oversize"] or list(families)
    for i in range(count):
        rare = "oversize" in families and common != list(families) and i % OVERSIZE_EVERY == OVERSIZE_EVERY - 1
        family = "oversize" if rare else common[i % len(common)]
        data = make_input(rng, family)
        if corpus is not None:
            corpus.write(len(data).to_bytes(4, "little") + data)
        err = compare(data, random.Random(seed * 7919 + i))
        if err:
            failures.append(f"seed {seed} input {i} ({family}, {len(data)} bytes {data[:64].hex()}...): {err}")
            if report:
                report(failures[-1])
    return failures


def _worker(args: tuple[int, int, str | None]) -> tuple[int, list[str]]:
    seed, count, corpus = args
    if corpus is None:
        return count, run(seed, count)
    with open(f"{corpus}.{seed}", "wb") as f:
        return count, run(seed, count, corpus=f)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m tests.support.cwire_diff")
    ap.add_argument("--inputs", type=int, default=1_000_000)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus", metavar="PREFIX", help="also write the inputs to PREFIX.<seed> files")
    ap.add_argument("files", nargs="*", type=Path)
    a = ap.parse_args(argv)
    if a.inputs < 0 or a.jobs < 1:
        print("cwire_diff: --inputs must be >= 0 and --jobs >= 1", file=sys.stderr)
        return 2
    if a.inputs == 0 and not a.files:
        print("cwire_diff: nothing to compare (--inputs 0 and no files)", file=sys.stderr)
        return 2
    try:
        if cwire.load() is None:
            raise cwire.ExtensionMissing("the C decoder is not built: run `make decoder` (or unset HEISEN_DECODER)")
    except cwire.ExtensionMissing as e:
        print(f"cwire_diff: {e}", file=sys.stderr)
        return 2
    failures: list[str] = []
    for f in a.files:
        try:
            data = f.read_bytes()
        except OSError as e:
            print(f"cwire_diff: {f}: {e.strerror}", file=sys.stderr)
            return 2
        err = compare(data)
        print(f"cwire_diff: {f}: {len(data)} bytes, {'DIFFERENT: ' + err if err else 'identical'}", flush=True)
        if err:
            failures.append(f"{f}: {err}")
    t0 = time.time()
    batch = 2000
    tasks = [(a.seed * 100000 + k, min(batch, a.inputs - k * batch), a.corpus)
             for k in range((a.inputs + batch - 1) // batch)]
    if a.corpus:
        for old in Path(a.corpus).parent.glob(Path(a.corpus).name + ".*"):
            old.unlink()  # a smaller run must not leave a bigger one's files behind
    done, more, _ = run_batches(_worker, tasks, a.jobs, batch, "cwire_diff", "differences")
    failures += more
    for f in failures[:20]:
        print(f)
    print(f"cwire_diff: {done} generated inputs ({', '.join(FAMILIES)}) and {len(a.files)} files through the C "
          f"and the Python reader: {len(failures)} differences, {time.time() - t0:.0f} s on {a.jobs} processes")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
