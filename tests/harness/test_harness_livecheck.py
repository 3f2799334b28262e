"""harness/judge/livecheck.py against synthetic traces written the way a UART writes them:
a broken rule is found while bytes still arrive, in any chunking, and it is the one
the final check of the whole trace names."""
from __future__ import annotations

import random
from pathlib import Path

from decoder.api import check, read_records
from decoder.check import run_check
from decoder.defs import HYPERCALLS
from tests.support.synth import TraceBuilder
from harness.judge.livecheck import LiveCheck
from harness.judge.run import _violation, live_check_outcome
from tests.decoder.traces import good_run

HC_TEST = HYPERCALLS["TEST"]


def broken_trace() -> bytes:
    """Two CPUs; CPU 1 acknowledges a quiesce epoch nobody requested, then goes on."""
    b = TraceBuilder(ncpus=2)
    for i in range(40):
        b.ev(0, "INTERCEPT_ENTER", 0x81, 0x2001489)
        b.ev(0, "INTERCEPT_LEAVE", 0x81)
        b.ev(1, "INTERCEPT_ENTER", 0x81, 0x2001489)
        b.ev(1, "INTERCEPT_LEAVE", 0x81)
        if i == 20:
            b.ev(1, "QUIESCE_ACK", 7)
    return b.serial(per_frame=4)


def test_finds_the_violation_the_final_check_names_in_any_chunking(tmp_path: Path) -> None:
    data = broken_trace()
    final = run_check(read_records(data))
    assert not final.passed and final.rule == "quiesce_epoch"
    rng = random.Random(3)
    for _ in range(5):
        serial = tmp_path / "serial.bin"
        serial.write_bytes(b"")
        live = LiveCheck(serial)
        pos, found_at = 0, None
        while pos < len(data):
            step = rng.randrange(1, 200)
            with open(serial, "ab") as f:
                f.write(data[pos:pos + step])
            pos += step
            if live.poll() is not None and found_at is None:
                found_at = pos
        assert found_at is not None and found_at < len(data)  # before the trace ended
        assert live.result is not None and live.result.rule == final.rule and live.result.index == final.index


def test_a_clean_trace_never_stops_the_run(tmp_path: Path) -> None:
    b = TraceBuilder(ncpus=2)
    for _ in range(30):
        for cpu in (0, 1):
            b.ev(cpu, "INTERCEPT_ENTER", 0x81, 0x2001489)
            b.ev(cpu, "INTERCEPT_LEAVE", 0x81)
    serial = tmp_path / "serial.bin"
    serial.write_bytes(b.serial(per_frame=3))
    live = LiveCheck(serial)
    assert live.poll() is None and live.poll() is None


def test_no_file_yet_is_no_verdict(tmp_path: Path) -> None:
    assert LiveCheck(tmp_path / "missing.bin").poll() is None


def test_a_checker_that_breaks_stops_the_live_check_not_the_run(tmp_path: Path) -> None:
    serial = tmp_path / "serial.bin"
    serial.write_bytes(broken_trace())
    live = LiveCheck(serial)

    def boom(item: object) -> bool:
        raise ValueError("a rule bug")
    live.checker.feed = boom  # type: ignore[method-assign]
    assert live.poll() is None and live.poll() is None
    assert live.error is not None and "ValueError: a rule bug" in live.error


def test_poll_all_reads_what_a_machine_left_when_it_ended_itself(tmp_path: Path, monkeypatch) -> None:
    # Fail-fast: the machine may end a millisecond after the violating record, before
    # any poll.  The final poll_all still finds the violation (and a replay can compare).
    serial = tmp_path / "serial.bin"
    data = broken_trace()
    serial.write_bytes(data)
    live = LiveCheck(serial)
    monkeypatch.setattr("harness.judge.livecheck.READ_LIMIT", 7)  # many small reads
    found = live.poll_all()
    assert found is not None and found.rule == "quiesce_epoch"


def test_a_rules_file_that_does_not_load_leaves_the_run_alone(tmp_path: Path) -> None:
    serial = tmp_path / "serial.bin"
    serial.write_bytes(broken_trace())
    bad = tmp_path / "rules.toml"
    bad.write_text("this is [not toml")
    live = LiveCheck(serial, bad)
    assert live.poll() is None and live.poll_all() is None
    assert live.error is not None and "live check not started" in live.error


def test_a_panic_record_seen_live_is_a_panic_not_a_fail() -> None:
    # field-width under XMHF64's method: the live check read the PANIC record before
    # QEMU's debug-exit in some reruns and not in others, and "fail" != "panic" made
    # the reruns look like a different failure.
    b = good_run(finish=False)
    b.ev(1, "PANIC", 0xffffffff, 0, 0x1050a5)
    found = check(read_records(b.serial()))
    assert found.rule == "no_panic" and found.event == "PANIC"
    outcome, reason = live_check_outcome(_violation(found))
    assert outcome == "panic" and "rule 'no_panic'" in reason and "the harness stopped it" in reason
    b = good_run(finish=False)
    b.ev(1, "HYPERCALL", HC_TEST, 5, 0)            # a wrong TEST result
    found = check(read_records(b.serial()))
    assert found.event == "HYPERCALL"
    assert live_check_outcome(_violation(found))[0] == "fail"


def test_an_end_of_trace_violation_names_no_record() -> None:
    b = good_run(finish=False)                          # no GUEST_REPORT: judged at the end
    found = check(read_records(b.serial()))
    assert not found.passed and found.index is not None and found.event is None, found.message
