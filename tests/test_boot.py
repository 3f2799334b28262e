"""Boot tests: the hypervisor under QEMU with both guests at -smp 1, 2, 4."""
from __future__ import annotations

import pytest

from decoder.defs import hc_test_checksum

from tests.boot_util import FAIL, PANIC, PASS, boot


@pytest.mark.parametrize("guest", [32, 64])
@pytest.mark.parametrize("smp", [1, 2, 4])
def test_every_cpu_runs_test_workload(tmp_path, smp: int, guest: int) -> None:
    b = boot(tmp_path, smp, guest, "wl=test:300")
    assert b.status == PASS, b.serial[-2000:]
    assert sorted(b.cpus) == list(range(smp))
    assert not b.losses, b.losses[:5]
    tests = [r for r in b.events("HYPERCALL") if r.args[0] == 3]
    assert len(tests) == 300 * smp
    assert all(r.args[2] == hc_test_checksum(r.args[1], r.cpu) for r in tests)
    for cpu, r in b.cpus.items():
        assert r.passed and r.status == 0 and r.count == 300, (cpu, r)
        assert r.exits >= 300


@pytest.mark.parametrize("guest", [32, 64])
# wl1= before wl=: a key lookup that matched any word it prefixes would hand CPU 0 wl1's value.
@pytest.mark.parametrize("cmdline", ["wl=test:50 wl1=hello", "wl1=hello wl=test:50"])
def test_per_cpu_workloads_from_command_line(tmp_path, guest: int, cmdline: str) -> None:
    b = boot(tmp_path, 2, guest, cmdline)
    assert b.status == PASS
    assert b.cpus[0].workload == "test:50" and b.cpus[0].count == 50
    assert b.cpus[1].workload == "hello"


@pytest.mark.parametrize("guest", [32, 64])
def test_guest_write_to_hypervisor_memory_is_refused(tmp_path, guest: int) -> None:
    # poke (no address) writes to the hypervisor's first page: the NPT has
    # it absent, the hypervisor injects #GP, the guest reports it saw one.
    b = boot(tmp_path, 2, guest, "wl=poke wl1=poke:0x180000")
    assert b.status == PASS, b.serial[-2000:]
    assert b.serial.count("of hypervisor memory at") == 2
    assert {r.args[0] for r in b.events("NPF")} == {0x100000, 0x180000}
    assert "guest write of hypervisor memory at 100000" in b.serial
    assert "guest write of hypervisor memory at 180000" in b.serial


@pytest.mark.parametrize("guest", [32, 64])
def test_unknown_hypercall_gets_an_error(tmp_path, guest: int) -> None:
    b = boot(tmp_path, 1, guest, "wl=hc-unknown")
    assert b.status == PASS, b.serial[-2000:]
    assert "unknown hypercall" in b.serial


def test_unknown_workload_stops_the_machine_before_any_guest_runs(tmp_path) -> None:
    # The hypervisor checks its whole command line first (hv/core/cmdline.c): a workload
    # name no guest knows is refused there, with the word, before CPU 0's long TEST
    # loop or any guest starts.
    b = boot(tmp_path, 2, 64, "wl=test:100000 wl1=no-such-workload")
    assert b.status == PANIC, b.serial[-2000:]
    assert "cmdline: 'wl1=no-such-workload': unknown workload name" in b.serial
    assert not b.cpus, b.cpus


def test_missing_guest_module_is_a_panic(tmp_path) -> None:
    from harness.launch.machine import Machine, MachineConfig
    from tests.boot_util import BUILD, decode_serial
    serial = tmp_path / "serial.txt"
    # The hypervisor itself as the "guest": a multiboot kernel linked at 1 MiB, inside
    # the hypervisor's own memory, so the multiboot loader refuses it with that reason.
    cfg = MachineConfig(kernel=BUILD / "hv.elf32", initrd=BUILD / "hv.elf", append="wl=hello",
                        serial_path=serial, smp=1, gdbstub=False)
    with Machine(cfg) as m:
        status = m.wait(30)
    assert status == PANIC
    assert "guest image inside the hypervisor's memory" in decode_serial(serial.read_bytes())[2]


@pytest.mark.parametrize("guest", [32, 64])
def test_injected_nmis_reach_every_guest_exactly(tmp_path, guest: int) -> None:
    b = boot(tmp_path, 4, guest, "wl=test:20000", nmi_interval=0.002)
    assert b.status == PASS, b.serial[-2000:]
    assert b.nmis_sent > 0
    for cpu, r in b.cpus.items():
        assert r.host_nmis > 0, (cpu, r)   # LINT1 unmasked on every CPU
        assert r.received == r.injected and r.nested == 0, (cpu, r)
        assert r.host_nmis == r.injected + r.merged + r.pending, (cpu, r)
    # The serial port cannot keep up with 4 CPUs under an NMI flood: rings
    # fill and drop records, each counted by a LOST record.  Nothing else
    # may be lost: no CRC failure, no frame sequence gap.
    assert all(loss.kind == "lost" for loss in b.losses), [x for x in b.losses if x.kind != "lost"][:5]


@pytest.mark.parametrize("guest", [32, 64])
def test_guest_sees_the_signature_and_no_svm(tmp_path, guest: int) -> None:
    b = boot(tmp_path, 1, guest, "wl=hv-detect")
    assert b.status == PASS, b.serial[-2000:]
    assert b.cpus[0].count == 4   # all four checks ran
    cpuid = [r for r in b.events("INTERCEPT_ENTER") if r.args[0] == 0x72]
    assert len(cpuid) >= 3       # CPUID is intercepted, not passed through
