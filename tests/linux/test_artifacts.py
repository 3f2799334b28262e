"""build/linux/kernel.json and busybox.json against the files they describe."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_kernel_json(linux_build: Path) -> None:
    k = json.loads((linux_build / "kernel.json").read_text())
    assert k["meta_package"] == "linux-image-cloud-amd64"
    assert re.fullmatch(r"linux-image-[0-9][0-9.]*-[0-9]+-cloud-amd64", k["package"]), k
    assert k["vmlinuz"] == "vmlinuz-" + k["package"].removeprefix("linux-image-")
    assert k["deb"] == f"{k['package']}_{k['version']}_amd64.deb"
    assert sha256(linux_build / "deb" / k["deb"]) == k["deb_sha256"]
    assert sha256(linux_build / "vmlinuz") == k["vmlinuz_sha256"]
    # A bzImage: the x86 boot protocol's "HdrS" at 0x202.
    assert (linux_build / "vmlinuz").read_bytes()[0x202:0x206] == b"HdrS"


def test_busybox_json(linux_build: Path) -> None:
    b = json.loads((linux_build / "busybox.json").read_text())
    assert b["package"] == "busybox-static"
    assert sha256(linux_build / "deb" / b["deb"]) == b["deb_sha256"]
    assert sha256(linux_build / "busybox") == b["busybox_sha256"]
