"""QEMU record/replay at -smp 1 with host NMIs, which QEMU does not record."""
from __future__ import annotations

import json
from pathlib import Path

from harness.build import REPO
from harness.replay import replay
from harness.run import RunOptions, run_scenario
from harness.scenario import load


def test_rr_record_with_qmp_nmis_replays_byte_identically(tmp_path: Path) -> None:
    path = tmp_path / "rr.toml"
    path.write_text('smp = 1\ntimeout = 60\nhang_timeout = 10\n[workloads]\ndefault = "test:12000"\n'
                    '[nmi]\npattern = "interval"\ninterval = 0.1\n')
    rec = run_scenario(load(path), RunOptions(seed=3, build_dir=REPO / "build",
                                              results_dir=tmp_path, rr="record"))
    assert rec.outcome == "pass", json.dumps(rec.verdict, indent=1)[:2000]
    assert "rr=record" in " ".join(rec.verdict["qemu"]["command_line"])
    logged = rec.verdict["rr"]["inject_nmi_icounts"]
    assert rec.verdict["nmi"]["sent"] >= 3 and len(logged) >= rec.verdict["nmi"]["sent"]
    rep = replay(rec.run_dir)
    assert rep.identical, rep.as_dict()
    assert "rr=replay" in " ".join(rep.result.verdict["qemu"]["command_line"])
    # The replay stalled where each unrecorded NMI had been and got it re-sent.
    assert len(rep.result.verdict["rr"]["reinjected_at_icounts"]) == rec.verdict["nmi"]["sent"]
