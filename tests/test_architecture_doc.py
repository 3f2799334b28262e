"""docs/architecture.md stays true: its picture is its graphviz source's rendering, and
every repository path it (or the source) names exists."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
DOT = ROOT / "docs" / "architecture.dot"
SVG = ROOT / "docs" / "architecture.svg"
# A path as the page writes it: a top-level directory of the repo, then more.
TOP = ("hv", "trace", "decoder", "harness", "guest", "defs", "tools", "tests", "scenarios",
       "include", "docs", "bench")
PATH = re.compile(r"\b((?:%s)/[A-Za-z0-9_./*<>-]*)" % "|".join(TOP))


def named_paths(text: str) -> set[str]:
    return {m.rstrip("./") for m in PATH.findall(text)}


def exists(path: str) -> bool:
    # `wl_<name>.c`, `*.c`: some file of that shape; a trailing / is a directory.
    pattern = re.sub(r"<[^>]*>", "*", path)
    return any(ROOT.glob(pattern)) if "*" in pattern else (ROOT / pattern).exists()


def test_the_picture_is_the_rendering_of_its_source() -> None:
    svg = subprocess.run(["dot", "-Tsvg", str(DOT)], check=True, capture_output=True, text=True).stdout
    assert svg == SVG.read_text(), "docs/architecture.svg is stale: run `make docs`"


def test_every_path_the_page_names_exists() -> None:
    paths = named_paths(DOC.read_text()) | named_paths(DOT.read_text())
    assert len(paths) > 20, f"the path pattern found only {sorted(paths)}: it reads nothing"
    missing = sorted(p for p in paths if not exists(p))
    assert not missing, f"docs/architecture.md names paths that do not exist: {missing}"


def test_a_missing_path_is_noticed() -> None:
    assert not exists("hv/core/no_such_file.c") and exists("guest/common/wl_<name>.c")
