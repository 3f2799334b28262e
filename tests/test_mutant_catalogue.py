"""The mutant catalogue stays applicable: every mutant applies to today's code.

A refactor that changes a mutated line leaves its mutant's search string stale; then
`make mutants` stops with a catalogue error and the kill rate cannot be measured at all.
This catches that in `make test`, where the refactor lands, not in the next hour-long run.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import mutants  # noqa: E402


def test_every_mutant_applies_once_to_the_current_tree() -> None:
    catalogue = mutants.load(mutants.CATALOGUE)
    assert len(catalogue) >= 40


def test_every_killing_test_exists() -> None:
    makefile = "\n".join(p.read_text() for p in [ROOT / "Makefile", *ROOT.glob("*/*.mk"), *ROOT.glob("*/*/*.mk")])
    for m in mutants.load(mutants.CATALOGUE):
        for node in m.killed_by.split() if not m.killed_by.startswith("make ") else []:
            path, _, name = node.partition("::")
            source = (ROOT / path).read_text()
            if not name:
                continue
            func = name.split("[")[0]
            assert re.search(rf"^def {re.escape(func)}\(", source, re.M), f"{m.id}: no test {node}"
        if m.killed_by.startswith("make "):
            target = m.killed_by.split()[1]
            assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"{m.id}: no make target {target}"


def test_a_stale_search_string_is_a_catalogue_error(tmp_path: Path) -> None:
    stale = tmp_path / "mutants.toml"
    stale.write_text('[[mutant]]\nid = "x"\nfile = "hv/core/chaos.c"\nfind = "no such line in chaos.c"\n'
                     'replace = "y"\nmodels = "m"\nkilled_by = "make test-host"\n')
    with pytest.raises(mutants.CatalogueError, match="occurs 0 times"):
        mutants.load(stale)
