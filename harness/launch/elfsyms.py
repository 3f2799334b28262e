"""Symbol lookup in the hypervisor ELF (it is linked at its physical address,
so a symbol's value is the guest-physical address to pmemsave)."""
from __future__ import annotations

from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection


class SymbolError(Exception):
    pass


def find_symbol(elf_path: Path, name: str) -> tuple[int, int]:
    """(address, size) of `name`; SymbolError if absent or sizeless."""
    try:
        with open(elf_path, "rb") as f:
            elf = ELFFile(f)
            for section in elf.iter_sections():
                if not isinstance(section, SymbolTableSection):
                    continue
                for sym in section.get_symbol_by_name(name) or []:
                    size = sym["st_size"]
                    if size == 0:
                        raise SymbolError(f"{elf_path}: symbol {name} has size 0")
                    return sym["st_value"], size
    except OSError as exc:
        raise SymbolError(f"{elf_path}: {exc}") from exc
    raise SymbolError(f"{elf_path}: no symbol {name}")
