"""Decoder throughput and memory: `make bench-decoder`.

Generates serial captures of N/10 and N records (4 CPUs, frames of 32 records,
a mix like a TEST-hypercall workload with NMIs, every record encoded afresh with
its own values), and the same two with loss injected deterministically (`lossy`:
frames whose tail a full ring dropped, reported by a LOST record; frames missing on
the wire; garbage between frames), then times decoding them on one core on the
Python path and the C one (decoder/native/: wire decoder, `check` and `text` on the
fast path) side by side, and reports items/s (median of --runs) and peak RSS per view.
Each run is its own child process, so ru_maxrss belongs to that run alone.  The C
`check` row is the C checker's own verdict: the bench fails if it gave the capture
(lossy or not) to the Python checker.

    python3 -m bench.bench_decoder [--records N] [--runs R] [--views V,...] [--templated N]
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from decoder.defs import EVENT_IDS
from decoder.expr import FUNCTIONS

test_checksum = FUNCTIONS["test_checksum"]
from decoder.records import Record
from tests.support.synth import encode_records, frame_from_body

PER_FRAME = 32
NCPUS = 4
TEMPLATES = 4096
PERIOD = PER_FRAME * 11000  # > the longest span _workload gives a frame
# lossy traces: frame 5 and one in LOST_EVERY lose their tail to a full ring (a LOST
# record says how many), frame 7 and one in DROP_EVERY never reach the wire (a seq
# gap), and garbage comes before frame 9 and one in GARBAGE_EVERY (damage no CPU can
# be named for): a small trace has each once
LOST_EVERY, DROP_EVERY, GARBAGE_EVERY = 997, 3001, 7001


def _hit(nframe: int, first: int, every: int) -> bool:
    return nframe == first or nframe % every == 0


def _exit(rng: random.Random, cpu: int, tsc: int, k: int, rip: int) -> list[Record]:
    """One TEST-hypercall VM exit (3 records), now and then with a guest NMI (6)."""
    E = EVENT_IDS
    tsc += rng.randrange(200, 5000)
    out = [Record(tsc, cpu, E["INTERCEPT_ENTER"], (0x81, rip))]
    tsc += rng.randrange(50, 400)
    out.append(Record(tsc, cpu, E["HYPERCALL"], (3, k, test_checksum(k, cpu))))
    if rng.random() < 0.05:
        tsc += rng.randrange(10, 100)
        out.append(Record(tsc, cpu, E["HOST_NMI"], (2, 0, 0)))
        tsc += rng.randrange(10, 100)
        out.append(Record(tsc, cpu, E["NMI_INJECT"], (0,)))
    tsc += rng.randrange(50, 400)
    out.append(Record(tsc, cpu, E["INTERCEPT_LEAVE"], (0x81,)))
    if out[-2].type == E["NMI_INJECT"]:
        # the guest's IRET ends its NMI handler: the next NMI may be injected
        # (rules.toml nmi_not_injected_while_blocked)
        tsc += rng.randrange(100, 1000)
        out.append(Record(tsc, cpu, E["NMI_UNBLOCK"], (rip + 2,)))
    return out


def _frame_records(rng: random.Random, cpu: int, tsc: int, k: int, limit: int) -> tuple[list[Record], int]:
    """Whole exits, at most `limit` records (frames never split an exit, so
    the generated trace passes the checker); returns (records, next k)."""
    recs: list[Record] = []
    rip = 0xFFFFFFFF81000000 + rng.randrange(1 << 16)
    while True:
        ex = _exit(rng, cpu, recs[-1].tsc if recs else tsc, k, rip + rng.choice((0, 3, 5, 7)))
        if len(recs) + len(ex) > limit:
            return recs, k
        recs += ex
        k += 1


def generate(path: Path, nrecords: int, fresh: bool = False, seed: int = 1, lossy: bool = False) -> int:
    """Write a capture of about nrecords records (whole frames); returns bytes written.

    fresh=False stamps frames from TEMPLATES pre-encoded bodies (fast to make;
    argument values repeat across frames); fresh=True encodes every record
    (every hypercall argument is new: the decoder's worst case).  lossy (fresh only):
    loss injected at fixed frame counts (LOST_EVERY, DROP_EVERY, GARBAGE_EVERY).
    """
    if lossy and not fresh:
        raise ValueError("lossy traces are fresh")
    nframe = 0
    rng = random.Random(seed)
    bodies: dict[int, list[tuple[bytes, int]]] = {}
    if not fresh:
        for cpu in range(NCPUS):
            bodies[cpu] = []
            for t in range(TEMPLATES // NCPUS):
                recs, _ = _frame_records(rng, cpu, 0, t * PER_FRAME, PER_FRAME)
                bodies[cpu].append((encode_records(recs, 0), len(recs)))
    tsc = [1_000_000 + 997 * c for c in range(NCPUS)]
    seq = [0] * NCPUS
    k = [0] * NCPUS
    written = 0
    with open(path, "wb") as f:
        boot = Record(tsc[0] - 1, 0, EVENT_IDS["BOOT"], (NCPUS, 1_000_000, 1))
        buf: list[bytes] = [frame_from_body(0, 0, boot.tsc, encode_records([boot], boot.tsc))]
        seq[0] = 1
        done = 1
        while done < nrecords:
            for cpu in range(NCPUS):
                if fresh:
                    recs, k[cpu] = _frame_records(rng, cpu, tsc[cpu], k[cpu], PER_FRAME)
                    nframe += 1
                    if lossy and _hit(nframe, 5, LOST_EVERY):
                        cut = len(recs) // 2
                        recs = recs[:cut] + [Record(recs[cut].tsc, cpu, EVENT_IDS["LOST"], (len(recs) - cut,))]
                    frame = frame_from_body(cpu, seq[cpu], recs[0].tsc, encode_records(recs, recs[0].tsc))
                    if lossy and _hit(nframe, 7, DROP_EVERY):
                        frame = b""
                    elif lossy and _hit(nframe, 9, GARBAGE_EVERY):
                        frame = b"\x05garbage" + bytes(range(1, 24)) + b"\0" + frame
                    n = len(recs)
                else:
                    body, n = bodies[cpu][seq[cpu] % len(bodies[cpu])]
                    frame = frame_from_body(cpu, seq[cpu], tsc[cpu], body)
                # One clock for all CPUs (as synchronised TSCs would be): no
                # CPU drifts past the merge lookahead.
                tsc[cpu] += PERIOD
                seq[cpu] += 1
                done += n
                buf.append(frame)
            if len(buf) > 4096:
                data = b"".join(buf)
                f.write(data)
                written += len(data)
                buf = []
        data = b"".join(buf)
        f.write(data)
        written += len(data)
    return written


def _measure(view: str, path: str) -> None:
    """Child process: decode with one view, print 'items seconds maxrss_kib'.

    The reader is the one HEISEN_DECODER chose (the parent sets it per run)."""
    import io
    from decoder.api import read_records, render
    from decoder.reader import read_batches, read_wire_batches
    t0 = time.process_time()
    n = 0
    if view == "wire":
        # the wire layer alone, arrival order, items counted: the C reader makes no
        # Python object per item here, the Python reader cannot help making them
        for batch in read_wire_batches(path):
            n += len(batch)
    elif view in ("read", "wire-items"):
        # wire-items: the same with every Record/Loss built; read: merged across CPUs
        # by TSC (what every view consumes)
        for items in read_batches(path, merge=view == "read"):
            n += len(items)
    elif view == "check":
        # what `decoder check FILE` runs: C judges the pass (decoder/fast_check.py);
        # with HEISEN_DECODER=python the Python checker does
        from decoder.check import Checker
        from decoder.fast_check import c_check, check_file
        if os.environ.get("HEISEN_DECODER") == "c":
            judged = c_check(path, Checker())
            if judged is None:  # check_file would time the Python checker under the C label
                raise SystemExit(f"bench: the C checker gave {path} to the Python checker")
            result = judged
        else:
            result = check_file(path)
        if not result.passed:  # a short run would make the number meaningless
            raise SystemExit(f"bench trace fails {result.rule}: {result.message}")
        if Path(path).name.startswith("lossy") and not result.counts["loss"]:
            raise SystemExit(f"bench: {path} holds no loss")
        n = result.counts["items"]
    elif view == "pftrace":    # perfetto --format proto: a binary sink
        counted = _Counter(read_records(path))
        with open(os.devnull, "wb") as raw:
            render("perfetto", counted, raw, format="proto")  # type: ignore[arg-type]
        n = counted.n
    elif view == "text":
        # the stream itself, not a per-item wrapper: the C formatter takes its batches
        sink = _LineCount()
        render("text", read_records(path), sink)  # type: ignore[arg-type]
        n = sink.lines
    else:
        sink = io.TextIOWrapper(open(os.devnull, "wb"), encoding="utf-8")
        counted = _Counter(read_records(path))
        render(view, counted, sink)
        sink.flush()
        n = counted.n
    dt = time.process_time() - t0
    print(n, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


class _LineCount:
    """A text sink that counts the lines written (the text view writes one per item)."""

    def __init__(self) -> None:
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)


class _Counter:
    def __init__(self, it) -> None:  # type: ignore[no-untyped-def]
        self.it, self.n = it, 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        for x in self.it:
            self.n += 1
            yield x


def run_child(view: str, path: Path, reader: str) -> tuple[int, float, int]:
    """(items, CPU seconds, peak RSS KiB) of one decode in its own process on core 0."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent), HEISEN_DECODER=reader)
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "-m", "bench.bench_decoder", "--child", view, str(path)],
                         capture_output=True, text=True, env=env, check=True).stdout.split()
    return int(out[0]), float(out[1]), int(out[2])


def measure(view: str, path: Path, reader: str, runs: int) -> tuple[int, float, int]:
    """(items, median items/s over runs, largest peak RSS KiB)."""
    got = [run_child(view, path, reader) for _ in range(runs)]
    if len({n for n, _, _ in got}) != 1:
        raise SystemExit(f"bench: {view} on {path} decoded different item counts: {[n for n, _, _ in got]}")
    return got[0][0], statistics.median(n / secs for n, secs, _ in got), max(rss for _, _, rss in got)


# view -> readers it is measured with.  The Python reader's wire-items is its wire.
READERS = {"wire": ("python", "c"), "wire-items": ("c",), "read": ("python", "c"),
           "text": ("python", "c"), "tokens": ("python", "c"), "check": ("python", "c"),
           "pftrace": ("python", "c")}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m bench.bench_decoder")
    ap.add_argument("--records", type=int, default=10_000_000,
                    help="records in the larger fresh trace (the smaller has a tenth)")
    ap.add_argument("--templated", type=int, default=0, help="also a templated trace of this many records")
    ap.add_argument("--runs", type=int, default=3, help="runs per figure (the median is shown)")
    ap.add_argument("--out", default="build/decoder-bench")
    ap.add_argument("--views", default="wire,wire-items,read,check,text",
                    help=f"comma list from {','.join(READERS)} (pftrace: perfetto --format proto)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        _measure(*a.child)
        return 0
    views = a.views.split(",")
    if any(v not in READERS for v in views) or a.runs < 1 or a.records < 10:
        print(f"bench: --views from {','.join(READERS)}, --runs >= 1, --records >= 10", file=sys.stderr)
        return 2
    from decoder import cwire
    if cwire.load() is None:
        print("bench: the C decoder is not built (make decoder) or HEISEN_DECODER=python", file=sys.stderr)
        return 2
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    traces = [("fresh", a.records // 10, True), ("fresh", a.records, True)]
    if a.templated:
        traces.append(("templated", a.templated, False))
    traces += [("lossy", a.records // 10, True), ("lossy", a.records, True)]
    print(f"decoder bench: items/s = CPU time on core 0, median of {a.runs} runs; peak RSS = the largest; "
          "no babeltrace2 figure (no LTTng trace is recorded or read in this repo)", flush=True)
    for label, size, fresh in traces:
        path = out / f"{label}-{size}.bin"
        if not path.exists():
            t0 = time.time()
            nbytes = generate(path, size, fresh=fresh, lossy=label == "lossy")
            print(f"generated {path}: {size} records, {nbytes} bytes in {time.time() - t0:.1f} s", flush=True)
        python_rate = 0.0
        for view in views:
            for reader in READERS[view]:
                n, rate, rss = measure(view, path, reader, a.runs)
                if reader == "python" and view == "wire":
                    python_rate = rate
                ratio = f"  {rate / python_rate:5.1f}x python wire" if view.startswith("wire") and python_rate \
                    and reader == "c" else ""
                print(f"{label:9s} {size:>9d} records  {view:10s} {reader:6s} {rate / 1e6:7.2f} M items/s  "
                      f"peak RSS {rss / 1024:7.1f} MiB  ({n} items){ratio}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
