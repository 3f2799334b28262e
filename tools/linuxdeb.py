#!/usr/bin/python3
"""Fetch the Linux guest's binaries from Debian packages (guest/linux/linux.mk).

  linuxdeb.py kernel OUTDIR    the kernel behind linux-image-cloud-amd64:
                               OUTDIR/vmlinuz, OUTDIR/kernel.json
  linuxdeb.py busybox OUTDIR   busybox-static's binary: OUTDIR/busybox, OUTDIR/busybox.json

Nothing is compiled: the package is `apt-get download`ed into OUTDIR/deb/ (no root
needed; `apt-get update -qq` is run once, only if resolving or downloading fails),
checked against the SHA256 apt's index gives for it, and unpacked with
`dpkg-deb -x`.  The .json records package, version and the SHA-256 of the .deb
and of the binary taken from it.  Errors: a message on stderr, exit status 2.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

KERNEL_META = "linux-image-cloud-amd64"
BUSYBOX = "busybox-static"


class Fail(Exception):
    pass


def run(*cmd: str, cwd: Path | None = None) -> str:
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise Fail(f"{cmd[0]} not found (a Debian host with apt is needed)") from None
    if p.returncode != 0:
        raise Fail(f"`{' '.join(cmd)}` failed ({p.returncode}): {p.stderr.strip()[-500:]}")
    return p.stdout


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def apt_fields(package: str) -> dict[str, str]:
    """The candidate version's Package, Version and SHA256 from apt's index."""
    policy = run("apt-cache", "policy", package)
    candidate = next((line.split(":", 1)[1].strip() for line in policy.splitlines()
                      if line.strip().startswith("Candidate:")), "(none)")
    if candidate == "(none)":
        raise Fail(f"apt knows no installable version of {package}")
    out = run("apt-cache", "show", f"{package}={candidate}")
    fields: dict[str, str] = {}
    for line in out.split("\n\n")[0].splitlines():
        key, sep, value = line.partition(":")
        if sep and not key.startswith(" "):
            fields[key] = value.strip()
    if fields.get("Version") != candidate or "SHA256" not in fields:
        raise Fail(f"apt-cache show {package}={candidate}: no Version/SHA256")
    return fields


def kernel_package() -> str:
    """The versioned image package the metapackage depends on."""
    out = run("apt-cache", "depends", KERNEL_META)
    deps = [line.split(":", 1)[1].strip() for line in out.splitlines()
            if line.strip().startswith("Depends:")]
    images = [d for d in deps if d.startswith("linux-image-") and d != KERNEL_META]
    if len(images) != 1:
        raise Fail(f"{KERNEL_META} depends on {deps}: expected exactly one linux-image-*")
    return images[0]


def download(package: str, debdir: Path) -> tuple[dict[str, str], Path]:
    """apt-get download PACKAGE=VERSION into debdir; returns (apt fields, .deb)."""
    fields = apt_fields(package)
    debdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=debdir) as tmp:
        cmd = ["apt-get", "download", "-qq"]
        if os.geteuid() == 0:   # root: apt would fall back to root anyway, after a warning
            cmd += ["-o", "APT::Sandbox::User=root"]
        run(*cmd, f"{package}={fields['Version']}", cwd=Path(tmp))
        debs = list(Path(tmp).glob("*.deb"))
        if len(debs) != 1:
            raise Fail(f"apt-get download {package}: expected one .deb, got {debs}")
        got = sha256(debs[0])
        if got != fields["SHA256"]:
            raise Fail(f"{debs[0].name}: sha256 {got}, apt's index says {fields['SHA256']}")
        deb = debdir / debs[0].name
        os.replace(debs[0], deb)
    return fields, deb


def fetch(resolve, debdir: Path) -> tuple[str, dict[str, str], Path]:
    """Resolve and download; on failure run apt-get update -qq once and try again."""
    try:
        package = resolve()
        return (package, *download(package, debdir))
    except Fail as first:
        print(f"linuxdeb: {first}; running apt-get update -qq and trying again", file=sys.stderr)
        try:
            run("apt-get", "update", "-qq")
        except Fail as e:
            raise Fail(f"{first}\n(and apt-get update failed: {e})") from None
        package = resolve()
        return (package, *download(package, debdir))


def unpack(deb: Path, member_glob: str, outdir: Path) -> Path:
    """dpkg-deb -x the package; the one file matching member_glob in it."""
    with tempfile.TemporaryDirectory(dir=outdir) as tmp:
        run("dpkg-deb", "-x", str(deb), tmp)
        hits = sorted(Path(tmp).glob(member_glob))
        if len(hits) != 1:
            raise Fail(f"{deb.name}: expected one {member_glob}, found {[str(h) for h in hits]}")
        keep = outdir / f".{hits[0].name}.tmp"
        shutil.copyfile(hits[0], keep)
    return keep


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def kernel(outdir: Path) -> None:
    package, fields, deb = fetch(kernel_package, outdir / "deb")
    tmp = unpack(deb, "boot/vmlinuz-*", outdir)
    write_json(outdir / "kernel.json", {
        "meta_package": KERNEL_META,
        "package": package,
        "version": fields["Version"],
        "deb": deb.name,
        "deb_sha256": sha256(deb),
        "vmlinuz": "vmlinuz-" + package.removeprefix("linux-image-"),
        "vmlinuz_sha256": sha256(tmp),
    })
    os.replace(tmp, outdir / "vmlinuz")   # last: make sees vmlinuz only when all is there


def busybox(outdir: Path) -> None:
    package, fields, deb = fetch(lambda: BUSYBOX, outdir / "deb")
    tmp = unpack(deb, "bin/busybox", outdir)
    tmp.chmod(0o755)
    write_json(outdir / "busybox.json", {
        "package": package,
        "version": fields["Version"],
        "deb": deb.name,
        "deb_sha256": sha256(deb),
        "busybox_sha256": sha256(tmp),
    })
    os.replace(tmp, outdir / "busybox")


def main(argv: list[str]) -> int:
    commands = {"kernel": kernel, "busybox": busybox}
    if len(argv) != 2 or argv[0] not in commands:
        print("usage: linuxdeb.py kernel|busybox OUTDIR", file=sys.stderr)
        return 2
    outdir = Path(argv[1])
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        commands[argv[0]](outdir)
    except (Fail, OSError) as e:
        print(f"linuxdeb: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
