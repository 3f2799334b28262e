"""The C checker (decoder/fast_check.py, decoder/native/check.c) answers only passes: a
trace that passes but for one broken rule must not pass in C.  Each case here is a
passing run plus exactly one fault, so a C rule more lenient than its Python reference
would pass it (tests/decoder/check_both.py's general comparison would not see that where
a trace breaks several rules at once)."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable, Iterator

import pytest

from decoder.check import Checker
from decoder.fast_check import c_check
from tests.support.synth import TraceBuilder
from tests.decoder.check_both import both
from tests.decoder.traces import VMMCALL, good_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def built() -> Iterator[None]:
    subprocess.run(["make", "-s", "-C", str(ROOT), "decoder"], check=True, capture_output=True)
    yield


def _leave_without_enter(b: TraceBuilder) -> None:
    b.ev(0, "INTERCEPT_LEAVE", VMMCALL)


def _reason_differs(b: TraceBuilder) -> None:
    b.ev(1, "INTERCEPT_ENTER", VMMCALL, 0x2000000)
    b.ev(1, "INTERCEPT_LEAVE", 0x61)


def _enter_twice(b: TraceBuilder) -> None:
    b.ev(0, "INTERCEPT_ENTER", VMMCALL, 0x2000000)
    b.ev(0, "INTERCEPT_ENTER", VMMCALL, 0x2000000)
    b.ev(0, "INTERCEPT_LEAVE", VMMCALL)


def _panic(b: TraceBuilder) -> None:
    b.ev(1, "PANIC", 1, 2, 3)


def _dropped_nmi(b: TraceBuilder) -> None:
    b.ev(1, "HOST_NMI", 0, 1, 0)


def _bad_checksum(b: TraceBuilder) -> None:
    b.ev(0, "INTERCEPT_ENTER", VMMCALL, 0x2000000)
    b.ev(0, "HYPERCALL", 3, 5, 6)
    b.ev(0, "INTERCEPT_LEAVE", VMMCALL)


def _report_fails(b: TraceBuilder) -> None:
    b.ev(1, "GUEST_REPORT", 2, 0, 0)


def _unreported_guest(b: TraceBuilder) -> None:
    b.ev(1, "GUEST_START", 0x2000000, 64)


def _nmi_unaccounted(b: TraceBuilder) -> None:
    b.ev(0, "HOST_NMI", 2, 1, 0)
    b.ev(0, "HOST_NMI", 2, 1, 0)


def _unblocked_twice(b: TraceBuilder) -> None:
    b.ev(0, "NMI_UNBLOCK", 0x2000300)


def _epoch_unfinished(b: TraceBuilder) -> None:
    b.ev(0, "QUIESCE_REQUEST", 99)


def _epoch_unrequested(b: TraceBuilder) -> None:
    b.ev(1, "QUIESCE_ACK", 98)


def _guest_nested(b: TraceBuilder) -> None:
    b.ev(1, "GUEST_EVENT", 1, 0, 0)
    b.ev(1, "GUEST_EVENT", 1, 0, 0)


FAULTS: dict[str, tuple[Callable[[TraceBuilder], None], str]] = {
    "leave-without-enter": (_leave_without_enter, "intercept_pairing"),
    "reason-differs": (_reason_differs, "intercept_pairing"),
    "enter-twice": (_enter_twice, "intercept_pairing"),
    "panic": (_panic, "no_panic"),
    "dropped-nmi": (_dropped_nmi, "host_nmi_not_dropped"),
    "bad-checksum": (_bad_checksum, "hypercall_test_result"),
    "report-fails": (_report_fails, "guest_report_pass"),
    "unreported-guest": (_unreported_guest, "guest_reported"),
    "nmi-unaccounted": (_nmi_unaccounted, "nmi_accounting_end"),
    "unblocked-twice": (_unblocked_twice, "nmi_not_injected_while_blocked"),
    "epoch-unfinished": (_epoch_unfinished, "quiesce_epoch"),
    "epoch-unrequested": (_epoch_unrequested, "quiesce_epoch"),
    "guest-nested": (_guest_nested, "guest_nmi_not_nested"),
}


def test_the_run_the_faults_are_added_to_passes_in_c() -> None:
    data = good_run(ncpus=2).serial()
    assert c_check(data, Checker()) is not None and both(data).passed


@pytest.mark.parametrize("fault", FAULTS)
def test_one_fault_in_a_passing_run_is_never_a_c_pass(fault: str) -> None:
    add, rule = FAULTS[fault]
    b = good_run(ncpus=2)
    add(b)
    data = b.serial()
    r = both(data)      # equal results, and C answered no pass
    assert not r.passed and r.rule == rule, (r.rule, r.message)
    assert c_check(data, Checker()) is None


def test_loss_in_a_passing_run_is_left_to_python() -> None:
    b = good_run(ncpus=2)
    b.ev(1, "LOST", 3)
    data = b.serial()
    r = both(data)
    assert r.passed and r.counts["loss"] == {"lost": 3}, r.counts
    assert c_check(data, Checker()) is None
