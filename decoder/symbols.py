"""RIP -> function+offset from the ELF files of a run (pyelftools).

The hypervisor is linked at 1 MiB and guests at or above GUEST_LOAD_MIN, so
one address-sorted table over all given ELFs resolves both.
"""
from __future__ import annotations

from bisect import bisect_right
from pathlib import Path


class SymbolError(ValueError):
    """An ELF file that cannot be read; the message names the file."""


class Symbolizer:
    def __init__(self, elf_paths: list[str | Path] = ()) -> None:  # type: ignore[assignment]
        entries: list[tuple[int, int, str]] = []
        for path in elf_paths:
            entries += _functions(Path(path))
        entries.sort()
        self._starts = [e[0] for e in entries]
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, addr: int) -> str | None:
        """'name+0xoff' for an address inside a known function, else None."""
        k = bisect_right(self._starts, addr) - 1
        while k >= 0:
            start, size, name = self._entries[k]
            if addr < start + max(size, 1):
                return name if addr == start else f"{name}+{addr - start:#x}"
            # A sized symbol before addr may still be enclosed by an earlier, larger one.
            if size and k > 0 and self._entries[k - 1][0] == start:
                k -= 1
                continue
            return None
        return None

    def format(self, addr: int) -> str:
        sym = self.lookup(addr)
        return f"{addr:#x}({sym})" if sym else f"{addr:#x}"


def _functions(path: Path) -> list[tuple[int, int, str]]:
    # pyelftools only when an ELF is read: importing it costs ~0.1 s, and every
    # `decoder` command imports this module (the text view), most with no --elf
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection
    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            out = []
            for sec in elf.iter_sections():
                if not isinstance(sec, SymbolTableSection):
                    continue
                for sym in sec.iter_symbols():
                    if sym["st_info"]["type"] == "STT_FUNC" and sym.name and sym["st_value"]:
                        out.append((sym["st_value"], sym["st_size"], sym.name))
            return out
    except (OSError, ELFError) as e:
        raise SymbolError(f"{path}: not a readable ELF file ({e})") from e
