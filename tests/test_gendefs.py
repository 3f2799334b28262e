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


def test_named_field_values_reach_c_and_python() -> None:
    sys.path.insert(0, str(ROOT))
    from decoder.defs import FIELD_NAMES
    header = (ROOT / "include/heisen/defs.h").read_text()
    flags, kind = FIELD_NAMES[("HOST_NMI", "kind")]
    assert flags and kind == {"quiesce": 1, "guest": 2}
    assert "#define TRACE_HOST_NMI_KIND_GUEST 0x2" in header
    assert "#define TRACE_HOST_NMI_WHERE_NESTED 0x2" in header


def _validate(ev_extra: dict) -> str:
    sys.path.insert(0, str(ROOT / "tools"))
    import gendefs
    ev = {"id": 10, "fields": [["kind", "u"], ["where", "u"]], "token": "n", "doc": "", **ev_extra}
    try:
        gendefs.validate_named_values("HOST_NMI", ev)
    except SystemExit as exc:
        return str(exc)
    return ""


def test_bad_named_values_are_refused() -> None:
    assert _validate({"values": {"where": {"exit": 0, "hv": 1}}, "flags": {"kind": {"a": 1, "b": 4}}}) == ""
    assert "not a field" in _validate({"values": {"depth": {"one": 1}}})
    assert "named twice" in _validate({"values": {"kind": {"a": 0}}, "flags": {"kind": {"a": 1}}})
    assert "two names for one value" in _validate({"values": {"where": {"exit": 0, "out": 0}}})
    assert "not a single bit" in _validate({"flags": {"kind": {"both": 3}}})
    assert "non-negative integer" in _validate({"values": {"where": {"exit": -1}}})
