"""The event-delivery conformance suite: guest workload `delivery` (guest/common/wl_delivery.c).

One boot per guest runs every DELIVERY_CASE_* (defs/hypercalls.toml) on one CPU, with the
test hypercall enabled (testhc=1); each case is its own test here, checked twice: by the
guest (the event arrived exactly once, right vector, error code, CR2; the NMI neither lost,
doubled, nested nor put in place of the in-flight event) and by the trace (EVENT_REDELIVER
says which event the hypervisor delivered again, and the NMI met the exit it was meant to).
This suite is what a new backend (VMX) must pass first; tests/mutants.toml lists the
hypervisor bugs each case catches.
"""
from __future__ import annotations

import pytest

from decoder.defs import (DELIVERY, DELIVERY_CASES, DELIVERY_FAILS, EVENT_IDS, EXIT_REASONS,
                          FIELD_NAMES, GUEST_EVENTS, GUEST_FAILS, HC_ERRORS)
from tests.boot_util import FAIL, PASS, Boot, boot

CASE_NAME = {v: k for k, v in DELIVERY_CASES.items()}
FAIL_NAME = {v: k for k, v in DELIVERY_FAILS.items()}
EXPLAIN = {
    "COUNT": "the event was not delivered exactly once (count shown)",
    "VECTOR": "a different vector arrived",
    "ERRCODE": "wrong error code",
    "CR2": "#PF with the wrong CR2",
    "NOT_FAULTED": "the armed page was never touched: the case tested nothing",
    "NOT_REDELIVERED": "the hypervisor did not count exactly one re-delivery (count shown)",
    "NMI_COUNT": "the NMI was lost or doubled (NMIs received shown)",
    "NMI_ORDER": "the NMI replaced the in-flight event: it interrupted the instruction that raised it",
    "NMI_NESTED": "an NMI arrived while NMIs were blocked",
    "BAD_ARG_ACCEPTED": "EVENT_TEST accepted an argument it must refuse (step shown)",
    "SHADOW": "the NMI was delivered inside the MOV SS shadow, before the shadowed instruction (its IP shown)",
}
TYPES = FIELD_NAMES[("EVENT_REDELIVER", "type")][1]
NPF = next(code for code, name in EXIT_REASONS["svm"].items() if name == "NPF")
IRET = next(code for code, name in EXIT_REASONS["svm"].items() if name == "IRET")
YIELD_HLT = FIELD_NAMES["HOST_NMI", "where"][1]["yield_hlt"]
DB_EXIT = next(code for code, name in EXIT_REASONS["svm"].items() if name == "EXCP+1")
PAGES = ("IDT", "STACK", "GDT")
# event -> what EVENT_REDELIVER must say: (vector, type, error code)
REDELIVERED = {"INT": (DELIVERY["TEST_VECTOR"], TYPES["soft_int"], 0),
               "GP": (13, TYPES["exception"], DELIVERY["GP_SELECTOR"]),
               "PF": (14, TYPES["exception"], DELIVERY["PF_ERRCODE"]),
               "NMI": (2, TYPES["nmi"], 0),
               "EXTINT": (DELIVERY["TEST_VECTOR"], TYPES["intr"], 0)}


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory):
    runs: dict[int, Boot] = {}

    def get(guest: int) -> Boot:
        if guest not in runs:
            runs[guest] = boot(tmp_path_factory.mktemp(f"delivery{guest}"), 1, guest, "wl=delivery testhc=1")
        return runs[guest]
    return get


def per_case(b: Boot) -> dict[str, tuple[int, list]]:
    """case name -> (guest's result, the case's trace records (CPU 0, in ring order))."""
    out, since = {}, []
    for r in b.records:
        if r.cpu != 0:
            continue
        if r.type == EVENT_IDS["GUEST_EVENT"] and r.args[0] == GUEST_EVENTS["DELIVERY_CASE"]:
            out[CASE_NAME[r.args[1]]] = (r.args[2], since)
            since = []
        else:
            since.append(r)
    return out


def exits(records: list) -> list[list]:
    """The records split at each INTERCEPT_ENTER: one list per exit, the exit's record first."""
    out: list[list] = []
    for r in records:
        if r.type == EVENT_IDS["INTERCEPT_ENTER"]:
            out.append([])
        if out:
            out[-1].append(r)
    return out


def named(records: list, name: str) -> list:
    return [r for r in records if r.type == EVENT_IDS[name]]


def guest_result(b: Boot, guest: int, case: str) -> list:
    cases = per_case(b)
    assert case in cases, (f"case {case} never reported ({guest}-bit guest): the machine ended with "
                           f"status {b.status:#x} before it ran; serial tail:\n{b.serial[-1500:]}")
    result, records = cases[case]
    why, got = result & 0xff, result >> 8
    name = FAIL_NAME.get(why, str(why))
    # (The 32-bit guest packs the observed value into 24 bits.)
    assert result == 0, f"{case} ({guest}-bit): {name}: {EXPLAIN.get(name, '')}; observed {got:#x}"
    assert not named(records, "LOST"), f"{case}: trace records lost, the trace checks cannot be made"
    return records


def runnable(cases: list[str]) -> list[tuple[str, int]]:
    """(case, guest) pairs the guest runs: the 32-bit guest has no paging, so no #PF
    (it reports those cases SKIPPED; test_32_bit_guest_reports_its_pf_cases_skipped)."""
    return [(c, g) for g in (32, 64) for c in cases if not (g == 32 and c.endswith("PF"))]


def test_32_bit_guest_reports_its_pf_cases_skipped(suite) -> None:
    cases = per_case(suite(32))
    pf = [c for c in cases if c.endswith("PF")]
    assert pf and all(cases[c][0] & 0xff == DELIVERY_FAILS["SKIPPED"] for c in pf), \
        {c: cases[c][0] for c in pf}


@pytest.mark.parametrize("case,guest", runnable([f"{p}_{e}" for p in PAGES for e in REDELIVERED]))
def test_delivery_cut_by_a_nested_page_fault_is_redone_once(suite, guest: int, case: str) -> None:
    records = guest_result(suite(guest), guest, case)
    again = named(records, "EVENT_REDELIVER")
    want = REDELIVERED[case.split("_")[1]]
    assert [tuple(r.args) for r in again] == [want], \
        f"{case}: want exactly one EVENT_REDELIVER {want}, trace has {[tuple(r.args) for r in again]}"
    cut = next(e for e in exits(records) if again[0] in e)
    assert cut[0].args[0] == NPF, f"{case}: the re-delivery followed exit {cut[0].args[0]:#x}, not an NPF"


@pytest.mark.parametrize("case,guest", runnable(list(REDELIVERED)))
def test_undisturbed_delivery_is_not_redone(suite, guest: int, case: str) -> None:
    records = guest_result(suite(guest), guest, case)
    assert not named(records, "EVENT_REDELIVER"), f"{case}: nothing interrupted it, yet it was re-delivered"


@pytest.mark.parametrize("guest", [32, 64])
@pytest.mark.parametrize("case", ["NMI_WHILE_INJECTING", "NMI_WHILE_REDELIVERING"])
def test_nmi_pending_while_an_injection_is_in_flight_waits(suite, guest: int, case: str) -> None:
    records = guest_result(suite(guest), guest, case)
    # The exit the NMI was sent at: its HOST_NMI record.  That exit's entry carries the
    # #GP (injected for the refused store, or re-delivered after the NPF on the IDT).
    hit = [e for e in exits(records) if named(e, "HOST_NMI")]
    assert len(hit) == 1, f"{case}: want one exit with the test's NMI, got {len(hit)}"
    at = hit[0]
    assert at[0].args[0] == NPF, f"{case}: the NMI met exit {at[0].args[0]:#x}, not the NPF"
    if case == "NMI_WHILE_REDELIVERING":
        assert [tuple(r.args) for r in named(at, "EVENT_REDELIVER")] == [REDELIVERED["GP"]], case
    else:
        assert [r.args[0] for r in named(at, "GUEST_FAULT_INJECT")] == [13], case
    assert not named(at, "NMI_INJECT"), f"{case}: the NMI was injected over the in-flight #GP"
    later = records[records.index(at[-1]) + 1:]
    assert len(named(later, "NMI_INJECT")) == 1, f"{case}: the NMI was not injected exactly once afterwards"


@pytest.mark.parametrize("guest", [32, 64])
def test_second_nmi_is_held_until_the_handlers_iret(suite, guest: int) -> None:
    records = guest_result(suite(guest), guest, "NMI_HELD_UNTIL_IRET")
    kinds = [r.type for r in records if r.type in (EVENT_IDS["NMI_INJECT"], EVENT_IDS["NMI_UNBLOCK"])]
    inject, unblock = EVENT_IDS["NMI_INJECT"], EVENT_IDS["NMI_UNBLOCK"]
    assert kinds == [inject, unblock, inject, unblock], \
        f"want inject, IRET retired, inject, IRET retired; trace has {kinds}"


@pytest.mark.parametrize("case", ["NMI_IN_MOV_SS_SHADOW", "NMI_IN_STI_SHADOW"])
@pytest.mark.parametrize("guest", [32, 64])
def test_nmi_waits_for_the_end_of_an_interrupt_shadow(suite, guest: int, case: str) -> None:
    records = guest_result(suite(guest), guest, case)
    hit = [e for e in exits(records) if named(e, "HOST_NMI")]
    assert len(hit) == 1 and hit[0][0].args[0] == NPF, "the NMI did not meet the NPF of the shadowed load"
    assert not named(hit[0], "NMI_INJECT"), "the NMI was injected at the exit inside the shadow"


@pytest.mark.parametrize("guest", [32, 64])
def test_nmi_latched_at_the_iret_intercept_comes_right_after_the_iret(suite, guest: int) -> None:
    records = guest_result(suite(guest), guest, "NMI_LATCHED_AT_IRET")
    iret = [e for e in exits(records) if e[0].args[0] == IRET]
    # The second NMI met the first handler's IRET intercept, and was injected at the
    # #DB exit right after that IRET retired (the step), not at a later exit.
    assert any(named(e, "HOST_NMI") for e in iret), "the NMI did not arrive at the IRET intercept"
    injects = [e for e in exits(records) if named(e, "NMI_INJECT")]
    assert len(injects) == 2 and injects[1][0].args[0] == DB_EXIT, [e[0].args[0] for e in injects]


@pytest.mark.parametrize("guest", [32, 64])
def test_an_nmi_between_sti_and_hlt_does_not_hang_the_hypervisors_yield(suite, guest: int) -> None:
    records = guest_result(suite(guest), guest, "NMI_IN_YIELD_SHADOW")
    # The guest's own checks (guest_result): the hypercall returned 0 (the halts' timer
    # interrupt was neither left armed nor left pending: hv/core/halt.c), the NMIs came
    # as one, and nothing arrived in the guest's STI window after it.  Evidence the case
    # produced the race: both NMIs were taken with RIP on a yield's HLT (TCG without
    # icount checks for them between blocks, and STI ends one).
    assert sum(r.type == EVENT_IDS["HOST_NMI"] and r.args[1] == YIELD_HLT for r in records) == 2, \
        "the NMIs did not land between the yields' STI and HLT: the case exercised nothing"


@pytest.mark.parametrize("guest", [32, 64])
def test_an_nmi_inside_an_exception_handler_arrives_there_at_once(suite, guest: int) -> None:
    records = guest_result(suite(guest), guest, "NMI_IN_EXCEPTION_HANDLER")
    # The guest counted the NMI inside its #GP handler (the case's result); the trace
    # has it injected once, and unblocked once, by the NMI handler's IRET.
    assert len(named(records, "NMI_INJECT")) == 1 and len(named(records, "NMI_UNBLOCK")) == 1


@pytest.mark.parametrize("guest", [32, 64])
def test_event_test_refuses_bad_arguments(suite, guest: int) -> None:
    guest_result(suite(guest), guest, "BAD_ARGS")


@pytest.mark.parametrize("guest", [32, 64])
def test_whole_suite_passes_and_accounts_every_nmi(suite, guest: int) -> None:
    b = suite(guest)
    failed = {name: f"{FAIL_NAME.get(res & 0xff)} ({res >> 8:#x})" for name, (res, _) in per_case(b).items()
              if res not in (0, DELIVERY_FAILS["SKIPPED"])}
    status = b.status
    assert status == PASS, f"machine status {status:#x}; failed cases: {failed}"
    r = b.cpus[0]
    assert r.passed and r.count == max(DELIVERY_CASES.values()), r
    # One merge, by design: NMI_IN_YIELD_SHADOW's second halt sends its NMI while the
    # first is still latched (hv/core/event_test.c).
    assert r.received == r.injected == r.host_nmis - 1 and r.merged == 1 and r.nested == 0, r
    assert set(per_case(b)) == set(DELIVERY_CASES)


def test_event_test_is_refused_without_testhc(tmp_path) -> None:
    # Production command line: the hypercall answers HC_ERR_DISABLED and does nothing;
    # the suite reports that as its failure and the hypervisor carries on.
    b = boot(tmp_path, 1, 64, "wl=delivery")
    assert b.status == FAIL, b.serial[-2000:]
    r = b.cpus[0]
    assert (r.status, r.count) == (GUEST_FAILS["BAD_RESULT"], 0), r
    assert [x.args[2] for x in b.events("GUEST_REPORT")] == [HC_ERRORS["DISABLED"]]
    assert not [x for x in b.records if x.type == EVENT_IDS["EVENT_REDELIVER"]]
