"""The command line of decoder/window.py: --from, --to, --cpu, --around (every view)."""
from __future__ import annotations

import argparse
import math

from decoder.window import DEFAULT_CONTEXT, Window


def _time(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a time in seconds (as the text view prints it), got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a time >= 0 in seconds, got {text!r}")
    return value


def _index(text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what} as an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected {what} as an integer >= 0, got {value}")
    return value


def cpu_list(text: str) -> list[int]:
    """argparse type: '2' or '0,3' (the option also repeats)."""
    return [_index(part.strip(), "a CPU number") for part in text.split(",")]


def around(text: str) -> tuple[int, int | None]:
    """argparse type: 'K' or 'K:N' (item K of the text view, N items of context either side)."""
    k, sep, n = text.partition(":")
    return _index(k, "an item index"), (_index(n, "a context") if sep else None)


def add_window_args(p: argparse.ArgumentParser, with_around: bool = True) -> None:
    g = p.add_argument_group("filters (applied before the view; loss in the window is always kept)")
    g.add_argument("--from", dest="t_from", type=_time, metavar="T", help="first time shown (seconds since BOOT)")
    g.add_argument("--to", dest="t_to", type=_time, metavar="T", help="last time shown (seconds since BOOT)")
    g.add_argument("--cpu", dest="cpus", type=cpu_list, action="append", metavar="N[,M...]",
                   help="only these CPUs (repeatable)")
    if with_around:
        g.add_argument("--around", type=around, metavar="K[:N]",
                       help=f"item K (the text view's first column) and N items either side (default {DEFAULT_CONTEXT})")


def window_of(a: argparse.Namespace, p: argparse.ArgumentParser) -> Window:
    """The Window the arguments ask for; p.error (exit 2) when they contradict each other."""
    t_from, t_to = getattr(a, "t_from", None), getattr(a, "t_to", None)
    if t_from is not None and t_to is not None and t_from > t_to:
        p.error(f"--from {t_from} is after --to {t_to}")
    lists = getattr(a, "cpus", None)
    cpus = frozenset(c for lst in lists for c in lst) if lists else None
    if cpus is not None and a.ncpus and max(cpus) >= a.ncpus:
        p.error(f"--cpu {max(cpus)}: out of range for --ncpus {a.ncpus}")
    k, n = getattr(a, "around", None) or (None, None)
    if n is None:
        n = getattr(a, "context", None)   # table's --context, when K came without :N
    return Window(t_from, t_to, cpus, k, DEFAULT_CONTEXT if n is None else n)
