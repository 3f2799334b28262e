"""The memory transport (`trace=mem`, trace/memlog.c) under QEMU: the same frames as the
UART would carry, complete, and a deterministic run with it replays byte for byte."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from decoder.defs import HYPERCALLS
from harness.launch.build import REPO
from harness.det.replay import replay
from harness.judge.run import RunOptions, run_scenario
from harness.scenario import load
from tests.boot_util import decode_serial


def scenario(tmp_path: Path, workload: str, nmi: str) -> Path:
    path = tmp_path / "mem.toml"
    path.write_text(f'smp = 2\ntimeout = 60\nhang_timeout = 10\n[workloads]\ndefault = "{workload}"\n'
                    f'[nmi]\n{nmi}\n')
    return path


def test_mem_transport_carries_the_whole_trace(tmp_path: Path) -> None:
    n = 3000
    sc = load(scenario(tmp_path, f"test:{n}", 'pattern = "interval"\ninterval = 0.01'))
    res = run_scenario(sc, RunOptions(seed=1, build_dir=REPO / "build", results_dir=tmp_path, transport="mem"))
    assert res.outcome == "pass", res.verdict.get("reason")
    t = res.verdict["transport"]
    # Every frame went to the log: the UART carried none, nothing was dropped.
    assert t["uart_bytes"] == 0 and t["log_bytes"] > 10_000 and t["dropped_bytes"] == 0, t
    assert not Path(t["ram_file"]).exists()
    records, losses, text = decode_serial((res.run_dir / "serial.bin").read_bytes())
    assert losses == []
    for cpu in (0, 1):
        tests = [r for r in records if r.cpu == cpu and r.name == "HYPERCALL" and r.args[0] == HYPERCALLS["TEST"]]
        assert len(tests) == n, cpu
    assert "PASS" in text


def test_mem_transport_replays_byte_identically(tmp_path: Path) -> None:
    sc = load(scenario(tmp_path, "test:300", 'pattern = "none"'))
    rec = run_scenario(sc, RunOptions(seed=7, build_dir=REPO / "build", results_dir=tmp_path,
                                      deterministic=True, transport="mem"))
    assert rec.outcome == "pass", rec.verdict.get("reason")
    assert "trace=mem" in rec.verdict["schedule"]["hv_cmdline"]
    rep = replay(rec.run_dir)
    # The replay must match the recording itself: a divergence is a failure, and both
    # run dirs (under tmp_path, which pytest keeps) are named for the post-mortem.
    assert rep.identical, (f"replay differs from the recording at byte {rep.first_diff}: "
                           f"recorded {rec.run_dir}, replayed {rep.result.run_dir}", rep.as_dict())
    assert rep.result.outcome == rec.outcome == "pass", rep.result.verdict.get("reason")
    assert rep.result.verdict["transport"]["log_bytes"] > 0


def test_the_ram_file_goes_even_when_the_run_raises(tmp_path: Path) -> None:
    def broken_callback(_: object) -> None:
        raise RuntimeError("a callback broke")
    sc = load(scenario(tmp_path, "test:200000", 'pattern = "none"'))
    with pytest.raises(RuntimeError, match="a callback broke"):
        run_scenario(sc, RunOptions(seed=1, build_dir=REPO / "build", results_dir=tmp_path,
                                    transport="mem", on_tick=broken_callback))
    assert not list(Path("/dev/shm").glob(f"heisenvisor-{os.getpid()}-*"))
