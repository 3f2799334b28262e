"""The VMX hypervisor under Bochs (make test-vmx): own 32- and 64-bit guests at -smp 1, 2
and 4 with every CPU's workload passing, NMIs between CPUs, guest accesses to hypervisor
memory refused through the EPT, and the same seed giving the same trace byte for byte."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from decoder.defs import (DEBUG_EXIT, DELIVERY_CASES, DELIVERY_FAILS, EVENT_IDS, GUEST_EVENTS, GUEST_FAILS,
                          HV_REGIONS, INFO)
from harness.judge.bochs_run import run_scenario_bochs
from harness.judge.run import RunOptions
from harness.launch import bochs
from harness.scenario import load_named
from tests.boot_util import PASS, ROOT, Boot, decode_serial
from tests.bochs_util import BUILD, boot_bochs

PAGE = 4096


def assert_every_cpu_passed(b: Boot, smp: int, count: int | None = None) -> None:
    assert b.status == PASS, b.serial[-2000:]
    assert sorted(b.cpus) == list(range(smp)), b.serial[-2000:]
    for cpu, r in b.cpus.items():
        assert r.passed and r.status == 0, (cpu, r)
        if count is not None:
            assert r.count == count, (cpu, r)
        assert r.received == r.injected and r.nested == 0, (cpu, r)
        assert r.host_nmis == r.injected + r.merged + r.quiesce + r.pending, (cpu, r)
    assert not b.losses, b.losses[:3]


@pytest.mark.parametrize("smp", [1, 2, 4])
@pytest.mark.parametrize("guest", [32, 64])
def test_own_guest_boots_with_seeded_nmis(tmp_path: Path, guest: int, smp: int) -> None:
    b = boot_bochs(tmp_path, smp, guest, "wl=test:300 seed=11 nmi_every=40")
    assert_every_cpu_passed(b, smp, 300)
    assert sum(r.injected for r in b.cpus.values()) > 0


@pytest.mark.parametrize("guest", [32, 64])
def test_nmi_ipis_to_three_cpus(tmp_path: Path, guest: int) -> None:
    """CPU 0 sends NMI IPIs to the three others, one round at a time, waiting for every
    target to count each (one sender: a missing count is a lost NMI, not a merge of two
    senders' NMIs).  The targets are done and halted in HLT for most rounds: an NMI
    injected into a halted guest must wake it (vmx.c vmx_inject), and one latched while
    its handler runs must follow its IRET at once, not after a single step over the HLT
    the IRET returns to (core/nmi_virt.c nmi_virt_iret_retired)."""
    b = boot_bochs(tmp_path, 4, guest, "wl0=nmi-all:60 wl=hello")
    assert_every_cpu_passed(b, 4)
    assert b.cpus[0].count == 60, b.cpus[0]
    assert all(b.cpus[c].injected > 0 for c in (1, 2, 3)), b.cpus


@pytest.mark.parametrize("guest", [32, 64])
def test_guest_write_to_hypervisor_memory_is_refused(tmp_path: Path, guest: int) -> None:
    b = boot_bochs(tmp_path, 1, guest, "wl=poke")
    assert_every_cpu_passed(b, 1, 1)
    npf = b.events("NPF")
    assert len(npf) == 1 and npf[0].args[1], [r.args for r in npf]   # one write, refused
    assert b.events("GUEST_FAULT_INJECT")[0].args[0] == 13


@pytest.mark.parametrize("guest", [32, 64])
def test_every_protected_page_refuses_reads_and_writes(tmp_path: Path, guest: int) -> None:
    """tests/test_protect.py on VMX: every page of the hypervisor and of a registered PAL
    read and written by the guest, each refused by an EPT violation turned into #GP."""
    b = boot_bochs(tmp_path, 1, guest, "wl=protect", timeout=300)
    report = b.events("GUEST_REPORT")
    if report and report[0].args[0] == GUEST_FAILS["NO_FAULT"]:
        _, where, how = report[0].args
        pytest.fail(f"the {'read of' if how == 1 else 'write to'} protected page {where:#x} was not refused")
    assert_every_cpu_passed(b, 1)
    ranges = [tuple(r.args[1:]) for r in b.events("GUEST_EVENT") if r.args[0] == GUEST_EVENTS["PROTECT_RANGE"]]
    info = {r.args[1]: r.args[2] for r in b.events("HYPERCALL") if r.args[0] == 7}
    hv = (info[INFO["HV_START"]], info[INFO["HV_END"]])
    assert len(ranges) == 2 and ranges[0] == hv, ranges
    for name, v in HV_REGIONS.items():
        s, e = info.get(INFO["REGION"] + 2 * v), info.get(INFO["REGION"] + 2 * v + 1)
        assert s is not None and hv[0] <= s < e <= hv[1], (name, s, e)
    pal = ranges[1]
    npf = b.events("NPF")
    want = set(range(hv[0], hv[1], PAGE)) | set(range(pal[0], pal[1], PAGE))
    assert {r.args[0] & ~(PAGE - 1) for r in npf if not r.args[1]} == want
    assert {r.args[0] & ~(PAGE - 1) for r in npf if r.args[1]} == want
    assert b.cpus[0].count == len(want) and len(npf) == 2 * len(want)


@pytest.mark.parametrize("transport", ["e9", "uart"])
def test_same_seed_gives_a_byte_identical_trace(tmp_path: Path, transport: str) -> None:
    runs = [boot_bochs(tmp_path / str(i), 2, 64, "wl=test:200 seed=5 nmi_every=30", transport=transport)
            for i in range(2)]
    for b in runs:
        assert_every_cpu_passed(b, 2, 200)
    a, c = ((tmp_path / str(i) / "bochs-2-64" / "serial.bin").read_bytes() for i in range(2))
    assert a == c, f"{len(a)} vs {len(c)} bytes, first difference at {next(i for i, (x, y) in enumerate(zip(a, c)) if x != y) if a[:len(c)] != c[:len(a)] else min(len(a), len(c))}"


def test_trace_e9_without_the_device_stops_the_machine_on_com1(tmp_path: Path) -> None:
    """trace=e9 on a machine whose port 0xE9 is no device (Bochs without port_e9_hack):
    the frames would vanish, so the hypervisor panics while its sink is still COM1."""
    b = boot_bochs(tmp_path, 1, 64, "wl=hello", port_e9=False)
    assert b.status == (DEBUG_EXIT["PANIC"] << 1) | 1, b.serial[-2000:]
    assert "trace=e9: no port 0xE9 device" in b.serial, b.serial[-2000:]
    assert (tmp_path / "bochs-1-64" / "bochs.out").read_text().count("Bochs x86 Emulator") == 1


@pytest.mark.parametrize("guest", [32, 64])
def test_event_delivery_conformance_suite(tmp_path: Path, guest: int) -> None:
    """tests/test_conformance.py's workload on VMX: IDT-vectoring re-delivery after EPT
    violations on the IDT, stack and GDT, NMIs against in-flight events, in MOV SS and STI
    shadows, at the handler's IRET (virtual-NMI blocking + NMI-window exiting)."""
    b = boot_bochs(tmp_path, 1, guest, "wl=delivery testhc=1", timeout=240)
    results = {r.args[1]: r.args[2] for r in b.events("GUEST_EVENT") if r.args[0] == GUEST_EVENTS["DELIVERY_CASE"]}
    names = {v: k for k, v in DELIVERY_CASES.items()}
    failed = {names.get(c, c): (r & 0xff, r >> 8) for c, r in results.items()
              if r not in (0, DELIVERY_FAILS["SKIPPED"])}
    assert not failed, f"cases failed (DELIVERY_FAIL_*, observed): {failed}"
    assert sorted(results) == sorted(DELIVERY_CASES.values()), sorted(results)
    assert_every_cpu_passed(b, 1)


def test_zoo_field_width_is_caught_on_vmx(tmp_path: Path) -> None:
    """The zoo's field-width bug on VMX (`make hv ARCH=vmx BUGS=field-width`): XMHF64's
    64-bit VMREAD into a 32-bit copy of a VMCS field, clobbering its neighbour (the
    exception bitmap, so #UD and the guests' VMMCALL go unintercepted).  The smoke run that
    passes on the correct build (tests/test_vmx_bochs.py) must not pass on this one."""
    build = tmp_path / "bugs-field-width"
    r = subprocess.run(["make", "-C", str(ROOT), "-s", "hv", "ARCH=vmx", "BUGS=field-width", f"BUILD={build}"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    shutil.copy2(BUILD / "guest64.elf", build / "guest64.elf")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    cfg = bochs.BochsConfig(hv_elf32=build / "vmx" / "hv.elf32", guest=build / "guest64.elf",
                            append="wl=test:300 seed=7 nmi_every=40", guest_args="", run_dir=run_dir, smp=2)
    ran = bochs.run(cfg, timeout_s=120, hang_s=30)
    records, _, text = decode_serial(cfg.serial_path.read_bytes())
    verdicts = [x.args[0] for x in records if x.type == EVENT_IDS["VERDICT"]]
    assert verdicts != [DEBUG_EXIT["PASS"]], "the field-width build passed: the bug went unnoticed"
    # How it shows: the guest's VMMCALL raises #UD in the guest, which never exits again.
    assert ran.why == "hang" or DEBUG_EXIT["FAIL"] in verdicts, (ran.why, verdicts, text[-1500:])


@pytest.mark.parametrize("name", ["test1", "test2", "test3", "test4", "test5"])
def test_xmhf64_scenario_passes_on_vmx(tmp_path: Path, name: str) -> None:
    """XMHF64's tests 1-5 (scenarios/), deterministic (--seed 42: NMIs from inside the
    machine), through the harness's bochs platform with its default transport (port
    0xE9): the hypervisor's verdict and the checker's rules, NMI accounting included, on
    the VMX backend, with no record lost and every rule judged -- test4's 40,000
    hypercalls under NMIs included, which outrun Bochs' UART for the whole run
    (docs/platform.md B8)."""
    sc = load_named(name)
    r = run_scenario_bochs(sc, RunOptions(seed=42, build_dir=BUILD, results_dir=tmp_path,
                                          deterministic=True, views=False))
    # PASS is the hypervisor's verdict: every CPU's workload passed, its guest received
    # exactly the NMIs injected, none nested, and host NMIs = quiesce + injected + merged +
    # latched (hv/core/verdict.c); then the checker agreed.
    assert r.passed, (r.record.outcome, r.record.reason)
    counts = r.record.counts
    assert r.record.transport["kind"] == "e9" and r.record.transport["e9_bytes"] > 0, r.record.transport
    assert counts["loss"] == {} and not counts["unjudged"], (counts["loss"], counts["unjudged"])
    rules = counts["rules"]
    assert rules["host_nmi_not_dropped"] > 0, rules      # NMIs were there to account for
    # The checker's exact NMI accounting, judged on every CPU (not left unjudged by a gap):
    # host NMIs = quiesce + injected + merged + latched, the guest received the injected.
    assert rules["nmi_accounting_end"] > 0 and rules["guest_received_injected"] == sc.smp, rules
    if name in ("test4", "test5"):     # TEST loops on both CPUs: every call's result checked, NMIs on both
        assert rules["hypercall_test_result"] == sc.smp * sc.iterations, rules
        assert rules["nmi_accounting_end"] == sc.smp, rules
    if name == "test5":
        # Every quiesce judged: the rule an overflowing ring left unjudged.
        assert rules["quiesce_epoch"] > 0, rules
    assert r.record.platform["name"] == "bochs"


def test_test5_over_the_uart_loses_no_record(tmp_path: Path) -> None:
    """`--transport uart`: test5's back-to-back quiesces outrun Bochs' UART in bursts, which
    the VMX image's 16384-slot rings absorb (docs/harness.md "The bochs platform")."""
    sc = load_named("test5")
    r = run_scenario_bochs(sc, RunOptions(seed=42, build_dir=BUILD, results_dir=tmp_path, deterministic=True,
                                          views=False, transport="uart"))
    assert r.passed, (r.record.outcome, r.record.reason)
    assert r.record.transport == {"kind": "uart", "com1_bytes": r.record.serial_bytes, "e9_bytes": 0}
    counts = r.record.counts
    assert counts["loss"] == {} and not counts["unjudged"], (counts["loss"], counts["unjudged"])
    assert counts["rules"]["quiesce_epoch"] > 0, counts["rules"]
