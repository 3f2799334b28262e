"""Run host test binaries N times each and stop at the first failure.

`make test-repeat` uses it to show that a test does not fail by itself: a flaky
test is one whose failure needs many runs to appear, so every run is counted and
the failing run's output is kept and printed, never retried away.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="repeat", description=__doc__)
    ap.add_argument("--runs", type=int, required=True, help="runs of each binary (>= 1)")
    ap.add_argument("--args-for", action="append", default=[], metavar="NAME=ARG",
                    help="one argument for the binary called NAME")
    ap.add_argument("binaries", nargs="+", type=Path)
    ns = ap.parse_args(argv)
    if ns.runs < 1:
        ap.error(f"--runs must be at least 1, not {ns.runs}")
    for b in ns.binaries:
        if not b.is_file():
            ap.error(f"no test binary at {b}")
    return ns


def main(argv: list[str]) -> int:
    ns = parse_args(argv)
    extra = dict(a.split("=", 1) for a in ns.args_for)
    for binary in ns.binaries:
        argv_run = [str(binary)] + ([extra[binary.name]] if binary.name in extra else [])
        start = time.monotonic()
        for k in range(1, ns.runs + 1):
            proc = subprocess.run(argv_run, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if proc.returncode != 0:
                sys.stdout.write(proc.stdout.decode(errors="replace"))
                print(f"repeat: {' '.join(argv_run)}: run {k} of {ns.runs} exited {proc.returncode}")
                return 1
        print(f"repeat: {' '.join(argv_run)}: {ns.runs} of {ns.runs} runs clean "
              f"({time.monotonic() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
