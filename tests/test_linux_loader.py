"""The Linux boot protocol's pure parts (hv/core/e820.c, hv/core/linux_boot.c), on the
host under ASan/UBSan: the memory map with the hypervisor carved out, the setup header,
the kernel's placement and the zero page.  And the real Debian kernel's header, read by
the C parser and by Python from the file, must agree."""
from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from tests.host_c import assert_cases_pass, build_driver

ROOT = Path(__file__).resolve().parent.parent
KERNEL = ROOT / "build" / "linux" / "vmlinuz"


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_driver(tmp_path_factory.mktemp("lbd"), "linux_boot_driver", 
                        'hv/core/e820.c', 'hv/core/linux_boot.c')


def test_memory_map_placement_and_zero_page_cases(driver: Path) -> None:
    assert_cases_pass(driver)


def test_the_debian_kernels_header_reads_the_same_in_c_and_python(driver: Path) -> None:
    assert KERNEL.is_file(), f"{KERNEL} missing: run `make linux`"
    img = KERNEL.read_bytes()
    assert img[0x202:0x206] == b"HdrS"
    setup_sects = img[0x1f1] or 4
    version, = struct.unpack_from("<H", img, 0x206)
    alignment, = struct.unpack_from("<I", img, 0x230)
    cmdline_size, = struct.unpack_from("<I", img, 0x238)
    pref, = struct.unpack_from("<Q", img, 0x258)
    init_size, = struct.unpack_from("<I", img, 0x260)
    initrd_max, = struct.unpack_from("<I", img, 0x22c)
    pm_offset = (setup_sects + 1) * 512
    expected = (f"version {version:#x} pm_offset {pm_offset:#x} pm_size {len(img) - pm_offset:#x} "
                f"alignment {alignment:#x} init_size {max(init_size, len(img) - pm_offset):#x} "
                f"pref {pref:#x} cmdline_size {cmdline_size} initrd_max {initrd_max:#x} "
                f"header_end {0x202 + img[0x201]:#x}\n")
    r = subprocess.run([str(driver), str(KERNEL)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == expected, (r.stdout, expected, r.stderr)
