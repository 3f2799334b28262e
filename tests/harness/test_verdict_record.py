"""verdict.json as a type (harness/judge/verdict_record.py): what is written reads back equal,
files from before `version` still read, bad files are refused with the reason, and the
schema table in docs/harness.md names exactly the keys (and types) the writer emits."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from harness.launch.build import REPO
from harness.judge.run import RunOptions, run_scenario
from harness.scenario import load
from harness.judge.verdict_record import (ABSENT, FILE_NAME, VERSION, Verdict, VerdictError, keys,
                                    read_verdict)

DOCS = REPO / "docs" / "harness.md"

# A verdict.json as the harness wrote it before `version` (shape of a real smoke run's).
VERSION_0: dict[str, Any] = {
    "scenario": "smoke", "seed": 3, "passed": True, "outcome": "pass",
    "reason": "every CPU's workload reported pass (debug-exit PASS)", "expected_outcome": "pass",
    "bugs": None, "deterministic": False, "scenario_config": {"smp": 2, "hv_cmdline": "wl=test:1000"},
    "build": {"hv.elf": {"sha256": "00"}}, "qemu": {"command_line": ["qemu-system-x86_64", "-append", "x"],
                                                   "extra_args": [], "pid": 7, "exit_status": 33},
    "hv_cmdline": {"ran": "x", "source": "harness", "harness": "x"},
    "nmi": {"sent": 0}, "hang_watch": {}, "serial_bytes": 0, "trace": {"decoded": True},
    "hv_options": {"sent": None, "parsed": None}, "rule": None, "counts": None,
    "evidence": {"exit_outcome": "pass", "checker_ran": True}, "durations": {"total": 1.0},
    "html_timeline": None}


def full_verdict() -> Verdict:
    """Every key set, with the falsy values (False, 0, None, {}) a careless writer drops."""
    values: dict[str, Any] = {"string": "s", "integer": 0, "boolean": False, "object": {}, "null": None}
    fields = {name: values[types[-1]] for name, types in keys().items() if name != "version"}
    fields.update(scenario="smoke", seed=1, outcome="fail", reason="because",
                  qemu={"pid": 1, "command_line": ["-append", "x"]}, rule="no_lost_nmi")
    return Verdict(**fields)


def test_write_then_read_gives_an_equal_verdict(tmp_path: Path) -> None:
    v = full_verdict()
    path = v.write(tmp_path)
    assert path == tmp_path / FILE_NAME and not list(tmp_path.glob("*.tmp"))
    back = read_verdict(tmp_path)
    assert back == v
    assert list(json.loads(path.read_text())) == list(keys())   # every key, `version` first


def test_absent_keys_stay_absent_and_unknown_keys_survive(tmp_path: Path) -> None:
    v = Verdict(scenario="s", seed=2, passed=True, outcome="pass", reason="r",
                unknown={"from_the_future": [1]})
    v.write(tmp_path)
    data = json.loads((tmp_path / FILE_NAME).read_text())
    assert data == {"version": VERSION, "scenario": "s", "seed": 2, "passed": True, "outcome": "pass",
                    "reason": "r", "from_the_future": [1]}
    back = read_verdict(tmp_path)
    assert back == v and back.trace is ABSENT and back.rule is ABSENT


def test_a_version_0_file_reads_with_the_same_keys(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text(json.dumps(VERSION_0, indent=2))
    v = read_verdict(tmp_path)
    assert v.version == 0 and not v.unknown
    assert v.as_dict() == {"version": 0, **VERSION_0}
    assert list(v.as_dict())[1:] == list(VERSION_0)   # and in the same order


@pytest.mark.parametrize("text, words", [
    ("{not json", ["Expecting"]),
    ("[1, 2]", ["not a JSON object"]),
    (json.dumps({**VERSION_0, "seed": "3"}), ["'seed'", "integer"]),
    (json.dumps({**VERSION_0, "seed": True}), ["'seed'", "integer"]),
    (json.dumps({**VERSION_0, "qemu": "argv"}), ["'qemu'", "object"]),
    (json.dumps({k: v for k, v in VERSION_0.items() if k != "outcome"}), ["no 'outcome'"]),
    (json.dumps({**VERSION_0, "version": VERSION + 1}), ["version", "not one this harness reads"]),
])
def test_a_bad_file_is_refused_with_the_reason(tmp_path: Path, text: str, words: list[str]) -> None:
    (tmp_path / FILE_NAME).write_text(text)
    with pytest.raises(VerdictError) as exc:
        read_verdict(tmp_path)
    assert all(w in str(exc.value) for w in words), str(exc.value)


def test_a_missing_file_is_a_verdict_error(tmp_path: Path) -> None:
    with pytest.raises(VerdictError, match="No such file"):
        read_verdict(tmp_path / "nowhere")


def docs_table() -> tuple[int, dict[str, str]]:
    """docs/harness.md's verdict.json section: (its schema version, {key: type column})."""
    text = DOCS.read_text()
    section = text.split("\n### verdict.json\n", 1)[1].split("\n#", 1)[0]
    version = re.search(r"Schema \*\*version (\d+)\*\*", section)
    assert version, "docs/harness.md: the verdict.json section names no schema version"
    rows: dict[str, str] = {}
    for line in section.splitlines():
        m = re.match(r"\| `([a-z_]+)` \| ([^|]+) \|", line)
        if m:
            assert m[1] not in rows, f"docs/harness.md: key {m[1]!r} listed twice"
            rows[m[1]] = m[2].strip()
    return int(version[1]), rows


def test_the_docs_table_lists_exactly_the_keys_the_writer_emits() -> None:
    version, rows = docs_table()
    assert version == VERSION
    code = {name: " or ".join(types) for name, types in keys().items()}
    assert sorted(set(code) - set(rows)) == [], "keys written but not in docs/harness.md"
    assert sorted(set(rows) - set(code)) == [], "keys in docs/harness.md the harness never writes"
    assert {k: rows[k] for k in code} == code, "types in docs/harness.md differ from the Verdict's"


def test_a_run_leaves_the_verdict_it_returns(tmp_path: Path, fake_build: Callable[[str], Path]) -> None:
    """run.py's writes go through Verdict.write: the file is the returned record."""
    path = tmp_path / "s.toml"
    path.write_text('smp = 1\ntimeout = 10\nhang_timeout = 5\n')
    result = run_scenario(load(path), RunOptions(seed=5, build_dir=fake_build("pass"), results_dir=tmp_path))
    on_disk = json.loads((result.run_dir / FILE_NAME).read_text())
    assert on_disk["version"] == VERSION and on_disk["outcome"] != "incomplete"
    assert read_verdict(result.run_dir) == result.record and on_disk == result.verdict
