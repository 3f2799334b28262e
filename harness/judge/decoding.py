"""The harness's only door to decoder.api.

The decoder is developed in parallel; when it is missing or fails, the run
still gets a verdict from QEMU's exit status and verdict.json says plainly
that the trace was not decoded and why, instead of pretending it checked.
"""
from __future__ import annotations

import dataclasses
import importlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

VIEWS = {"text": "timeline.txt", "tokens": "timeline.tokens", "html": "timeline.html"}


class DecoderUnavailable(Exception):
    pass


@dataclass
class Decoded:
    decoded: bool
    reason: str | None = None
    items: list[Any] | None = None
    summary: Any = None
    check: dict[str, Any] | None = None
    check_error: str | None = None
    views: dict[str, str] = field(default_factory=dict)
    view_errors: dict[str, str] = field(default_factory=dict)

    @property
    def records(self) -> int | None:
        """Event records among the items (the rest are loss reports)."""
        if self.items is None:
            return None
        return sum(type(item).__name__ == "Record" for item in self.items)

    def as_dict(self) -> dict[str, Any]:
        return {"decoded": self.decoded, "reason": self.reason,
                "checked": self.check is not None and not self.check.get("error"),
                "check_error": self.check_error or (self.check or {}).get("error"),
                "items": len(self.items) if self.items is not None else None,
                "records": self.records,
                "summary": jsonable(self.summary), "check": self.check,
                "views": self.views, "view_errors": self.view_errors}


def jsonable(value: Any) -> Any:
    """Best-effort JSON form of decoder results whose exact types we do not own."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if hasattr(value, "_asdict"):
        return jsonable(value._asdict())
    return repr(value)


def api() -> ModuleType:
    try:
        return importlib.import_module("decoder.api")
    except Exception as exc:  # ImportError, or a half-written module failing at import
        raise DecoderUnavailable(f"decoder.api is not importable ({type(exc).__name__}: {exc})") from exc


def _check_dict(result: Any) -> dict[str, Any]:
    evidence = getattr(result, "evidence", None)
    return {"passed": bool(getattr(result, "passed")),
            "error": jsonable(getattr(result, "error", None)),
            "evidence": jsonable(evidence),
            "rule": jsonable(getattr(result, "rule", None)),
            "message": jsonable(getattr(result, "message", None)),
            "window": jsonable(getattr(result, "window", None)),
            "counts": jsonable(getattr(result, "counts", None))}


def render_views(dec: ModuleType, items: list[Any], out_dir: Path, prefix: str = "",
                 views: dict[str, str] = VIEWS) -> tuple[dict[str, str], dict[str, str]]:
    written, errors = {}, {}
    for view, filename in views.items():
        path = out_dir / (prefix + filename)
        try:
            with open(path, "w") as out:
                dec.render(view, items, out)
            written[view] = str(path)
        except Exception as exc:  # one broken view must not hide the others
            errors[view] = f"{type(exc).__name__}: {exc}"
            path.unlink(missing_ok=True)
    return written, errors


def guests_running_seconds(items: list[Any], tsc_khz: int | None) -> float | None:
    """Seconds from machine start until the last CPU entered its guest.

    The guest TSC counts from QEMU's start (TCG), and the BOOT record carries
    its rate measured against the PIT (the summary's tsc_khz), so the last
    GUEST_START's TSC over that rate is the boot time the way the hypervisor
    saw it.
    """
    from decoder.defs import EVENT_IDS
    starts = [item.tsc for item in items if getattr(item, "type", None) == EVENT_IDS["GUEST_START"]]
    return max(starts) / (tsc_khz * 1000.0) if tsc_khz and starts else None


def decode_serial(serial_path: Path, rules: Path | None, out_dir: Path,
                  lost_tail: tuple[int, str] | None = None, views: bool = True,
                  time_bounds: bool = True) -> Decoded:
    """Decode serial.bin, run the checker, and (views) write the timeline views into out_dir.

    lost_tail = (bytes, why): frames known to be missing after the end of the file (a
    full memory log).  They become a `truncated` loss at the end of the stream, so the
    summary shows them and the end-of-trace rules are left unjudged, not failed.
    time_bounds: the TSC was virtual time (icount), so rules' time bounds are judged."""
    try:
        dec = api()
    except DecoderUnavailable as exc:
        return Decoded(False, str(exc))
    size = serial_path.stat().st_size if serial_path.exists() else 0
    try:
        items = list(dec.read_records(str(serial_path)))
    except Exception as exc:
        return Decoded(False, f"decoder.api.read_records failed on {serial_path.name} "
                              f"({size} bytes): {type(exc).__name__}: {exc}")
    if lost_tail is not None and lost_tail[0] > 0:
        last_tsc = max((item[0] for item in items), default=0)
        items.append(dec.Loss(last_tsc, None, "truncated", lost_tail[0], "bytes", size, lost_tail[1]))
    records = sum(isinstance(item, dec.Record) for item in items)
    if records == 0:
        # A checker that sees no records trivially "passes"; that would be a
        # lie about a console that is not (yet) emitting trace frames.
        losses = "; ".join(f"{getattr(i, 'kind', '?')} {getattr(i, 'count', '?')} "
                           f"{getattr(i, 'unit', '')}".strip() for i in items[:3])
        return Decoded(False, f"{serial_path.name} ({size} bytes) holds no trace records"
                              + (f" (decoder: {losses})" if losses else ""), items=items)
    result = Decoded(True, items=items)
    try:
        result.summary = dec.summary(items)
        result.summary["all_guests_running_s"] = guests_running_seconds(
            items, result.summary.get("tsc_khz"))
    except Exception as exc:
        result.view_errors["summary"] = f"{type(exc).__name__}: {exc}"
    try:
        result.check = _check_dict(dec.check(items, str(rules) if rules else None, input_bytes=size,
                                             time_bounds=time_bounds))
    except Exception as exc:
        # Records decoded but not judged: the verdict then rests on the exit
        # status alone, and says so.
        result.check_error = f"decoder.api.check failed: {type(exc).__name__}: {exc}"
    if views:
        result.views, errors = render_views(dec, items, out_dir)
        result.view_errors.update(errors)
    return result


def decode_ring_dump(dump_path: Path, ncpus: int, out_dir: Path) -> Decoded:
    """Records straight out of a pmemsave of trace_rings (what never reached the wire)."""
    try:
        dec = api()
    except DecoderUnavailable as exc:
        return Decoded(False, str(exc))
    try:
        items = list(dec.records_from_ring_dump(dump_path.read_bytes(), ncpus))
    except Exception as exc:
        return Decoded(False, f"decoder.api.records_from_ring_dump failed: {type(exc).__name__}: {exc}")
    result = Decoded(True, items=items)
    result.views, result.view_errors = render_views(
        dec, items, out_dir, prefix="rings-",
        views={"text": "timeline.txt", "tokens": "timeline.tokens"})
    return result


def trace_items(serial_path: Path) -> list[Any]:
    """Records and Loss items of a serial capture in trace order."""
    dec = api()
    try:
        return list(dec.read_records(str(serial_path)))
    except Exception as exc:
        raise DecoderUnavailable(f"decoder.api.read_records failed on {serial_path}: "
                                 f"{type(exc).__name__}: {exc}") from exc


def is_record(item: Any) -> bool:
    return isinstance(item, api().Record)


def event_records(serial_path: Path) -> list[Any]:
    """The event records of a serial capture in trace order (losses left out)."""
    return [item for item in trace_items(serial_path) if is_record(item)]


def describe(record: Any) -> str:
    """One record as the text timeline shows it."""
    dec = api()
    out = io.StringIO()
    try:
        dec.render("text", [record], out)
    except Exception as exc:  # the record itself is still worth showing
        return f"{record!r} (text view failed: {type(exc).__name__}: {exc})"
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    return lines[-1] if lines else repr(record)
