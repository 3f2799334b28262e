"""tokens view: XMHF64's compact token strings, e.g. {0,i,129}{0,I,129}{1,p,3}.

Each token is {cpu,code,fields...} with the event's `token` code from
trace/events.toml.  fields="compact" shows numeric fields except RIPs (XMHF64's
strings carry the reason or vector, not addresses), "all" adds RIPs in
hex, "none" shows only cpu and code.  TEXT records are printed inline as
text, as XMHF64's logs interleaved printf output with tokens.  Loss is
{cpu,!kind,count}.  Streams: one line is written every `wrap` characters.
"""
from __future__ import annotations

from typing import Iterable, TextIO

from decoder.defs import EVENTS
from decoder.records import TEXT_ID, Item, Loss

FIELD_MODES = ("compact", "all", "none")


def token(item: Item, fields: str = "compact") -> str:
    if type(item) is Loss:
        cpu = "?" if item.cpu is None else item.cpu
        return f"{{{cpu},!{item.kind},{item.count}}}"
    ev = EVENTS.get(item.type)  # type: ignore[union-attr]
    if ev is None:
        return f"{{{item.cpu},?{item.type}}}"  # type: ignore[union-attr]
    parts = [str(item.cpu), ev.token]  # type: ignore[union-attr]
    if fields != "none":
        for (_, enc), v in zip(ev.fields, item.args):  # type: ignore[union-attr]
            if enc == "rip":
                if fields == "all":
                    parts.append(f"{v:#x}")
            else:
                parts.append(f"{v:#x}" if v >= 0x10000 else str(v))
    return "{" + ",".join(parts) + "}"


def render_tokens(items: Iterable[Item], out: TextIO, fields: str = "compact", text: bool = True,
                  per_cpu: bool = False, wrap: int = 100, **_: object) -> None:
    if fields not in FIELD_MODES:
        raise ValueError(f"tokens: fields={fields!r}, expected one of {FIELD_MODES}")
    if per_cpu:
        _per_cpu(items, out, fields, wrap)
        return
    line: list[str] = []
    used = 0
    for it in items:
        if type(it) is not Loss and it.type == TEXT_ID:  # type: ignore[union-attr]
            if not text:
                continue
            s = it.text  # type: ignore[union-attr]
        else:
            s = token(it, fields)
        line.append(s)
        nl = s.rfind("\n")
        used = len(s) - nl - 1 if nl >= 0 else used + len(s)
        if used >= wrap:
            line.append("\n")
            used = 0
        if len(line) > 256:
            out.write("".join(line))
            line = []
    if line:
        out.write("".join(line))
    if used:
        out.write("\n")


def _per_cpu(items: Iterable[Item], out: TextIO, fields: str, wrap: int) -> None:
    """One line per CPU per `wrap` characters: 'cpu N: {..}{..}'."""
    lines: dict[object, list[str]] = {}
    sizes: dict[object, int] = {}
    for it in items:
        if type(it) is not Loss and it.type == TEXT_ID:  # type: ignore[union-attr]
            continue
        cpu = "?" if it[1] is None else it[1]
        s = token(it, fields)
        lines.setdefault(cpu, []).append(s)
        sizes[cpu] = sizes.get(cpu, 0) + len(s)
        if sizes[cpu] >= wrap:
            out.write(f"cpu {cpu}: {''.join(lines[cpu])}\n")
            lines[cpu], sizes[cpu] = [], 0
    for cpu, toks in lines.items():
        if toks:
            out.write(f"cpu {cpu}: {''.join(toks)}\n")
