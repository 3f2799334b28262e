"""Static checks of the built guest ELFs against the hypervisor's loading
contract (guest/README.md) and the guest's own layout assumptions."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest
from elftools.elf.constants import P_FLAGS
from elftools.elf.elffile import ELFFile

from decoder.defs import GUEST_LOAD_MIN

ROOT = Path(__file__).resolve().parents[2]
GUESTS = {"guest32": ("ELFCLASS32", "EM_386", 4), "guest64": ("ELFCLASS64", "EM_X86_64", 8)}
LOAD_LIMIT = 64 << 20
ERRCODE_VECTORS = {8, 10, 11, 12, 13, 14, 17, 21, 29, 30}
MAX_CPUS, STACK_SIZE, CPU_STRIDE = 32, 16 << 10, 256


@pytest.fixture(scope="module", params=sorted(GUESTS))
def guest(request):
    path = ROOT / "build" / f"{request.param}.elf"
    assert path.exists(), f"{path} missing: run make guest"
    with path.open("rb") as f:
        elf = ELFFile(f)
        syms = {s.name: s for s in elf.get_section_by_name(".symtab").iter_symbols()}
        loads = [seg for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD"]

        def read(addr: int, size: int) -> bytes:
            for seg in loads:
                off = addr - seg["p_vaddr"]
                if 0 <= off and off + size <= seg["p_filesz"]:
                    return seg.data()[off:off + size]
            raise AssertionError(f"{addr:#x} not in a file-backed PT_LOAD")
        yield request.param, elf, syms, loads, read


def test_class_and_machine(guest) -> None:
    name, elf, *_ = guest
    cls, machine, _ = GUESTS[name]
    assert elf.elfclass == int(cls[-2:]) and elf["e_machine"] == machine


def test_loads_between_32_and_64_mib_identity(guest) -> None:
    _, _, _, loads, _ = guest
    assert loads
    for seg in loads:
        assert seg["p_paddr"] == seg["p_vaddr"]
        assert seg["p_paddr"] >= GUEST_LOAD_MIN
        assert seg["p_paddr"] + seg["p_memsz"] <= LOAD_LIMIT


def test_entry_is_guest_entry_in_executable_segment(guest) -> None:
    _, elf, syms, loads, read = guest
    entry = elf["e_entry"]
    assert entry == syms["guest_entry"]["st_value"]
    assert any(seg["p_vaddr"] <= entry < seg["p_vaddr"] + seg["p_filesz"] and seg["p_flags"] & P_FLAGS.PF_X
               for seg in loads)
    # 32-bit code in both guests: cli; cld; cmp guest_magic_expected, %eax
    magic_addr = syms["guest_magic_expected"]["st_value"]
    assert read(entry, 8) == b"\xfa\xfc\x3b\x05" + struct.pack("<I", magic_addr)


def test_no_undefined_symbols(guest) -> None:
    _, _, syms, _, _ = guest
    undefined = [n for n, s in syms.items() if n and s["st_shndx"] == "SHN_UNDEF"]
    assert undefined == []


def test_stacks_outside_bss_and_aligned(guest) -> None:
    _, _, syms, _, _ = guest
    stacks = syms["guest_stacks"]["st_value"]
    assert stacks % STACK_SIZE == 0
    assert stacks >= syms["__bss_end"]["st_value"]
    assert syms["guest_cpus"]["st_size"] == MAX_CPUS * CPU_STRIDE


def test_vector_stubs(guest) -> None:
    """Stub i pushes a dummy error code exactly when the CPU pushes none, then
    i; only the NMI stub lies in .text.nmi, and guest_nmi lies there too."""
    name, _, syms, _, read = guest
    word = GUESTS[name][2]
    table = syms["guest_vector_stubs"]["st_value"]
    stubs = struct.unpack(f"<32{'I' if word == 4 else 'Q'}", read(table, 32 * word))
    lo, hi = syms["__nmi_text_start"]["st_value"], syms["__nmi_text_end"]["st_value"]
    for vec, addr in enumerate(stubs):
        code = read(addr, 4)
        pushes = code[:4] if vec in ERRCODE_VECTORS else code[2:4]
        if vec not in ERRCODE_VECTORS:
            assert code[:2] == b"\x6a\x00", vec
        assert pushes[:2] == bytes([0x6A, vec]), vec
        assert (lo <= addr < hi) == (vec == 2), vec
    assert lo <= syms["guest_nmi"]["st_value"] < hi
