"""Synthetic traces for the decoder tests: a healthy run and its variations."""
from __future__ import annotations

from decoder.expr import FUNCTIONS
from tests.support.synth import TraceBuilder

checksum = FUNCTIONS["test_checksum"]
VMMCALL, NMI_EXIT = 0x81, 0x61


def hypercall_exit(b: TraceBuilder, cpu: int, k: int, result: int | None = None) -> None:
    b.ev(cpu, "INTERCEPT_ENTER", VMMCALL, 0x2000100 + 3 * k)
    b.ev(cpu, "HYPERCALL", 3, k, checksum(k, cpu) if result is None else result)
    b.ev(cpu, "INTERCEPT_LEAVE", VMMCALL)


def guest_nmi(b: TraceBuilder, cpu: int) -> None:
    """An NMI for the guest arrives at a VM exit and is injected; the guest handles it."""
    b.ev(cpu, "INTERCEPT_ENTER", NMI_EXIT, 0x2000200)
    b.ev(cpu, "HOST_NMI", 2, 0, 0)
    b.ev(cpu, "NMI_INJECT", 0)
    b.ev(cpu, "INTERCEPT_LEAVE", NMI_EXIT)
    b.ev(cpu, "GUEST_EVENT", 1, 0, 0)
    b.ev(cpu, "GUEST_EVENT", 2, 0, 0)
    b.ev(cpu, "NMI_UNBLOCK", 0x2000300)


def quiesce(b: TraceBuilder, owner: int, epoch: int, ncpus: int) -> None:
    b.ev(owner, "INTERCEPT_ENTER", VMMCALL, 0x2000100)
    b.ev(owner, "QUIESCE_REQUEST", epoch)
    others = [c for c in range(ncpus) if c != owner]
    for c in others:
        b.ev(c, "INTERCEPT_ENTER", NMI_EXIT, 0x2000400)
        b.ev(c, "HOST_NMI", 1, 0, 0)
        b.ev(c, "QUIESCE_ACK", epoch)
    b.ev(owner, "QUIESCE_BEGIN", epoch)
    b.ev(owner, "QUIESCE_END", epoch)
    for c in others:
        b.ev(c, "QUIESCE_RESUME", epoch)
        b.ev(c, "INTERCEPT_LEAVE", NMI_EXIT)
    b.ev(owner, "INTERCEPT_LEAVE", VMMCALL)


def good_run(ncpus: int = 2, rounds: int = 3, finish: bool = True) -> TraceBuilder:
    """Every CPU starts a guest, does TEST hypercalls, takes a guest NMI, one quiesce epoch per round."""
    b = TraceBuilder(ncpus)
    for c in range(ncpus):
        b.ev(c, "GUEST_START", 0x2000000, 64 if c % 2 == 0 else 32)
    for r in range(rounds):
        for c in range(ncpus):
            hypercall_exit(b, c, r)
        guest_nmi(b, r % ncpus)
        quiesce(b, r % ncpus, r + 1, ncpus)
    if finish:
        finish_run(b, ncpus, {c: sum(1 for r in range(rounds) if r % ncpus == c) for c in range(ncpus)})
    return b


def finish_run(b: TraceBuilder, ncpus: int, received: dict[int, int]) -> None:
    for c in range(ncpus):
        b.ev(c, "NMI_COUNTS", received.get(c, 0), 0, 0)
        b.ev(c, "GUEST_REPORT", 0, 3, 0)
    b.ev(0, "VERDICT", 0x10, ncpus, 0)
