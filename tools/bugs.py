#!/usr/bin/python3
"""The bug zoo table (defs/bugs.toml): `bugs.py list` prints one line per bug;
`bugs.py names` the names alone; `bugs.py check NAME[,NAME]` exits 1 with a
message if a name is unknown; `bugs.py check-env` checks $BUGS_CHECK the same way
(the Makefile passes the user's BUGS through the environment, not a command line)."""
from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "defs/bugs.toml"


def load() -> dict[str, dict[str, str]]:
    return tomllib.loads(TABLE.read_text())["bug"]


def main(argv: list[str]) -> int:
    bugs = load()
    if argv[:1] == ["list"]:
        width = max(map(len, bugs))
        for name, b in bugs.items():
            print(f"{name:<{width}}  {b['doc']}  [XMHF64: {b['xmhf64']}; exposed by {b['scenario']}, seen as {b['detected_as']}]")
        return 0
    if argv == ["names"]:
        print(" ".join(bugs))
        return 0
    if argv == ["check-env"]:
        argv = ["check", os.environ.get("BUGS_CHECK", "")]
    if argv[:1] == ["check"] and len(argv) == 2:
        unknown = [n for n in argv[1].replace(" ", ",").split(",") if n and n not in bugs]
        if unknown:
            print(f"unknown bug(s) {', '.join(map(repr, unknown))}; `make BUGS=list` shows the zoo", file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
