"""verdict.json as a type: one `Verdict`, one writer (`Verdict.write`), one reader
(`read_verdict`).

harness/judge/verdict.py turns an exit status into an outcome word; this module is the
record a run leaves.  The JSON keys and values are the ones verdict.json has always
had (tests, replay and docs/harness.md read them), plus `version`.  A key a run did
not reach is absent from the file, not null, so each optional field defaults to
ABSENT, which the writer leaves out; None is a value some keys really have (`rule`,
`bugs`, ...).  The schema table in docs/harness.md is checked against the fields
here (tests/harness/test_verdict_record.py).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, Union

VERSION = 1          # files written before `version` existed read back as 0
FILE_NAME = "verdict.json"


class _Absent:
    """The one value meaning "this key is not in verdict.json" (None is a JSON value)."""
    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT = _Absent()

T = TypeVar("T")
Maybe = Union[T, _Absent]
Obj = dict[str, Any]


class VerdictError(ValueError):
    """A verdict.json that cannot be read back into a Verdict (the message says why)."""


# JSON types a key may hold, by name: what the reader checks and the docs table says.
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "boolean": (bool,), "object": (dict,),
    "array": (list,), "null": (type(None),)}


def _key(*json_types: str, required: bool = False) -> Any:
    """A field of verdict.json: the JSON types its value may have; without `required`
    it may be absent (the default).  Returns Any, as dataclasses.field does for its
    callers, so the annotation on the field stays the type checkers see."""
    meta = {"json": json_types}
    return field(metadata=meta) if required else field(default=ABSENT, metadata=meta)


@dataclass
class Verdict:
    """One run's verdict.json.  Field order is the file's key order."""
    scenario: str = _key("string", required=True)
    seed: int = _key("integer", required=True)
    passed: bool = _key("boolean", required=True)
    outcome: str = _key("string", required=True)
    reason: str = _key("string", required=True)
    version: int = field(default=VERSION, metadata={"json": ("integer",)})
    expected_outcome: Maybe[str] = _key("string")
    bugs: Maybe[str | None] = _key("string", "null")
    deterministic: Maybe[bool] = _key("boolean")
    scenario_config: Maybe[Obj] = _key("object")
    schedule: Maybe[Obj] = _key("object")
    rr: Maybe[Obj] = _key("object")
    build: Maybe[Obj] = _key("object")
    transport: Maybe[Obj] = _key("object")
    qemu: Maybe[Obj] = _key("object")
    hv_cmdline: Maybe[Obj] = _key("object")
    live_check_error: Maybe[str] = _key("string")
    nmi: Maybe[Obj] = _key("object")
    hang_watch: Maybe[Obj] = _key("object")
    hang_detection: Maybe[str] = _key("string")
    live_violation: Maybe[Obj | None] = _key("object", "null")
    stopped_at_violation: Maybe[Obj | None] = _key("object", "null")
    serial_bytes: Maybe[int] = _key("integer")
    qmp_error: Maybe[str] = _key("string")
    capture: Maybe[Obj] = _key("object")
    trace: Maybe[Obj] = _key("object")
    console: Maybe[Obj] = _key("object")
    programs: Maybe[Obj] = _key("object")
    guest_exit: Maybe[Obj] = _key("object")
    guest_exit_code: Maybe[int] = _key("integer")
    hv_options: Maybe[Obj] = _key("object")
    rule: Maybe[str | None] = _key("string", "null")
    counts: Maybe[Obj | None] = _key("object", "null")
    evidence: Maybe[Obj] = _key("object")
    durations: Maybe[Obj] = _key("object")
    html_timeline: Maybe[str | None] = _key("string", "null")
    replay_of: Maybe[Obj] = _key("object")
    # Keys of a file this harness does not know (an older or hand-edited one), kept so
    # reading and writing it again loses nothing.  Not a key of its own in the file.
    unknown: Obj = field(default_factory=dict, metadata={"json": ()})

    def as_dict(self) -> Obj:
        """The JSON object, in key order: `version` first, absent keys left out.  The
        values are the Verdict's own (no copy): a view for readers, not for writing."""
        out: Obj = {"version": self.version}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("version", "unknown") or value is ABSENT:
                continue
            out[f.name] = value
        out.update(self.unknown)
        return out

    def write(self, run_dir: Path) -> Path:
        """The one writer of verdict.json: whole or not at all (a temporary file renamed
        over it), so a harness killed mid-write leaves the previous record."""
        path = Path(run_dir) / FILE_NAME
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.as_dict(), indent=2, sort_keys=False) + "\n")
        tmp.replace(path)
        return path


def keys() -> dict[str, tuple[str, ...]]:
    """Every top-level key the writer can emit, in the file's order (`version` first, as
    as_dict puts it), with the JSON types its value may have."""
    fields = {f.name: f.metadata["json"] for f in dataclasses.fields(Verdict) if f.name != "unknown"}
    return {"version": fields.pop("version"), **fields}


def _type_ok(value: Any, json_types: tuple[str, ...]) -> bool:
    for name in json_types:
        if name == "integer" and isinstance(value, bool):
            continue      # JSON true is not a seed
        if isinstance(value, _JSON_TYPES[name]):
            return True
    return False


def from_dict(data: Any, where: str = FILE_NAME) -> Verdict:
    """A Verdict from a parsed verdict.json; VerdictError says what is wrong with it."""
    if not isinstance(data, dict):
        raise VerdictError(f"{where}: not a JSON object")
    data = dict(data)
    version = data.pop("version", 0)   # before the field existed: version 0, same keys
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= VERSION:
        raise VerdictError(f"{where}: version {version!r} is not one this harness reads (0..{VERSION})")
    known = keys()
    values: Obj = {}
    for name, json_types in known.items():
        if name == "version" or name not in data:
            continue
        value = data.pop(name)
        if not _type_ok(value, json_types):
            raise VerdictError(f"{where}: {name!r} is {type(value).__name__} {value!r:.60}, "
                               f"not {' or '.join(json_types)}")
        values[name] = value
    missing = [f.name for f in dataclasses.fields(Verdict)
               if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
               and f.name not in values]
    if missing:
        raise VerdictError(f"{where}: no {', '.join(repr(m) for m in missing)}")
    return Verdict(version=version, unknown=data, **values)


def read_verdict(run_dir: Path) -> Verdict:
    """A run dir's verdict.json as a Verdict; VerdictError (never a traceback's worth of
    OSError or JSONDecodeError) when it is missing, not JSON, or not a verdict."""
    path = Path(run_dir) / FILE_NAME
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VerdictError(f"{path}: {exc}") from None
    return from_dict(data, str(path))
