"""Run a fuzzer's batches over processes, with a progress line every 100,000 inputs:
the one loop `fuzz-decoder` (fuzz.py) and the C/Python differential (cwire_diff.py)
share.  A worker takes one task and returns (inputs done, failure lines)."""
from __future__ import annotations

import time
from multiprocessing import Pool
from typing import Any, Callable


def run_batches(worker: Callable[[Any], tuple[int, list[str]]], tasks: list[Any], jobs: int,
                batch: int, label: str, what: str) -> tuple[int, list[str], float]:
    """(inputs done, every failure line, seconds) after running every task."""
    t0 = time.time()
    done = 0
    failures: list[str] = []
    # One job runs here, with no pool: a Python with ASan preloaded (make test-cwire's
    # sanitized _cwire) hangs in the pool's forked workers.
    pool = Pool(jobs) if jobs > 1 else None
    try:
        for n, fails in (pool.imap_unordered(worker, tasks) if pool else map(worker, tasks)):
            done += n
            failures += fails
            if done % 100000 < batch:
                print(f"{label}: {done} inputs, {len(failures)} {what}, {time.time() - t0:.0f} s", flush=True)
    finally:
        if pool is not None:
            pool.terminate()
    return done, failures, time.time() - t0
