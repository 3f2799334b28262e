"""The deterministic schedule is a pure, recorded function of (scenario, seed)."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.scenario import load, load_named
from harness.schedule import EDU_FLOOD_US, FLOOD_EVERY, ScheduleError, derive


def scenario(tmp_path: Path, nmi: str, smp: int = 2) -> object:
    path = tmp_path / "s.toml"
    path.write_text(f'smp = {smp}\nhang_timeout = 4\ntimeout = 10\n'
                    f'[workloads]\ndefault = "test:100"\n[nmi]\n{nmi}\n')
    return load(path)


def test_same_inputs_same_schedule_and_seed_on_the_command_line(tmp_path: Path) -> None:
    sc = scenario(tmp_path, 'pattern = "flood"')
    a, b = derive(sc, 12345), derive(sc, 12345)
    assert a == b
    assert a.hv_cmdline.split() == ["wl=test:100", "seed=12345", f"nmi_every={a.nmi_every}"]
    assert "-icount" in a.qemu_args and a.icount_shift == 7
    assert a.hang_virtual_s == 4 and a.wall_timeout_s == 30


def test_interval_matches_xmhf64s_per_cpu_nmi_rate(tmp_path: Path) -> None:
    # 90k exits/s machine-wide, 2 CPUs: an NMI every 0.1 s per CPU is one per 4500 exits.
    sc = scenario(tmp_path, 'pattern = "interval"\ninterval = 0.1')
    assert derive(sc, 1).nmi_every == 4500
    assert derive(sc, 2).nmi_every == 4500
    assert derive(scenario(tmp_path, 'pattern = "interval"\ninterval = 0.1', smp=4), 1).nmi_every == 2250


def test_no_nmis_means_no_nmi_every_word(tmp_path: Path) -> None:
    sched = derive(scenario(tmp_path, 'pattern = "none"'), 9)
    assert sched.nmi_every == 0 and "nmi_every" not in sched.hv_cmdline


def test_flood_intensity_is_seed_chosen_within_its_range(tmp_path: Path) -> None:
    sc = scenario(tmp_path, 'pattern = "flood"')
    ks = {derive(sc, seed).nmi_every for seed in range(50)}
    assert all(FLOOD_EVERY[0] <= k <= FLOOD_EVERY[1] for k in ks)
    assert len(ks) > 5  # seeds sweep the NMI pressure, not one fixed value


def test_count_limit_is_recorded_as_not_enforced(tmp_path: Path) -> None:
    sched = derive(scenario(tmp_path, 'pattern = "interval"\ninterval = 0.5\ncount = 3'), 1)
    assert "not enforced" in sched.nmi_basis


@pytest.mark.parametrize("bad", [-1, 1 << 64, True, "7"])
def test_bad_seed_is_refused(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ScheduleError, match="seed must be an integer"):
        derive(scenario(tmp_path, 'pattern = "none"'), bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("name,smp,rdtsc_exit,shift", [
    ("linux-smoke", 1, False, 5), ("linux-smoke", 2, True, 5), ("linux-smoke", 4, True, 5),
    ("multiboot-smp4", 4, True, 5), ("smoke", 4, False, 7),
])
def test_an_os_guest_at_smp_above_1_gets_rdtsc_exit_and_every_os_guest_the_faster_clock(
        name: str, smp: int, rdtsc_exit: bool, shift: int) -> None:
    # docs/linux-guest.md "Determinism": an OS's BSP spinning on the TSC starves the
    # AP it waits for unless RDTSC yields; Linux at -smp 4 needs more than 7.8 M
    # instructions per virtual second not to call its own boot a soft lockup.
    sc = load_named(name).with_overrides(smp=smp)
    sched = derive(sc, 3)
    assert ("rdtsc_exit=1" in sched.hv_cmdline.split()) == rdtsc_exit, sched.hv_cmdline
    assert sched.icount_shift == shift and f"shift={shift},sleep=off" in sched.qemu_args


def test_a_virtual_hang_timeout_applies_to_runs_in_virtual_time_only(tmp_path: Path) -> None:
    # A host-timed run's quiet stretches follow the host's load, a virtual-time run's only
    # the guest's work: a scenario may set the second apart (hang_timeout_virtual).
    path = tmp_path / "v.toml"
    path.write_text('smp = 2\nhang_timeout = 30\nhang_timeout_virtual = 10\ntimeout = 60\n'
                    '[workloads]\ndefault = "test:100"\n')
    sc = load(path)
    assert sc.hang_timeout == 30 and sc.virtual_hang_timeout == 10
    assert derive(sc, 1).hang_virtual_s == 10
    assert load_named("linux-zoo-quiesce").virtual_hang_timeout == load_named("linux-zoo-quiesce").hang_timeout


def linux_scenario(tmp_path: Path, nmi: str) -> object:
    path = tmp_path / "linux.toml"
    path.write_text(f'guest = "linux"\nsmp = 2\ntimeout = 60\n[nmi]\n{nmi}\n')
    return load(path)


def test_an_os_guest_with_nmis_gets_the_device_nmi_source_and_its_device(tmp_path: Path) -> None:
    # hv/core/nmi_edu.c: the only in-machine NMI that can land inside a long hypervisor stretch.
    sched = derive(linux_scenario(tmp_path, 'pattern = "interval"\ninterval = 0.01'), 1)
    assert sched.nmi_edu_us == 10_000 and "nmi_edu=10000" in sched.hv_cmdline.split()
    assert list(sched.qemu_args[-2:]) == ["-device", "edu"]
    assert sched.as_dict()["nmi_edu_us"] == 10_000


@pytest.mark.parametrize("nmi,os_guest", [('pattern = "none"', True), ('pattern = "flood"', False),
                                          ('pattern = "interval"\ninterval = 0.1', False)])
def test_no_device_nmis_without_nmis_or_for_guest_kernels(tmp_path: Path, nmi: str, os_guest: bool) -> None:
    sc = linux_scenario(tmp_path, nmi) if os_guest else scenario(tmp_path, nmi)
    sched = derive(sc, 4)
    assert sched.nmi_edu_us == 0 and "nmi_edu" not in sched.hv_cmdline and "edu" not in sched.qemu_args


def test_an_os_flood_draws_its_device_nmi_gap_per_seed_within_its_range(tmp_path: Path) -> None:
    sc = linux_scenario(tmp_path, 'pattern = "flood"')
    gaps = {derive(sc, seed).nmi_edu_us for seed in range(40)}
    lo, hi = EDU_FLOOD_US
    assert len(gaps) > 10 and all(lo <= g <= hi for g in gaps)
    assert derive(sc, 7).nmi_edu_us == derive(sc, 7).nmi_edu_us
