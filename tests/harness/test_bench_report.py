"""bench-detect's report: the speed-up bound is the seed's time over one boot."""
from __future__ import annotations

import io

from rich.console import Console

from harness.bench import print_report


def cell(caught: bool, ttf: float | None) -> dict[str, object]:
    return {"caught": caught, "outcome": "fail" if caught else None, "ttf_s": ttf,
            "reproduced": 10 if caught else 0, "replays": 10 if caught else 0}


def test_bound_is_seed_time_or_budget_over_the_deterministic_floor() -> None:
    report = {"budget_s": 60.0, "jobs": 2, "replays": 10, "dir": "results/x",
              "floor_s": {"deterministic": 0.5, "seed_method": 0.25},
              "bugs": {"found-by-both": {"scenario": "s1", "deterministic": cell(True, 1.0),
                                         "seed_method": cell(True, 4.0)},
                       "seed-misses": {"scenario": "s2", "deterministic": cell(True, 2.0),
                                       "seed_method": cell(False, None)}},
              "correct": {"runs": 4, "failures": 0, "per_scenario": {}}}
    out = io.StringIO()
    print_report(report, Console(file=out, width=200))
    text = out.getvalue()
    found = next(line for line in text.splitlines() if "found-by-both" in line)
    missed = next(line for line in text.splitlines() if "seed-misses" in line)
    assert "4.0x" in found and "8.0x" in found        # speed-up 4/1, bound 4/0.5
    assert ">30.0x" in missed and "120.0x" in missed  # speed-up > 60/2, bound 60/0.5
    assert "startup floor (0.50s" in text.replace("\n", " ")


def test_report_without_a_floor_prints_no_bound() -> None:
    report = {"budget_s": 60.0, "jobs": 2, "replays": 10, "dir": "results/x",
              "bugs": {"b": {"scenario": "s", "deterministic": cell(True, 1.0),
                             "seed_method": cell(True, 2.0)}}}
    out = io.StringIO()
    print_report(report, Console(file=out, width=200))
    line = next(line for line in out.getvalue().splitlines() if " b " in line or "│ b" in line)
    assert line.rstrip().rstrip("│").rstrip().endswith("-")
