"""The asyncio QMP client against a real QEMU (a pc with no kernel, started paused)."""
from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import AsyncIterator

import pytest

from harness.launch.qmp import QMPClient, QMPConnectionError, QMPError


class Qemu:
    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="hv-qmp-test-")
        self.sock = os.path.join(self.dir, "qmp.sock")
        self.proc = subprocess.Popen(
            ["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-smp", "2", "-m", "64",
             "-display", "none", "-monitor", "none", "-serial", "none", "-nodefaults", "-S",
             "-qmp", f"unix:{self.sock},server,nowait"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in Path(self.dir).iterdir():
            f.unlink()
        os.rmdir(self.dir)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


@pytest.fixture
def qemu() -> Qemu:
    q = Qemu()
    yield q
    q.close()


async def connected(q: Qemu) -> QMPClient:
    client = QMPClient(q.sock, timeout=10)
    await client.connect(retry_for=10)
    return client


def test_greeting_status_and_stop_cont_events(qemu: Qemu) -> None:
    async def body() -> None:
        client = await connected(qemu)
        assert "QMP" in client.greeting
        assert (await client.execute("query-status"))["status"] == "prelaunch"
        await client.execute("cont")
        assert (await client.next_event("RESUME", timeout=5))["event"] == "RESUME"
        assert (await client.execute("query-status"))["running"] is True
        await client.execute("stop")
        assert (await client.next_event("STOP", timeout=5))["event"] == "STOP"
        assert (await client.execute("query-status"))["running"] is False
        await client.close()
    run(body())


def test_hmp_registers_of_every_cpu_and_inject_nmi(qemu: Qemu) -> None:
    async def body() -> None:
        client = await connected(qemu)
        regs = await client.hmp("info registers -a")
        assert "CPU#0" in regs and "CPU#1" in regs
        assert "RIP=" in regs or "EIP=" in regs
        assert await client.execute("inject-nmi") == {}
        await client.close()
    run(body())


def test_error_reply_and_concurrent_commands_matched_by_id(qemu: Qemu) -> None:
    async def body() -> None:
        client = await connected(qemu)
        with pytest.raises(QMPError) as err:
            await client.execute("no-such-command")
        assert err.value.error_class == "CommandNotFound"
        names = await asyncio.gather(client.execute("query-name"), client.execute("query-status"),
                                     client.execute("query-version"))
        assert "status" in names[1] and "qemu" in names[2]
        await client.close()
    run(body())


def test_qemu_going_away_is_a_clean_connection_error(qemu: Qemu) -> None:
    async def body() -> None:
        client = await connected(qemu)
        qemu.proc.send_signal(signal.SIGKILL)
        qemu.proc.wait()
        with pytest.raises(QMPConnectionError):
            for _ in range(50):  # the reader notices EOF asynchronously
                await client.execute("query-status", timeout=2)
                await asyncio.sleep(0.05)
        assert not client.connected
        await client.close()
    run(body())


def test_connect_to_missing_socket_fails_with_the_path(tmp_path: Path) -> None:
    async def body() -> None:
        client = QMPClient(str(tmp_path / "nope.sock"), timeout=1)
        with pytest.raises(QMPConnectionError, match="nope.sock"):
            await client.connect(retry_for=0.2)
    run(body())



def test_a_reset_while_reading_the_greeting_is_a_clean_connection_error() -> None:
    # A QEMU that exits during the handshake can reset the socket under the greeting's
    # read: the harness must see QMPConnectionError (the run is over, its exit status
    # decides), not an OSError that ends the harness with "error: Connection reset".
    async def go() -> None:
        client = QMPClient("/nonexistent/qmp.sock")
        reader = asyncio.StreamReader()
        reader.set_exception(ConnectionResetError(104, "Connection reset by peer"))
        client._reader = reader
        with pytest.raises(QMPConnectionError, match="reset by peer"):
            await client._read_message()

    run(go())


def test_a_connection_lost_under_a_loop_that_stops_leaves_no_unretrieved_exception(tmp_path: Path) -> None:
    # The run ends, its loop stops, and QEMU's exit closes the socket at that moment:
    # the reader fails a command's future whose task never runs again.  asyncio used
    # to print "Future exception was never retrieved" on stderr at exit.
    complaints: list[str] = []
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda _l, ctx: complaints.append(ctx["message"]))
    client = QMPClient(str(tmp_path / "unused.sock"))
    client._pending["h1"] = loop.create_future()  # a command whose task will not resume
    client._fail_pending(QMPConnectionError("QMP connection lost: QEMU closed the QMP connection"))
    loop.close()
    gc.collect()
    assert complaints == []
