"""tools/mkinitramfs.py, read back by an independent reader (GNU cpio)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.judge.linux import linux_programs

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "mkinitramfs.py"
PY = "/usr/bin/python3"
# Written out here, not imported from the tool: the test says what the archive
# must hold.  The applets are the ones guest/linux/init runs.
APPLETS = ["awk", "cat", "echo", "grep", "mkdir", "mount", "rm", "sed", "seq", "sh", "sleep", "taskset",
           "touch", "tr", "wc"]
PROGRAMS = sorted(linux_programs())   # guest/linux/linux.mk's LINUX_PROGRAMS: the same glob
EXPECTED = {   # path -> (cpio -itv mode string, link target or None)
    "bin": ("drwxr-xr-x", None), "dev": ("drwxr-xr-x", None), "proc": ("drwxr-xr-x", None),
    "sys": ("drwxr-xr-x", None), "dev/console": ("crw-------", None),
    "bin/busybox": ("-rwxr-xr-x", None), "bin/heisen": ("-rwxr-xr-x", None),
    "init": ("-rwxr-xr-x", None),
    **{f"bin/{p}": ("-rwxr-xr-x", None) for p in PROGRAMS},
    **{f"bin/{a}": ("lrwxrwxrwx", "busybox") for a in APPLETS},
}


def mkinitramfs(out: Path, busybox: Path, init: Path, heisen: Path,
                programs: list[Path] | None = None) -> subprocess.CompletedProcess:
    extra = [a for p in programs or [] for a in ("--program", str(p))]
    return subprocess.run([PY, str(TOOL), "--busybox", str(busybox), "--init", str(init),
                           "--heisen", str(heisen), *extra, "-o", str(out)], capture_output=True, text=True)


def programs(linux: Path) -> list[Path]:
    return [linux / p for p in PROGRAMS]


def inputs(linux: Path) -> tuple[Path, Path, Path]:
    return linux / "busybox", ROOT / "guest" / "linux" / "init", linux / "heisen"


def cpio_list(archive: Path) -> dict[str, tuple[str, str, str | None]]:
    """cpio -itv --numeric-uid-gid: path -> (mode, "uid gid", link target)."""
    with archive.open("rb") as f:
        p = subprocess.run(["cpio", "-itv", "--quiet", "--numeric-uid-gid"], stdin=f,
                           capture_output=True, text=True)
    assert p.returncode == 0, f"cpio -itv rejects {archive}: {p.stderr}"
    entries = {}
    for line in p.stdout.splitlines():
        # mode nlink uid gid size-or-"maj, min" month day year name [-> target]
        mode, _nlink, uid, gid, rest = line.split(None, 4)
        name_part = rest.split(None, 5 if mode.startswith("c") else 4)[-1]
        name, _, target = name_part.partition(" -> ")
        entries[name] = (mode, f"{uid} {gid}", target or None)
    return entries


def test_cpio_lists_exactly_the_expected_entries(linux_build: Path) -> None:
    got = cpio_list(linux_build / "initramfs.cpio")
    assert sorted(got) == sorted(EXPECTED)
    for name, (mode, target) in EXPECTED.items():
        assert got[name][0] == mode, name
        assert got[name][1] == "0 0", name
        assert got[name][2] == target, name


def test_cpio_device_node_and_dates(linux_build: Path) -> None:
    with (linux_build / "initramfs.cpio").open("rb") as f:
        out = subprocess.run(["cpio", "-itv", "--quiet", "--numeric-uid-gid"], stdin=f,
                             capture_output=True, text=True, env={**os.environ, "TZ": "UTC",
                                                                   "LC_ALL": "C"}).stdout
    console = [line for line in out.splitlines() if line.endswith(" dev/console")]
    assert len(console) == 1 and " 5,   1 " in console[0], console
    assert all(" Jan  1  1970 " in line for line in out.splitlines()), out


def test_cpio_extracts_the_inputs(linux_build: Path, tmp_path: Path) -> None:
    """GNU cpio unpacks the same bytes that went in (the device node left out:
    making it needs root)."""
    with (linux_build / "initramfs.cpio").open("rb") as f:
        p = subprocess.run(["cpio", "-id", "--quiet", "--no-absolute-filenames", "--nonmatching",
                            "dev/console"], stdin=f, cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    busybox, init, heisen = inputs(linux_build)
    assert (tmp_path / "bin/busybox").read_bytes() == busybox.read_bytes()
    assert (tmp_path / "bin/heisen").read_bytes() == heisen.read_bytes()
    assert (tmp_path / "init").read_bytes() == init.read_bytes()
    for prog in programs(linux_build):
        assert (tmp_path / "bin" / prog.name).read_bytes() == prog.read_bytes()
    assert os.readlink(tmp_path / "bin/sh") == "busybox"


def test_same_inputs_same_bytes(linux_build: Path, tmp_path: Path) -> None:
    """Two builds, and a build from copies with other mtimes and modes, are
    byte-identical to make's."""
    busybox, init, heisen = inputs(linux_build)
    a, b, c = tmp_path / "a.cpio", tmp_path / "b.cpio", tmp_path / "c.cpio"
    assert mkinitramfs(a, busybox, init, heisen, programs(linux_build)).returncode == 0
    assert mkinitramfs(b, busybox, init, heisen, programs(linux_build)).returncode == 0
    copies = []
    for i, src in enumerate((busybox, init, heisen)):
        dst = tmp_path / f"copy{i}"
        shutil.copyfile(src, dst)
        os.utime(dst, (1_234_567_890, 1_234_567_890))
        dst.chmod(0o600)
        copies.append(dst)
    prog_copies = []
    for src in programs(linux_build):
        dst = tmp_path / "progs" / src.name
        dst.parent.mkdir(exist_ok=True)
        shutil.copyfile(src, dst)
        prog_copies.append(dst)
    assert mkinitramfs(c, *copies, prog_copies).returncode == 0
    made = (linux_build / "initramfs.cpio").read_bytes()
    assert a.read_bytes() == made
    assert b.read_bytes() == made
    assert c.read_bytes() == made


@pytest.mark.parametrize("missing", ["busybox", "init", "heisen"])
def test_missing_input_is_a_clear_error(linux_build: Path, tmp_path: Path, missing: str) -> None:
    paths = dict(zip(("busybox", "init", "heisen"), inputs(linux_build)))
    paths[missing] = tmp_path / "nope"
    out = tmp_path / "out.cpio"
    p = mkinitramfs(out, paths["busybox"], paths["init"], paths["heisen"])
    assert p.returncode == 2, p
    assert f"mkinitramfs: error: {missing} {tmp_path / 'nope'}: no such file" in p.stderr
    assert "Traceback" not in p.stderr
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("name", ["heisen", "sh", "twice"])
def test_a_program_named_like_another_file_is_a_clear_error(linux_build: Path, tmp_path: Path,
                                                           name: str) -> None:
    prog = tmp_path / ("hvtest" if name == "twice" else name)
    prog.write_bytes(b"x")
    out = tmp_path / "out.cpio"
    progs = [prog, linux_build / "hvtest"] if name == "twice" else [prog]
    p = mkinitramfs(out, *inputs(linux_build), progs)
    assert p.returncode == 2, p
    assert "clash" in p.stderr and "Traceback" not in p.stderr
    assert not out.exists()


def test_unwritable_output_is_a_clear_error(linux_build: Path, tmp_path: Path) -> None:
    p = mkinitramfs(tmp_path / "no-such-dir" / "out.cpio", *inputs(linux_build))
    assert p.returncode == 2, p
    assert p.stderr.startswith("mkinitramfs: error: ") and "Traceback" not in p.stderr


def test_bad_usage_exits_2(tmp_path: Path) -> None:
    p = subprocess.run([PY, str(TOOL), "-o", str(tmp_path / "x")], capture_output=True, text=True)
    assert p.returncode == 2 and "required" in p.stderr and "Traceback" not in p.stderr
