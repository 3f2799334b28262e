"""Unmodified Linux under the hypervisor (docs/linux-guest.md): the Debian kernel and
the project's initramfs (`make linux`) boot at -smp 1, 2 and 4, the guest starts its
own APs through the hypervisor's INIT/SIPI virtualization, init sees every CPU online
and reports each one; a deterministic run is byte-identical, and so is its replay; a user's own kernel and
initramfs run through `--kernel/--initrd/--append`; a kernel the loader must refuse
is refused with its reason."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from decoder.defs import EVENT_IDS, FIELD_NAMES
from harness.launch.build import REPO
from tests.boot_util import decode_serial, parse_reports
from harness.judge.decoding import event_records
from harness.det.replay import replay
from harness.judge.run import RunOptions, RunResult, run_scenario
from harness.scenario import load_named

LINUX = REPO / "build" / "linux"
ICR_WRITE, AP_START = EVENT_IDS["ICR_WRITE"], EVENT_IDS["AP_START"]
ACTION = FIELD_NAMES["ICR_WRITE", "action"][1]


@pytest.fixture(scope="module", autouse=True)
def linux_artifacts() -> None:
    for name in ("vmlinuz", "initramfs.cpio"):
        assert (LINUX / name).is_file(), f"{LINUX / name} missing: run `make linux`"


def run_linux(tmp_path: Path, smp: int, seed: int = 1, deterministic: bool = False,
              **opts: object) -> RunResult:
    sc = load_named("linux-smoke").with_overrides(smp=smp)
    return run_scenario(sc, RunOptions(seed=seed, deterministic=deterministic, build_dir=REPO / "build",
                                       results_dir=tmp_path, views=False, **opts))  # type: ignore[arg-type]


def console(result: RunResult) -> str:
    return (result.run_dir / "console.txt").read_text(errors="replace")


@pytest.mark.parametrize("smp", [1, 2, 4])
def test_linux_boots_and_brings_up_every_cpu(tmp_path: Path, smp: int) -> None:
    result = run_linux(tmp_path, smp)
    v = result.verdict
    assert result.passed and result.outcome == "pass", (v.get("reason"), result.run_dir)
    text = console(result)
    online = "0" if smp == 1 else f"0-{smp - 1}"
    assert f"HEISEN-LINUX: cpus online {online} count {smp}" in text, text[-2000:]
    assert v["console"]["marker"] and not v["console"]["failures"]
    records = event_records(result.run_dir / "serial.bin")
    started = [r for r in records if r.type == ICR_WRITE and r.args[2] == ACTION["sipi_started"]]
    dropped = [r for r in records if r.type == ICR_WRITE and r.args[2] == ACTION["init_dropped"]]
    ap_starts = sorted(r.cpu for r in records if r.type == AP_START)
    # Each AP: INIT (assert and de-assert) never reached it, its first SIPI started it.
    assert ap_starts == list(range(1, smp)), ap_starts
    assert len(started) == smp - 1 and len(dropped) >= 2 * (smp - 1), (len(started), len(dropped))
    # Every CPU reported through init's hypercalls: the hypervisor's own verdict.
    assert "debug-exit PASS" in v["reason"]


def test_qmp_nmis_during_a_linux_boot_at_smp4_are_all_accounted(tmp_path: Path) -> None:
    sc = load_named("linux-nmi")
    result = run_scenario(sc, RunOptions(seed=2, deterministic=False, build_dir=REPO / "build",
                                         results_dir=tmp_path, views=False))
    v = result.verdict
    assert result.passed, (v.get("reason"), result.run_dir)
    # Up to 15, 0.3 s apart: a fast boot can finish before the last ones are sent.
    sent = v["nmi"]["sent"]
    assert 5 <= sent <= 15 and not v["console"]["failures"], (v["nmi"], v["console"])
    _, _, text = decode_serial((result.run_dir / "serial.bin").read_bytes())
    reports = parse_reports(text)
    assert sorted(reports) == [0, 1, 2, 3], text[-2000:]
    # Only the BSP's LINT1 takes QMP NMIs (an AP's is masked, as after INIT, and Linux
    # keeps it so); each one reached the hypervisor and was injected or merged, and
    # Linux counted exactly the injected ones.
    cpu0 = reports[0]
    assert cpu0.passed and cpu0.host_nmis == cpu0.injected + cpu0.merged and 0 < cpu0.host_nmis <= sent, cpu0
    assert cpu0.received == cpu0.injected > 0, cpu0
    assert all(reports[c].host_nmis == 0 and reports[c].passed for c in (1, 2, 3)), reports
    assert v["console"]["unclaimed_nmis"] > 0   # Linux's "Uhhuh": an NMI nobody claims


@pytest.mark.parametrize("smp", [1, 2, 4])
def test_deterministic_linux_is_byte_identical(tmp_path: Path, smp: int) -> None:
    # At -smp > 1 this needs rdtsc_exit=1 (docs/linux-guest.md "Determinism"): without it
    # the BSP's TSC loop starves the AP until a host-timed QMP poll ends its turn.
    # At -smp 2 the second run is `harness replay` of the first (its recorded argv
    # checked, its build copy run), elsewhere a second run of the same seed.
    (tmp_path / "none.gdb").write_text("")
    a = run_linux(tmp_path / "a", smp, seed=5, deterministic=True)
    if smp == 2:
        rep = replay(a.run_dir, tmp_path / "b")
        assert rep.identical and rep.argv_mismatch is None, rep.as_dict()
        b = rep.result
    else:
        b = run_linux(tmp_path / "b", smp, seed=5, deterministic=True)
    assert a.passed and b.passed, (a.verdict.get("reason"), b.verdict.get("reason"))
    assert (a.run_dir / "serial.bin").read_bytes() == (b.run_dir / "serial.bin").read_bytes()
    assert console(a) == console(b)
    online = "0" if smp == 1 else f"0-{smp - 1}"
    assert f"HEISEN-LINUX: cpus online {online} count {smp}" in console(a)
    parsed = a.verdict["hv_options"]["parsed"]
    assert parsed["rdtsc_exit"] == (smp > 1) and parsed == a.verdict["hv_options"]["sent"], parsed
    if smp == 2:
        # gdb-at-event on the AP: its run, its console port, its modules, paused at record K.
        records = event_records(a.run_dir / "serial.bin")
        k = [i for i, r in enumerate(records, 1) if r.cpu == 1][-20]
        proc = subprocess.run([sys.executable, "-m", "harness", "replay", str(a.run_dir), "--gdb-at-event",
                               str(k), "--gdb-script", str(tmp_path / "none.gdb")], cwd=REPO,
                              capture_output=True, text=True, timeout=900)
        out = " ".join(proc.stdout.split())
        assert proc.returncode == 0 and "exact: the registers match" in out, out[-3000:]


def test_a_users_own_kernel_initrd_and_command_line(tmp_path: Path) -> None:
    own = tmp_path / "my kernels, v1"
    own.mkdir()
    shutil.copy(LINUX / "vmlinuz", own / "bz image")
    shutil.copy(LINUX / "initramfs.cpio", own / "my,initrd")
    out = tmp_path / "results"
    r = subprocess.run([sys.executable, "-m", "harness", "run", "linux-smoke", "--seed", "3",
                        "--no-deterministic", "--kernel", str(own / "bz image"), "--initrd",
                        str(own / "my,initrd"), "--append", "console=ttyS2 panic=-1 heisen.note=a,b",
                        "--results", str(out)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    run_dir = next(out.iterdir())
    text = (run_dir / "console.txt").read_text(errors="replace")
    # The comma reached the kernel as one (QEMU's ",," escape in the module string).
    assert "heisen.note=a,b" in text, text[:3000]
    v = json.loads((run_dir / "verdict.json").read_text())
    assert v["build"]["initrd"]["source"] == str(own / "my,initrd")
    assert v["scenario_config"]["append"] == "console=ttyS2 panic=-1 heisen.note=a,b"


def test_a_kernel_the_loader_cannot_place_is_refused_with_its_reason(tmp_path: Path) -> None:
    bad = bytearray((LINUX / "vmlinuz").read_bytes())
    bad[0x234] = 0          # relocatable_kernel: it would have to run at 1 MiB, inside the hypervisor
    kernel = tmp_path / "fixed-address-bzImage"
    kernel.write_bytes(bytes(bad))
    result = run_linux(tmp_path, 1, kernel=kernel)
    assert result.outcome == "panic" and not result.passed, result.verdict.get("reason")
    _, _, text = decode_serial((result.run_dir / "serial.bin").read_bytes())
    assert "kernel is not relocatable" in text, text
