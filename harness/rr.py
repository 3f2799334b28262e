"""QEMU record/replay around host NMIs, which QEMU 7.2 does not record.

Notes (determinism-and-replay.md): a QMP `inject-nmi` during rr=record is
not in the log, so replay stalls where it happened (icount stops moving);
sending `inject-nmi` again at that point let the replay go on.  Recording
logs the icount of every injection so the replay can say whether it
stalled where an NMI was due, and the stall detector re-sends it.
"""
from __future__ import annotations

from typing import Any

from harness.qmp import QMPClient, QMPConnectionError, QMPError

# A replay whose icount has not moved for this long (wall s) is stalled on a
# missing NMI; the poll interval is 50 ms, so this is several samples.
STALL_S = 0.3
# After a re-sent NMI, how long the hang watch waits before believing a stall.
GRACE_S = 2.0


class IcountLoggingSink:
    """Stands in for the QMP client of an NmiInjector; logs icount at each inject-nmi."""

    def __init__(self, qmp: QMPClient) -> None:
        self.qmp = qmp
        self.icounts: list[int | None] = []

    async def execute(self, command: str, arguments: dict[str, Any] | None = None,
                      timeout: float | None = None) -> Any:
        if command == "inject-nmi":
            try:
                reply = await self.qmp.execute("query-replay", timeout=timeout)
                self.icounts.append(reply.get("icount") if isinstance(reply, dict) else None)
            except (QMPError, QMPConnectionError):
                self.icounts.append(None)
        return await self.qmp.execute(command, arguments, timeout)


class StallReinjector:
    """Replay side: when icount stops advancing, send the NMI QEMU did not record."""

    def __init__(self, qmp: QMPClient, recorded: list[int | None] | None = None) -> None:
        self.qmp = qmp
        # icounts logged at record time: a stall before the next one is the
        # host not scheduling QEMU (a loaded machine), not a missing NMI.
        self.recorded = [i for i in (recorded or []) if isinstance(i, int)] if recorded else None
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
        if self.recorded is not None:
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
