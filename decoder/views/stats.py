"""stats view and api.summary(): per-CPU counts, exits/s, NMI accounting, loss."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, TextIO

from decoder.defs import FIELD_NAMES
from decoder.records import Item, Loss, Record
from decoder.views.timebase import Timebase, timebase_for

_NMI_KIND = FIELD_NAMES[("HOST_NMI", "kind")][1]    # bits: quiesce, guest

# Loss kinds that are not missing data but a warning about order or duplicates.
NOT_DATA_LOSS = {"late", "duplicate"}


@dataclass
class CpuStats:
    events: Counter = field(default_factory=Counter)
    first_tsc: int | None = None
    last_tsc: int = 0
    host_nmis: int = 0
    host_nmis_for_guest: int = 0
    quiesce_signals: int = 0
    injected: int = 0
    merged: int = 0
    guest_received: int | None = None
    guest_nested: int | None = None
    loss: Counter = field(default_factory=Counter)


@dataclass
class Stats:
    cpus: dict[int, CpuStats] = field(default_factory=dict)
    unattributed_loss: Counter = field(default_factory=Counter)
    timebase: Timebase = field(default_factory=Timebase)
    items: int = 0

    def cpu(self, c: int) -> CpuStats:
        s = self.cpus.get(c)
        if s is None:
            s = self.cpus[c] = CpuStats()
        return s

    def exits_per_second(self, s: CpuStats) -> float | None:
        exits = s.events.get("INTERCEPT_ENTER", 0)
        if s.first_tsc is None or not self.timebase.tsc_khz or s.last_tsc <= s.first_tsc:
            return None
        return exits / ((s.last_tsc - s.first_tsc) / (self.timebase.tsc_khz * 1000.0))

    def as_dict(self) -> dict:
        out: dict = {"items": self.items, "tsc_khz": self.timebase.tsc_khz, "cpus": {},
                     "unattributed_loss": dict(self.unattributed_loss)}
        for c in sorted(self.cpus):
            s = self.cpus[c]
            out["cpus"][c] = {
                "events": dict(s.events), "exits": s.events.get("INTERCEPT_ENTER", 0),
                "exits_per_s": self.exits_per_second(s),
                "first_tsc": s.first_tsc, "last_tsc": s.last_tsc,
                "nmi": {"host": s.host_nmis, "host_for_guest": s.host_nmis_for_guest,
                        "quiesce_signals": s.quiesce_signals, "injected": s.injected, "merged": s.merged,
                        "guest_received": s.guest_received, "guest_nested": s.guest_nested},
                "loss": dict(s.loss),
            }
        return out


def collect(items: Iterable[Item]) -> Stats:
    st = Stats(timebase=timebase_for(items))
    tb = st.timebase
    for it in items:
        st.items += 1
        tb.observe(it)
        if type(it) is Loss:
            unit_key = f"{it.kind} ({it.unit})"
            if it.cpu is None:
                st.unattributed_loss[unit_key] += it.count
            else:
                st.cpu(it.cpu).loss[unit_key] += it.count
            continue
        rec: Record = it  # type: ignore[assignment]
        s = st.cpu(rec.cpu)
        name = rec.name
        s.events[name] += 1
        if s.first_tsc is None:
            s.first_tsc = rec.tsc
        s.last_tsc = rec.tsc
        if name == "HOST_NMI":
            s.host_nmis += 1
            s.host_nmis_for_guest += bool(rec.args[0] & _NMI_KIND["guest"])
            s.quiesce_signals += bool(rec.args[0] & _NMI_KIND["quiesce"])
        elif name == "NMI_INJECT":
            s.injected += 1
        elif name == "NMI_MERGED":
            s.merged += 1
        elif name == "NMI_COUNTS":
            s.guest_received, s.guest_nested = rec.args[0], rec.args[1]
    return st


def render_stats(items: Iterable[Item], out: TextIO, **_: object) -> None:
    st = collect(items)
    d = st.as_dict()
    khz = d["tsc_khz"]
    out.write(f"{st.items} items; TSC {khz} kHz\n" if khz else f"{st.items} items; no BOOT record: no time base\n")
    names = sorted({n for s in st.cpus.values() for n in s.events})
    cpus = sorted(st.cpus)
    out.write(f"{'event':<20}" + "".join(f"{'cpu ' + str(c):>12}" for c in cpus) + "\n")
    for n in names:
        out.write(f"{n:<20}" + "".join(f"{st.cpus[c].events.get(n, 0):>12}" for c in cpus) + "\n")
    out.write(f"{'exits/s':<20}")
    for c in cpus:
        eps = d["cpus"][c]["exits_per_s"]
        out.write(f"{eps:>12.0f}" if eps is not None else f"{'-':>12}")
    out.write("\n\nNMI accounting (host NMIs for the guest = injected + merged + at most 1 still latched):\n")
    for c in cpus:
        n = d["cpus"][c]["nmi"]
        latched = n["host_for_guest"] - n["injected"] - n["merged"]
        balance = "ok" if 0 <= latched <= 1 else "MISMATCH"
        out.write(f"  cpu {c}: host {n['host']} (for guest {n['host_for_guest']}, quiesce {n['quiesce_signals']}), "
                  f"injected {n['injected']}, merged {n['merged']}, latched {latched}, "
                  f"guest received {n['guest_received']}, nested {n['guest_nested']}: {balance}\n")
    out.write("\nloss:\n")
    any_loss = False
    for c in cpus:
        for k, v in sorted(st.cpus[c].loss.items()):
            note = " (not missing data)" if k.split()[0] in NOT_DATA_LOSS else ""
            out.write(f"  cpu {c}: {k}: {v}{note}\n")
            any_loss = True
    for k, v in sorted(st.unattributed_loss.items()):
        out.write(f"  cpu ?: {k}: {v}\n")
        any_loss = True
    if not any_loss:
        out.write("  none\n")
