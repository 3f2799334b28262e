"""The C wire decoder (decoder/native/, built by `make decoder` into build/decoder/).

load() returns the extension module, or None when it is not built or
HEISEN_DECODER=python asks for the pure-Python reader (the reference: tests
compare the two).  HEISEN_DECODER=c makes a missing or stale extension an
error instead of a silent fall-back.

The extension keeps decoded items as C structs and builds Record tuples only
when asked; losses are rare, and make_loss() writes them with the Python
reader's own functions and messages (decoder/frame_loss.py, decoder/wire.py).
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sysconfig
from pathlib import Path
from types import ModuleType
from typing import Callable

from decoder import frame_loss
from decoder.records import Loss
from decoder.wire import HEADER_MIN, VERSION

ENV = "HEISEN_DECODER"
# Where the extension is: build/decoder/, or HEISEN_CWIRE_DIR (make test-cwire points it
# at the ASan+UBSan build to run the differential tests through the sanitized C).
BUILD_DIR = Path(os.environ.get("HEISEN_CWIRE_DIR") or Path(__file__).resolve().parent.parent / "build" / "decoder")
_module: ModuleType | None = None
_loaded = False

# hw_item_kind (decoder/native/wire.h)
_L_FRAME, _L_LOST, _L_GAP, _L_PARTIAL, _L_RETX, _L_DUP = range(1, 7)
# enum hw_error -> (loss kind, message from its numbers), as decoder/wire.py raises them
_ERRORS: dict[int, tuple[str, Callable[[int, int, int], str]]] = {
    1: ("garbage", lambda a, b, c: f"COBS block at offset {a} wants {b} bytes, {c} left"),
    2: ("truncated", lambda a, b, c: f"frame of {a} bytes is shorter than the {HEADER_MIN}-byte minimum"),
    3: ("crc", lambda a, b, c: f"CRC mismatch over {a} bytes"),
    4: ("malformed", lambda a, b, c: f"frame version {a}, expected {VERSION}"),
    5: ("malformed", lambda a, b, c: f"timestamp unit 2^{a} cycles"),
    6: ("malformed", lambda a, b, c: "frame header lacks seq/tsc_base"),
    7: ("malformed", lambda a, b, c: f"varint of {a} bytes exceeds 64 bits"),
    8: ("malformed", lambda a, b, c: "varint exceeds 64 bits"),
    10: ("malformed", lambda a, b, c: f"TEXT of {a} bytes runs past the frame"),
    11: ("unknown_event", lambda a, b, c: f"event id {a} at record {b}"),
    12: ("malformed", lambda a, b, c: f"record {b} (event {a}) cut short"),
}
_OVERSIZE = 9


class ExtensionMissing(Exception):
    pass


def _so_path() -> Path:
    return BUILD_DIR / f"_cwire{sysconfig.get_config_var('EXT_SUFFIX')}"


def load() -> ModuleType | None:
    """The _cwire module, or None (not built, or HEISEN_DECODER=python)."""
    global _module, _loaded
    mode = os.environ.get(ENV, "auto")
    if mode not in ("auto", "c", "python"):
        raise ExtensionMissing(f"{ENV}={mode!r}: want auto, c or python")
    if mode == "python":
        return None
    if not _loaded:
        _loaded = True
        path = _so_path()
        if path.exists():
            loader = importlib.machinery.ExtensionFileLoader("_cwire", str(path))
            spec = importlib.util.spec_from_file_location("_cwire", path, loader=loader)
            assert spec is not None
            mod = importlib.util.module_from_spec(spec)
            loader.exec_module(mod)
            _check(mod)
            _module = mod
    if _module is None and mode == "c":
        raise ExtensionMissing(f"{ENV}=c but {_so_path()} is not built: run `make decoder`")
    return _module


def _check(mod: ModuleType) -> None:
    """The C reader's limits must be the Python reader's, or their items differ."""
    want = {"MAX_PIECE": frame_loss.MAX_PIECE, "SEQ_WINDOW": frame_loss.SEQ_WINDOW, "PREVIEW": frame_loss.PREVIEW}
    got = {k: getattr(mod, k, None) for k in want}
    if got != want:
        raise ExtensionMissing(f"{_so_path()} is stale ({got} != {want}): run `make decoder`")


def make_loss(kind: int, tsc: int, cpu: int | None, offset: int, x0: int, x1: int, x2: int, x3: int,
              extra: tuple[bytes, int, bool, bool] | None) -> Loss:
    """One loss item of the C reader, in the Python reader's words."""
    if kind == _L_FRAME:
        assert extra is not None
        head, size, first, terminated = extra
        if x0 == _OVERSIZE:
            what, detail = "garbage", frame_loss.oversize_detail(size)
        else:
            what, msg = _ERRORS[x0]
            detail = msg(x1, x2, x3)
        return frame_loss.piece_loss(offset, head, size, first, terminated, what, detail)
    assert cpu is not None
    if kind == _L_LOST:
        return Loss(tsc, cpu, "lost", x0, "records", offset, f"ring full (frame {x1})")
    if kind == _L_GAP:
        return frame_loss.gap_loss(tsc, cpu, x0, x1, offset)
    if kind == _L_PARTIAL:
        what, msg = _ERRORS[x0]
        return frame_loss.partial_loss(tsc, cpu, what, msg(x1, x2, 0), x3, offset)
    if kind == _L_RETX:
        return frame_loss.retransmit_loss(tsc, cpu, x0, x1, x2, offset)
    if kind == _L_DUP:
        return frame_loss.duplicate_loss(tsc, cpu, x0, x2, offset)  # x2: expect, which can be 2^64
    raise ValueError(f"unknown C loss kind {kind}")
