"""The items a trace decodes into: event records and explicit loss reports.

Both are tuples whose first element is the TSC, so a merge can order a mixed
stream with one key and a stable sort keeps each CPU's ring order.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Union

from decoder.defs import EVENT_IDS, EVENTS, EXIT_REASONS, FIELD_NAMES

# Encodings whose values are addresses: shown in hex everywhere.
HEX_ENCODINGS = frozenset({"rip"})
LOST_ID = EVENT_IDS["LOST"]
TEXT_ID = EVENT_IDS["TEXT"]


class Record(NamedTuple):
    """One event from a CPU's ring.

    args holds the event's fields in table order (TEXT: a 1-tuple of bytes);
    frame is the wire frame's per-CPU sequence number (-1 when the record came
    from a ring memory dump).
    """
    tsc: int
    cpu: int
    type: int
    args: tuple
    frame: int = -1

    @property
    def name(self) -> str:
        ev = EVENTS.get(self.type)
        return ev.name if ev else f"EV{self.type}"

    @property
    def token(self) -> str:
        ev = EVENTS.get(self.type)
        return ev.token if ev else "?"

    @property
    def fields(self) -> dict[str, object]:
        ev = EVENTS.get(self.type)
        names = [f for f, _ in ev.fields] if ev else [f"a{i}" for i in range(len(self.args))]
        return dict(zip(names, self.args))

    @property
    def text(self) -> str:
        """TEXT payload decoded for display (undecodable bytes escaped)."""
        raw = self.args[0] if self.args and isinstance(self.args[0], bytes) else b""
        return raw.decode("utf-8", "backslashreplace")


# Loss kinds: what went missing and how the reader knows.
LOSS_KINDS = {
    "lost": "records dropped by a full ring (LOST record)",
    "seq_gap": "frames missing on the wire (per-CPU frame sequence gap)",
    "crc": "a frame failed its CRC and was skipped",
    "garbage": "bytes between delimiters that are not a frame",
    "truncated": "a frame cut off at the start or end of the input",
    "malformed": "a frame passed CRC but its records do not parse",
    "unknown_event": "an event id not in trace/events.toml; rest of the frame skipped",
    "torn": "ring slot reserved but never committed (ring dump)",
    "duplicate": "a frame whose sequence number was already seen on its CPU; skipped",
    "late": "records that arrived after the merge had released later TSCs (order uncertain)",
}


class Loss(NamedTuple):
    """Something the trace should contain but does not, reported in-stream.

    cpu is None when the damaged bytes cannot say which CPU they came from;
    count is the number of records/frames/bytes lost (see unit); offset is the
    byte offset in the input where it was noticed (-1 for ring dumps).
    """
    tsc: int
    cpu: int | None
    kind: str
    count: int
    unit: str
    offset: int
    detail: str = ""

    def describe(self) -> str:
        where = f"cpu {self.cpu}" if self.cpu is not None else "cpu ?"
        return f"LOSS {self.kind}: {self.count} {self.unit} ({where}, byte {self.offset}) {self.detail}".rstrip()


Item = Union[Record, Loss]


def exit_name(reason: int, arch: str = "svm") -> str:
    return EXIT_REASONS.get(arch, {}).get(reason, f"{reason:#x}")


def format_value(enc: str, value: object) -> str:
    if isinstance(value, bytes):
        return repr(value.decode("utf-8", "backslashreplace"))
    assert isinstance(value, int)
    if enc in HEX_ENCODINGS or value >= 0x10000:
        return f"{value:#x}"
    return str(value)


def _u(v: int) -> object:
    return v if v < 0x10000 else hex(v)


def value_name(event: str, field: str, value: int) -> str | None:
    """The name trace/events.toml gives this value of the field (flags: names joined
    by '+', 'none' for 0), or None where it has none -- the number is then the word."""
    named = FIELD_NAMES.get((event, field))
    if named is None:
        return None
    flags, table = named
    if not flags:
        return next((n for n, v in table.items() if v == value), None)
    if value == 0:
        return "none"
    names = [n for n, bit in table.items() if value & bit]
    if value & ~sum(table.values()):
        return None     # a bit no one named: show the number
    return "+".join(names)


def _named(event: str, field: str) -> Callable[[int], object]:
    return lambda v: value_name(event, field, v) or _u(v)


# How describe() shows a field: its name from trace/events.toml (FIELD_NAMES), an exit
# reason with its name, an address in hex, or a number (_u).  One definition for the
# Python describers below and the C text formatter (decoder/views/fast_text.py).
SHOW_NAMED, SHOW_EXIT, SHOW_HEX, SHOW_NUMBER = "named", "exit", "hex", "number"


def field_shows(ev: object) -> list[tuple[str, str]]:
    """(field name, SHOW_*) per field of the event, in table order."""
    out = []
    for fname, enc in ev.fields:  # type: ignore[attr-defined]
        if (ev.name, fname) in FIELD_NAMES:  # type: ignore[attr-defined]
            out.append((fname, SHOW_NAMED))
        elif fname == "reason" and ev.name.startswith("INTERCEPT"):  # type: ignore[attr-defined]
            out.append((fname, SHOW_EXIT))
        elif enc in HEX_ENCODINGS:
            out.append((fname, SHOW_HEX))
        else:
            out.append((fname, SHOW_NUMBER))
    return out


def _describer(ev: object) -> "Callable[[tuple], str]":
    """One f-string per event type (compiled once), so describe() does no per-field loop."""
    parts = [ev.name]  # type: ignore[attr-defined]
    named = {}
    for k, (fname, show) in enumerate(field_shows(ev)):
        if show == SHOW_NAMED:
            named[f"_n{k}"] = _named(ev.name, fname)  # type: ignore[attr-defined]
            parts.append(f"{fname}={{_n{k}(a[{k}])}}")
        elif show == SHOW_EXIT:
            parts.append(f"{fname}={{a[{k}]:#x}}({{_exit(a[{k}])}})")
        elif show == SHOW_HEX:
            parts.append(f"{fname}={{a[{k}]:#x}}")
        else:
            parts.append(f"{fname}={{_u(a[{k}])}}")
    src = "lambda a: f" + repr(" ".join(parts))
    return eval(src, {"_u": _u, "_exit": exit_name, **named})  # noqa: S307  (built from trace/events.toml)


_DESCRIBE = {ev.id: _describer(ev) for ev in EVENTS.values() if ev.id != TEXT_ID}


def describe(rec: Record) -> str:
    """NAME field=value ... (one line, for text views and tooltips)."""
    f = _DESCRIBE.get(rec.type)
    if f is not None:
        try:
            return f(rec.args)
        except (IndexError, TypeError, ValueError):
            pass  # a record built by hand with odd args: the generic form below
    if rec.type == TEXT_ID:
        return f"TEXT {rec.text!r}"
    ev = EVENTS.get(rec.type)
    if ev is None:
        return f"EV{rec.type} {rec.args}"
    return " ".join([ev.name] + [f"{fname}={format_value(enc, v)}" for (fname, enc), v in zip(ev.fields, rec.args)])
