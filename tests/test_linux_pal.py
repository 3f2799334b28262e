"""PALs in a Linux process's memory (guest/linux/pal_demo.c, hv/hypapps/pal.c): a ring-3
process registers a PAL by virtual addresses, calls it, unregisters it; XMHF64's tests
1-3 as Linux scenarios (NMIs every 0.1 s, two processes at once, both).  Every PAL
result the hypervisor handed back is checked against the PAL's formula from the trace,
and the registrations a process can get wrong come back with their own PAL_ERR_* codes
(docs/linux-guest.md, "PALs in process memory")."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from decoder.defs import EVENT_IDS, PAL_ERRORS
from harness.launch.build import REPO
from harness.judge.decoding import event_records
from harness.judge.run import RunOptions, RunResult, run_scenario
from harness.scenario import load_named

LINUX = REPO / "build" / "linux"
REGISTER, UNREGISTER = EVENT_IDS["PAL_REGISTER"], EVENT_IDS["PAL_UNREGISTER"]
ENTER, EXIT = EVENT_IDS["PAL_ENTER"], EVENT_IDS["PAL_EXIT"]
SECRET = 0x5EED0000CAFE     # guest/linux/pal_demo.c
CALLS = 50
MASK = (1 << 64) - 1


@pytest.fixture(scope="module", autouse=True)
def linux_artifacts() -> None:
    for name in ("vmlinuz", "initramfs.cpio", "pal_demo"):
        assert (LINUX / name).is_file(), f"{LINUX / name} missing: run `make linux`"


def run(tmp_path: Path, name: str, seed: int = 1) -> RunResult:
    return run_scenario(load_named(name), RunOptions(seed=seed, deterministic=False, build_dir=REPO / "build",
                                                     results_dir=tmp_path, views=False))


def expected(i: int) -> int:
    """pal_demo's i-th call (1-based): x = i * 7919, y = i ^ 0x55."""
    x, y = i * 7919, i ^ 0x55
    return (((x * 3 + y) ^ i) + SECRET) & MASK


def check_pal_trace(result: RunResult, programs: int) -> None:
    records = event_records(result.run_dir / "serial.bin")
    # Per region: its registration, CALLS calls each returning the PAL's formula of
    # the argument the caller passed (the hypervisor hands the PAL's RAX back), and
    # its unregistration, all with result 0.
    ok_regions = [r.args[0] for r in records if r.type == REGISTER and r.args[2] == 0]
    assert len(set(ok_regions)) == programs == len(ok_regions), ok_regions
    assert sorted(r.args[0] for r in records if r.type == UNREGISTER and r.args[1] == 0) == sorted(ok_regions)
    for region in ok_regions:
        params = [r.args[1] for r in records if r.type == ENTER and r.args[0] == region]
        exits = [(r.args[1], r.args[2]) for r in records if r.type == EXIT and r.args[0] == region]
        assert params == [i * 7919 for i in range(1, CALLS + 1)], params
        assert exits == [(expected(i), 0) for i in range(1, CALLS + 1)], exits
    # The refusals pal_demo provokes, each with its code, once per program.
    refused = Counter(r.args[2] for r in records if r.type == REGISTER and r.args[2] != 0)
    for name in ("BAD_DESCRIPTOR", "NOT_MAPPED", "READ_ONLY", "BAD_RANGE", "ALREADY_REGISTERED"):
        assert refused[PAL_ERRORS[name]] >= programs, (name, refused)
    assert sum(1 for r in records if r.type == UNREGISTER and r.args[1] == PAL_ERRORS["NOT_REGISTERED"]) == programs
    console = (result.run_dir / "console.txt").read_text(errors="replace")
    assert console.count(f"pal_demo: {CALLS} PAL calls checked") == programs


@pytest.mark.parametrize("scenario, cpus, nmis", [
    ("linux-test1", [0], True),
    ("linux-test2", [0, 1], False),
    ("linux-test3", [0, 1], True),
], ids=["test1", "test2", "test3"])
def test_process_pal_registered_called_and_unregistered(tmp_path: Path, scenario: str, cpus: list[int],
                                                        nmis: bool) -> None:
    result = run(tmp_path, scenario)
    v = result.verdict
    assert result.passed, (v.get("reason"), result.run_dir)
    assert v["programs"]["ok"] and sorted(e["cpu"] for e in v["programs"]["exits"]) == cpus, v["programs"]
    assert all(e["status"] == 0 for e in v["programs"]["exits"]), v["programs"]
    assert (v["nmi"]["sent"] > 0) == nmis, v["nmi"]
    check_pal_trace(result, len(cpus))


def test_pal_isolation_against_other_processes_and_the_kernel(tmp_path: Path) -> None:
    result = run(tmp_path, "linux-pal-probe")
    v = result.verdict
    assert result.passed, (v.get("reason"), result.run_dir)
    assert v["programs"]["ok"] and [e["status"] for e in v["programs"]["exits"]] == [0], v["programs"]
    # No oops, no warning: the kernel's reads of PAL pages were let through.
    assert not v["console"]["failures"], v["console"]
    console = (result.run_dir / "console.txt").read_text(errors="replace")
    assert "pal_demo: probes held" in console
    records = event_records(result.run_dir / "serial.bin")
    # Revoked three times: the /proc/PID/mem read, the write(2), the dead process's
    # pages reused by the kernel.  The other process's call was refused with a fault.
    # The SYSCALL PAL's process unregistered it from its SIGILL handler.
    revoked = [r.args[0] for r in records if r.type == UNREGISTER and r.args[1] == PAL_ERRORS["REVOKED"]]
    assert len(revoked) == 3, revoked
    assert any(r.type == EVENT_IDS["GUEST_FAULT_INJECT"] for r in records)
    # The owner's one call after the refused one returned the PAL's result; the PAL
    # that executed SYSCALL was aborted at its #UD's IDT read (a data access in the
    # trap block of the PAL's page table), not resumed in the kernel's CS.
    exits = [(r.args[1], r.args[2]) for r in records if r.type == EXIT]
    assert len(exits) == 2 and exits[0] == (((3 + 2) ^ 1) + SECRET, 0), exits
    assert exits[1][0] == PAL_ERRORS["ABORTED"] and exits[1][1] != 0, exits
