"""XMHF64's markdown execution-sequence table for rows of (index, item): what the
table view prints and what the checker shows around a violation (decoder/check.py).
Its own module so that neither of those two imports the other."""
from __future__ import annotations

from decoder.records import Item
from decoder.views.labels import label


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: list[tuple[int, Item]], ncpus: int = 0, mark: int | None = None) -> str:
    """XMHF64's table for (index, item) rows; the row with index == mark is flagged '>'."""
    # a frame's CPU is one byte: a BOOT record claiming more than 256 gets 256 columns
    cpus = max([min(ncpus, 256) - 1] + [it[1] for _, it in rows if it[1] is not None])
    cols: list[object] = list(range(cpus + 1))
    if any(it[1] is None for _, it in rows):
        cols.append(None)
    head = "|Index|" + "|".join("wire" if c is None else f"CPU {c}" for c in cols) + "|"
    lines = [head, "|" + "-|" * (len(cols) + 1)]
    for k, it in rows:
        cells = ["" for _ in cols]
        cells[cols.index(it[1])] = _cell(label(it))
        idx = f">{k}" if k == mark else str(k)
        lines.append(f"|{idx}|" + "|".join(cells) + "|")
    return "\n".join(lines) + "\n"
