"""Quiesce, PAL isolation and guest-to-guest NMIs under QEMU, both guests."""
from __future__ import annotations

import pytest

from decoder.defs import PAL_ERRORS
from tests.boot_util import PASS, boot


def quiesce_epochs(b) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for name in ("QUIESCE_REQUEST", "QUIESCE_ACK", "QUIESCE_BEGIN", "QUIESCE_END", "QUIESCE_RESUME"):
        out[name] = [(r.cpu, r.args[0]) for r in b.events(name)]
    return out


@pytest.mark.parametrize("guest", [32, 64])
@pytest.mark.parametrize("smp", [2, 4])
def test_concurrent_quiesce_requests_never_deadlock(tmp_path, smp: int, guest: int) -> None:
    n = 300 // smp
    b = boot(tmp_path, smp, guest, f"wl=test-quiesce:{n}")
    assert b.status == PASS, b.serial[-2000:]
    assert all(r.passed for r in b.cpus.values())
    q = quiesce_epochs(b)
    epochs = sorted(e for _, e in q["QUIESCE_REQUEST"])
    assert epochs == list(range(1, n * smp + 1))  # one epoch per call, none reused
    for e in epochs:
        # every other CPU acked and resumed each epoch exactly once
        assert len([c for c, x in q["QUIESCE_ACK"] if x == e]) == smp - 1
        assert len([c for c, x in q["QUIESCE_RESUME"] if x == e]) == smp - 1


@pytest.mark.parametrize("guest", [32, 64])
def test_pal_demo_on_every_cpu(tmp_path, guest: int) -> None:
    b = boot(tmp_path, 4, guest, "wl=pal_demo:30")
    assert b.status == PASS, b.serial[-2000:]
    assert all(r.passed and r.count == 120 for r in b.cpus.values())
    assert len(b.events("PAL_ENTER")) == len(b.events("PAL_EXIT")) == 4 * 120
    assert all(r.args[2] == 0 for r in b.events("PAL_EXIT"))  # none aborted


@pytest.mark.parametrize("guest", [32, 64])
def test_pal_demo_under_nmi_flood(tmp_path, guest: int) -> None:
    # XMHF64's test 1: NMIs while PALs run are held until the PAL returns.
    b = boot(tmp_path, 2, guest, "wl=pal_demo:2000", nmi_interval=0.002)
    assert b.status == PASS, b.serial[-2000:]
    assert b.nmis_sent > 0
    for r in b.cpus.values():
        assert r.received == r.injected and r.nested == 0


@pytest.mark.parametrize("guest", [32, 64])
def test_bad_pal_registrations_get_error_codes(tmp_path, guest: int) -> None:
    b = boot(tmp_path, 2, guest, "wl=pal-bad")
    assert b.status == PASS, b.serial[-2000:]
    results = [r.args[2] for r in b.events("PAL_REGISTER")]
    for name in ("BAD_DESCRIPTOR", "UNALIGNED", "BAD_RANGE", "ALREADY_REGISTERED", "OVERLAP"):
        assert PAL_ERRORS[name] in results, name


@pytest.mark.parametrize("guest", [32, 64])
def test_guest_cannot_write_a_registered_pal(tmp_path, guest: int) -> None:
    b = boot(tmp_path, 1, guest, "wl=pal-poke")
    assert b.status == PASS, b.serial[-2000:]
    assert "a registered PAL's memory" in b.serial
    assert len(b.events("NPF")) == 1


@pytest.mark.parametrize("guest", [32, 64])
def test_pal_cannot_read_guest_memory(tmp_path, guest: int) -> None:
    b = boot(tmp_path, 1, guest, "wl=pal-peek")
    assert b.status == PASS, b.serial[-2000:]
    exits = b.events("PAL_EXIT")
    assert len(exits) == 1 and exits[0].args[1] == PAL_ERRORS["ABORTED"] and exits[0].args[2] != 0


@pytest.mark.parametrize("guest", [32, 64])
def test_guest_nmi_ipis_to_other_cpus_are_delivered(tmp_path, guest: int) -> None:
    # An NMI that lands between an IRET intercept and the IRET retiring must
    # still be delivered promptly (single step armed late).
    b = boot(tmp_path, 4, guest, "wl0=nmi-all:300 wl=hello")
    assert b.status == PASS, b.serial[-2000:]
