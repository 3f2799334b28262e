"""harness/launch/memlog.py and the run's mem transport, against synthetic RAM files: what a
good log reads as, and a clear error (never a silent empty trace) for every bad one."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.launch import memlog
from harness.judge.run import _MemTransport

OFFSET, AREA = 0x3000, 0x1000


def ram_file(tmp_path: Path, magic: bytes = memlog.MAGIC, capacity: int = AREA - memlog.HEADER.size,
             head: int = 0, dropped: int = 0, data: bytes = b"", size: int = 0x8000) -> Path:
    ram = bytearray(max(size, OFFSET + AREA))
    memlog.HEADER.pack_into(ram, OFFSET, magic, capacity, head, dropped)
    start = OFFSET + memlog.HEADER.size
    ram[start:start + len(data)] = data
    path = tmp_path / "ram"
    path.write_bytes(bytes(ram[:size]))
    return path


def test_reads_the_bytes_appended_so_far(tmp_path: Path) -> None:
    path = ram_file(tmp_path, head=5, data=b"\x02ab\x00\x00zzz")
    log = memlog.read(path, OFFSET, AREA)
    assert (log.data, log.head, log.dropped) == (b"\x02ab\x00\x00", 5, 0)
    assert memlog.progress(path, OFFSET, AREA) == 5


def test_a_full_log_reads_up_to_its_capacity_and_reports_the_drop(tmp_path: Path) -> None:
    path = ram_file(tmp_path, capacity=4, head=9, dropped=5, data=b"\x02ab\x00XYZ")
    log = memlog.read(path, OFFSET, AREA)
    assert (log.data, log.dropped) == (b"\x02ab\x00", 5)


def test_no_log_yet_is_zero_progress_but_an_error_to_read(tmp_path: Path) -> None:
    path = ram_file(tmp_path, magic=b"\0" * 8)
    assert memlog.progress(path, OFFSET, AREA) == 0
    with pytest.raises(memlog.MemlogError, match="started with trace=mem"):
        memlog.read(path, OFFSET, AREA)


@pytest.mark.parametrize("kwargs, message", [
    ({"capacity": AREA}, "exceeds its area"),
    ({"size": OFFSET + 16}, "ends before the log"),
])
def test_bad_ram_files_say_why(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(memlog.MemlogError, match=message):
        memlog.read(ram_file(tmp_path, **kwargs), OFFSET, AREA)


def test_missing_ram_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(memlog.MemlogError, match="No such file"):
        memlog.read(tmp_path / "nope", OFFSET, AREA)


def test_a_build_without_the_log_is_refused(fake_build) -> None:
    with pytest.raises(memlog.MemlogError, match="no memory trace log in this build"):
        memlog.locate(fake_build("pass") / "hv.elf")


def test_collect_keeps_the_uart_bytes_when_qemu_left_no_ram_file(tmp_path: Path) -> None:
    # QEMU died before creating its RAM file: serial.bin still gets what the UART
    # carried, and the verdict says why the log is missing.
    t = _MemTransport.__new__(_MemTransport)
    t.ram_file, t.offset, t.size = tmp_path / "gone.ram", OFFSET, AREA
    (tmp_path / "uart.bin").write_bytes(b"uart")
    info = t.collect(tmp_path / "serial.bin")
    assert (tmp_path / "serial.bin").read_bytes() == b"uart"
    assert info["uart_bytes"] == 4 and "No such file" in info["error"]


def test_collect_appends_the_log_to_the_uart_bytes_and_removes_the_ram_file(tmp_path: Path) -> None:
    t = _MemTransport.__new__(_MemTransport)
    t.ram_file, t.offset, t.size = ram_file(tmp_path, head=3, data=b"\x02a\x00"), OFFSET, AREA
    (tmp_path / "uart.bin").write_bytes(b"\x02u\x00")
    info = t.collect(tmp_path / "serial.bin")
    assert (tmp_path / "serial.bin").read_bytes() == b"\x02u\x00\x02a\x00"
    assert info == {"uart_bytes": 3, "log_bytes": 3, "dropped_bytes": 0}
    assert not t.ram_file.exists()


def test_frames_a_full_log_dropped_are_a_loss_not_a_failed_rule(tmp_path: Path) -> None:
    # A log that filled up lost the run's last frames (reports, verdict).  Told so, the
    # decoder shows a truncated loss at the end and leaves the end-of-trace rules
    # unjudged; not told, the same bytes fail a rule that never had a chance.
    from harness.judge.decoding import decode_serial
    from tests.decoder.traces import good_run
    serial = tmp_path / "serial.bin"
    serial.write_bytes(good_run(finish=False).serial())
    blind = decode_serial(serial, None, tmp_path)
    assert blind.check is not None and not blind.check["passed"]
    told = decode_serial(serial, None, tmp_path, (4096, "the memory log was full"))
    assert told.check is not None and told.check["passed"], told.check
    assert "unjudged" in told.check["message"]
    assert told.check["counts"]["loss"] == {"truncated": 4096}
