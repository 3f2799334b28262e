"""Multiboot guests' pure parts, on the host: the header finder, the flag check, the
a.out-kludge layout and the multiboot information (hv/core/multiboot_guest.c under
ASan/UBSan); the header read alike by C and by the harness; guest/'s own kernels carry
no header (so the loader keeps starting them under their own contract); the multiboot
rules file; scenario keys; the verdict from the kernel's own exit code; copy names."""
from __future__ import annotations

import dataclasses
import shutil
import struct
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.host_c import assert_cases_pass, build_driver

from harness.launch import build as buildmod
from harness.judge import multiboot
from harness.scenario import ScenarioError, load_named, parse

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
KERNELS = ["multiboot.elf", "multiboot-aout.bin", "guest32.elf", "guest64.elf", "hv.elf32"]


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_driver(tmp_path_factory.mktemp("mbd"), "multiboot_driver", 
                        'hv/core/e820.c', 'hv/core/multiboot_guest.c')


def test_header_flags_aout_and_info_cases(driver: Path) -> None:
    assert_cases_pass(driver)


def c_reading(driver: Path, path: Path) -> str:
    r = subprocess.run([str(driver), str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def normalized(c: str) -> str:
    """The C driver names its refusal; Python only says whether."""
    return "".join(line.split(" refused ")[0] + (" refused -" if line.endswith(" refused -") else " refused yes")
                   + "\n" if " refused " in line else line + "\n" for line in c.splitlines())


def py_reading(data: bytes) -> str:
    h = multiboot.find_header(data)
    if h is None:
        return "none\n"
    unknown = h.flags & 0xFFFF & ~multiboot.KNOWN_REQUIRED
    out = f"offset {h.offset:#x} flags {h.flags:#x} refused {'yes' if unknown else '-'}\n"
    if h.aout is not None:
        header, load, load_end, bss_end, entry = h.aout
        offset = h.offset - (header - load)
        filesz = (load_end - load) if load_end else len(data) - offset
        memsz = (bss_end - load) if bss_end else filesz
        out += f"aout offset {offset:#x} paddr {load:#x} filesz {filesz:#x} memsz {memsz:#x} entry {entry:#x}\n"
    return out


@pytest.mark.parametrize("name", KERNELS)
def test_c_and_python_read_the_built_kernels_alike(driver: Path, name: str) -> None:
    path = BUILD / name
    assert path.is_file(), f"{path} missing: run `make`"
    assert normalized(c_reading(driver, path)) == py_reading(path.read_bytes())


def test_guests_own_kernels_carry_no_multiboot_header() -> None:
    # The loader tells guest/'s kernels (GUEST_MAGIC contract, every CPU) from a
    # multiboot kernel by the header alone: they must never carry one.
    for name in ("guest32.elf", "guest64.elf"):
        assert multiboot.find_header((BUILD / name).read_bytes()) is None, name
    elf = multiboot.find_header((BUILD / "multiboot.elf").read_bytes())
    aout = multiboot.find_header((BUILD / "multiboot-aout.bin").read_bytes())
    assert elf is not None and elf.flags == 0x3 and elf.aout is None
    assert aout is not None and aout.flags == 0x10003 and aout.aout is not None
    assert aout.aout[1] == 0x2000000 and aout.offset == 0   # a flat binary linked at 32 MiB


def _header(flags: int, delta: int = 0, at: int = 0, size: int = 64) -> bytes:
    data = bytearray(size)
    struct.pack_into("<III", data, at, multiboot.MAGIC, flags, (-(multiboot.MAGIC + flags) + delta) & 0xFFFFFFFF)
    return bytes(data)


@pytest.mark.parametrize("data,found", [
    (_header(3), True), (_header(3, delta=1), False), (_header(3, at=2, size=64), False),
    (_header(3, at=8192 - 12, size=8192), True), (_header(3, at=8192 - 8, size=8200), False),
    (_header(0x10003, size=20), False), (_header(0x10003, size=32), True)])
def test_python_header_finder_cases(driver: Path, tmp_path: Path, data: bytes, found: bool) -> None:
    assert (multiboot.find_header(data) is not None) == found
    f = tmp_path / "k"
    f.write_bytes(data)
    assert (c_reading(driver, f) != "none\n") == found


def test_check_kernel_refuses_what_the_hypervisor_would_misread(tmp_path: Path) -> None:
    with pytest.raises(multiboot.MultibootError, match="no multiboot header"):
        multiboot.check_kernel(BUILD / "guest64.elf")
    bad = tmp_path / "needs-bit-3"
    bad.write_bytes(_header(0x8 | 0x3))
    with pytest.raises(multiboot.MultibootError, match="unknown required bits 0x8"):
        multiboot.check_kernel(bad)
    video = tmp_path / "video"
    video.write_bytes(_header(0x7))      # a graphics mode: noted by the hypervisor, not refused
    assert multiboot.check_kernel(video).flags == 0x7
    with pytest.raises(multiboot.MultibootError, match="No such file"):
        multiboot.check_kernel(tmp_path / "missing")


def test_rules_multiboot_is_the_default_rules_without_guest_reported() -> None:
    default = tomllib.loads((ROOT / "decoder" / "rules.toml").read_text())["rule"]
    mb = tomllib.loads((ROOT / "decoder" / "rules-multiboot.toml").read_text())["rule"]
    assert [r for r in default if r["name"] != "guest_reported"] == mb
    assert any(r["name"] == "guest_reported" for r in default)


def test_multiboot_scenario_keys() -> None:
    sc = load_named("multiboot")
    assert sc.is_multiboot and sc.is_os and sc.hv_cmdline() == "" and sc.guest_exit_code == 0x10
    assert sc.rules == ROOT / "decoder" / "rules-multiboot.toml"
    smp4 = load_named("multiboot-smp4")
    assert smp4.smp == 4 and smp4.rules is None and smp4.append == "cpus=4"
    assert sc.with_overrides(append="a=1,b").append == "a=1,b"
    path = Path("x.toml")
    assert parse(path, {"guest": "multiboot"}).guest_exit_code == 0x10
    assert parse(path, {"guest": "multiboot", "expect": {"guest_exit_code": 0x21}}).guest_exit_code == 0x21
    with pytest.raises(ScenarioError, match="guest_exit_code"):
        parse(path, {"guest": 64, "expect": {"guest_exit_code": 0x10}})
    with pytest.raises(ScenarioError, match="guest_exit_code"):
        parse(path, {"guest": "multiboot", "expect": {"guest_exit_code": -1}})
    with pytest.raises(ScenarioError, match="workloads"):
        parse(path, {"guest": "multiboot", "workloads": {"default": "hello"}})
    with pytest.raises(ScenarioError, match="append"):
        parse(path, {"guest": 32, "append": "x"})
    with pytest.raises(ScenarioError, match="scenario's kind"):
        sc.with_overrides(guest=64)
    with pytest.raises(ScenarioError, match="scenario's kind"):
        sc.with_overrides(guest="linux")


EXIT = {"cpu": 0, "code": 0x10, "port": 0xf4, "size": 4}


@pytest.mark.parametrize("status,exits,outcome,words", [
    (33, [EXIT], "pass", "pass code 0x10"),
    (35, [dict(EXIT, code=0x11)], "fail", "expects 0x10"),
    # the status alone never says who wrote it: no GUEST_EXIT, no guest verdict
    (33, [], "fail", "no GUEST_EXIT"),
    (35, [], "fail", "no GUEST_EXIT"),
    # the trace and the status disagree: no verdict
    (35, [EXIT], "error", "exited with status 35"),
    (None, [EXIT], "error", "status None"),
    # a code beyond 7 bits: QEMU's status is its low byte
    (((0x1234 << 1) | 1) & 0xFF, [dict(EXIT, code=0x1234)], "fail", "0x1234"),
])
def test_guest_exit_verdict(status: int | None, exits: list, outcome: str, words: str) -> None:
    given = {33: "pass", 35: "fail"}.get(status or 0, "qemu died")
    got, reason, record = multiboot.judge_guest_exit(status, exits, 0x10, given, "exit status")
    assert got == outcome and words in reason, (got, reason)
    assert record["expected"] == 0x10 and record["code"] == (exits[0]["code"] if exits else None)


def test_guest_exit_verdict_keeps_what_the_harness_saw() -> None:
    for outcome in ("hang", "timeout", "interrupted", "panic", "reset"):
        assert multiboot.judge_guest_exit(None, [], 0x10, outcome, "why")[:2] == (outcome, "why")


def test_copies_of_a_users_kernel_get_names_a_module_string_can_carry(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("hv.elf", "hv.elf32"):
        shutil.copy(BUILD / name, tmp_path / "b" / name)
    odd = tmp_path / "my kernel, v1.elf"
    shutil.copy(BUILD / "multiboot.elf", odd)
    plain = tmp_path / "mod.bin"
    plain.write_bytes(b"x")
    located = buildmod.locate(tmp_path / "b", "multiboot", odd, plain)
    copies, manifest = buildmod.snapshot(located, tmp_path / "copy")
    assert copies.guest_elf.name == "kernel.elf" and copies.initrd.name == "mod.bin"
    assert manifest["guest_elf"]["source"] == str(odd)
    # the default: build/multiboot.elf under its own name; a module named like the kernel
    located = buildmod.locate(BUILD, "multiboot", None, BUILD / "multiboot.elf")
    copies, _ = buildmod.snapshot(located, tmp_path / "copy2")
    assert copies.guest_elf.name == "multiboot.elf" and copies.initrd.name == "module1"
    assert dataclasses.replace(copies).guest == "multiboot"
