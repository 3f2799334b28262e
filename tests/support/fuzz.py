"""Reader robustness: mutate good captures, decode, check the invariants.

Invariants for any input built from a good capture by flips, truncation,
duplicated slices and inserted garbage:
  1. decoding never raises; every item is a Record or a Loss;
  2. no invented records: every decoded record is one of the original's;
  3. resync within one frame: every frame whose bytes and delimiters the
     mutations did not touch has all its records in the output;
  4. damage is never silent: if records are missing, a Loss says so, unless
     the input was cut exactly at a frame boundary (indistinguishable from
     a machine that stopped there).

`make fuzz-decoder` runs `python3 -m tests.support.fuzz --inputs 1000000` (random
mutations, all cores); tests/decoder/test_fuzz_reader.py drives the same
checks from hypothesis inside `make test`.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
from collections import Counter
from dataclasses import dataclass

from tests.support.batch_pool import run_batches
from decoder.reader import read_items
from decoder.records import Loss, Record
from tests.support.synth import TraceBuilder


@dataclass(frozen=True)
class Mutation:
    """op in flip/truncate/insert; pos in original coordinates; data for insert; xor for flip."""
    op: str
    pos: int
    data: bytes = b""
    xor: int = 0


def base_capture(seed: int = 0, ncpus: int = 2, nrec: int = 40, per_frame: int = 4) -> tuple[bytes, list[tuple[int, int, list]]]:
    """(serial bytes, [(start, end_delimiter_index, record keys)] per frame)."""
    rng = random.Random(seed)
    b = TraceBuilder(ncpus)
    names = ["INTERCEPT_ENTER", "INTERCEPT_LEAVE", "HOST_NMI", "NMI_INJECT", "HYPERCALL", "TEXT", "QUIESCE_ACK"]
    for _ in range(nrec):
        n = rng.choice(names)
        args: tuple = (b"x" * rng.randrange(0, 24),) if n == "TEXT" else tuple(
            rng.choice((0, 1, 0x81, rng.randrange(1 << 40))) for _ in range(3))
        from decoder.defs import EVENT_IDS, EVENTS
        b.ev(rng.randrange(ncpus), n, *args[:len(EVENTS[EVENT_IDS[n]].fields)], dt=rng.randrange(1, 5000))
    frames: list[tuple[int, int, list]] = []
    data = bytearray()
    for cpu, frame in _frames_in_tsc_order(b, per_frame):
        start = len(data)
        data += frame
        frames.append((start, len(data) - 1, cpu))
    keyed = []
    recs_by_frame = _frame_records(b, per_frame)
    for (start, end, _), recs in zip(frames, recs_by_frame):
        keyed.append((start, end, recs))
    return bytes(data), keyed


def _frames_in_tsc_order(b: TraceBuilder, per_frame: int) -> list[tuple[int, bytes]]:
    from tests.support.synth import encode_frame
    out = []
    for cpu in sorted(b.per_cpu):
        recs = b.per_cpu[cpu]
        for seq, k in enumerate(range(0, len(recs), per_frame)):
            chunk = recs[k:k + per_frame]
            out.append((chunk[0].tsc, cpu, seq, encode_frame(cpu, seq, chunk)))
    out.sort()
    return [(cpu, f) for _, cpu, _, f in out]


def _frame_records(b: TraceBuilder, per_frame: int) -> list[list]:
    out = []
    for cpu in sorted(b.per_cpu):
        recs = b.per_cpu[cpu]
        for k in range(0, len(recs), per_frame):
            chunk = recs[k:k + per_frame]
            out.append((chunk[0].tsc, cpu, k, [tuple(r[:4]) for r in chunk]))
    out.sort(key=lambda t: (t[0], t[1], t[2]))
    return [t[3] for t in out]


def apply(data: bytes, muts: list[Mutation]) -> bytes:
    """Apply mutations given in original coordinates (applied back to front)."""
    out = bytearray(data)
    cut = len(data)
    for m in sorted(muts, key=lambda m: m.pos, reverse=True):
        if m.op == "truncate":
            cut = min(cut, m.pos)
        elif m.op == "flip" and m.pos < len(out):
            out[m.pos] ^= m.xor
        elif m.op == "insert":
            out[m.pos:m.pos] = m.data
    shift = sum(len(m.data) for m in muts if m.op == "insert" and m.pos < cut)
    return bytes(out[:cut + shift])


def _touched(start: int, end: int, muts: list[Mutation]) -> bool:
    for m in muts:
        if m.op == "flip" and m.xor and start - 1 <= m.pos <= end:
            return True
        if m.op == "truncate" and m.pos <= end:
            return True
        if m.op == "insert" and m.data and start <= m.pos <= end:
            return True
    return False


def _clean_cut(data: bytes, mutated: bytes) -> bool:
    """The input is an undamaged prefix ending at a frame boundary (plus any
    delimiters, before or after: a 0x00 is an empty frame the reader skips): a
    machine that stopped there would send the same bytes."""
    kept = mutated.strip(b"\0")
    c = len(kept)
    # A prefix ending just before a delimiter still holds a complete last frame.
    return data.startswith(kept) and (c == 0 or c == len(data) or data[c] == 0)


def check_invariants(data: bytes, frames: list[tuple[int, int, list]], muts: list[Mutation]) -> str | None:
    """None if the reader behaved, else a description of what broke."""
    mutated = apply(data, muts)
    try:
        items = list(read_items(mutated, lookahead=64))
    except Exception as e:  # noqa: BLE001  (any exception is the finding)
        return f"crash: {type(e).__name__}: {e}"
    original = Counter(r for _, _, recs in frames for r in recs)
    got = Counter()
    has_loss = False
    for it in items:
        if type(it) is Record:
            got[tuple(it[:4])] += 1
        elif type(it) is Loss:
            has_loss = True
        else:
            return f"unexpected item {it!r}"
    if got - original:
        return f"invented records: {list((got - original).elements())[:3]}"
    for start, end, recs in frames:
        if not _touched(start, end, muts) and any(got[r] == 0 for r in recs):
            return f"intact frame at byte {start} lost its records"
    if got != original and not has_loss and not _clean_cut(data, mutated):
        return "records missing without a Loss item"
    return None


def random_mutations(rng: random.Random, n: int) -> list[Mutation]:
    muts = []
    for _ in range(rng.randrange(1, 4)):
        op = rng.choice(("flip", "flip", "truncate", "insert", "insert"))
        pos = rng.randrange(0, n + 1)
        if op == "flip":
            muts.append(Mutation("flip", min(pos, n - 1), xor=rng.randrange(1, 256)))
        elif op == "truncate":
            muts.append(Mutation("truncate", pos))
        else:
            muts.append(Mutation("insert", pos, data=bytes(rng.randrange(256) for _ in range(rng.randrange(1, 12)))))
    return muts


def duplicate(rng: random.Random, data: bytes) -> Mutation:
    a = rng.randrange(0, len(data))
    b = min(len(data), a + rng.randrange(1, 80))
    return Mutation("insert", rng.randrange(0, len(data) + 1), data=data[a:b])


def _worker(args: tuple[int, int]) -> tuple[int, list[str]]:
    seed, count = args
    rng = random.Random(seed)
    failures: list[str] = []
    bases = [base_capture(seed * 1000 + k, ncpus=rng.randrange(1, 4), nrec=rng.randrange(5, 30),
                          per_frame=rng.randrange(1, 6)) for k in range(8)]
    for i in range(count):
        data, frames = bases[i % len(bases)]
        muts = random_mutations(rng, len(data))
        if rng.random() < 0.3:
            muts.append(duplicate(rng, data))
        err = check_invariants(data, frames, muts)
        if err:
            failures.append(f"seed {seed} input {i}: {err}: {muts!r}")
    return count, failures


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m tests.support.fuzz")
    ap.add_argument("--inputs", type=int, default=1_000_000)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    batch = 5000
    tasks = [(a.seed * 100000 + k, min(batch, a.inputs - k * batch)) for k in range((a.inputs + batch - 1) // batch)]
    done, failures, secs = run_batches(_worker, tasks, a.jobs, batch, "fuzz-decoder", "failures")
    for f in failures[:20]:
        print(f)
    print(f"fuzz-decoder: {done} corrupt inputs, {len(failures)} invariant failures "
          f"(crashes included), {secs:.0f} s on {a.jobs} processes")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
