"""replay, --gdb-at-event and hunt against real runs (and the fake hypervisor for hunt)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from harness.launch.build import REPO
from harness.cli_det import parse_duration
from decoder.defs import EVENT_IDS
from decoder.records import Loss, Record
from harness.judge.decoding import event_records, is_record, trace_items
from harness.det.gdbat import locate
from harness.det.hunt import HuntOptions, hunt
from harness.det.nextsteps import next_steps
from harness.det.replay import ReplayError, first_difference, replay
from harness.judge.run import RunOptions, RunResult, run_scenario
from harness.scenario import load

BUILD = REPO / "build"


def gdb_hex(v: int) -> str:
    """printf's %#lx: 0x-prefixed, except zero, which is plain 0."""
    return f"{v:#x}" if v else "0"


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=REPO, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)


@pytest.fixture(scope="module")
def det_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    tmp = tmp_path_factory.mktemp("det")
    path = tmp / "small.toml"
    path.write_text('smp = 2\ntimeout = 60\nhang_timeout = 10\n[workloads]\ndefault = "test:60"\n'
                    '[nmi]\npattern = "flood"\n')
    result = run_scenario(load(path), RunOptions(seed=11, build_dir=BUILD, results_dir=tmp,
                                                 deterministic=True))
    assert result.outcome not in ("error", "qemu died"), result.verdict
    return result


def test_replay_is_byte_identical_and_says_so(det_run: RunResult, tmp_path: Path) -> None:
    rep = replay(det_run.run_dir, tmp_path)
    assert rep.identical and rep.first_diff is None
    assert rep.result.verdict["replay_of"]["identical"] is True
    assert rep.result.verdict["schedule"]["hv_cmdline"] == det_run.verdict["schedule"]["hv_cmdline"]
    proc = harness("replay", str(det_run.run_dir), "--results", str(tmp_path))
    assert proc.returncode == 0 and "replay identical" in proc.stdout, proc.stdout


def test_replay_of_a_changed_capture_reports_where_it_differs(det_run: RunResult,
                                                               tmp_path: Path) -> None:
    import shutil
    copy = tmp_path / "tampered"
    shutil.copytree(det_run.run_dir, copy, ignore=shutil.ignore_patterns("replays", "gdb"))
    data = bytearray((copy / "serial.bin").read_bytes())
    k = len(data) // 2
    data[k] ^= 0xFF
    (copy / "serial.bin").write_bytes(bytes(data))
    proc = harness("replay", str(copy), "--results", str(tmp_path / "r"))
    assert proc.returncode == 1, proc.stdout
    assert "replay DIFFERS" in proc.stdout and f"first differing byte: {k}" in proc.stdout


@pytest.mark.parametrize("edit,why", [
    (lambda line: f"{line} seed=12", "does not parse: 'seed=12': option given twice"),
    (lambda line: line.replace("seed=11", "seed=0xb"), "is not one the harness writes"),
])
def test_replay_refuses_a_recorded_command_line_it_would_not_send_as_is(
        det_run: RunResult, tmp_path: Path, edit: Callable[[str], str], why: str) -> None:
    import shutil
    copy = tmp_path / "edited"
    shutil.copytree(det_run.run_dir, copy, ignore=shutil.ignore_patterns("replays", "gdb"))
    verdict = json.loads((copy / "verdict.json").read_text())
    argv = verdict["qemu"]["command_line"]
    k = argv.index("-append") + 1
    argv[k] = edit(argv[k])
    (copy / "verdict.json").write_text(json.dumps(verdict))
    proc = harness("replay", str(copy), "--results", str(tmp_path / "r"))
    said = " ".join(proc.stdout.split())   # rich wraps long lines
    assert proc.returncode == 2 and why in said and "Traceback" not in said, proc.stdout


def test_replay_refuses_a_run_that_was_not_deterministic(tmp_path: Path, fake_build) -> None:
    path = tmp_path / "nd.toml"
    path.write_text('smp = 1\ntimeout = 10\nhang_timeout = 5\n')
    result = run_scenario(load(path), RunOptions(seed=1, build_dir=fake_build("pass"),
                                                 results_dir=tmp_path))
    with pytest.raises(ReplayError, match="not a deterministic run"):
        replay(result.run_dir)
    proc = harness("replay", str(tmp_path / "nowhere"))
    assert proc.returncode == 2 and "no readable verdict.json" in proc.stdout


def test_first_difference() -> None:
    assert first_difference(b"abc", b"abc") is None
    assert first_difference(b"abc", b"abd") == 2
    assert first_difference(b"ab", b"abc") == 2
    assert first_difference(b"x" * 10000 + b"a", b"x" * 10000 + b"b") == 10000


def test_gdb_stops_at_the_kth_record_with_its_arguments_in_registers(tmp_path: Path) -> None:
    # -smp 1: nothing to interleave, so breakpoint stops cannot move the schedule
    # and the stop must be exact (gdbat.py explains the SMP limit).
    path = tmp_path / "one.toml"
    path.write_text('smp = 1\ntimeout = 60\nhang_timeout = 10\n[workloads]\ndefault = "test:40"\n'
                    '[nmi]\npattern = "flood"\n')
    run = run_scenario(load(path), RunOptions(seed=4, build_dir=BUILD, results_dir=tmp_path,
                                              deterministic=True))
    records = event_records(run.run_dir / "serial.bin")
    # A HYPERCALL well into the run: its result field is a hash, so matching
    # registers cannot be a coincidence of small numbers.
    k = [i for i, r in enumerate(records, 1) if r.name == "HYPERCALL"][25]
    script = tmp_path / "probe.gdb"
    script.write_text('printf "probe: rip=%#lx\\n", $rip\n')
    proc = harness("replay", str(run.run_dir), "--gdb-at-event", str(k), "--gdb-script",
                   str(script))
    out = re.sub(r"\s+", " ", proc.stdout)
    assert proc.returncode == 0 and "exact: the registers match" in out, out[-3000:]
    rec = records[k - 1]
    args = " ".join(f"a{i}={gdb_hex(v)}" for i, v in enumerate(rec.args))
    assert f"registers: type={rec.type} {args}" in out
    assert f"stopped at trace record {k}" in out and "probe: rip=" in out


def test_gdb_stops_exactly_at_smp_2_on_either_cpu(det_run: RunResult, tmp_path: Path) -> None:
    # The replay stop (trace/replay_stop.h): one breakpoint hit, so the replay runs the
    # recorded interleaving up to record K.  With a gdb condition on every emit, 5 of
    # these 6 positions drifted or never stopped (docs/determinism.md, "replay").
    records = event_records(det_run.run_dir / "serial.bin")
    picks = []
    for cpu in (0, 1):  # a hypercall halfway through each CPU's part of the run
        calls = [i for i, r in enumerate(records, 1) if r.name == "HYPERCALL" and r.cpu == cpu]
        picks.append(calls[len(calls) // 2])
    picks.append(len(records) - 5)
    script = tmp_path / "probe.gdb"
    script.write_text('printf "probe: hits=%d\\n", trace_stop_hits\n')
    for k in picks:
        proc = harness("replay", str(det_run.run_dir), "--gdb-at-event", str(k), "--gdb-script",
                       str(script))
        out = re.sub(r"\s+", " ", proc.stdout)
        assert proc.returncode == 0 and "exact: the registers match" in out, (k, out[-3000:])
        # Stopped on entry, before its count: the first and only time it was reached.
        assert "replay stop: one breakpoint" in out and "probe: hits=0" in out


def test_gdb_at_event_refuses_out_of_range(det_run: RunResult) -> None:
    items = trace_items(det_run.run_dir / "serial.bin")
    n = len(event_records(det_run.run_dir / "serial.bin"))
    with pytest.raises(ReplayError, match=f"records 1..{n}"):
        locate(items, n + 1)
    with pytest.raises(ReplayError):
        locate(items, 0)


def test_locate_names_the_cpu_and_its_ring_slot(det_run: RunResult) -> None:
    records = event_records(det_run.run_dir / "serial.bin")
    items = trace_items(det_run.run_dir / "serial.bin")
    assert not any(not is_record(i) for i in items), "this run has no losses: slots = records"
    for k in (len(records) // 3, len(records) // 2):
        rec = records[k - 1]
        if rec.name == "TEXT":
            continue
        t = locate(items, k)
        assert t.cpu == rec.cpu and t.ring_index == sum(r.cpu == rec.cpu for r in records[:k - 1])
        assert t.condition == f"((struct trace_ring *)trace_rings[{rec.cpu}])->reserve == {t.ring_index}"
        args = " ".join(f"a{i}={gdb_hex(v)}" for i, v in enumerate(rec.args))
        assert t.expected_registers() == f"registers: type={rec.type} {args}"


def test_a_lost_marker_takes_a_ring_slot_and_other_loss_is_refused() -> None:
    # The decoder turns a ring's LOST record into a Loss item, but it took a slot.
    up = EVENT_IDS["CPU_UP"]
    items = [Record(1, 0, up, (0,)), Record(2, 1, up, (0,)),
             Loss(3, 1, "lost", 5, "records", 0, "ring full"),
             Record(4, 1, up, (7,)), Record(5, 0, up, (0,))]
    t = locate(items, 3)  # the third record: CPU 1's, after its LOST
    assert (t.cpu, t.ring_index) == (1, 2) and t.record.args == (7,)
    assert locate(items, 4).ring_index == 1  # CPU 0's second record: CPU 1's LOST is not its
    gap = items[:2] + [Loss(3, 1, "seq_gap", 1, "frames", 0, "")] + items[3:]
    with pytest.raises(ReplayError, match="lost data of CPU 1"):
        locate(gap, 3)
    assert locate(gap, 4).ring_index == 1


def test_a_text_stop_is_checked_by_the_message_length() -> None:
    text = EVENT_IDS["TEXT"]
    chunk = b"x" * 24
    items = [Record(1, 0, text, (chunk,)), Record(2, 1, text, (b"other\n",)),
             Record(3, 0, text, (chunk,)), Record(4, 0, text, (b"end\n",))]
    t = locate(items, 3)  # the middle chunk: the message starts at CPU 0's slot 0
    assert (t.function, t.ring_index, t.text_len) == ("trace_emit_text", 0, 52)
    assert t.expected_registers() == "registers: text_len=52"


def test_hunt_finds_a_failure_and_confirms_it_reproduces(tmp_path: Path, fake_build) -> None:
    path = tmp_path / "h.toml"
    path.write_text('smp = 1\ntimeout = 10\nhang_timeout = 5\n')
    out = hunt(load(path), HuntOptions(budget_s=60, jobs=2, base_seed=40,
                                       build_dir=fake_build("fail"), results_dir=tmp_path,
                                       confirm=2))
    assert out.failure is not None and out.failure.outcome == "fail"
    assert out.time_to_failure_s is not None and out.time_to_failure_s < 60
    assert [c.identical for c in out.confirmations] == [True, True]
    assert out.reproduced == 2


def test_hunt_without_failure_runs_seeds_until_its_limit(tmp_path: Path, fake_build) -> None:
    path = tmp_path / "h.toml"
    path.write_text('smp = 1\ntimeout = 10\nhang_timeout = 5\n')
    out = hunt(load(path), HuntOptions(budget_s=60, jobs=2, base_seed=1,
                                       build_dir=fake_build("pass"), results_dir=tmp_path,
                                       max_seeds=3))
    assert out.failure is None and out.seeds_run == 3 and out.passed == 3
    seeds = sorted(json.loads((d / "verdict.json").read_text())["seed"]
                   for d in (tmp_path / "seeds").iterdir())
    assert seeds == [1, 2, 3]


def test_hunt_can_keep_going_and_list_every_failing_seed(tmp_path: Path, fake_build) -> None:
    path = tmp_path / "h.toml"
    path.write_text('smp = 1\ntimeout = 10\nhang_timeout = 5\n')
    out = hunt(load(path), HuntOptions(budget_s=60, jobs=2, base_seed=10,
                                       build_dir=fake_build("odd"), results_dir=tmp_path,
                                       confirm=0, max_seeds=6, stop_on_failure=False))
    assert out.seeds_run == 6 and sorted(out.failing_seeds) == [11, 13, 15]
    assert out.as_dict()["failing_seeds"] == [11, 13, 15]


def test_hunt_cli_exit_status_and_summary(tmp_path: Path) -> None:
    proc = harness("hunt", "smoke", "--build", str(BUILD), "--max-seeds", "2", "--jobs", "2",
                   "--budget", "2m", "--seed", "5", "--results", str(tmp_path))
    assert proc.returncode == 0, proc.stdout
    summary = json.loads(next(tmp_path.glob("*-hunt-smoke-5/hunt.json")).read_text())
    assert summary["seeds_run"] == 2 and summary["failure"] is None and summary["jobs"] == 2


@pytest.mark.parametrize("text, seconds", [("90", 90), ("90s", 90), ("10m", 600), ("1.5h", 5400)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "10x", "-5m", "0", "m"])
def test_parse_duration_rejects_nonsense(bad: str) -> None:
    import argparse
    with pytest.raises(argparse.ArgumentTypeError, match="duration"):
        parse_duration(bad)


def test_a_hunts_failure_ends_with_a_gdb_stop_at_the_broken_rule(tmp_path: Path) -> None:
    """hunt -> its `next:` line -> gdb stopped exactly at the record that broke the rule."""
    proc = harness("hunt", "zoo-nmi-flood", "--bugs", "field-width", "--seed", "100001",
                   "--budget", "2m", "--results", str(tmp_path))
    assert proc.returncode == 1, proc.stdout
    hint = re.search(r"replay (\S+) --gdb-at-event (\d+)   # gdb where rule 'no_panic' broke",
                     proc.stdout)
    assert hint, proc.stdout
    run_dir, k = Path(hint.group(1)), int(hint.group(2))
    record = event_records(run_dir / "serial.bin")[k - 1]
    assert record.name == "PANIC"
    script = tmp_path / "probe.gdb"
    script.write_text('printf "probe\\n"\n')
    stop = harness("replay", str(run_dir), "--gdb-at-event", str(k), "--gdb-script", str(script))
    assert stop.returncode == 0 and "exact: the registers match" in stop.stdout, stop.stdout[-3000:]
    assert f"registers: type={record.type} " in stop.stdout


def test_next_steps_for_a_passing_trace_offer_replay_and_bisect_only(det_run: RunResult) -> None:
    steps = next_steps(det_run.run_dir, {**det_run.verdict, "bugs": None}, bisectable=True)
    assert "replay" in steps[0] and not any("--gdb-at-event" in s for s in steps)
    assert f"bisect {det_run.verdict['scenario']} --good <REV> --bad HEAD --seed 11" in steps[-1]
    with_bug = next_steps(det_run.run_dir, {**det_run.verdict, "bugs": "red-zone"}, bisectable=True)
    assert not any("bisect" in s for s in with_bug)


def test_a_confirmation_whose_replay_cannot_run_is_an_error_not_a_crash(
        det_run: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A bench hunting many bugs must not die of one replay it cannot start: the
    # confirmation says why and does not count as a reproduction.
    import harness.det.hunt as hunt_mod

    def refuse(run_dir: Path, *args: object, **kwargs: object) -> None:
        raise ReplayError(f"{run_dir}: the replay's QEMU command line would differ")

    monkeypatch.setattr(hunt_mod, "replay", refuse)
    found = hunt_mod.confirm(det_run, HuntOptions(budget_s=1, jobs=1, base_seed=1, build_dir=REPO / "build",
                                                  results_dir=tmp_path, confirm=2, deterministic=True))
    assert [(c.outcome, c.identical) for c in found] == [("error", False)] * 2
    assert all("would differ" in (c.error or "") for c in found)
    result = hunt_mod.HuntResult(scenario="s", deterministic=True, failure=det_run, confirmations=found)
    assert result.reproduced == 0 and result.as_dict()["confirmations"][0]["error"]
