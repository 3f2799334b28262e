"""NMI injection over QMP, in the patterns XMHF64 used and a few it lacked.

XMHF64's qemu_inject_nmi.py sent one `inject-nmi` every 0.1 s (tests 1, 3)
or as fast as it could (test 4).  A seeded Poisson source and bursts add
irregular timing, which is what shakes out races around NMI windows.  The
schedule is a pure function of (pattern, seed) so it can be recorded and
unit-tested; the wall-clock delivery is of course not deterministic.
"""
from __future__ import annotations

import asyncio
import random
from dataclasses import asdict, dataclass
from typing import Any, Iterator, Protocol

PATTERNS = ("none", "interval", "flood", "poisson", "burst")


@dataclass(frozen=True)
class NmiPattern:
    kind: str = "none"
    interval: float = 0.1      # interval: period; poisson: mean gap
    burst: int = 10            # burst: NMIs sent back to back ...
    gap: float = 1.0           # ... then this pause
    count: int | None = None   # stop after this many; None = until the run ends
    start_after: float = 0.0   # let the hypervisor boot and set up LINT1 first

    def __post_init__(self) -> None:
        if self.kind not in PATTERNS:
            raise ValueError(f"NMI pattern {self.kind!r}: expected one of {', '.join(PATTERNS)}")
        if self.interval < 0 or self.gap < 0 or self.start_after < 0:
            raise ValueError("NMI pattern times must be >= 0")
        if self.kind == "poisson" and self.interval <= 0:
            raise ValueError("poisson NMI pattern needs interval (the mean gap) > 0")
        if self.burst < 1:
            raise ValueError("NMI burst size must be >= 1")
        if self.count is not None and self.count < 0:
            raise ValueError("NMI count must be >= 0")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def delays(pattern: NmiPattern, seed: int) -> Iterator[float]:
    """The wait in seconds before each NMI, forever (or `count` of them)."""
    rng = random.Random(seed)
    produced = 0

    def more() -> bool:
        return pattern.count is None or produced < pattern.count

    if pattern.kind == "none":
        return
    while more():
        if pattern.kind == "interval":
            yield pattern.interval
        elif pattern.kind == "flood":
            yield 0.0
        elif pattern.kind == "poisson":
            yield rng.expovariate(1.0 / pattern.interval)
        elif pattern.kind == "burst":
            in_burst = produced % pattern.burst
            yield pattern.gap if in_burst == 0 and produced > 0 else 0.0
        produced += 1


class CommandSink(Protocol):
    async def execute(self, command: str, arguments: dict[str, Any] | None = None,
                      timeout: float | None = None) -> Any: ...


class NmiInjector:
    """Sends NMIs until stopped, QEMU goes away, or the pattern's count is reached."""

    def __init__(self, qmp: CommandSink, pattern: NmiPattern, seed: int,
                 ready: asyncio.Event | None = None) -> None:
        self.qmp = qmp
        # An NMI before the hypervisor has its IDT triple-faults the machine;
        # XMHF64, too, only injected into a booted system.  `ready` is set
        # by the run once the hypervisor has shown signs of life.
        self.ready = ready
        self.pattern = pattern
        self.seed = seed
        self.sent = 0
        self.failed = 0
        self.last_error: str | None = None
        self.stopped_because = "not started"

    async def run(self) -> None:
        # Imported here so the schedule logic above stays usable without asyncio QMP.
        from harness.launch.qmp import QMPConnectionError, QMPError
        self.stopped_because = "waiting for the machine"
        try:
            if self.pattern.kind != "none" and self.ready is not None:
                await self.ready.wait()
            self.stopped_because = "running"
            if self.pattern.kind != "none" and self.pattern.start_after:
                await asyncio.sleep(self.pattern.start_after)
            me = asyncio.current_task()
            for delay in delays(self.pattern, self.seed):
                # sleep(0) still yields, so a flood cannot starve the hang watcher.
                await asyncio.sleep(delay)
                if me is not None and me.cancelling():
                    raise asyncio.CancelledError  # a cancel swallowed by an await below

                try:
                    await self.qmp.execute("inject-nmi")
                    self.sent += 1
                except QMPError as exc:
                    self.failed += 1
                    self.last_error = str(exc)
            self.stopped_because = "pattern done"
        except QMPConnectionError as exc:
            self.last_error = str(exc)
            self.stopped_because = "QEMU went away"
        except asyncio.CancelledError:
            self.stopped_because = "run ended"
            raise

    def stats(self) -> dict[str, Any]:
        return {"pattern": self.pattern.as_dict(), "seed": self.seed, "sent": self.sent,
                "failed": self.failed, "last_error": self.last_error,
                "stopped_because": self.stopped_because}
