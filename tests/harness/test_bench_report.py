"""bench-detect's report: repeats are summarised by their median, a hunt that ran
out of budget counts as the budget (a lower bound), and the speed-up bound is
XMHF64's time over one boot."""
from __future__ import annotations

import io
from pathlib import Path
import math

import pytest

from rich.console import Console

from bench.bench_detect import (main, median_speed_up, print_report, speed_up, speed_up_ceiling,
                           summarise)


def cell(caught: bool, ttf: float | None) -> dict[str, object]:
    return {"caught": caught, "outcome": "fail" if caught else None, "ttf_s": ttf,
            "reproduced": 10 if caught else 0, "replays": 10 if caught else 0}


def row(det: list[dict[str, object]], ref: list[dict[str, object]], budget: float = 60.0) -> dict[str, object]:
    return {"scenario": "s", "deterministic": summarise(det, budget),
            "reference_method": summarise(ref, budget)}


def render(report: dict[str, object]) -> str:
    out = io.StringIO()
    print_report(report, Console(file=out, width=250))
    return out.getvalue()


def line_of(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if f" {name} " in line)


def test_summary_takes_the_median_of_every_repeat() -> None:
    s = summarise([cell(True, 10.4), cell(True, 0.4), cell(True, 10.5)], 60.0)
    assert s["caught"] == 3 and s["median_ttf_s"] == 10.4 and not s["censored"]
    assert s["ttfs_s"] == [10.4, 0.4, 10.5]       # in the order they ran
    assert s["reproduced"] == 30 and s["replays"] == 30


def test_a_repeat_that_caught_nothing_counts_as_the_budget() -> None:
    one_miss = summarise([cell(True, 2.0), cell(False, None), cell(True, 4.0)], 60.0)
    assert one_miss["median_ttf_s"] == 4.0 and not one_miss["censored"]
    most_missed = summarise([cell(True, 2.0), cell(False, None), cell(False, None)], 60.0)
    assert most_missed["median_ttf_s"] == 60.0 and most_missed["censored"]
    assert most_missed["ttfs_s"] == [2.0, None, None]


def test_speed_up_is_a_bound_when_either_method_mostly_missed() -> None:
    det = summarise([cell(True, 2.0)] * 3, 60.0)
    assert speed_up(det, summarise([cell(True, 8.0)] * 3, 60.0)) == (4.0, "")
    assert speed_up(det, summarise([cell(False, None)] * 3, 60.0)) == (30.0, ">")
    # Deterministic mode mostly missed: at most XMHF64's time over the budget.
    assert speed_up(summarise([cell(False, None)] * 3, 60.0), det) == (2.0 / 60.0, "<")


def test_median_speed_up_says_when_bounds_could_move_it() -> None:
    assert median_speed_up([(2.0, ""), (5.0, ""), (30.0, ">")]) == (5.0, "")
    assert median_speed_up([(2.0, ""), (30.0, ">")]) == (16.0, ">")
    assert median_speed_up([(0.1, "<"), (30.0, ">")]) == (15.05, "~")
    # A lower bound below the middle can still raise the median, an upper bound above
    # it can still lower it.
    assert median_speed_up([(3.0, ">"), (4.0, ""), (10.0, "")]) == (4.0, ">")
    assert median_speed_up([(0.5, ""), (2.0, ""), (3.0, "<")]) == (2.0, "<")
    # A bug both methods mostly missed has no ratio and no say.
    assert median_speed_up([(2.0, ""), (math.nan, "?"), (4.0, "")]) == (3.0, "")


def test_no_ratio_when_both_methods_mostly_missed() -> None:
    missed = summarise([cell(False, None)] * 3, 60.0)
    value, kind = speed_up(missed, missed)
    assert kind == "?" and math.isnan(value)


def test_a_catch_just_past_the_deadline_counts_as_the_budget() -> None:
    s = summarise([cell(True, 61.5), cell(False, None), cell(True, 2.0)], 60.0)
    assert s["median_ttf_s"] == 60.0 and s["censored"]


def test_report_shows_each_draw_the_median_speed_up_and_the_bound() -> None:
    report = {"budget_s": 60.0, "jobs": 2, "replays": 10, "repeats": 3, "dir": "results/x",
              "floor_s": {"deterministic": 0.5, "reference_method": 0.25},
              "bugs": {"found-by-both": row([cell(True, 1.0), cell(True, 0.8), cell(True, 1.2)],
                                            [cell(True, 4.0), cell(True, 0.5), cell(True, 9.0)]),
                       "ref-misses": row([cell(True, 2.0)] * 3, [cell(False, None)] * 3),
                       "det-misses": row([cell(False, None)] * 3, [cell(True, 1.0)] * 3)},
              "correct": {"runs": 4, "failures": 0, "per_scenario": {}}}
    text = render(report)
    found = line_of(text, "found-by-both")
    assert "1.0s (1.0/0.8/1.2)" in found and "4.0s (4.0/0.5/9.0)" in found
    assert "4.0x" in found and "8.0x" in found           # speed-up 4/1, bound 4/0.5
    missed = line_of(text, "ref-misses")
    assert "0/3" in missed and ">30.0x" in missed and "120.0x" in missed
    assert "<0.0x" in line_of(text, "det-misses")        # at most 1 s / 60 s
    flat = text.replace("\n", " ")
    assert "2/3 caught in most repeats" in flat
    # (<0.0, 4.0, >30.0): the middle one is exact.
    assert "median speed-up over 3 bugs: 4.0x" in flat
    assert "deterministic floor (0.50s" in flat
    # Bounds 8.0, 120.0 (censored: XMHF64's method missed) and 2.0: the middle one.
    assert "ceiling: the median of the bounds is 8.0x" in flat


def test_a_catch_faster_than_the_smoke_runs_is_the_floor() -> None:
    # A noisy host made the timed smoke run slower (0.4 s) than a deterministic catch
    # (0.2 s): the bound is then over 0.2 s, so no speed-up exceeds its bound.
    report = {"budget_s": 60.0, "jobs": 2, "replays": 10, "repeats": 1, "dir": "results/x",
              "floor_s": {"deterministic": 0.4, "reference_method": 0.2},
              "bugs": {"fast": row([cell(True, 0.2)], [cell(True, 0.6)])}}
    text = render(report)
    assert "3.0x" in line_of(text, "fast") and "1.5x" not in text
    assert "floor (0.20s" in text.replace("\n", " ")


def test_the_ceiling_says_when_censored_bounds_could_raise_it() -> None:
    assert speed_up_ceiling([(1.5, False), (4.8, False), (61.0, False)]) == (4.8, "")
    assert speed_up_ceiling([(1.5, False), (4.8, False), (61.0, True)]) == (4.8, "")
    assert speed_up_ceiling([(1.5, False), (4.8, True)]) == (3.15, "≥")


def test_report_without_a_floor_prints_no_bound() -> None:
    report = {"budget_s": 60.0, "jobs": 2, "replays": 10, "dir": "results/x",
              "bugs": {"b": row([cell(True, 1.0)], [cell(True, 2.0)])}}
    text = render(report)
    line = line_of(text, "b")
    assert line.rstrip().rstrip("│").rstrip().endswith("-")
    assert "ceiling" not in text


def test_bad_usage_is_refused_before_anything_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--bug", "no-such-bug"]) == 2
    assert "unknown bug(s) no-such-bug; known: " in capsys.readouterr().err
    assert main(["--repeats", "0"]) == 2
    assert "--repeats must be at least 1" in capsys.readouterr().err
    assert main(["--scenario", "no-such-scenario"]) == 2
    assert "no-such-scenario" in capsys.readouterr().err


def test_a_bench_on_one_scenario_says_so() -> None:
    report = {"budget_s": 60.0, "jobs": 2, "replays": 10, "repeats": 1, "scenario": "stress-all",
              "dir": "results/x", "bugs": {"b": row([cell(True, 1.0)], [cell(True, 2.0)])}}
    assert "every bug on stress-all, 60s per bug" in render(report).replace("\n", " ")


def test_the_same_nmis_hunt_has_its_own_columns_and_median() -> None:
    # XMHF64's method given the scenario's NMIs is judged beside its own 0.1 s NMIs:
    # the deterministic hunt must not win only by getting more NMIs.
    r = row([cell(True, 2.0)] * 3, [cell(True, 20.0)] * 3)
    r["reference_same_nmis"] = summarise([cell(True, 4.0)] * 3, 60.0)
    report = {"budget_s": 60.0, "jobs": 2, "replays": 10, "repeats": 3, "bugs": {"b1": r}, "dir": "d"}
    text = render(report)
    line = line_of(text, "b1")
    assert "10.0x" in line and "2.0x" in line, line
    assert "given the scenario's own NMIs (1 bugs): 2.0x" in text, text
    del r["reference_same_nmis"]
    assert "own NMIs" not in render(report)



def test_each_hunt_gets_its_nmi_pattern(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # deterministic and "same NMIs" hunt the scenario's own pattern; the reference
    # method gets XMHF64's QMP NMIs every 0.1 s; host-timed for both reference hunts.
    import bench.bench_detect as bench
    from harness.det.hunt import HuntResult

    seen: list[tuple[bool, str, float]] = []

    def fake_hunt(sc, opts):  # type: ignore[no-untyped-def]
        seen.append((opts.deterministic, sc.nmi.kind, sc.nmi.interval))
        return HuntResult(scenario=sc.name, deterministic=opts.deterministic)

    monkeypatch.setattr(bench, "hunt", fake_hunt)
    monkeypatch.setattr(bench, "build_bugs", lambda name: tmp_path)
    sc = bench.load_named("zoo-nmi-flood")
    opts = bench.BenchOptions(repeats=1, results=tmp_path)
    row_ = bench.hunt_bug("field-width", {"scenario": "zoo-nmi-flood"}, opts, tmp_path, Console(file=io.StringIO()))
    assert set(row_["hunts"]) == set(bench.MODES)
    own = (sc.nmi.kind, sc.nmi.interval)
    assert seen == [(True, *own), (False, "interval", bench.REFERENCE_NMI_INTERVAL), (False, *own)]
    assert own != ("interval", bench.REFERENCE_NMI_INTERVAL)


def test_guest_linux_hunts_each_bugs_linux_scenario_and_counts_its_linux_outcomes(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import bench.bench_detect as bench
    from harness.det.hunt import HuntResult

    hunted: list[str] = []

    def fake_hunt(sc, opts):  # type: ignore[no-untyped-def]
        hunted.append(sc.name)
        return HuntResult(scenario=sc.name, deterministic=opts.deterministic)

    monkeypatch.setattr(bench, "hunt", fake_hunt)
    monkeypatch.setattr(bench, "build_bugs", lambda name: tmp_path)
    bug = bench.zoo()["field-width"]
    row_ = bench.hunt_bug("field-width", bug, bench.BenchOptions(repeats=1, results=tmp_path, guest="linux"),
                          tmp_path, Console(file=io.StringIO()))
    assert hunted == [bug["linux_scenario"]] * len(bench.MODES)
    assert row_["scenario"] == bug["linux_scenario"] and row_["expected"] == bug["linux_detected_as"]


def test_guest_is_checked_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    import bench.bench_detect as bench
    with pytest.raises(SystemExit) as exc:
        bench.main(["--guest", "windows"])
    assert exc.value.code == 2 and "invalid choice: 'windows'" in capsys.readouterr().err


def test_platform_bochs_refuses_what_it_cannot_hunt(capsys: pytest.CaptureFixture[str]) -> None:
    import bench.bench_detect as bench
    assert main(["--platform", "bochs", "--bug", "red-zone"]) == 2      # no vmx_seed: no VMX face
    err = capsys.readouterr().err
    assert "unknown bug(s) red-zone on the bochs platform" in err and "inject-while-blocked" in err
    assert main(["--platform", "bochs", "--guest", "linux"]) == 2
    assert "--guest own" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        bench.main(["--platform", "bochs;true"])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_the_vmx_zoo_is_the_bugs_with_a_vmx_seed() -> None:
    import bench.bench_detect as bench
    assert set(bench.vmx_zoo()) == {n for n, b in bench.zoo().items() if "vmx_seed" in b}
    assert {"field-width", "inject-while-blocked", "endquiesce-order", "nmi-coalesce-drop"} <= set(bench.vmx_zoo())


def test_platform_bochs_hunts_deterministically_on_bochs_at_the_bugs_size(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import bench.bench_detect as bench
    from harness.det.hunt import HuntResult

    seen: list[tuple[str, int | None, bool, str, Path]] = []
    built: list[tuple[str, tuple[str, ...]]] = []

    def fake_hunt(sc, opts):  # type: ignore[no-untyped-def]
        seen.append((sc.name, sc.iterations, opts.deterministic, opts.platform, opts.build_dir))
        return HuntResult(scenario=sc.name, deterministic=opts.deterministic)

    def fake_build(name, targets=()):  # type: ignore[no-untyped-def]
        built.append((name, tuple(targets)))
        return tmp_path / name
    monkeypatch.setattr(bench, "hunt", fake_hunt)
    monkeypatch.setattr(bench, "build_bugs", fake_build)
    bug = bench.zoo()["inject-while-blocked"]
    row_ = bench.hunt_bug_bochs("inject-while-blocked", bug, bench.BenchOptions(repeats=2, results=tmp_path),
                                tmp_path, Console(file=io.StringIO()))
    assert built == [("inject-while-blocked", tuple(bench.VMX_TARGETS))]
    assert seen == [(bug["scenario"], bug["iterations"], True, "bochs", tmp_path / "inject-while-blocked")] * 2
    assert row_["expected"] == bug["vmx_detected_as"] and set(row_["hunts"]) == {"deterministic"}


def test_bochs_report_shows_the_deterministic_hunt_and_says_why_there_is_no_speed_up() -> None:
    import bench.bench_detect as bench
    cells = [{**cell(True, 13.7), "seeds_run": 1, "identical": 10}, {**cell(True, 20.1), "seeds_run": 3, "identical": 10}]
    report = {"platform": "bochs", "budget_s": 300.0, "jobs": 1, "replays": 10, "repeats": 2, "scenario": None,
              "dir": "results/x", "note": bench.BOCHS_NOTE, "floor_s": {"deterministic": 6.5},
              "bugs": {"inject-while-blocked": {"scenario": "zoo-nmi-flood", "iterations": 5000, "expected": "fail",
                                                "hunts": {"deterministic": cells},
                                                "deterministic": summarise(cells, 300.0)}},
              "correct": {"runs": 4, "failures": 0, "per_scenario": {}}}
    out = io.StringIO()
    bench.print_report_bochs(report, Console(file=out, width=250))
    text = out.getvalue()
    line = line_of(text, "inject-while-blocked")
    assert "zoo-nmi-flood (5000)" in line and "2/2 (fail)" in line and "16.9s (13.7/20.1)" in line, line
    assert "1/3" in line and "20/20" in line, line
    assert "deterministic hunts only: Bochs has no QMP" in text.replace("\n", " ")
    assert "correct VMX build: 0 failures in 4 deterministic runs" in text
