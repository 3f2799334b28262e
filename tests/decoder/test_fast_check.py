"""The C checker (decoder/fast_check.py, decoder/native/check.c) answers passes, lossy or
not, and leaves violations to Python: a trace that passes but for one broken rule must not
pass in C.  Each fault case here is a passing run plus exactly one fault, so a C rule more
lenient than its Python reference would pass it (tests/decoder/check_both.py's general
comparison would not see that where a trace breaks several rules at once); each loss case
a passing run with one loss, which C must judge itself, in Python's words."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import pytest

from decoder.check import Checker, run_check
from decoder.fast_check import c_check
from decoder.reader import read_items
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


def test_loss_in_a_passing_run_is_judged_in_c() -> None:
    b = good_run(ncpus=2)
    b.ev(1, "LOST", 3)
    data = b.serial()
    r = both(data)
    assert r.passed and r.counts["loss"] == {"lost": 3}, r.counts
    fast = c_check(data, Checker())
    assert fast == r and fast.message == "pass (unjudged after loss: nmi_accounting_end)", fast


def _lossy_sweep() -> Iterator[tuple[str, bytes]]:
    """A 3-CPU passing run with one loss at each place it can be: each record in turn
    replaced by a LOST record, each frame in turn dropped from the wire (seq_gap),
    garbage put before it or a byte of it damaged (damage no CPU can be named for),
    and the capture cut short."""
    from decoder.defs import EVENT_IDS as E
    from decoder.records import Record
    base = good_run(ncpus=3, rounds=3)
    for cpu, recs in base.per_cpu.items():
        for i in range(len(recs)):
            b = good_run(ncpus=3, rounds=3)
            r = b.per_cpu[cpu][i]
            b.per_cpu[cpu][i] = Record(r.tsc, cpu, E["LOST"], (2,), -1)
            yield f"lost cpu {cpu} #{i}", b.serial(per_frame=4)
    frames = base.serial(per_frame=4).split(b"\0")[:-1]
    for i in range(len(frames)):
        yield f"frame {i} dropped", b"".join(f + b"\0" for j, f in enumerate(frames) if j != i)
        yield f"garbage before frame {i}", b"".join((b"\x05junk\0" if j == i else b"") + f + b"\0"
                                                     for j, f in enumerate(frames))
        m = len(frames[i]) // 2
        bad = frames[i][:m] + bytes((frames[i][m] ^ 0x40 or 1,)) + frames[i][m + 1:]
        yield f"frame {i} damaged", b"".join((bad if j == i else f) + b"\0" for j, f in enumerate(frames))
    data = base.serial(per_frame=4)
    for cut in (len(data) - 3, len(data) - 40):
        yield f"cut at {cut}", data[:cut]


def test_a_passing_run_with_any_one_loss_is_judged_in_c_as_in_python() -> None:
    # both() asserts C answered every pass itself (but one through an explained suspect)
    # and equal to Python, field for field and in its summary line.
    seen_unjudged: dict[str, list[str]] = {}
    passes = judged = 0
    for what, data in _lossy_sweep():
        r = both(data)
        if r.passed:
            passes += 1
            fast = c_check(data, Checker())
            judged += fast is not None
            for rule, entries in r.counts["unjudged"].items():
                seen_unjudged.setdefault(rule, []).extend(entries)
    assert passes > 100 and judged >= passes - 5, (passes, judged)
    # the loss reached every rule kind that reports unjudged work: epoch, tally, require
    assert {"quiesce_epoch", "nmi_accounting", "nmi_accounting_end", "guest_reported"} <= set(seen_unjudged), \
        seen_unjudged
    # an epoch whose step was in damage no CPU could be named for is unjudged as such
    assert any("after damage" in u for u in seen_unjudged["quiesce_epoch"]), seen_unjudged


def test_c_counts_the_damaged_bytes_and_gives_the_evidence_error() -> None:
    data = good_run(ncpus=2).serial()
    junk = b"\x07" + bytes(range(1, 60)) + b"\0"
    r = both(junk + data[:200] + b"\0" + junk + data, input_bytes=len(junk) * 2 + len(data) + 201)
    assert r.passed and r.counts["damaged_bytes"] >= 2 * (len(junk) - 1), r.counts
    noisy = junk * (len(data) // len(junk) + 2) + data
    r = both(noisy, input_bytes=len(noisy))
    assert r.error is not None and r.error.startswith("more damage than data"), r
    fast = c_check(noisy, Checker(input_bytes=len(noisy)))
    assert fast == r


def test_a_violation_a_loss_explains_is_left_to_python() -> None:
    # Python holds the epoch's violation until CPU 1 speaks, and CPU 1's LOST explains
    # it; C gives up at the violation, so the pass is Python's.
    from tests.decoder.test_check import _request_of_cpu1_missing
    data = _request_of_cpu1_missing("lost")
    r = both(data)
    assert r.passed and "quiesce_epoch" in r.counts["unjudged"], r
    assert c_check(data, Checker()) is None


def test_a_late_record_is_counted_in_c_as_in_python() -> None:
    from decoder.defs import EVENT_IDS as E
    from decoder.records import Record
    from tests.support.synth import encode_frame
    b = good_run(ncpus=2)
    # CPU 1's next frame, stamped before everything the merge has released: late
    text = Record(1005, 1, E["TEXT"], (b"late",), -1)
    seqs = [f for c, f in b.frames() if c == 1]
    data = b.serial() + encode_frame(1, len(seqs), [text])
    r = both(data)
    assert r.passed and r.counts["loss"] == {"late": 1}, r.counts
    assert c_check(data, Checker()) == r


def test_damage_released_with_a_record_of_the_same_tsc_comes_first() -> None:
    # Garbage no CPU can be named for is stamped with the newest TSC the merge has seen
    # (CPU 1's NMI_INJECT here) and released with it: merge.py puts cpu -1 first, so the
    # NMI_INJECT's number in its unjudged entry (CPU 1 lost records before) is one past
    # the damage's -- in C as in Python.
    from tests.support.synth import TraceBuilder, encode_frame
    b = TraceBuilder(2)
    b.ev(1, "LOST", 1)
    b.ev(1, "HOST_NMI", 2, 0, 0)
    inject = b.ev(1, "NMI_INJECT", 0)
    b.ev(0, "INTERCEPT_ENTER", VMMCALL, 0x2000100)
    b.ev(0, "INTERCEPT_LEAVE", VMMCALL)
    cpu0, cpu1 = b.per_cpu[0], b.per_cpu[1]
    data = (encode_frame(0, 0, cpu0[:2]) + encode_frame(1, 0, cpu1) + b"\x05junk\0"
            + encode_frame(0, 1, cpu0[2:]))
    r = both(data)
    k = next(i for i, it in enumerate(read_items(data)) if it == inject._replace(frame=0))
    assert r.passed and r.counts["unjudged"]["nmi_accounting"] == [f"cpu 1 at #{k} (loss before it)"], r.counts
    assert type(list(read_items(data))[k - 1]).__name__ == "Loss"
    assert c_check(data, Checker()) == r
