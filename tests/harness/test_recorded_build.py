"""A rerun or replay from a run's own build/ copy finds its guest: a Linux run's copies
are bzImage and initrd.img (snapshot names), not build/linux's vmlinuz and initramfs.cpio.
A Linux soak's confirmation rerun of a failing seed stopped with a BuildError traceback."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.launch.build import BuildError, locate, recorded_guest_files


def run_build(tmp_path: Path, names: list[str]) -> Path:
    build = tmp_path / "run" / "build"
    build.mkdir(parents=True)
    for n in names:
        (build / n).write_bytes(b"x")
    return build


def verdict(guest: str, kernel: str, initrd: str | None) -> dict:
    b = {"hv_elf": {"copy": "/elsewhere/build/hv.elf"}, "guest_elf": {"copy": f"/elsewhere/build/{kernel}"}}
    if initrd:
        b["initrd"] = {"copy": f"/elsewhere/build/{initrd}"}
    return {"build": b, "scenario_config": {"guest": guest}}


def test_a_linux_runs_copy_is_found_by_its_snapshot_names(tmp_path: Path) -> None:
    build = run_build(tmp_path, ["hv.elf", "hv.elf32", "bzImage", "initrd.img"])
    with pytest.raises(BuildError, match="make linux"):
        locate(build, "linux")                       # what the rerun used to do
    kernel, initrd = recorded_guest_files(verdict("linux", "bzImage", "initrd.img"), build)
    located = locate(build, "linux", kernel, initrd)
    assert (located.guest_elf, located.initrd) == (build / "bzImage", build / "initrd.img")


def test_a_multiboot_runs_copy_keeps_the_users_kernel_name(tmp_path: Path) -> None:
    build = run_build(tmp_path, ["hv.elf", "hv.elf32", "mykernel.elf"])
    kernel, initrd = recorded_guest_files(verdict("multiboot", "mykernel.elf", None), build)
    assert (kernel, initrd) == (build / "mykernel.elf", None)
    assert locate(build, "multiboot", kernel, initrd).guest_elf == build / "mykernel.elf"


def test_own_guests_need_nothing_recorded(tmp_path: Path) -> None:
    assert recorded_guest_files(verdict("64", "guest64.elf", None) | {"scenario_config": {"guest": 64}},
                                tmp_path) == (None, None)
