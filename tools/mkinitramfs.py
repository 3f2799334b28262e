#!/usr/bin/python3
"""Write the Linux guest's initramfs: an uncompressed newc ("070701") cpio archive.

Usage: mkinitramfs.py --busybox FILE --init FILE --heisen FILE [--program FILE]... -o OUT

Contents (nothing else):
  /bin /dev /proc /sys            directories, 0755
  /dev/console                    character device 5:1, 0600 (the kernel opens it
                                  for init before devtmpfs is mounted)
  /bin/busybox                    the static busybox, 0755
  /bin/<applet> -> busybox        a symlink per applet the init uses (APPLETS)
  /bin/heisen                     the helper (guest/linux/heisen.c), 0755
  /bin/<name>                     each --program (a scenario's test programs:
                                  guest/linux/hvtest.c, ...), 0755
  /init                           the init script (guest/linux/init), 0755

Written by us, so no root is needed for the device node, and deterministic:
owner 0:0, mtime 0, inode numbers 1, 2, ... in archive order, entries sorted by
path; the same inputs give the same bytes.  Errors (a missing or unreadable
input): a message on stderr and exit status 2, and OUT is left as it was.
"""
from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path

# The busybox applets guest/linux/init runs (sh runs the script itself).
APPLETS = ("awk", "cat", "echo", "grep", "mkdir", "mount", "rm", "sed", "seq", "sh", "sleep", "taskset", "touch",
           "tr", "wc")
DIRS = ("bin", "dev", "proc", "sys")
CONSOLE = (5, 1)
ALIGN = 4


class InputError(Exception):
    pass


def entry(ino: int, name: str, mode: int, data: bytes = b"", nlink: int = 1,
          rdev: tuple[int, int] = (0, 0)) -> bytes:
    """One newc record: header, NUL-terminated name and data, each padded to 4 bytes."""
    fields = (ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0)
    head = b"070701" + b"".join(b"%08X" % f for f in fields) + name.encode() + b"\0"
    return pad(head) + pad(data)


def pad(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % ALIGN)


def read_input(what: str, path: Path) -> bytes:
    try:
        if not path.is_file():
            raise InputError(f"{what} {path}: no such file")
        return path.read_bytes()
    except OSError as e:
        raise InputError(f"{what} {path}: {e.strerror}") from None


def archive(busybox: bytes, init: bytes, heisen: bytes, programs: dict[str, bytes] | None = None) -> bytes:
    """The archive's bytes (see the module docstring)."""
    members: list[tuple[str, int, bytes, int, tuple[int, int]]] = []
    for d in DIRS:
        members.append((d, stat.S_IFDIR | 0o755, b"", 2, (0, 0)))
    members.append(("dev/console", stat.S_IFCHR | 0o600, b"", 1, CONSOLE))
    members.append(("bin/busybox", stat.S_IFREG | 0o755, busybox, 1, (0, 0)))
    members.append(("bin/heisen", stat.S_IFREG | 0o755, heisen, 1, (0, 0)))
    for name, data in sorted((programs or {}).items()):
        members.append((f"bin/{name}", stat.S_IFREG | 0o755, data, 1, (0, 0)))
    for a in APPLETS:
        members.append((f"bin/{a}", stat.S_IFLNK | 0o777, b"busybox", 1, (0, 0)))
    members.append(("init", stat.S_IFREG | 0o755, init, 1, (0, 0)))
    members.sort(key=lambda m: m[0])   # a directory's name sorts before its entries'
    out = [entry(ino, name, mode, data, nlink, rdev)
           for ino, (name, mode, data, nlink, rdev) in enumerate(members, start=1)]
    out.append(entry(0, "TRAILER!!!", 0))
    return b"".join(out)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="mkinitramfs.py", description=__doc__.split("\n")[0])
    ap.add_argument("--busybox", type=Path, required=True, help="static busybox binary")
    ap.add_argument("--init", type=Path, required=True, help="the /init script")
    ap.add_argument("--heisen", type=Path, required=True, help="the heisen helper binary")
    ap.add_argument("--program", type=Path, action="append", default=[],
                    help="a test program, installed as /bin/<its file name> (repeatable)")
    ap.add_argument("-o", "--output", type=Path, required=True, help="the .cpio to write")
    args = ap.parse_args(argv)   # bad usage: argparse exits 2 with a message
    try:
        names = [p.name for p in args.program]
        clash = sorted({n for n in names if names.count(n) > 1 or n in ("busybox", "heisen", *APPLETS)})
        if clash:
            raise InputError(f"program names {clash} clash with each other or with /bin's")
        programs = {p.name: read_input("program", p) for p in args.program}
        data = archive(read_input("busybox", args.busybox), read_input("init", args.init),
                       read_input("heisen", args.heisen), programs)
        tmp = args.output.with_name(args.output.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, args.output)
    except InputError as e:
        print(f"mkinitramfs: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"mkinitramfs: error: {args.output}: {e.strerror}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
