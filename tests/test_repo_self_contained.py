"""Every fact a comment relies on lives in the repository: no comment of the code points
at notes outside it (`../shared`, "the notes' pitfall N") or at an issue number; the
platform facts are in docs/platform.md, cited by number."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = ("hv", "trace", "harness", "decoder", "guest", "bench", "tools")
OUTSIDE = re.compile(r"pitfall|issue [0-9]|\.\./shared")
CITED = re.compile(r"docs/platform\.md ([PGB][0-9]+)")


def code_files() -> list[Path]:
    return [p for d in CODE for p in (ROOT / d).rglob("*")
            if p.is_file() and p.suffix in (".c", ".h", ".S", ".py", ".mk", ".toml", "") and
            "__pycache__" not in p.parts]


def test_no_comment_points_outside_the_repository() -> None:
    hits = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
            for p in code_files() for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
            if OUTSIDE.search(line)]
    assert not hits, "\n".join(hits)


def test_every_cited_platform_fact_exists() -> None:
    facts = set(re.findall(r"\*\*([PGB][0-9]+) --", (ROOT / "docs/platform.md").read_text()))
    cited = {m for p in code_files() for m in CITED.findall(p.read_text(errors="replace"))}
    assert cited and cited <= facts, sorted(cited - facts)
