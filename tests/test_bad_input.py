"""Bad input at every edge: a clear one-line error and exit 2, never a traceback, never a
verdict without evidence, nothing user-given in a shell, no orphan QEMU, no stray run dir.

Each case runs the real command line (`python3 -m decoder`, `python3 -m harness`, `make`)
as a user would, except where a property is checked in-process under hypothesis.
"""
from __future__ import annotations

import json
import math
import os
import random
import subprocess
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from decoder.check import run_check
from decoder.reader import read_items
from harness.judge.run import _judge, _Watch, hv_cmdline_ran
from harness.scenario import Scenario, ScenarioError, load
from tests.decoder.traces import good_run

PY = "/usr/bin/python3"
REPO = Path(__file__).resolve().parent.parent
QUICK = 'smp = 2\ntimeout = 30\nhang_timeout = 5\n[workloads]\ndefault = "hello"\n'


def cli(module: str, *args: str, cwd: Path = REPO, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, "-m", module, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def assert_usage_error(r: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit 2, no traceback, and the message (the last stderr/stdout line) names `words`."""
    out = (r.stderr + r.stdout).strip()
    assert r.returncode == 2, (r.returncode, out)
    assert "Traceback" not in r.stderr + r.stdout, out
    message = out.splitlines()[-1] if out else ""
    for w in words:
        assert w in out, (w, out)
    return message


def qemus_mentioning(text: str) -> list[int]:
    """QEMU processes whose command line contains `text` (a test's tmp path)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "qemu-system" in argv and text in argv:
            found.append(int(entry))
    return found


# --- decoder: no verdict without evidence ------------------------------------------

def good_capture() -> bytes:
    return good_run(ncpus=2, rounds=40).serial(per_frame=4)


def test_check_of_a_good_capture_passes_and_names_its_evidence(tmp_path: Path) -> None:
    path = tmp_path / "good.bin"
    path.write_bytes(good_capture())
    r = cli("decoder", "check", str(path))
    assert r.returncode == 0, r.stdout + r.stderr
    import tomllib
    nrules = len(tomllib.loads((Path(__file__).resolve().parent.parent / "decoder/rules.toml").read_text())["rule"])
    assert r.stdout.startswith("check: pass") and f" records checked by {nrules} rules" in r.stdout, r.stdout


def test_check_of_an_empty_file_is_no_verdict(tmp_path: Path) -> None:
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    r = cli("decoder", "check", str(path))
    assert_usage_error(r, "no verdict", "no trace records")
    assert "pass" not in r.stdout


def test_check_of_random_bytes_is_no_verdict(tmp_path: Path) -> None:
    path = tmp_path / "random.bin"
    path.write_bytes(os.urandom(1 << 20))
    r = cli("decoder", "check", str(path))
    assert_usage_error(r, "no verdict", "no trace records", "damaged bytes")


def damaged_capture() -> bytes:
    """A real capture whose frames are three quarters CRC-damaged (one byte flipped in
    each): records remain, but most of the input did not decode."""
    frames = good_capture().split(b"\0")[:-1]
    out = bytearray()
    for k, frame in enumerate(frames):
        if k % 4:
            frame = frame[:3] + bytes([frame[3] ^ 0x55 or 1]) + frame[4:]
        out += frame + b"\0"
    return bytes(out)


def test_check_of_a_mostly_damaged_capture_is_no_verdict(tmp_path: Path) -> None:
    data = damaged_capture()
    items = list(read_items(data))
    assert any(type(i).__name__ == "Record" for i in items)  # there are records: it is the damage rule
    path = tmp_path / "damaged.bin"
    path.write_bytes(data)
    r = cli("decoder", "check", str(path))
    assert_usage_error(r, "no verdict", "more damage than data")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_noise_never_passes(data: bytes) -> None:
    r = run_check(read_items(data), input_bytes=len(data))
    assert not r.passed
    assert r.error is not None and r.evidence["records"] == 0


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=200), st.integers(min_value=0, max_value=2**32), st.booleans())
def test_a_capture_damaged_beyond_half_never_passes(ndamaged: int, seed: int, garbage_first: bool) -> None:
    """Any good capture beside more garbage than it and a delimiter have bytes: no verdict."""
    good = good_capture()
    rnd = random.Random(seed)
    garbage = bytes(rnd.randrange(1, 256) for _ in range(len(good) + 1 + ndamaged))
    data = garbage + b"\0" + good if garbage_first else good + b"\0" + garbage
    r = run_check(read_items(data), input_bytes=len(data))
    assert not r.passed and r.error is not None and "more damage than data" in r.error


@pytest.mark.parametrize("args, words", [
    (["text", "{good}", "-o", "/nonexistent/x"], ["/nonexistent/x", "No such file"]),
    (["text", "{good}", "--lookahead", "0"], ["--lookahead", ">= 1"]),
    (["text", "{good}", "--ncpus", "-2"], ["--ncpus", ">= 1"]),
    (["html", "{good}", "--max-records", "-1"], ["--max-records", ">= 1"]),
    (["html", "{good}", "--start", "-5"], ["--start", ">= 0"]),
    (["table", "{good}", "--context", "-3"], ["--context", ">= 0"]),
    (["table", "{good}", "--around", "x"], ["--around", "integer"]),
    (["check", "{good}", "--context", "-1"], ["--context", ">= 0"]),
    (["check", "{good}", "--rules", "{binary}"], ["{binary}", "not"]),
    (["check", "{good}", "--rules", "{badtoml}"], ["not valid TOML"]),
    (["check", "{good}", "--rules", "/nonexistent/rules.toml"], ["cannot read rules"]),
    (["table", "{good}", "--violation", "--rules", "{binary}"], ["{binary}"]),
    (["check", "/nonexistent/serial.bin"], ["/nonexistent/serial.bin", "No such file"]),
    (["stats", "{binary}", "--ring-dump"], ["{binary}"]),
])
def test_decoder_bad_arguments_are_exit_2(tmp_path: Path, args: list[str], words: list[str]) -> None:
    paths = {"good": tmp_path / "good.bin", "binary": tmp_path / "rules.bin", "badtoml": tmp_path / "bad.toml"}
    paths["good"].write_bytes(good_capture())
    paths["binary"].write_bytes(bytes(range(256)) * 4)
    paths["badtoml"].write_text("[[rule]\nname = ")
    fill = {k: str(v) for k, v in paths.items()}
    r = cli("decoder", *[a.format(**fill) for a in args])
    message = assert_usage_error(r, *[w.format(**fill) for w in words])
    assert message.startswith(("decoder:", "python3 -m decoder")), message


# --- scenario files -------------------------------------------------------------------

@pytest.mark.parametrize("text, key", [
    ("timeout = nan\n", "timeout"),
    ("timeout = inf\n", "timeout"),
    ("hang_timeout = nan\n", "hang_timeout"),
    ("hang_timeout = -inf\n", "hang_timeout"),
    ("hang_timeout_virtual = nan\n", "hang_timeout_virtual"),
    ("hang_timeout_virtual = 0\n", "hang_timeout_virtual"),
    ("timeout = 1e300\n", "timeout"),
    ('[nmi]\npattern = "interval"\ninterval = nan\n', "nmi.interval"),
    ('[nmi]\npattern = "interval"\ninterval = inf\n', "nmi.interval"),
    ('[nmi]\npattern = "burst"\ngap = nan\n', "nmi.gap"),
    ('[nmi]\npattern = "interval"\nstart_after = inf\n', "nmi.start_after"),
])
def test_scenario_numbers_must_be_finite_and_bounded(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text)
    r = cli("harness", "check", str(path))
    assert_usage_error(r, str(path), f"key '{key}'", "finite")


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_timeout_is_used_only_when_finite_and_in_range(value: float) -> None:
    from harness.scenario import MAX_RUN_SECONDS, parse
    try:
        sc = parse(Path("p.toml"), {"timeout": value})
    except ScenarioError as exc:
        assert "timeout" in str(exc)
        assert not (math.isfinite(value) and 0 < value <= MAX_RUN_SECONDS)
    else:
        assert math.isfinite(sc.timeout) and 0 < sc.timeout <= MAX_RUN_SECONDS


@pytest.mark.parametrize("rules", [bytes(range(256)), b"[[rule]\nname=", b'[[rule]\nname = "x"\nkind = "nope"\n'])
def test_a_scenario_whose_rules_do_not_load_is_refused(tmp_path: Path, rules: bytes) -> None:
    (tmp_path / "r.toml").write_bytes(rules)
    path = tmp_path / "s.toml"
    path.write_text(QUICK + '[expect]\nrules = "r.toml"\n')
    with pytest.raises(ScenarioError, match="expect.rules"):
        load(path)
    assert_usage_error(cli("harness", "check", str(path)), "expect.rules", "loadable rules file")


def test_a_binary_scenario_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bin.toml"
    path.write_bytes(bytes(range(256)) * 8)
    results = tmp_path / "results"
    assert_usage_error(cli("harness", "run", str(path), "--results", str(results)), str(path), "UTF-8")
    assert not results.exists()


# --- harness command line ---------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["matrix", "test1", "--guests", "16"], ["--guests", "32 or 64"]),
    (["matrix", "test1", "--smp", "300"], ["--smp", "1..8"]),
    (["matrix", "test1", "--smp", ""], ["--smp"]),
    (["run", "test1", "--smp", "0"], ["--smp", "from 1 to 8"]),
    (["run", "test1", "--repeat", "0"], ["--repeat"]),
    (["run", "test1", "--seed", "-1"], ["--seed"]),
    (["run", "test1", "--iterations", "0"], ["--iterations"]),
    (["hunt", "test1", "--jobs", "0"], ["--jobs", "from 1"]),
    (["hunt", "test1", "--confirm", "-1"], ["--confirm"]),
    (["hunt", "test1", "--max-seeds", "0"], ["--max-seeds"]),
    (["replay", "x", "--gdb-at-event", "0"], ["--gdb-at-event"]),
    (["bisect", "test1", "--good", "a", "--bad", "b", "--seed", "1", "--seeds", "0"], ["--seeds"]),
])
def test_harness_bad_arguments_are_exit_2_and_leave_nothing(tmp_path: Path, args: list[str],
                                                              words: list[str]) -> None:
    results = tmp_path / "results"
    r = cli("harness", *args, "--results", str(results))
    assert_usage_error(r, *words)
    assert not results.exists() or not any(results.iterdir())


@pytest.mark.parametrize("command", ["run", "matrix", "hunt"])
@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_an_unwritable_results_path_is_exit_2(fake_build: Callable[[str], Path], tmp_path: Path,
                                              command: str, where: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    results = blocker / "results" if where == "under-a-file" else Path("/proc/heisenvisor-results")
    path = tmp_path / "s.toml"
    path.write_text(QUICK)
    r = cli("harness", command, str(path), "--build", str(fake_build("pass")), "--results", str(results),
            *(["--budget", "5s"] if command == "hunt" else []))
    assert_usage_error(r, "--results", "not a writable directory")
    assert not qemus_mentioning(str(tmp_path))


def test_qemu_missing_from_path_is_exit_2_without_a_run_dir(fake_build: Callable[[str], Path],
                                                            tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(QUICK)
    results = tmp_path / "results"
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    for command in ("run", "matrix", "hunt"):
        r = cli("harness", command, str(path), "--build", str(fake_build("pass")), "--results", str(results),
                env={"PATH": str(empty_bin)})
        assert_usage_error(r, "qemu-system-x86_64 not found")
    assert not results.exists() or not any(results.iterdir()), list(results.iterdir())


def test_a_qemu_that_cannot_start_is_an_error_verdict(fake_build: Callable[[str], Path],
                                                      tmp_path: Path) -> None:
    """QEMU on PATH but unable to exec: the run dir says `error`, never `incomplete`."""
    from harness.judge.run import RunOptions, run_scenario
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    qemu = fake_bin / "qemu-system-x86_64"
    qemu.write_bytes(b"\x7fELF not really")  # on PATH, executable, but exec fails
    qemu.chmod(0o755)
    path = tmp_path / "s.toml"
    path.write_text(QUICK)
    old = os.environ["PATH"]
    os.environ["PATH"] = str(fake_bin)
    try:
        result = run_scenario(load(path), RunOptions(seed=1, build_dir=fake_build("pass"),
                                                     results_dir=tmp_path / "results"))
    finally:
        os.environ["PATH"] = old
    v = json.loads((result.run_dir / "verdict.json").read_text())
    assert v["outcome"] == "error" and not v["passed"] and "QEMU not started" in v["reason"], v


@pytest.mark.parametrize("text, words", [
    ("{\"scenario\": ", ["no readable verdict.json", "Expecting"]),
    (json.dumps(["not", "a", "verdict"]), ["no readable verdict.json", "not a JSON object"]),
    # before verdict.json was read into a type, this one was an AttributeError traceback
    (json.dumps({"scenario": "s", "seed": 1, "passed": False, "outcome": "pass", "reason": "r",
                 "qemu": "qemu-system-x86_64 -append x"}), ["no readable verdict.json", "'qemu'", "object"]),
])
def test_replay_of_an_unreadable_verdict_is_exit_2(tmp_path: Path, text: str, words: list[str]) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "verdict.json").write_text(text)
    assert_usage_error(cli("harness", "replay", str(run_dir), "--results", str(tmp_path / "r")), *words)
    assert not (tmp_path / "r").exists()


# --- bug names never reach a shell --------------------------------------------------------

INJECTIONS = ["a'`touch {marker}`'", "$(touch {marker})", "x;touch {marker}", "red-zone,`touch {marker}`",
              "$(shell touch {marker})", "'; touch {marker}; '"]


@pytest.mark.parametrize("name", INJECTIONS)
def test_a_bug_name_never_reaches_a_shell_from_the_harness(tmp_path: Path, name: str) -> None:
    marker = tmp_path / "pwned"
    r = cli("harness", "run", "test1", "--bugs", name.format(marker=marker), "--results", str(tmp_path / "r"))
    assert_usage_error(r, "--bugs", "unknown bug name")
    assert not marker.exists()


@pytest.mark.parametrize("name", INJECTIONS)
def test_a_bug_name_never_reaches_a_shell_from_make(tmp_path: Path, name: str) -> None:
    marker = tmp_path / "pwned"
    r = subprocess.run(["make", "-C", str(REPO), f"BUGS={name.format(marker=marker)}",
                        f"BUILD={tmp_path / 'build'}", "bugs-check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "unknown bug(s)" in r.stderr, r.stderr
    assert not marker.exists()
    assert not (tmp_path / "build").exists()


@pytest.mark.parametrize("var", ["TRACE_SLOTS", "TRACE_MEMLOG_MB"])
@pytest.mark.parametrize("value", ["$(shell touch {marker})", "4096;touch {marker}", "3", ""])
def test_trace_sizes_are_one_of_a_list_and_never_reach_a_shell(tmp_path: Path, var: str, value: str) -> None:
    marker = tmp_path / "pwned"
    r = subprocess.run(["make", "-C", str(REPO), f"{var}={value.format(marker=marker)}",
                        f"BUILD={tmp_path / 'build'}", "hv"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and f"{var} must be one of" in r.stderr, r.stderr
    assert not marker.exists()
    assert not (tmp_path / "build").exists()


def test_bugs_check_takes_every_zoo_name_from_the_environment() -> None:
    from harness.launch.build import bug_names
    names = bug_names()
    assert names
    ok = subprocess.run([PY, "tools/bugs.py", "check-env"], cwd=REPO, capture_output=True, text=True,
                        env={**os.environ, "BUGS_CHECK": ",".join(names)})
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([PY, "tools/bugs.py", "check-env"], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "BUGS_CHECK": names[0] + ",nope"})
    assert bad.returncode == 1 and "'nope'" in bad.stderr


# --- verdicts need evidence; verdict.json says what ran --------------------------------------

def _sc(tmp_path: Path) -> Scenario:
    path = tmp_path / "s.toml"
    path.write_text(QUICK)
    return load(path)


@pytest.mark.parametrize("trace, why", [
    ({"decoded": False, "reason": "serial.bin (10 bytes) holds no trace records", "check": None},
     "holds no trace records"),
    ({"decoded": True, "check": None, "check_error": "decoder.api.check failed: RuleError: x"}, "check failed"),
    ({"decoded": True, "check": {"passed": False, "rule": None, "error": "more damage than data: ..."}},
     "more damage than data"),
])
def test_an_exit_pass_without_a_checker_verdict_is_an_error(tmp_path: Path, trace: dict, why: str) -> None:
    outcome, reason, passed, rule = _judge(_sc(tmp_path), _Watch(outcome="pass"), trace)
    assert (outcome, passed, rule) == ("error", False, None)
    assert "checker did not judge" in reason and why in reason


def test_an_exit_pass_with_a_checker_pass_is_a_pass(tmp_path: Path) -> None:
    trace = {"decoded": True, "check": {"passed": True, "rule": None, "error": None}}
    assert _judge(_sc(tmp_path), _Watch(outcome="pass"), trace)[:3] == ("pass", "", True)


def test_hv_cmdline_ran_is_the_last_append() -> None:
    assert hv_cmdline_ran("wl=hello", ["-d", "int"]) == {"ran": "wl=hello", "source": "harness",
                                                         "harness": "wl=hello"}
    assert hv_cmdline_ran("wl=hello", ["-append", "wl=a", "-append", "wl=b"])["ran"] == "wl=b"


def test_a_run_records_the_command_line_that_really_ran(fake_build: Callable[[str], Path],
                                                        tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(QUICK)
    results = tmp_path / "results"
    r = cli("harness", "run", str(path), "--seed", "3", "--no-deterministic", "--build", str(fake_build("pass")),
            "--results", str(results), "--qemu-arg=-append", "--qemu-arg=wl=test:7 custom=1")
    assert r.returncode == 0, r.stdout + r.stderr
    (run_dir,) = [p for p in results.iterdir() if p.is_dir()]
    v = json.loads((run_dir / "verdict.json").read_text())
    assert v["hv_cmdline"] == {"ran": "wl=test:7 custom=1", "source": "--qemu-arg -append",
                               "harness": "wl=hello"}
    assert v["evidence"]["checker_ran"] and v["evidence"]["records_checked"] >= 1, v["evidence"]
    import tomllib
    rules = tomllib.loads((Path(__file__).resolve().parent.parent / "decoder/rules.toml").read_text())["rule"]
    assert v["evidence"]["rules_run"] == len(rules)
    assert not qemus_mentioning(str(tmp_path))
