"""NMI injector: schedules per pattern, and counts of what was really sent."""
from __future__ import annotations

import asyncio
import itertools
import statistics
from typing import Any

import pytest

from harness.launch.nmi import NmiInjector, NmiPattern, delays
from harness.launch.qmp import QMPConnectionError, QMPError


def take(pattern: NmiPattern, n: int, seed: int = 1) -> list[float]:
    return list(itertools.islice(delays(pattern, seed), n))


def test_interval_flood_and_none() -> None:
    assert take(NmiPattern("interval", interval=0.1), 3) == [0.1, 0.1, 0.1]
    assert take(NmiPattern("flood"), 4) == [0.0] * 4
    assert take(NmiPattern("none"), 4) == []


def test_poisson_is_seeded_and_has_the_requested_mean() -> None:
    p = NmiPattern("poisson", interval=0.05)
    a, b, c = take(p, 4000, seed=3), take(p, 4000, seed=3), take(p, 4000, seed=4)
    assert a == b and a != c
    assert statistics.mean(a) == pytest.approx(0.05, rel=0.1)
    assert len(set(a)) > 3900  # irregular, not a disguised fixed interval


def test_bursts_are_back_to_back_then_a_gap() -> None:
    assert take(NmiPattern("burst", burst=3, gap=0.5), 7) == [0, 0, 0, 0.5, 0, 0, 0.5]


def test_count_limits_the_schedule() -> None:
    assert len(list(delays(NmiPattern("flood", count=5), 0))) == 5


@pytest.mark.parametrize("kwargs", [dict(kind="often"), dict(kind="poisson", interval=0),
                                    dict(kind="burst", burst=0), dict(kind="interval", interval=-1)])
def test_bad_patterns_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        NmiPattern(**kwargs)


class FakeQMP:
    def __init__(self, fail_every: int = 0, die_after: int | None = None) -> None:
        self.calls = 0
        self.fail_every = fail_every
        self.die_after = die_after

    async def execute(self, command: str, arguments: Any = None, timeout: Any = None) -> Any:
        assert command == "inject-nmi"
        self.calls += 1
        if self.die_after is not None and self.calls > self.die_after:
            raise QMPConnectionError("gone")
        if self.fail_every and self.calls % self.fail_every == 0:
            raise QMPError(command, {"class": "GenericError", "desc": "nope"})
        return {}


def test_injector_counts_sent_and_failed_until_count() -> None:
    qmp = FakeQMP(fail_every=4)
    inj = NmiInjector(qmp, NmiPattern("flood", count=20), seed=0)
    asyncio.run(inj.run())
    assert (qmp.calls, inj.sent, inj.failed) == (20, 15, 5)
    assert inj.stats()["stopped_because"] == "pattern done"


def test_injector_stops_when_qemu_goes_away() -> None:
    qmp = FakeQMP(die_after=7)
    inj = NmiInjector(qmp, NmiPattern("flood"), seed=0)
    asyncio.run(inj.run())
    assert inj.sent == 7 and inj.stats()["stopped_because"] == "QEMU went away"


def test_injector_runs_beside_other_tasks_and_stops_on_cancel() -> None:
    async def body() -> tuple[NmiInjector, int]:
        inj = NmiInjector(FakeQMP(), NmiPattern("interval", interval=0.01), seed=0)
        task = asyncio.create_task(inj.run())
        ticks = 0
        for _ in range(10):  # a flood must not starve this loop (the hang watcher)
            await asyncio.sleep(0.01)
            ticks += 1
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return inj, ticks
    inj, ticks = asyncio.run(body())
    assert ticks == 10
    assert 3 <= inj.sent <= 12
    assert inj.stats()["stopped_because"] == "run ended"


def test_flood_yields_to_other_tasks() -> None:
    async def body() -> int:
        inj = NmiInjector(FakeQMP(), NmiPattern("flood"), seed=0)
        task = asyncio.create_task(inj.run())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return inj.sent
    assert 1 <= asyncio.run(body()) <= 3


def test_injector_waits_until_the_machine_is_ready() -> None:
    async def body() -> tuple[int, int]:
        ready = asyncio.Event()
        inj = NmiInjector(FakeQMP(), NmiPattern("flood", count=3), seed=0, ready=ready)
        task = asyncio.create_task(inj.run())
        await asyncio.sleep(0.05)
        before = inj.sent
        ready.set()
        await task
        return before, inj.sent
    assert asyncio.run(body()) == (0, 3)
