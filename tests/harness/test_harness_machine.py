"""The QEMU launcher: exact command line, exit status, and cleanup in every way a run can end."""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from harness.launch.machine import Machine, MachineConfig, MachineError
from harness_testutil import alive, fakehv_serial, qemu_children

PY = "/usr/bin/python3"
REPO = Path(__file__).resolve().parents[2]


def config(build: Path, tmp_path: Path, **kw: object) -> MachineConfig:
    return MachineConfig(kernel=build / "hv.elf32", initrd=build / "guest64.elf", append="wl=hello",
                         serial_path=tmp_path / "serial.bin", smp=2, **kw)  # type: ignore[arg-type]


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def test_command_line_is_the_documented_one(fake_build: Callable[[str], Path], tmp_path: Path) -> None:
    m = Machine(config(fake_build("pass"), tmp_path))
    argv = m.command_line()
    text = " ".join(argv)
    for part in ["-nodefaults", "-machine pc", "-accel tcg", "-cpu qemu64,+svm,+npt", "-smp 2", "-m 256",
                 "-append wl=hello", "-no-reboot", "-device isa-debug-exit,iobase=0xf4,iosize=0x04",
                 "-name heisenvisor,debug-threads=on", f"-serial file:{tmp_path}/serial.bin"]:
        assert part in text
    assert f"unix:{m.qmp_socket},server,nowait" in argv and f"unix:{m.gdb_socket},server,nowait" in argv
    det_machine = Machine(config(fake_build("pass"), tmp_path, deterministic=True))
    det = det_machine.command_line()
    det_machine.shutdown()
    assert "tcg,thread=single" in det and "shift=7,sleep=off" in det and "tcg" not in [
        det[i + 1] for i, a in enumerate(det) if a == "-accel"]
    sockdir = m.sockdir
    m.shutdown()  # never launched, but asking for paths made a temp dir: it must go
    assert not sockdir.exists()
    with pytest.raises(MachineError):
        m.sockdir


def test_exit_status_wall_time_and_sockets_removed(fake_build: Callable[[str], Path],
                                                   tmp_path: Path) -> None:
    with Machine(config(fake_build("pass"), tmp_path)) as m:
        sockdir = m.sockdir
        assert m.wait(30) == 33
    assert m.exit_status == 33
    assert 0 < m.wall_time < 30
    assert not sockdir.exists()
    assert (tmp_path / "serial.bin").read_bytes() == fakehv_serial()


def test_exception_in_block_stops_qemu_and_removes_sockets(fake_build: Callable[[str], Path],
                                                           tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with Machine(config(fake_build("hang"), tmp_path)) as m:
            pid, sockdir = m.pid, m.sockdir
            assert wait_for(lambda: m.qmp_socket.exists())
            raise RuntimeError("boom")
    assert pid is not None and not alive(pid)
    assert not sockdir.exists()
    assert qemu_children(os.getpid()) == []


def test_qemu_killed_mid_run_reports_the_signal(fake_build: Callable[[str], Path],
                                                tmp_path: Path) -> None:
    with Machine(config(fake_build("chatter"), tmp_path)) as m:
        assert wait_for(lambda: (tmp_path / "serial.bin").exists()
                        and (tmp_path / "serial.bin").stat().st_size > 10)
        os.kill(m.pid, signal.SIGKILL)  # type: ignore[arg-type]
        assert wait_for(lambda: m.poll() is not None)
        assert m.exit_status == -signal.SIGKILL
    assert qemu_children(os.getpid()) == []


def test_missing_kernel_is_a_clear_error_and_starts_nothing(tmp_path: Path) -> None:
    cfg = MachineConfig(kernel=tmp_path / "nope.elf32", initrd=tmp_path / "g.elf", append="",
                        serial_path=tmp_path / "s.bin")
    with pytest.raises(MachineError, match="nope.elf32"):
        with Machine(cfg):
            pass
    assert qemu_children(os.getpid()) == []


def test_qemu_dies_with_a_harness_killed_outright(fake_build: Callable[[str], Path],
                                                  tmp_path: Path) -> None:
    # SIGKILL gives the harness no chance to clean up; PR_SET_PDEATHSIG must.
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from harness.launch.machine import Machine, MachineConfig\n"
        f"b = Path({str(fake_build('hang'))!r}); t = Path({str(tmp_path)!r})\n"
        "m = Machine(MachineConfig(kernel=b/'hv.elf32', initrd=b/'guest64.elf', append='',\n"
        "            serial_path=t/'serial.bin', smp=1))\n"
        "m.launch(); print(m.pid, m.sockdir, flush=True); time.sleep(60)\n")
    child = subprocess.Popen([PY, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    pid_text, sockdir = child.stdout.readline().split()  # type: ignore[union-attr]
    qemu_pid = int(pid_text)
    assert alive(qemu_pid)
    child.kill()
    child.wait()
    assert wait_for(lambda: not alive(qemu_pid), 10), "QEMU outlived its killed harness"
    # A SIGKILLed harness cannot remove its temp dir; the test must not leak it either.
    shutil.rmtree(sockdir)


def test_async_machine_owns_its_qmp_and_quits_over_it(fake_build: Callable[[str], Path],
                                                     tmp_path: Path) -> None:
    async def main() -> tuple[object, Machine]:
        async with Machine(config(fake_build("hang"), tmp_path, log_path=tmp_path / "qemu.log")) as m:
            assert m.qmp_connected and m.qmp_error is None
            status = await m.qmp.execute("query-status")
        return status, m

    status, m = asyncio.run(main())
    assert isinstance(status, dict) and status.get("running") is True
    assert not m.qmp_connected
    with pytest.raises(MachineError, match="no QMP connection"):
        m.qmp
    # Stopped by QMP `quit`, not by the signal shutdown() would send: QEMU logs a
    # "terminating on signal 15" line when it is the signal.
    assert m.exit_status == 0
    assert "terminating on signal" not in m.log_text(), m.log_text()
    assert qemu_children(os.getpid()) == []


def test_a_qemu_that_never_brings_up_qmp_is_stopped_and_named(fake_build: Callable[[str], Path],
                                                            tmp_path: Path) -> None:
    # QEMU refuses an unknown option and exits before it listens on QMP.
    cfg = config(fake_build("hang"), tmp_path, extra_args=["-no-such-option"])
    m = Machine(cfg)
    with pytest.raises(MachineError, match="QEMU exited before QMP was up"):
        asyncio.run(m.start())
    assert m.exit_status not in (None, 0) and not m.running
    assert qemu_children(os.getpid()) == []
    # Without require_qmp the machine stays up for a run that goes on without QMP.
    lenient = Machine(cfg)
    asyncio.run(lenient.start(require_qmp=False))
    assert lenient.qmp_error == "QEMU exited before QMP was up" and not lenient.qmp_connected
    lenient.shutdown()
