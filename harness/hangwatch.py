"""When is a silent machine hung?  Pure decision logic, fed by the supervisor.

Default mode: no serial growth for `hang_timeout` wall seconds.

Deterministic mode cannot rely on wall-clock silence: icount makes the
machine run at a different (and load-dependent: `hunt` runs several QEMUs on
few cores) speed, so a wall timeout would call a slow run hung on a busy
host and wait needlessly on an idle one.  There silence is measured in
*virtual* time, icount << shift ns, read over QMP `query-replay`: a spinning
deadlock still executes instructions, so virtual time moves while serial
does not, and the decision depends on the machine's progress, not on the
host.  Two backstops cover what virtual time cannot see: a virtual clock
that stops (every vCPU halted with nothing pending; sleep=off then has no
timer to warp to) for `hang_timeout` wall seconds, and a wall-clock silence
of BACKSTOP x hang_timeout in case icount cannot be read at all.
"""
from __future__ import annotations

from dataclasses import dataclass

BACKSTOP = 6.0


@dataclass
class HangWatch:
    hang_timeout: float              # seconds (virtual in icount mode, wall otherwise)
    icount_shift: int | None = None  # None: wall-clock mode
    _size: int = -1
    _growth_wall: float | None = None
    _growth_icount: int | None = None
    _icount: int | None = None
    _icount_wall: float | None = None

    def observe(self, wall: float, serial_size: int, icount: int | None = None) -> str | None:
        """Feed one sample; returns why the machine counts as hung, or None."""
        if self._growth_wall is None or serial_size != self._size:
            self._size, self._growth_wall, self._growth_icount = serial_size, wall, icount
        if icount is not None and icount != self._icount:
            self._icount, self._icount_wall = icount, wall
            if self._growth_icount is None:
                self._growth_icount = icount
        silent_wall = wall - self._growth_wall
        where = f"(stuck at {serial_size} bytes)"
        if self.icount_shift is None:
            if silent_wall >= self.hang_timeout:
                return f"no serial output for {self.hang_timeout:g}s {where}"
            return None
        if icount is not None and self._growth_icount is not None:
            virtual = ((icount - self._growth_icount) << self.icount_shift) / 1e9
            if virtual >= self.hang_timeout:
                return (f"no serial output for {virtual:.1f}s of virtual time "
                        f"({icount - self._growth_icount} instructions) {where}")
        if self._icount_wall is not None and wall - self._icount_wall >= self.hang_timeout:
            return (f"virtual clock stopped at icount {self._icount} for "
                    f"{wall - self._icount_wall:.1f}s {where}")
        if icount is None and silent_wall >= self.hang_timeout * BACKSTOP:
            return f"no serial output for {silent_wall:.1f}s of wall time (backstop) {where}"
        return None

    def virtual_seconds(self) -> float | None:
        """Virtual time of the last icount sample (None if never read)."""
        if self._icount is None or self.icount_shift is None:
            return None
        return (self._icount << self.icount_shift) / 1e9
