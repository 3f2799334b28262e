"""RunResult: a run's typed result, read through its Verdict (no dict indexing)."""
from __future__ import annotations

from pathlib import Path

from harness.judge.run import RunResult
from harness.judge.verdict_record import Verdict


def test_a_failed_runs_result_names_its_seed_reason_and_rule(tmp_path: Path) -> None:
    record = Verdict(scenario="test1", seed=7, passed=False, outcome="fail",
                     reason="the checker's rule 'no_panic' failed", rule="no_panic")
    result = RunResult(tmp_path, record)
    assert (result.seed, result.outcome, result.passed) == (7, "fail", False)
    assert result.reason == "the checker's rule 'no_panic' failed"
    assert result.rule == "no_panic"
    assert result.verdict["rule"] == "no_panic"   # the dict view says the same


def test_a_run_that_never_reached_the_checker_has_no_rule(tmp_path: Path) -> None:
    # verdict.json leaves an unreached key out; the typed result says None, not ABSENT.
    result = RunResult(tmp_path, Verdict(scenario="test1", seed=1, passed=False,
                                         outcome="error", reason="QEMU not started"))
    assert result.rule is None and "rule" not in result.verdict
