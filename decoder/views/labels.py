"""Short human phrases for events, in the words of the seed's tables."""
from __future__ import annotations

from decoder.defs import GUEST_EVENTS, GUEST_FAILS, HYPERCALLS
from decoder.records import Item, Loss, Record, describe, exit_name

_HC = {v: k for k, v in HYPERCALLS.items()}
_GEV = {v: k for k, v in GUEST_EVENTS.items()}
_GFAIL = {v: k for k, v in GUEST_FAILS.items()}
_NMI_WHERE = {0: "at VM exit", 1: "host IDT", 2: "nested in NMI handler"}


def _nmi_kind(kind: int) -> str:
    names = [n for bit, n in ((1, "quiesce signal"), (2, "for guest")) if kind & bit]
    return "+".join(names) or "spurious"


def label(item: Item) -> str:
    if type(item) is Loss:
        return f"**LOSS {item.kind}** {item.count} {item.unit}"
    rec: Record = item  # type: ignore[assignment]
    a = rec.args
    n = rec.name
    if n == "INTERCEPT_ENTER":
        return f"VMEXIT {exit_name(a[0])}"
    if n == "INTERCEPT_LEAVE":
        return "VMENTER"
    if n == "EXCEPTION_ENTER":
        return "NMI interrupted (host IDT)" if a[0] == 2 else f"Xcph handler #{a[0]}"
    if n == "EXCEPTION_LEAVE":
        return "Iret"
    if n == "HOST_NMI":
        return f"NMI ({_nmi_kind(a[0])}, {_NMI_WHERE.get(a[1], a[1])})"
    if n == "NMI_INJECT":
        return f"Inject NMI to guest (pending {a[0]})"
    if n == "NMI_UNBLOCK":
        return "(NMI unblocked)"
    if n == "NMI_MERGED":
        return f"(NMI merged, {a[0]})"
    if n == "QUIESCE_REQUEST":
        return f"quiesce() #{a[0]}"
    if n == "QUIESCE_ACK":
        return f"Update counter, busy wait #{a[0]}"
    if n == "QUIESCE_BEGIN":
        return f"all CPUs quiesced #{a[0]}"
    if n == "QUIESCE_END":
        return f"endquiesce() #{a[0]}"
    if n == "QUIESCE_RESUME":
        return f"Update counter, resume #{a[0]}"
    if n == "HYPERCALL":
        return f"hypercall {_HC.get(a[0], a[0])}({a[1]:#x}) = {a[2]:#x}"
    if n == "GUEST_EVENT":
        return f"guest {_GEV.get(a[0], a[0])} {a[1]} {a[2]}"
    if n == "GUEST_REPORT":
        verdict = "pass" if a[0] == 0 else f"FAIL {_GFAIL.get(a[0], a[0])}"
        return f"guest report: {verdict}, {a[1]} done"
    if n == "GUEST_START":
        return f"guest start ({a[1]}-bit)"
    if n == "TEXT":
        return f'"{rec.text.rstrip()}"'
    return describe(rec)
