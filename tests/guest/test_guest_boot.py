"""The guests' own behaviour under the real hypervisor: the NMI handler's
counts, its nesting detector, progress events.  (tests/test_boot.py covers
the hypervisor's side: workloads on every CPU, NPT refusal, NMI accounting.)"""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from decoder.defs import GUEST_EVENTS, GUEST_FAILS
from harness.launch.build import build_bugs
from harness.launch.machine import Machine, MachineConfig
from tests.boot_util import BUILD, FAIL, PASS, _flood_nmis, boot, decode_serial


def per_cpu(records, name: str, cpu: int) -> list[tuple]:
    return [tuple(r.args) for r in records if r.name == name and r.cpu == cpu]


def guest_events(records, kind: str, cpu: int) -> list[tuple]:
    return [a[1:] for a in per_cpu(records, "GUEST_EVENT", cpu) if a[0] == GUEST_EVENTS[kind]]


@pytest.mark.parametrize("guest", [32, 64])
def test_nmi_self_counts_each_nmi_once(tmp_path: Path, guest: int) -> None:
    n = 40
    b = boot(tmp_path, 2, guest, f"wl=nmi-self:{n}")
    assert b.status == PASS, b.serial[-2000:]
    for cpu in (0, 1):
        assert per_cpu(b.records, "GUEST_REPORT", cpu) == [(0, n, n)]
        # Nothing else sends NMIs in this run: exactly n received, none nested.
        assert per_cpu(b.records, "NMI_COUNTS", cpu) == [(n, 0, n)]
        assert guest_events(b.records, "NMI_ENTER", cpu) == [(i, 0) for i in range(1, n + 1)]
        assert guest_events(b.records, "NMI_EXIT", cpu) == [(i, 0) for i in range(1, n + 1)]


@pytest.mark.parametrize("guest", [32, 64])
def test_test_workload_reports_progress_every_sixteenth(tmp_path: Path, guest: int) -> None:
    b = boot(tmp_path, 1, guest, "wl=test:160")
    assert b.status == PASS, b.serial[-2000:]
    assert guest_events(b.records, "PROGRESS", 0) == [(i, 160) for i in range(0, 160, 10)]
    assert per_cpu(b.records, "GUEST_REPORT", 0) == [(0, 160, 0)]


def boot_with_flood(tmp: Path, build: Path, guest: int, append: str, smp: int = 2,
                    timeout: float = 60.0) -> tuple[int, list, int]:
    serial = tmp / "serial.bin"
    cfg = MachineConfig(kernel=build / "hv.elf32", initrd=build / f"guest{guest}.elf", append=append,
                        serial_path=serial, smp=smp, gdbstub=False)
    with Machine(cfg) as m:
        sent = asyncio.run(asyncio.wait_for(_flood_nmis(m, 0.001, "guests running", serial), timeout))
        status = m.wait(timeout)
    return status, decode_serial(serial.read_bytes())[0], sent


def nmi_counts(records) -> list[tuple]:
    # A flood this dense overflows the trace rings now and then (LOST
    # records); NMI_COUNTS comes last and has always survived, but the
    # verdicts below rest on the exit status, which no trace loss changes.
    counts = [tuple(r.args) for r in records if r.name == "NMI_COUNTS"]
    assert counts, "every NMI_COUNTS record was lost from the trace"
    return counts


@pytest.mark.parametrize("guest", [32, 64])
def test_nested_nmi_is_detected_and_fails_the_run(tmp_path: Path, guest: int) -> None:
    """With the hypervisor's IRET tracking removed (BUGS=inject-while-blocked),
    an NMI that arrives during the handler's hypercalls is injected into the
    running handler: the guest must count it as nested and fail the run.  The
    same run on the correct build passes, which the guest only reports when
    its handler saw no nesting (guest_finish turns a pass into NESTED_NMI)."""
    status, records, sent = boot_with_flood(tmp_path, build_bugs("inject-while-blocked"), guest, "wl=test:20000")
    assert status == FAIL, f"the buggy build passed ({sent} NMIs sent)"
    counts = nmi_counts(records)
    assert sum(nested for _, nested, _ in counts) > 0, counts

    good = tmp_path / "good"
    good.mkdir()
    status, records, sent = boot_with_flood(good, BUILD, guest, "wl=test:20000")
    assert status == PASS and sent > 0, (status, sent)
    counts = nmi_counts(records)
    assert all(nested == 0 for _, nested, _ in counts) and sum(r for r, _, _ in counts) > 0, counts
