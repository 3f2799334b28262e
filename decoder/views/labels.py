"""Short human phrases for events, in the words of XMHF64's tables."""
from __future__ import annotations

from decoder.defs import DELIVERY_CASES, DELIVERY_FAILS, GUEST_EVENTS, GUEST_FAILS, HYPERCALLS
from decoder.records import Item, Loss, Record, describe, exit_name, value_name

_HC = {v: k for k, v in HYPERCALLS.items()}
_GEV = {v: k for k, v in GUEST_EVENTS.items()}
_GFAIL = {v: k for k, v in GUEST_FAILS.items()}
_CASE = {v: k for k, v in DELIVERY_CASES.items()}
_DFAIL = {v: k for k, v in DELIVERY_FAILS.items()}
# XMHF64's words for trace/events.toml's names of HOST_NMI's kind and where.
_NMI_KIND_WORDS = {"quiesce": "quiesce signal", "guest": "for guest", "none": "dropped"}
_NMI_WHERE_WORDS = {"exit": "at VM exit", "hv": "host IDT", "nested": "nested in NMI handler"}


def _words(event: str, field: str, value: int, words: dict[str, str]) -> str:
    name = value_name(event, field, value)
    if name is None:
        return str(value)
    return "+".join(words.get(part, part) for part in name.split("+"))


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
        return (f"NMI ({_words(n, 'kind', a[0], _NMI_KIND_WORDS)}, "
                f"{_words(n, 'where', a[1], _NMI_WHERE_WORDS)})")
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
        if a[0] == GUEST_EVENTS["DELIVERY_CASE"]:
            result = "pass" if a[2] == 0 else f"FAIL {_DFAIL.get(a[2] & 0xff, a[2] & 0xff)} ({a[2] >> 8:#x})"
            return f"guest delivery case {_CASE.get(a[1], a[1])}: {result}"
        return f"guest {_GEV.get(a[0], a[0])} {a[1]} {a[2]}"
    if n == "EVENT_REDELIVER":
        how = "re-execute" if value_name(n, "type", a[1]) == "soft_int" else "re-inject"
        return f"{how} interrupted {value_name(n, 'type', a[1]) or a[1]} #{a[0]} (error code {a[2]:#x})"
    if n == "GUEST_REPORT":
        verdict = "pass" if a[0] == 0 else f"FAIL {_GFAIL.get(a[0], a[0])}"
        return f"guest report: {verdict}, {a[1]} done"
    if n == "GUEST_START":
        return f"guest start ({a[1]}-bit)"
    if n == "TEXT":
        return f'"{rec.text.rstrip()}"'
    return describe(rec)
