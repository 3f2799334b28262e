"""python3 -m decoder <view> serial.bin [options]

Views: text, tokens, table, html, perfetto, stats; `check` runs the
expected-sequence checker (exit 0 pass, 1 violation, 2 no verdict: unreadable
input, bad arguments or rules, no records, more damage than data).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Iterable

from decoder import cwire
from decoder.expr import RuleError
from decoder.merge import DEFAULT_LOOKAHEAD
from decoder.records import Item
from decoder.ringdump import DumpError, records_from_ring_dump
from decoder.symbols import SymbolError
from decoder.reader import read_items
from decoder.views import VIEWS
from decoder.errors import InputError
from decoder.window import apply as apply_window
from decoder.window_args import add_window_args, around, window_of

EXIT_PASS, EXIT_FAIL, EXIT_UNREADABLE = 0, 1, 2


def _count(minimum: int) -> "Callable[[str], int]":
    """argparse type: an integer >= minimum (a clear usage error, exit 2, otherwise)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value
    return parse


_NONNEG, _POSITIVE = _count(0), _count(1)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python3 -m decoder", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="view", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("input", help="serial capture (or a trace_rings dump with --ring-dump)")
    common.add_argument("-o", "--output", help="write here instead of stdout")
    common.add_argument("--ring-dump", action="store_true", help="input is a pmemsave of trace_rings")
    common.add_argument("--ncpus", type=_POSITIVE, help="CPUs to expect (before BOOT says; ring dump: rings to read)")
    common.add_argument("--lookahead", type=_POSITIVE, default=DEFAULT_LOOKAHEAD,
                        help=f"merge window in items (default {DEFAULT_LOOKAHEAD})")
    p = sub.add_parser("text", parents=[common], help="one line per event")
    p.add_argument("--columns", action="store_true", help="one column per CPU instead of a CPU prefix")
    p.add_argument("--elf", action="append", default=[], help="ELF file for RIP symbols (repeatable)")
    p = sub.add_parser("tokens", parents=[common], help="XMHF64's compact token strings")
    p.add_argument("--fields", choices=("compact", "all", "none"), default="compact")
    p.add_argument("--no-text", dest="text", action="store_false", help="leave out TEXT (printf) output")
    p.add_argument("--per-cpu", action="store_true", help="one line per CPU instead of one merged stream")
    p = sub.add_parser("table", parents=[common], help="XMHF64's markdown execution-sequence table")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--around", type=around, metavar="K[:N]",
                   help="item index K (the text view's first column); N overrides --context")
    g.add_argument("--epoch", type=_NONNEG, help="quiesce epoch")
    g.add_argument("--violation", action="store_true", help="around the checker's first violation")
    p.add_argument("--context", type=_NONNEG, default=10, help="rows before/after")
    p.add_argument("--rules", help="rules file for --violation")
    p = sub.add_parser("html", parents=[common], help="self-contained HTML/SVG swimlanes")
    p.add_argument("--start", type=_NONNEG, default=0, help="first item shown")
    p.add_argument("--max-records", type=_POSITIVE, default=20000)
    p.add_argument("--width", type=_POSITIVE, default=1200)
    p.add_argument("--dir", help="write a zoomable timeline of the whole trace into this directory "
                                 "(index.html and data files; any trace size) instead of one page")
    p = sub.add_parser("perfetto", parents=[common], help="Chrome trace-event JSON, or a .pftrace, for ui.perfetto.dev")
    p.add_argument("--format", choices=("json", "proto"), default="json",
                   help="proto: Perfetto's protobuf trace (write it with -o FILE.pftrace)")
    sub.add_parser("stats", parents=[common], help="per-CPU counts, exits/s, NMI accounting, loss")
    p = sub.add_parser("check", parents=[common], help="expected-sequence checker")
    p.add_argument("--rules", help="rules file (default decoder/rules.toml)")
    p.add_argument("--context", type=_NONNEG, default=8, help="rows before/after the violation")
    p.add_argument("--host-timed", dest="time_bounds", action="store_false",
                   help="the trace's TSC followed the host (a run without icount): measure time "
                        "bounds (within_ms) but do not judge them")
    for name, view in sub.choices.items():
        if name != "check":  # a verdict needs the whole trace: rules keep state across it
            add_window_args(view, with_around=name != "table")
    return ap


def _items(a: argparse.Namespace) -> Iterable[Item]:
    if a.ring_dump:
        with open(a.input, "rb") as f:
            return records_from_ring_dump(f.read(), a.ncpus)
    open(a.input, "rb").close()  # unreadable input must fail before any output
    return read_items(a.input, lookahead=a.lookahead, ncpus=a.ncpus)


def _input_size(a: argparse.Namespace) -> int | None:
    """The capture's size in bytes, for the evidence rule (None for a ring dump:
    its damage is counted in records, not bytes)."""
    return None if a.ring_dump else os.path.getsize(a.input)


def main(argv: list[str]) -> int:
    ap = _parser()
    a = ap.parse_args(argv)
    window = window_of(a, ap)
    if a.view == "table" and a.violation and window.active:
        ap.error("table --violation: the checker judges the whole trace; --from/--to/--cpu do not apply")
    if a.view == "table" and a.around is not None:
        a.around, a.context = window.around, window.context
    try:
        cwire.load()  # HEISEN_DECODER=c without the extension: say so before any output
    except cwire.ExtensionMissing as e:
        print(f"decoder: {e}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        if a.view == "check" or (a.view == "table" and a.violation):
            from decoder.check import Checker
            Checker(a.rules)  # a bad rules file fails before the input is read
        items = apply_window(_items(a), window, a.ncpus)
        size = _input_size(a)
    except (RuleError, SymbolError) as e:
        print(f"decoder: {e}", file=sys.stderr)
        return EXIT_UNREADABLE
    except (OSError, DumpError, ValueError) as e:
        print(f"decoder: {a.input}: {_why(e)}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        out = open(a.output, "w", encoding="utf-8") if a.output else sys.stdout
    except OSError as e:
        print(f"decoder: -o {a.output}: cannot write ({_why(e)})", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        if a.view == "check":
            from decoder.check import run_check
            from decoder.fast_check import check_file
            if a.ring_dump:
                r = run_check(items, a.rules, context=a.context, input_bytes=size, time_bounds=a.time_bounds)
            else:   # C judges a pass, lossy or not; a broken rule is the Python checker's (decoder/fast_check.py)
                r = check_file(a.input, a.rules, context=a.context, input_bytes=size, time_bounds=a.time_bounds,
                               lookahead=a.lookahead, ncpus=a.ncpus)
            out.write(r.summary() + "\n")
            if r.error is not None:
                print(f"decoder: {a.input}: no verdict: {r.error}", file=sys.stderr)
                return EXIT_UNREADABLE
            if r.passed:
                return EXIT_PASS
            out.write(f"\n{r.window}")
            return EXIT_FAIL
        opts = {k: v for k, v in vars(a).items() if k not in ("view", "input", "output", "ring_dump", "lookahead",
                                                               "t_from", "t_to", "cpus") and (k != "around" or a.view == "table")}
        if a.view == "table" and a.violation:
            opts["rules"] = a.rules
        VIEWS[a.view](items, out, **opts)
        return EXIT_PASS
    except (RuleError, SymbolError) as e:
        print(f"decoder: {e}", file=sys.stderr)
        return EXIT_UNREADABLE
    except InputError as e:
        print(f"decoder: {a.input}: {e}", file=sys.stderr)
        return EXIT_UNREADABLE
    except LookupError as e:
        print(f"decoder: {e}", file=sys.stderr)
        return EXIT_FAIL
    except BrokenPipeError:
        return EXIT_PASS
    except OSError as e:
        print(f"decoder: {a.output or 'stdout'}: write failed ({_why(e)})", file=sys.stderr)
        return EXIT_UNREADABLE
    finally:
        if out is not sys.stdout:
            out.close()


def _why(e: BaseException) -> str:
    return e.strerror if isinstance(e, OSError) and e.strerror else str(e)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
