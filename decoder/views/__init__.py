"""The decoder's views; each takes (items, out, **opts) and writes to out."""
from __future__ import annotations

from typing import Callable, Iterable, TextIO

from decoder.records import Item
from decoder.views.html import render_html
from decoder.views.perfetto import render_perfetto
from decoder.views.stats import render_stats
from decoder.views.table import render_table
from decoder.views.text import render_text
from decoder.views.tokens import render_tokens

View = Callable[..., None]
VIEWS: dict[str, View] = {
    "text": render_text,
    "tokens": render_tokens,
    "table": render_table,
    "html": render_html,
    "perfetto": render_perfetto,
    "stats": render_stats,
}


def render(view: str, items: Iterable[Item], out: TextIO, **opts: object) -> None:
    VIEWS[view](items, out, **opts)
