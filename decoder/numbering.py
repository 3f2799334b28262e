"""Item indices as the text view prints them, for filtered streams too.

A filtered stream (decoder/window.py) keeps each item's index in the unfiltered
merged stream, so `--around K` and a checker's window name the same item in every
view.  Its own module so that views need not import the filter (which imports them).
"""
from __future__ import annotations

from typing import Iterable, Iterator

from decoder.records import Item


def numbered(items: Iterable[Item]) -> Iterator[tuple[int, Item]]:
    """(index in the unfiltered stream, item)."""
    own = getattr(items, "numbered", None)
    return own() if callable(own) else enumerate(items)
