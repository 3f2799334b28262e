"""Self-protection, probed exhaustively: guest workload `protect` (guest/common/wl_protect.c).

Every 4 KiB page of the hypervisor ([HV_START, HV_END): image, .bss with the per-CPU
stacks, VMCBs and host save areas, the trace rings, the memlog) and every page of a
registered PAL is read and written by the guest; each access must be refused (#GP
injected, the guest resumes), and the pages just outside each range must stay usable.
A nested table that leaves one page of a range mapped, or readable, fails here.
"""
from __future__ import annotations

import pytest

from decoder.defs import GUEST_EVENTS, GUEST_FAILS, HV_REGIONS, INFO
from tests.boot_util import PASS, boot

PAGE = 4096


@pytest.mark.parametrize("guest", [32, 64])
def test_every_protected_page_refuses_reads_and_writes(tmp_path, guest: int) -> None:
    b = boot(tmp_path, 1, guest, "wl=protect", timeout=240)
    report = b.events("GUEST_REPORT")
    if report and report[0].args[0] == GUEST_FAILS["NO_FAULT"]:
        _, where, how = report[0].args
        pytest.fail(f"{guest}-bit guest: the {'read of' if how == 1 else 'write to'} protected page "
                    f"{where:#x} was not refused")
    assert b.status == PASS, f"report {[r.args for r in report]} (wl_protect.c: status, address, step)\n" \
        + b.serial[-1500:]
    ranges = [tuple(r.args[1:]) for r in b.events("GUEST_EVENT") if r.args[0] == GUEST_EVENTS["PROTECT_RANGE"]]
    info = {r.args[1]: r.args[2] for r in b.events("HYPERCALL") if r.args[0] == 7}
    hv = (info[INFO["HV_START"]], info[INFO["HV_END"]])
    assert hv[0] == 0x100000 and hv[1] > hv[0], hv
    # The hypervisor's range, then the PAL's (5 pages in the 64-bit guest: code, data, its page tables).
    assert len(ranges) == 2 and ranges[0] == hv, ranges
    pal = ranges[1]
    assert pal[1] - pal[0] >= 2 * PAGE and not (pal[0] < hv[1] and hv[0] < pal[1]), pal
    # Every named region was reported by the hypervisor and lies inside the probed range.
    regions = {k: (info.get(INFO["REGION"] + 2 * v), info.get(INFO["REGION"] + 2 * v + 1))
               for k, v in HV_REGIONS.items()}
    for name, (s, e) in regions.items():
        assert s is not None and hv[0] <= s < e <= hv[1], (name, s, e)
    # Each page refused twice (read, write): the NPF records name every page exactly.
    npf = [r for r in b.events("NPF")]
    pages = (hv[1] - hv[0] + pal[1] - pal[0]) // PAGE
    assert b.cpus[0].count == pages
    # The drain runs at every exit, so nothing is dropped even at one NPF per exit.
    assert not b.losses, b.losses[:5]
    reads = {r.args[0] & ~(PAGE - 1) for r in npf if not r.args[1]}
    writes = {r.args[0] & ~(PAGE - 1) for r in npf if r.args[1]}
    want = set(range(hv[0], hv[1], PAGE)) | set(range(pal[0], pal[1], PAGE))
    assert reads == want and writes == want
    assert len(npf) == 2 * pages
