"""Hang decisions: wall silence by default, virtual-time silence under icount."""
from __future__ import annotations

from harness.judge.hangwatch import BACKSTOP, HangWatch

ONE_VIRTUAL_S = 10**9 >> 7  # instructions per virtual second at shift 7


def test_wall_mode_resets_on_growth_and_fires_after_the_timeout() -> None:
    w = HangWatch(2.0)
    assert w.observe(0.0, 10) is None
    assert w.observe(1.9, 10) is None
    assert w.observe(2.5, 11) is None  # grew: the clock restarts
    assert w.observe(4.4, 11) is None
    reason = w.observe(4.6, 11)
    assert reason is not None and "2s" in reason and "11 bytes" in reason


def test_icount_mode_ignores_a_slow_host_while_the_machine_makes_progress() -> None:
    w = HangWatch(2.0, icount_shift=7)
    # A loaded host: 100 wall seconds, but only 1 virtual second of silence.
    assert w.observe(0.0, 10, 0) is None
    assert w.observe(100.0, 10, ONE_VIRTUAL_S) is None


def test_icount_mode_fires_on_virtual_silence_not_before() -> None:
    w = HangWatch(2.0, icount_shift=7)
    assert w.observe(0.0, 10, 1000) is None
    assert w.observe(0.1, 10, 1000 + 2 * ONE_VIRTUAL_S - 8) is None
    reason = w.observe(0.2, 10, 1000 + 2 * ONE_VIRTUAL_S + 8)
    assert reason is not None and "virtual time" in reason


def test_serial_growth_restarts_the_virtual_clock() -> None:
    w = HangWatch(2.0, icount_shift=7)
    w.observe(0.0, 10, 0)
    assert w.observe(0.1, 20, int(1.5 * ONE_VIRTUAL_S)) is None
    assert w.observe(0.2, 20, int(3.0 * ONE_VIRTUAL_S)) is None  # 1.5 s since growth
    assert w.observe(0.3, 20, int(3.6 * ONE_VIRTUAL_S)) is not None


def test_a_stopped_virtual_clock_is_a_hang_after_the_timeout_in_wall_time() -> None:
    w = HangWatch(2.0, icount_shift=7)
    w.observe(0.0, 10, 5000)
    assert w.observe(1.5, 10, 5000) is None
    reason = w.observe(2.1, 10, 5000)
    assert reason is not None and "virtual clock stopped at icount 5000" in reason


def test_unreadable_icount_falls_back_to_a_generous_wall_backstop() -> None:
    w = HangWatch(2.0, icount_shift=7)
    w.observe(0.0, 10, None)
    assert w.observe(2.0 * BACKSTOP - 0.1, 10, None) is None
    assert "backstop" in (w.observe(2.0 * BACKSTOP + 0.1, 10, None) or "")


def test_the_watcher_reports_what_it_saw() -> None:
    # A hang called on a serial port that never had a byte reads differently from one
    # called after output stopped: the verdict keeps both, and how often it looked.
    w = HangWatch(2.0, icount_shift=7)
    assert w.stats() == {"samples": 0, "longest_gap_s": 0.0, "longest_silence_s": 0.0,
                         "first_bytes_after_s": None, "first_icount": None, "first_bytes_icount": None}
    w.observe(10.0, 0, 0)
    w.observe(10.05, 0, 1000)
    w.observe(10.5, 64, 2000)       # first bytes, after a 0.45 s gap in sampling
    w.observe(10.55, 64, 3000)
    assert w.stats() == {"samples": 4, "longest_gap_s": 0.45, "longest_silence_s": 0.0,
                         "first_bytes_after_s": 0.5, "first_icount": 0, "first_bytes_icount": 2000}


def test_the_longest_silence_is_kept_on_the_hang_clock() -> None:
    # What a scenario's hang_timeout is set from: the quietest stretch of a passing run,
    # in virtual seconds under icount (2**7 ns an instruction), in wall seconds otherwise.
    w = HangWatch(2.0, icount_shift=7)
    w.observe(0.0, 10, 0)
    w.observe(0.1, 10, 10_000_000)          # 1.28 s of virtual silence
    w.observe(0.2, 20, 10_000_001)          # output: the silence ends
    w.observe(0.3, 20, 12_000_001)          # 0.256 s
    assert w.stats()["longest_silence_s"] == 1.28
    wall = HangWatch(5.0)
    for t, size in ((0.0, 1), (3.5, 1), (3.6, 2), (4.0, 2)):
        assert wall.observe(t, size) is None
    assert wall.stats()["longest_silence_s"] == 3.5
