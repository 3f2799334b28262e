"""The VMX backend's pure parts on the host (hv/arch/vmx/vmx_pure.h, vmcs_table.h, vmcs.h):
field width from the encoding, control words from capability MSRs, EPT entries, and the
compile-time refusal of an access wider than its VMCS field (XMHF64's field-width bug)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.host_c import ROOT, assert_cases_pass, build_driver

# A few rows checked against Intel SDM vol. 3, appendix B, by hand.
SDM_ENCODINGS = {"VPID": 0x0000, "GUEST_CS_SEL": 0x0802, "EPT_POINTER": 0x201A, "GUEST_EFER": 0x2806,
                 "PIN_CONTROLS": 0x4000, "PROC_CONTROLS2": 0x401E, "EXIT_REASON": 0x4402,
                 "GUEST_INTERRUPTIBILITY": 0x4824, "GUEST_RIP": 0x681E, "HOST_RSP": 0x6C14,
                 "HOST_RIP": 0x6C16, "EXIT_QUALIFICATION": 0x6400}


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_driver(tmp_path_factory.mktemp("vmx"), "vmx_pure_driver")


def test_width_controls_and_ept_cases(driver: Path) -> None:
    assert_cases_pass(driver)


def test_every_table_row_has_its_encodings_width(driver: Path) -> None:
    out = subprocess.run([str(driver), "table"], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in out.splitlines()]
    assert len(rows) > 80
    by_name = {name: int(enc, 16) for name, enc, _ in rows}
    assert len(set(by_name.values())) == len(rows), "two rows share an encoding"
    for name, enc_s, size_s in rows:
        enc, size = int(enc_s, 16), int(size_s)
        width = (enc >> 13) & 3
        want = {0: 2, 1: 4 if enc & 1 else 8, 2: 4, 3: 8}[width]
        assert size == want, f"{name} {enc:#x}: a {size}-byte type, its encoding says {want}"
    for name, enc in SDM_ENCODINGS.items():
        assert by_name[name] == enc, f"{name}: {by_name[name]:#x}, the SDM says {enc:#x}"


def compile_snippet(tmp_path: Path, body: str, prelude: str = "") -> subprocess.CompletedProcess[str]:
    if shutil.which("gcc") is None:
        pytest.fail("gcc is required (make deps)")
    src = tmp_path / "snippet.c"
    src.write_text(f'{prelude}\n#include "arch/vmx/vmcs.h"\nvoid vmx_access_failed(u32 f, bool w) '
                   f'{{ (void)f; (void)w; }}\nvoid f(void);\nvoid f(void) {{ {body} }}\n')
    return subprocess.run(["gcc", "-std=gnu11", "-m64", "-fsyntax-only", "-Wall", "-Wextra", "-Werror",
                           "-I", str(ROOT / "hv"), "-I", str(ROOT / "include"), str(src)],
                          capture_output=True, text=True)


def test_a_64_bit_write_to_a_32_bit_field_does_not_compile(tmp_path: Path) -> None:
    ok = compile_snippet(tmp_path, "vmcs_write(EXIT_REASON, (u32)1); vmcs_write(GUEST_RIP, (u64)1);")
    assert ok.returncode == 0, ok.stderr
    bad = compile_snippet(tmp_path, "vmcs_write(PROC_CONTROLS, (u64)1);")
    assert bad.returncode != 0 and "value wider than the field" in bad.stderr, bad.stderr
    bad16 = compile_snippet(tmp_path, "vmcs_write(GUEST_CS_SEL, 8);")   # an int constant is 4 bytes
    assert bad16.returncode != 0 and "value wider than the field" in bad16.stderr, bad16.stderr


def test_a_64_bit_read_of_a_32_bit_field_yields_32_bits(tmp_path: Path) -> None:
    r = compile_snippet(tmp_path, '_Static_assert(sizeof(vmcs_read(EXIT_REASON)) == 4, "32");'
                                  '_Static_assert(sizeof(vmcs_read(GUEST_RIP)) == 8, "64");'
                                  '_Static_assert(sizeof(vmcs_read(VPID)) == 2, "16");')
    assert r.returncode == 0, r.stderr


def test_a_table_row_typed_wider_than_its_encoding_does_not_compile(tmp_path: Path) -> None:
    prelude = ("#include \"core/types.h\"\n#define HV_VMX_VMCS_TABLE_H\n"
               "#define VMCS_FIELDS(X) X(EXIT_REASON, 0x4402, u64) X(GUEST_RIP, 0x681e, u64)\n")
    r = compile_snippet(tmp_path, "", prelude)
    assert r.returncode != 0 and "type is not its encoding's width" in r.stderr, r.stderr
