"""argparse types for the harness's command lines: every value is checked at the edge,
so a bad one is a usage error (exit 2, one line) before anything runs."""
from __future__ import annotations

import argparse
from typing import Callable

from harness.launch import build as buildmod

MAX_SEED = (1 << 63) - 1


def int_in(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """argparse type: an integer in [lo, hi] (a usage error, exit 2, otherwise)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < lo or (hi is not None and value > hi):
            span = f"from {lo} to {hi}" if hi is not None else f">= {lo}"
            raise argparse.ArgumentTypeError(f"expected an integer {span}, got {value}")
        return value
    return parse


def int_list_of(allowed: range | tuple[int, ...]) -> Callable[[str], list[int]]:
    """argparse type: comma-separated integers, each in `allowed`, at least one."""
    def parse(text: str) -> list[int]:
        try:
            values = [int(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
        bad = [v for v in values if v not in allowed]
        if not values or bad:
            what = (f"{allowed.start}..{allowed.stop - 1}" if isinstance(allowed, range)
                    else " or ".join(map(str, allowed)))
            raise argparse.ArgumentTypeError(f"expected comma-separated values in {what}, got {text!r}")
        return values
    return parse


SEED = int_in(0, MAX_SEED)


def bug_names(text: str) -> str:
    """argparse type: NAME[,NAME] from defs/bugs.toml (it reaches make, never a shell)."""
    try:
        return buildmod.check_bugs(text)
    except buildmod.BuildError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
