"""Fields with named values (trace/events.toml values.* / flags.*) print by name."""
from __future__ import annotations

from decoder.defs import EVENT_IDS
from decoder.records import Record, describe, value_name
from decoder.views.labels import label


def host_nmi(kind: int, where: int, depth: int = 1) -> Record:
    return Record(0, 1, EVENT_IDS["HOST_NMI"], (kind, where, depth))


def test_values_and_flags_by_name() -> None:
    assert describe(host_nmi(2, 0)) == "HOST_NMI kind=guest where=exit depth=1"
    assert describe(host_nmi(3, 2, 2)) == "HOST_NMI kind=quiesce+guest where=nested depth=2"
    assert describe(host_nmi(0, 1)) == "HOST_NMI kind=none where=hv depth=1"


def test_unnamed_values_stay_numbers() -> None:
    assert value_name("HOST_NMI", "kind", 4) is None      # a bit no one named
    assert value_name("HOST_NMI", "kind", 6) is None      # a named bit with an unnamed one
    assert value_name("HOST_NMI", "where", 7) is None
    assert value_name("HOST_NMI", "depth", 1) is None     # a field without names
    assert describe(host_nmi(4, 7)) == "HOST_NMI kind=4 where=7 depth=1"


def test_seed_table_words() -> None:
    assert label(host_nmi(2, 0)) == "NMI (for guest, at VM exit)"
    assert label(host_nmi(1, 1)) == "NMI (quiesce signal, host IDT)"
    assert label(host_nmi(0, 2)) == "NMI (dropped, nested in NMI handler)"
