"""QEMU record/replay (-smp 1) with host NMIs.

QEMU 7.2 does not record QMP `inject-nmi`.  The first answer (notes,
determinism-and-replay.md) was to log icount at each injection and, in the
replay, send `inject-nmi` again where the replay stalls.  That fails whenever
an NMI arrived while the CPU was in SVM guest mode (measured; the run the
rr test failed on, and every NMI of a guest that seldom exits): the
hypervisor intercepts NMIs, so QEMU takes it as #VMEXIT(NMI) and logs an
*exception*, and in replay QEMU only delivers a pending NMI where its log has
an *interrupt*.  Re-sent at the stall or earlier, the NMI is never taken as
that #VMEXIT: the replay stops there for good or goes on diverged (both
seen).  No choice of re-injection time can fix that.

So a recording sends no NMI over QMP.  Each NMI the scenario's pattern asks
for is one byte on COM2 (`Com2NmiSink`, a unix socket QEMU reads): serial
input is recorded, and the hypervisor, started with `nmi_com2=1`, consumes
the byte at its next exit tail and sends itself an NMI through the LAPIC
(hv/core/chaos.c) -- in host mode, where a self-NMI replays.  The replay
needs no help: QEMU feeds the byte from its log at the same instruction.

`StallReinjector` is kept only to replay runs recorded before this (their
verdict has `rr.inject_nmi_icounts` and no `rr.nmi_channel`).
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from harness.launch.qmp import QMPClient, QMPConnectionError, QMPError

NMI_CHANNEL = "com2"
# The hypervisor polls COM2 for NMI requests with HvOptions(nmi_com2=True) (`nmi_com2=1`).
REQUEST_BYTE = b"N"        # any byte is one request; the hypervisor ignores its value

# Legacy re-injection: a replay whose icount has not moved for this long (wall
# s) is stalled on a missing NMI; the poll interval is 50 ms, so several samples.
STALL_S = 0.3
# After a re-sent NMI, how long the hang watch waits before believing a stall.
GRACE_S = 2.0


class Com2NmiSink:
    """Stands in for the QMP client of an NmiInjector: each `inject-nmi` is a byte on COM2.

    Other commands go to QMP.  A socket that cannot be reached or written
    raises QMPConnectionError, which stops the injector as "QEMU went away".
    """

    def __init__(self, qmp: QMPClient, socket_path: Path, timeout: float = 2.0) -> None:
        self.qmp = qmp
        self.socket_path = socket_path
        self.timeout = timeout
        self.requests = 0
        self._writer: asyncio.StreamWriter | None = None

    async def execute(self, command: str, arguments: dict[str, Any] | None = None,
                      timeout: float | None = None) -> Any:
        if command != "inject-nmi":
            return await self.qmp.execute(command, arguments, timeout)
        try:
            async with asyncio.timeout(timeout or self.timeout):
                if self._writer is None:
                    _, self._writer = await asyncio.open_unix_connection(str(self.socket_path))
                self._writer.write(REQUEST_BYTE)
                await self._writer.drain()
        except (OSError, asyncio.TimeoutError) as exc:
            raise QMPConnectionError(f"NMI request on COM2 ({self.socket_path}): {exc!r}") from exc
        self.requests += 1
        return {}

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
            self._writer = None

    def stats(self) -> dict[str, Any]:
        return {"nmi_channel": NMI_CHANNEL, "nmi_requests": self.requests}


class StallReinjector:
    """Legacy replay side: when icount stops advancing, send the NMI QEMU did not record.

    Only for runs recorded with QMP inject-nmi (see the module docstring for
    why that cannot be made reliable): a stall at or past the next recorded
    injection's icount gets one `inject-nmi`.
    """

    def __init__(self, qmp: QMPClient, recorded: list[int | None]) -> None:
        self.qmp = qmp
        # icounts logged at record time: a stall before the next one is the
        # host not scheduling QEMU (a loaded machine), not a missing NMI; past
        # the last one nothing is missing.
        self.recorded = [i for i in recorded if isinstance(i, int)]
        self.sent_at: list[int] = []
        self.errors: list[str] = []
        self._icount: int | None = None
        self._since: float | None = None
        self._last_sent_wall: float | None = None

    async def observe(self, wall: float, icount: int | None) -> None:
        if icount is None:
            return
        if icount != self._icount:
            self._icount, self._since = icount, wall
            return
        assert self._since is not None
        if wall - self._since < STALL_S:
            return
        if self.sent_at and self.sent_at[-1] == icount:
            return  # already re-sent here; the hang watch decides after GRACE_S
        due = len(self.sent_at)
        if due >= len(self.recorded) or icount < self.recorded[due]:
            return
        try:
            await self.qmp.execute("inject-nmi", timeout=2.0)
            self.sent_at.append(icount)
            self._last_sent_wall = wall
        except (QMPError, QMPConnectionError) as exc:
            self.errors.append(str(exc))

    def may_still_be_stalled_on_nmi(self, wall: float) -> bool:
        return self._last_sent_wall is not None and wall - self._last_sent_wall < GRACE_S

    def stats(self) -> dict[str, Any]:
        return {"reinjected_at_icounts": self.sent_at, "reinject_errors": self.errors}
