"""Which built files a run uses, and keeping a copy of them in the run dir.

QEMU is started from the copies, so a rebuild during a long run cannot
change what runs, and the run dir alone is enough to debug it later.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUGS_TABLE = REPO / "defs" / "bugs.toml"


class BuildError(Exception):
    pass


@dataclass(frozen=True)
class Build:
    hv_elf: Path       # symbols for gdb and trace_rings
    hv_elf32: Path     # what -kernel loads
    guest_elf: Path    # multiboot module 0: guest/'s ELF kernel, a Linux bzImage or a multiboot kernel
    initrd: Path | None = None  # module 1: a Linux guest's initrd, a multiboot kernel's module
    guest: int | str = 64       # the scenario's guest kind (what the copies are named by)

    def files(self) -> dict[str, Path]:
        files = {"hv_elf": self.hv_elf, "hv_elf32": self.hv_elf32, "guest_elf": self.guest_elf}
        if self.initrd is not None:
            files["initrd"] = self.initrd
        return files


LINUX_COPY_NAMES = {"guest_elf": "bzImage", "initrd": "initrd.img"}
# A multiboot kernel sees its module string ("path args") as its command line, and
# its module's as that module's string: a user's name is kept when it is one plain
# word, else replaced (a space would split the string where the kernel does not expect it).
MULTIBOOT_FALLBACK_NAMES = {"guest_elf": "kernel.elf", "initrd": "module1"}
PLAIN_NAME = re.compile(r"[A-Za-z0-9._+-]{1,100}")


def locate(build_dir: Path, guest: int | str, kernel: Path | None = None,
           initrd: Path | None = None) -> Build:
    """The files a run of `guest` needs.  A Linux guest is build/linux's kernel and
    initramfs (`make linux`) unless the user brings their own (`--kernel`, `--initrd`);
    a multiboot guest is build/multiboot.elf unless the user brings their own
    (`--multiboot`), with an optional module (`--initrd`)."""
    if guest == "linux":
        module0 = kernel or build_dir / "linux" / "vmlinuz"
        initrd = initrd or build_dir / "linux" / "initramfs.cpio"
        hint = "run `make linux` first" if kernel is None else "check --kernel/--initrd"
    elif guest == "multiboot":
        module0 = kernel or build_dir / "multiboot.elf"
        hint = "run `make` first" if kernel is None else "check --multiboot/--initrd"
    else:
        module0, hint = build_dir / f"guest{guest}.elf", "run `make` first"
    build = Build(hv_elf=build_dir / "hv.elf", hv_elf32=build_dir / "hv.elf32",
                  guest_elf=module0, initrd=initrd, guest=guest)
    missing = [str(p) for p in build.files().values() if not p.is_file()]
    if missing:
        raise BuildError(f"missing build outputs: {', '.join(missing)} ({hint})")
    return build


def recorded_guest_files(verdict: dict, build_dir: Path) -> tuple[Path | None, Path | None]:
    """The guest files a recorded run's build copy holds, as `locate`'s kernel and initrd:
    a Linux or multiboot run's copies carry snapshot() names (bzImage, a user's kernel
    name), not the build tree's (linux/vmlinuz, multiboot.elf), so a rerun or replay from
    the run's own build/ must name them.  By file name inside build_dir, so a run dir
    that was moved still works; (None, None) for guest/'s own kernels."""
    recorded = verdict.get("build") or {}
    kernel, initrd = (recorded.get(role, {}).get("copy") for role in ("guest_elf", "initrd"))
    guest = (verdict.get("scenario_config") or {}).get("guest")
    if guest not in ("linux", "multiboot") or not kernel:
        return None, None
    return build_dir / Path(kernel).name, build_dir / Path(initrd).name if initrd else None


def bug_names(table: Path = BUGS_TABLE) -> list[str]:
    """The bug zoo's names (defs/bugs.toml)."""
    return list(tomllib.loads(table.read_text())["bug"])


def check_bugs(text: str, table: Path = BUGS_TABLE) -> str:
    """NAME[,NAME...] with every name from defs/bugs.toml, else BuildError.  Only a
    checked value ever reaches make (and make's recipes reach a shell)."""
    known = bug_names(table)
    names = text.split(",")
    unknown = [n for n in names if n not in known]
    if not text or unknown:
        raise BuildError(f"unknown bug name(s) {', '.join(map(repr, unknown or [text]))}; "
                         f"known: {', '.join(known)} (`make BUGS=list`)")
    return text


# What the bochs platform runs from a build dir: the VMX image ($(BUILD)/vmx/) and
# guest/'s kernels; the SVM image, the decoder and the Linux guest are not needed.
VMX_TARGETS = ("bugs-check", "hv-vmx", "guest")


def build_bugs(name: str, repo: Path = REPO, targets: tuple[str, ...] = ()) -> Path:
    """`make BUGS=name BUILD=build/bugs-name [targets]` (an argv list, no shell; the name
    is checked against defs/bugs.toml first); returns that build dir.  No targets: make's
    default (every image); VMX_TARGETS: the bochs platform's, into the same dir
    ($(BUILD)/vmx/hv.elf32 beside the SVM build's files)."""
    name = check_bugs(name)
    build_dir = Path("build") / f"bugs-{name}"
    cmd = ["make", "-C", str(repo), f"BUGS={name}", f"BUILD={build_dir}", *targets]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-20:])
        raise BuildError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{tail}")
    # The Linux guest is the same for every bug (a bug lives in the hypervisor):
    # the bug build runs build/linux's kernel and initramfs.
    linux, shared = repo / build_dir / "linux", repo / "build" / "linux"
    if shared.is_dir() and not linux.exists() and not linux.is_symlink():
        linux.symlink_to(shared.resolve())
    return repo / build_dir


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def snapshot(build: Build, dest: Path) -> tuple[Build, dict[str, dict[str, str]]]:
    """Copy the build into dest; return the copies and {role: {source, sha256}}."""
    dest.mkdir(parents=True, exist_ok=True)
    copies, manifest = {}, {}
    used: set[str] = set()
    for role, src in build.files().items():
        # A Linux guest's files get fixed names: a user's file name may hold a
        # space or a comma, which a multiboot module string cannot carry.
        name = src.name
        if build.guest == "linux" and role in LINUX_COPY_NAMES:
            name = LINUX_COPY_NAMES[role]
        elif build.guest == "multiboot" and role in MULTIBOOT_FALLBACK_NAMES and \
                (not PLAIN_NAME.fullmatch(name) or name in used):
            name = MULTIBOOT_FALLBACK_NAMES[role]
        used.add(name)
        dst = dest / name
        shutil.copy2(src, dst)
        copies[role] = dst
        manifest[role] = {"source": str(src.resolve()), "copy": str(dst), "sha256": sha256(dst)}
    return Build(**copies, guest=build.guest), manifest
