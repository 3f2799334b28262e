"""The generated C header and Python module must match their tables."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_definitions_are_fresh() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "tools/gendefs.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_stale_output_is_detected(tmp_path: Path) -> None:
    # Copy the tree's inputs and a tampered output; --check must notice.
    import shutil
    for rel in ("tools/gendefs.py", "defs/hypercalls.toml", "defs/machine.toml", "defs/exits_svm.toml", "defs/workloads.toml",
                "trace/events.toml", "include/heisen/defs.h", "decoder/defs.py"):
        dst = tmp_path / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, dst)
    hdr = tmp_path / "include/heisen/defs.h"
    hdr.write_text(hdr.read_text().replace("#define HC_TEST 3", "#define HC_TEST 4"))
    r = subprocess.run([sys.executable, str(tmp_path / "tools/gendefs.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "include/heisen/defs.h is stale" in r.stderr


def test_checksum_matches_c_formula() -> None:
    sys.path.insert(0, str(ROOT))
    from decoder.defs import hc_test_checksum
    # 64-bit wraparound in C then masking equals Python's exact product masked.
    assert hc_test_checksum(0, 0) == 0
    assert hc_test_checksum(1, 0) == 2654435761
    assert hc_test_checksum(0xFFFFFFFF, 3) == ((0xFFFFFFFF ^ (3 << 24)) * 2654435761) % 2**32
