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
    for rel in ("tools/gendefs.py", "defs/hypercalls.toml", "defs/machine.toml", "defs/exits_svm.toml", "defs/exits_vmx.toml", "defs/workloads.toml",
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


CHECKSUM_CASES = [(0, 0), (1, 0), (0xFFFFFFFF, 3), (2**64 - 1, 7), (0x123456789ABCDEF0, 255),
                  (2**63, 2**40 + 1), (3, 2**64 - 1)]


def test_checksum_matches_c_formula(tmp_path: Path) -> None:
    """The Python formula against the C one, compiled from include/heisen/defs.h and run:
    the C side's 64-bit wraparound and truncation are what the guest checks."""
    sys.path.insert(0, str(ROOT))
    from decoder.defs import hc_test_checksum
    src = tmp_path / "checksum.c"
    src.write_text('#include <stdio.h>\n#include <stdlib.h>\n#include "heisen/defs.h"\n'
                   "int main(int argc, char **argv) {\n"
                   "    for (int i = 1; i + 1 < argc; i += 2)\n"
                   '        printf("%u\\n", hc_test_checksum(strtoull(argv[i], 0, 0), strtoull(argv[i + 1], 0, 0)));\n'
                   "    return 0;\n}\n")
    exe = tmp_path / "checksum"
    cc = subprocess.run(["gcc", "-std=gnu11", "-Wall", "-Werror", "-I", str(ROOT / "include"),
                         str(src), "-o", str(exe)], capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    args = [str(v) for case in CHECKSUM_CASES for v in case]
    out = subprocess.run([str(exe), *args], capture_output=True, text=True, check=True).stdout.split()
    assert [int(v) for v in out] == [hc_test_checksum(a, c) for a, c in CHECKSUM_CASES]
    assert hc_test_checksum(1, 0) == 2654435761  # the constant itself, independent of both


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
