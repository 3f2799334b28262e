"""bench/bench_linux.py's pure parts (no QEMU): the stamp on Linux's `Run /init` line,
the interleaved plan, and the summary (medians, hv/plain of the medians, the goal)."""
from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

import pytest

from harness.launch.build import REPO


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_linux", REPO / "bench" / "bench_linux.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_linux"] = mod
    spec.loader.exec_module(mod)
    return mod


bl = load()

CONSOLE = (b"[    3.112233] Freeing unused kernel image (rodata/data gap) memory: 1980K\r\n"
           b"[    3.240001] Run /init as init process\r\n"
           b"HEISEN-LINUX: cpus online 0 count 1\r\n")


def test_the_stamp_is_read_from_the_run_init_line() -> None:
    assert bl.init_stamp(CONSOLE) == pytest.approx(3.240001)


def test_large_stamps_and_no_padding() -> None:
    assert bl.init_stamp(b"[  180.044567] Run /init as init process\r\n") == pytest.approx(180.044567)
    assert bl.init_stamp(b"[12345.000001] Run /init as init process\n") == pytest.approx(12345.000001)


@pytest.mark.parametrize("console", [
    b"",
    b"[    3.112233] Freeing unused kernel image\r\n",
    b"[    3.240001] Run /init as in",                 # the line is still being written
    b"Run /init as init process\r\n",                  # no stamp (printk.time=0)
])
def test_no_line_no_stamp(console: bytes) -> None:
    assert bl.init_stamp(console) is None


def test_the_plan_interleaves_and_alternates_the_order() -> None:
    p = bl.plan(3, [1, 2, 4], icount=True)
    wall = [b for b in p if b[2] == "wall"]
    assert len(wall) == 3 * 3 * 2
    pairs = [wall[i:i + 2] for i in range(0, len(wall), 2)]
    for pair in pairs:                                  # one plain and one hv, back to back
        assert {b[0] for b in pair} == {"plain", "hv"} and pair[0][1] == pair[1][1]
    firsts = [pair[0][0] for pair in pairs]
    assert all(a != b for a, b in zip(firsts, firsts[1:]))   # the order alternates pair to pair
    for smp in (1, 2, 4):                                # and round to round for each -smp
        mine = [pair[0][0] for pair in pairs if pair[0][1] == smp]
        assert mine[0] != mine[1] and mine[1] != mine[2]
    assert p[-2:] == [("plain", 1, "icount"), ("hv", 1, "icount")]
    assert all(b[2] == "wall" for b in bl.plan(2, [1], icount=False))


def boot(kind: str, smp: int, to_init: float, mode: str = "wall", icount: float | None = None) -> dict[str, Any]:
    return {"kind": kind, "smp": smp, "mode": mode, "to_init_s": to_init, "stamp_s": to_init / 2,
            "to_end_s": to_init + 1, "cpu_s": to_init * 0.8, "icount": icount}


def test_summary_takes_medians_and_their_ratio() -> None:
    boots = [boot("plain", 1, 4.0), boot("hv", 1, 9.0), boot("hv", 1, 6.0), boot("plain", 1, 5.0),
             boot("plain", 1, 30.0), boot("hv", 1, 7.0),
             boot("plain", 2, 5.0), boot("hv", 2, 8.0)]
    rows = bl.summarise(boots)
    assert [(r["mode"], r["smp"]) for r in rows] == [("wall", 1), ("wall", 2)]
    one = rows[0]
    assert one["boots"] == {"plain": 3, "hv": 3}
    assert one["to_init_s"] == {"plain": 5.0, "hv": 7.0, "ratio": pytest.approx(1.4)}   # an outlier is no mean
    assert one["to_end_s"]["ratio"] == pytest.approx(8.0 / 6.0)
    assert one["goal"] == {"figure": "to_init_s", "max_ratio": 1.5, "met": True}
    assert rows[1]["goal"]["met"] is False                                              # 1.6x
    assert one["icount"] == {"plain": None, "hv": None, "ratio": None}


def test_the_goal_is_inclusive_and_only_for_wall_rows() -> None:
    rows = bl.summarise([boot("plain", 1, 4.0), boot("hv", 1, 6.0),
                         boot("plain", 1, 8.0, "icount", 100.0), boot("hv", 1, 20.0, "icount", 105.0)])
    assert rows[0]["goal"]["met"] is True                  # exactly 1.5x meets it
    ic = rows[1]
    assert ic["mode"] == "icount" and ic["goal"]["met"] is None
    assert ic["icount"]["ratio"] == pytest.approx(1.05)


def test_a_row_missing_one_side_has_no_ratio_and_no_verdict() -> None:
    rows = bl.summarise([boot("plain", 4, 4.0)])
    assert rows[0]["to_init_s"] == {"plain": 4.0, "hv": None, "ratio": None}
    assert rows[0]["goal"]["met"] is None
    assert bl.ratio(1.0, 0.0) is None


def test_the_table_shows_both_sides_and_the_ratio() -> None:
    rows = bl.summarise([boot("plain", 1, 4.0), boot("hv", 1, 5.0), boot("plain", 4, 4.0), boot("hv", 4, 8.0),
                         boot("plain", 1, 8.0, "icount", 1.5e9), boot("hv", 1, 9.0, "icount", 1.6e9)])
    wall = bl.table(rows, "wall").splitlines()
    assert "4.00" in wall[2] and "5.00" in wall[2] and "1.25x" in wall[2] and wall[2].endswith("met")
    assert "2.00x" in wall[3] and wall[3].endswith("NOT met")
    ic = bl.table(rows, "icount").splitlines()
    assert len(ic) == 3 and "1500.0M" in ic[2] and "1600.0M" in ic[2] and "1.0667x" in ic[2]
