"""The harness's use of decoder.api: real frames are decoded and judged; anything else is said plainly."""
from __future__ import annotations

from pathlib import Path

from decoder.defs import EVENT_IDS
from decoder.records import Record
from tests.support.synth import encode_frame
from harness.judge.decoding import decode_serial
from harness.judge.run import _judge, _Watch
from harness.scenario import load_named


def rec(tsc: int, cpu: int, name: str, *args: object) -> Record:
    return Record(tsc, cpu, EVENT_IDS[name], tuple(args))


def test_real_frames_are_decoded_checked_and_rendered(tmp_path: Path) -> None:
    serial = tmp_path / "serial.bin"
    serial.write_bytes(encode_frame(0, 0, [rec(100, 0, "BOOT", 1, 1000, 1),
                                           rec(110, 0, "CPU_UP", 0, 0),
                                           rec(120, 0, "TEXT", b"hello from cpu0")]))
    d = decode_serial(serial, None, tmp_path)
    assert d.decoded and d.records == 3, d.reason
    assert d.check is not None and isinstance(d.check["passed"], bool)
    assert set(d.views) == {"text", "tokens", "html"}, d.view_errors
    assert "hello from cpu0" in (tmp_path / "timeline.txt").read_text()
    assert (tmp_path / "timeline.html").read_text().lstrip().lower().startswith("<!doctype html")


def test_plain_text_console_is_not_claimed_as_a_checked_trace(tmp_path: Path) -> None:
    serial = tmp_path / "serial.bin"
    serial.write_bytes(b"Heisenvisor: booting\nverdict: PASS\n")
    d = decode_serial(serial, None, tmp_path)
    assert not d.decoded and d.check is None
    assert "no trace records" in (d.reason or "")


def test_missing_serial_is_not_decoded(tmp_path: Path) -> None:
    d = decode_serial(tmp_path / "serial.bin", None, tmp_path)
    assert not d.decoded and d.reason


def test_checker_failure_turns_an_exit_pass_into_a_named_failure() -> None:
    sc = load_named("smoke")
    watch = _Watch(outcome="pass", reason="debug-exit PASS")
    bad = {"check": {"passed": False, "rule": "nmi_not_nested", "message": "nested NMI on cpu 1"}}
    outcome, reason, passed, rule = _judge(sc, watch, bad)
    assert (outcome, passed, rule) == ("fail", False, "nmi_not_nested")
    assert "nmi_not_nested" in reason and "nested NMI on cpu 1" in reason
    good = {"check": {"passed": True, "rule": None, "message": ""}}
    assert _judge(sc, watch, good)[:3] == ("pass", "debug-exit PASS", True)
    # No checker verdict: an exit pass alone is no evidence of a pass.
    outcome, reason, passed, _ = _judge(sc, watch, {"check": None, "reason": "not decoded"})
    assert (outcome, passed) == ("error", False) and "not decoded" in reason
    hang = _Watch(outcome="hang", reason="quiet")
    assert _judge(sc, hang, good)[2] is False
