"""A small asyncio QMP client: greeting, capabilities, commands with ids, events.

Debian ships no `qemu.qmp`, and the harness needs only one connection that
sends commands while a hang detector and an NMI injector share it.  Replies
are matched to commands by `id`, so several coroutines may call `execute`
concurrently; events are queued on their own so a waiting command never
swallows a STOP or RESET.
"""
from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

QMPObject = dict[str, Any]


class QMPError(Exception):
    """QEMU answered a command with an error object."""

    def __init__(self, command: str, error: QMPObject) -> None:
        self.command = command
        self.error_class = str(error.get("class", "?"))
        self.desc = str(error.get("desc", error))
        super().__init__(f"QMP {command}: {self.error_class}: {self.desc}")


class QMPConnectionError(Exception):
    """The connection failed, timed out or QEMU went away."""


class QMPClient:
    """One QMP session over a unix socket; use `async with` or connect()/close()."""

    def __init__(self, socket_path: str, timeout: float = 10.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self.greeting: QMPObject | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[QMPObject]] = {}
        self._events: asyncio.Queue[QMPObject] = asyncio.Queue()
        self._reader_task: asyncio.Task[None] | None = None
        self._lost: BaseException | None = None

    async def __aenter__(self) -> "QMPClient":
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self, retry_for: float = 0.0) -> None:
        """Connect, read the greeting and negotiate capabilities.

        `retry_for` covers the moment between QEMU's start and its socket
        appearing: a freshly launched QEMU is not listening yet.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + retry_for
        while True:
            try:
                self._reader, self._writer = await asyncio.wait_for(
                    asyncio.open_unix_connection(self.socket_path), self.timeout)
                break
            except (FileNotFoundError, ConnectionRefusedError) as exc:
                if loop.time() >= deadline:
                    raise QMPConnectionError(
                        f"cannot connect to QMP socket {self.socket_path}: {exc}") from exc
                await asyncio.sleep(0.02)
            except asyncio.TimeoutError as exc:
                raise QMPConnectionError(f"timed out connecting to {self.socket_path}") from exc
        self.greeting = await self._read_message()
        if "QMP" not in self.greeting:
            raise QMPConnectionError(f"not a QMP greeting: {self.greeting!r}")
        self._reader_task = asyncio.create_task(self._read_loop(), name="qmp-reader")
        await self.execute("qmp_capabilities")

    async def close(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
            try:
                await self._reader_task
            except (asyncio.CancelledError, Exception):
                pass
            self._reader_task = None
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except (ConnectionError, OSError):
                pass
            self._writer = None
        self._fail_pending(QMPConnectionError("QMP connection closed"))

    @property
    def connected(self) -> bool:
        return self._writer is not None and self._lost is None

    async def execute(self, command: str, arguments: QMPObject | None = None,
                      timeout: float | None = None) -> Any:
        """Run one command and return its `return` value; raise QMPError on an error reply."""
        if self._writer is None:
            raise QMPConnectionError(f"QMP {command}: not connected")
        if self._lost is not None:
            raise QMPConnectionError(f"QMP {command}: connection lost ({self._lost})")
        msg_id = f"h{next(self._ids)}"
        message: QMPObject = {"execute": command, "id": msg_id}
        if arguments:
            message["arguments"] = arguments
        future: asyncio.Future[QMPObject] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        try:
            self._writer.write(json.dumps(message).encode() + b"\r\n")
            await self._writer.drain()
            # Not asyncio.wait_for: in 3.11 it can swallow a cancellation
            # when the reply lands at the same moment, and a cancelled NMI
            # flood then never stops (the run's watcher waits for it forever).
            async with asyncio.timeout(timeout or self.timeout):
                reply = await future
        except asyncio.TimeoutError as exc:
            raise QMPConnectionError(f"QMP {command}: no reply within {timeout or self.timeout}s") from exc
        except (ConnectionError, OSError) as exc:
            self._lost = exc
            raise QMPConnectionError(f"QMP {command}: {exc}") from exc
        finally:
            self._pending.pop(msg_id, None)
        if "error" in reply:
            raise QMPError(command, reply["error"])
        return reply.get("return")

    async def hmp(self, command_line: str, timeout: float | None = None) -> str:
        """A human-monitor command (e.g. `info registers -a`); returns its text."""
        result = await self.execute("human-monitor-command",
                                    {"command-line": command_line}, timeout)
        return str(result)

    async def next_event(self, name: str | None = None, timeout: float | None = None) -> QMPObject:
        """The next queued event (of `name`, dropping others) within `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (timeout if timeout is not None else self.timeout)
        while True:
            if self._events.empty() and self._lost is not None:
                raise QMPConnectionError(f"waiting for event {name}: connection lost ({self._lost})")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise QMPConnectionError(f"no {name or 'event'} within {timeout}s")
            try:
                event = await asyncio.wait_for(self._events.get(), min(remaining, 0.2))
            except asyncio.TimeoutError:
                continue
            if name is None or event.get("event") == name:
                return event

    def drain_events(self) -> list[QMPObject]:
        """Every event queued so far, without waiting."""
        events = []
        while not self._events.empty():
            events.append(self._events.get_nowait())
        return events

    async def _read_message(self) -> QMPObject:
        assert self._reader is not None
        try:
            line = await asyncio.wait_for(self._reader.readline(), self.timeout)
        except asyncio.TimeoutError as exc:
            raise QMPConnectionError("timed out waiting for QMP data") from exc
        except (ConnectionError, OSError) as exc:
            # A QEMU that exits while we read (e.g. a guest that finished during the
            # handshake) resets the socket: the connection is over, not the harness.
            raise QMPConnectionError(f"QMP connection lost: {exc}") from exc
        if not line:
            raise QMPConnectionError("QEMU closed the QMP connection")
        try:
            message = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QMPConnectionError(f"malformed QMP message {line[:200]!r}: {exc}") from exc
        if not isinstance(message, dict):
            raise QMPConnectionError(f"QMP message is not an object: {line[:200]!r}")
        return message

    async def _read_loop(self) -> None:
        assert self._reader is not None
        try:
            while True:
                line = await self._reader.readline()
                if not line:
                    raise QMPConnectionError("QEMU closed the QMP connection")
                message = json.loads(line)
                if "event" in message:
                    self._events.put_nowait(message)
                    continue
                future = self._pending.get(str(message.get("id")))
                if future is not None and not future.done():
                    future.set_result(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any read failure ends the session for every waiter
            self._lost = exc
            self._fail_pending(QMPConnectionError(f"QMP connection lost: {exc}"))

    def _fail_pending(self, exc: Exception) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exc)
                # Mark it seen: a waiter whose loop is already shutting down (the run
                # is over and QEMU closed the socket) never resumes to read it, and
                # asyncio would print "Future exception was never retrieved".
                future.exception()
        self._pending.clear()
